"""Load articles from .txt, .md and .jsonl files into Documents and split them into Passages."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from corpus.metadata import MetadataError, front_matter, of_front_matter, of_record
from qa.limits import MAX_PASSAGE_CHARS, PDF_INDEX_SECONDS, PDF_READ_MEMORY_BYTES
from qa.types import Document, Passage

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl", ".jsonl.gz", ".pdf")


def file_kind(path: Path) -> str:
    """The format a file's name says: its suffix, with ``.jsonl.gz`` (archives come compressed) as one."""
    name = path.name.lower()
    return ".jsonl.gz" if name.endswith(".jsonl.gz") else path.suffix.lower()
DEFAULT_CORPUS_DIR = Path(__file__).resolve().parent / "default"
# Bump when splitting rules change so that existing indexes are seen as stale.
# 3: CRLF and CR line ends read as LF, a UTF-8 byte order mark dropped.
# 4: a syndicated copy keeps its own paragraphs (they were stored once, with the first document that had them).
SPLITTER_VERSION = "4"

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_MD_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
# Where a long paragraph may be cut: after a sentence's end and its spaces, else at any space.
_SENTENCE_END = re.compile(r"[.!?。！？][\"'”’)\]]?(\s+)")
_SPACE = re.compile(r"(\s+)")


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def content_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def title_from_filename(path: Path) -> str:
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of paragraphs: blank-line blocks if the text has any, else one per line.

    Spans exclude surrounding whitespace, so ``text[start:end]`` is the paragraph verbatim.
    """
    separator = _BLANK_LINE if _BLANK_LINE.search(text) else re.compile(r"\n")
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in [*separator.finditer(text), None]:
        end = match.start() if match else len(text)
        chunk = text[pos:end]
        stripped = chunk.strip()
        if stripped:
            start = pos + chunk.index(stripped)
            spans.append((start, start + len(stripped)))
        if match:
            pos = match.end()
    return spans


def _markdown_spans(text: str, begin: int = 0) -> tuple[str | None, list[tuple[int, int]]]:
    """Paragraph spans of a Markdown file from ``begin`` (after its front matter), with headings left out; the
    first heading is the title."""
    title = None
    spans = []
    for start, end in ((a + begin, b + begin) for a, b in paragraph_spans(text[begin:])):
        heading = _MD_HEADING.match(text[start:end])
        if heading and "\n" not in text[start:end]:
            title = title or heading.group(1).strip()
            continue
        spans.append((start, end))
    return title, spans


# A first line this short, without a sentence's end, is a headline.
TITLE_MAX_CHARS = 120


def _text_spans(text: str) -> tuple[str | None, list[tuple[int, int]]]:
    """Paragraph spans of a text file; a short first line without a final period is its title, not a paragraph."""
    spans = paragraph_spans(text)
    if len(spans) > 1:
        start, end = spans[0]
        first = text[start:end]
        if "\n" not in first and len(first) <= TITLE_MAX_CHARS and not first.endswith((".", "!", "?", ":", ";", ",")):
            return first.strip(), spans[1:]
    return None, spans


@dataclass(frozen=True)
class SplitDocument:
    document: Document
    spans: tuple[tuple[int, int], ...]
    pages: tuple[int, ...] | None = None  # each span's 1-based page (PDF); None for text documents


def split_text(doc: Document) -> SplitDocument:
    """A plain-text document cut at its paragraphs (blank-line blocks, else lines)."""
    return SplitDocument(doc, tuple(paragraph_spans(doc.text)))


def bounded_spans(text: str, start: int, end: int, max_chars: int = MAX_PASSAGE_CHARS) -> list[tuple[int, int]]:
    """``text[start:end]`` cut into spans of at most ``max_chars``: at sentence ends where it can, else at
    spaces, else (a run without spaces) hard. Spans are exact slices, without the spaces between them."""
    spans = []
    while end - start > max_chars:
        limit = start + max_chars
        cut = None
        for pattern in (_SENTENCE_END, _SPACE):
            # The last break inside the limit, past the first third (so that parts do not get tiny).
            for m in pattern.finditer(text, start + max_chars // 3, limit + 1):
                if m.start(1) <= limit:
                    cut = m
            if cut is not None:
                break
        piece_end, next_start = (cut.start(1), cut.end(1)) if cut is not None else (limit, limit)
        spans.append((start, piece_end))
        start = next_start
    if end > start:
        spans.append((start, end))
    return spans


def passages_of(split: SplitDocument) -> list[Passage]:
    """The document's passages; a paragraph whose exact text came earlier in the same document is kept once.

    A paragraph longer than ``MAX_PASSAGE_CHARS`` becomes several passages with the same paragraph number
    (ids ``doc:N``, ``doc:N.1``, ``doc:N.2`` ...), each an exact slice of the document."""
    doc, seen, out = split.document, set(), []
    for index, (start, end) in enumerate(split.spans):
        for part, (a, b) in enumerate(bounded_spans(doc.text, start, end)):
            text = doc.text[a:b]
            if text not in seen:
                seen.add(text)
                pid = f"{doc.id}:{index}" if part == 0 else f"{doc.id}:{index}.{part}"
                page = split.pages[index] if split.pages is not None else None
                out.append(Passage(pid, doc.id, doc.title, index, text, a, b, page))
    return out


def load_splits(paths: list[Path | str]) -> tuple[list[SplitDocument], list[str]]:
    """Every supported file under ``paths`` as split documents, and the errors of those that could not be read."""
    result = LoadResult()
    splits = [s for file in expand_paths([Path(p) for p in paths], result) for s in _load_file(file, result)]
    return splits, result.errors




def _load_pdf(path: Path, result: LoadResult) -> list[SplitDocument]:
    from corpus.pdf import PdfError, read_pdf

    try:
        # In a worker held to a deadline and a memory bound, as uploads are: one hostile PDF in a folder costs a
        # named error line, not the import.
        pdf = read_pdf(path.read_bytes(), PDF_INDEX_SECONDS, PDF_READ_MEMORY_BYTES)
    except OSError as exc:
        result.errors.append(f"{path}: cannot read ({exc.__class__.__name__}: {exc})")
        return []
    except PdfError as exc:
        result.errors.append(f"{path}: {exc}")
        return []
    doc = Document(content_id(pdf.text), pdf.title or title_from_filename(path), pdf.text, source=str(path),
                   published=pdf.published)
    return [SplitDocument(doc, pdf.spans, pdf.pages)]


def text_of(data: bytes) -> str:
    """A text file's bytes as its text, read as Python's text mode reads: UTF-8, a leading byte order mark dropped
    (editors on Windows write one; it would open the title, hide a Markdown heading, break the first JSON record),
    and CRLF and CR line ends read as LF (else a CRLF file splits per line, a CR-only one not at all)."""
    return data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _load_file(path: Path, result: LoadResult) -> list[SplitDocument]:
    suffix = file_kind(path)
    if suffix == ".pdf":
        return _load_pdf(path, result)
    from corpus.pdf import is_pdf

    try:
        data = path.read_bytes()
        if suffix == ".jsonl.gz":
            data, suffix = gzip.decompress(data), ".jsonl"
        if is_pdf(data):  # a PDF under a text name: its syntax is not an article
            result.errors.append(f"{path}: a PDF named {suffix}; name it .pdf to index its text")
            return []
        raw = text_of(data)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        result.errors.append(f"{path}: cannot read ({exc.__class__.__name__}: {exc})")
        return []
    if suffix == ".txt":
        title, spans = _text_spans(raw)
        doc = Document(content_id(raw), title or title_from_filename(path), raw, source=str(path))
        return [SplitDocument(doc, tuple(spans))]
    if suffix == ".md":
        fields, begin = front_matter(raw)
        try:
            meta = of_front_matter(fields)
        except MetadataError as exc:
            result.errors.append(f"{path}: front matter: {exc}")
            return []
        title, spans = _markdown_spans(raw, begin)
        title = fields.get("title") if isinstance(fields.get("title"), str) and fields["title"] else title
        doc = Document(content_id(raw), title or title_from_filename(path), raw, meta.url, meta.published, str(path),
                       meta.publisher, meta.topics)
        return [SplitDocument(doc, tuple(spans))]
    if suffix == ".jsonl":
        return _load_jsonl(path, raw, result)
    result.errors.append(f"{path}: unsupported file type (use {', '.join(SUPPORTED_SUFFIXES)})")
    return []


def _load_jsonl(path: Path, raw: str, result: LoadResult) -> list[SplitDocument]:
    out = []
    # Records end at "\n" only: str.splitlines() would also cut at U+2028, U+0085 and the like inside strings.
    for lineno, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            result.errors.append(f"{where}: invalid JSON ({exc.msg})")
            continue
        except RecursionError:  # [[[[... thousands deep: Python's JSON reader gives up; the other records are read
            result.errors.append(f"{where}: a record is nested too deeply to read")
            continue
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str) or not text.strip():
            result.errors.append(f"{where}: record needs a non-empty string 'text'")
            continue
        try:
            meta = of_record(record)
        except MetadataError as exc:
            result.errors.append(f"{where}: {exc}")
            continue
        doc = Document(
            id=str(record.get("id") or content_id(text)),
            title=str(record.get("title") or f"{title_from_filename(path)} #{lineno}"),
            text=text,
            url=meta.url,
            published=meta.published,
            source=where,
            publisher=meta.publisher,
            topics=meta.topics,
        )
        out.append(split_text(doc))
    return out


def not_a_file(path: Path) -> str:
    """Why ``path`` (neither a regular file nor a folder) is not read: never opened, since a FIFO or a device
    would block or never end."""
    if path.is_symlink() and not path.exists():
        return "a symbolic link that leads nowhere (a loop, or its target is gone)"
    if path.exists():
        return "not a regular file or directory (a FIFO, socket or device)"
    return "no such file or directory"


def expand_paths(paths: list[Path], result: LoadResult) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if file_kind(p) not in SUPPORTED_SUFFIXES or p.is_dir():
                    continue
                if p.is_file():
                    files.append(p)
                else:  # named like an article, so it was meant to be one: said, not skipped silently
                    result.errors.append(f"{p}: {not_a_file(p)}")
        elif path.is_file():
            files.append(path)
        else:
            result.errors.append(f"{path}: {not_a_file(path)}")
    return files


@dataclass
class Corpus:
    documents: list[Document]
    passages: list[Passage]
    errors: list[str]

    def fingerprint(self) -> str:
        """Hash of everything the index depends on, to tell a stale index from a current one."""
        h = hashlib.sha256(f"splitter={SPLITTER_VERSION}\n".encode())
        for doc in self.documents:
            h.update(json.dumps([doc.id, doc.title, doc.url, doc.published, doc.publisher, doc.topics]).encode())
        for p in self.passages:
            h.update(json.dumps([p.id, p.text, p.doc_start]).encode())
        return h.hexdigest()


def sources_signature(paths: list[Path | str]) -> str:
    """A cheap stand-in for the corpus fingerprint: every file's path, size and modification time.

    Equal signatures mean nothing to re-read at start-up; a different one means some file changed."""
    result = LoadResult()
    h = hashlib.sha256(f"splitter={SPLITTER_VERSION}\n".encode())
    for file in expand_paths([Path(p) for p in paths], result):
        stat = file.stat()
        h.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    for error in result.errors:
        h.update(error.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def load_corpus(paths: list[Path | str]) -> Corpus:
    """Load every supported file under ``paths``; unreadable files are reported, not fatal.

    A document id already seen is skipped (the first occurrence wins); a paragraph a document repeats word for
    word is kept once (``passages_of``). A syndicated copy (another id, the same text) keeps its own paragraphs,
    so that it can be asked within, filtered by its own date and source, and listed with its text; retrieval
    shows one story once and names the copies (``retriever.duplicates``), and identical texts are embedded once.
    A document without a single paragraph (an empty file, a heading alone) is named among the errors and left
    out.
    """
    splits, errors = load_splits(paths)
    documents: list[Document] = []
    seen_docs: set[str] = set()
    passages: list[Passage] = []
    for split in splits:
        doc = split.document
        if doc.id in seen_docs:
            continue
        own = passages_of(split)
        if not own:
            errors.append(f"{doc.source or doc.id}: no paragraphs (empty, or headings only)")
            continue
        seen_docs.add(doc.id)
        documents.append(doc)
        passages += own
    return Corpus(documents, passages, errors)
