"""Documents added, replaced and deleted while serving, written a document at a time into the served index."""

from __future__ import annotations

import json
import re
import tempfile
import threading
from collections import Counter
from dataclasses import replace as replace_
from pathlib import Path
from typing import Literal, Protocol

from corpus.metadata import MetadataError, metadata
from corpus.pdf import PdfError, PdfTooLarge, is_pdf, read_pdf
from corpus.loader import (SUPPORTED_SUFFIXES, SplitDocument, content_id, load_splits, passages_of, split_text,
                           title_from_filename)
from service.indexing import API_SOURCE, embed_texts, new_document
from qa.limits import (ID_PATTERN, MAX_ID_CHARS, MAX_PUBLISHED_CHARS, MAX_SOURCE_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS,
                       PDF_READ_MEMORY_BYTES, PDF_READ_SECONDS, clean_text, has_text)
from qa.types import Document, DocumentInfo, Passage
from qa.protocols import Embedder
from retriever.store import StoredIndex

# Compressed archives are a bulk import (qa index), never an upload: no decompression bomb reaches the server.
UPLOAD_SUFFIXES = tuple(s for s in SUPPORTED_SUFFIXES if s != ".jsonl.gz") + (".html", ".htm")


ErrorKind = Literal["invalid", "not_found", "conflict", "unsupported", "too_large"]


class DocumentError(ValueError):
    """The request cannot be done as asked; ``kind`` says why (channels map it to a status)."""

    def __init__(self, message: str, kind: ErrorKind = "invalid"):
        super().__init__(message)
        self.kind = kind


class ServedIndex(Protocol):
    """What the document store needs of the service: the index served now, and a way to serve another."""

    @property
    def index(self) -> StoredIndex: ...

    def swap_index(self, index: StoredIndex) -> None: ...


def check_id(doc_id: str) -> str:
    if not isinstance(doc_id, str) or len(doc_id) > MAX_ID_CHARS or not re.fullmatch(ID_PATTERN, doc_id):
        raise DocumentError(f"a document id is 1-{MAX_ID_CHARS} characters, no control characters, no space at either end")
    if "\ufffd" in doc_id:  # what a URL's bytes that are not UTF-8 decode to: caf%E9 and caf%E8 would be one id
        raise DocumentError("a document id must be UTF-8 (in a URL, é is %C3%A9; %E9 alone is no character)")
    return doc_id


def under_id(docs: list[SplitDocument], doc_id: str) -> SplitDocument:
    """The one document of an upload, under ``doc_id`` (PUT replaces one document with an uploaded file)."""
    if len(docs) != 1:
        raise DocumentError(f"PUT replaces one document; the file holds {len(docs):,} (POST adds several)")
    return replace_(docs[0], document=replace_(docs[0].document, id=check_id(doc_id)))


def article(text: str, title: str | None = None, doc_id: str | None = None, url: str | None = None,
            published: str | None = None, source: str | None = None, topics=None) -> SplitDocument:
    """A JSON article (or a record of an upload), checked as every route checks documents: the JSON route's
    bounds hold for every upload too; ``published`` is normalised to ISO 8601 (an unreadable date is refused)."""
    if not isinstance(text, str) or not has_text(text):
        raise DocumentError("text must not be empty")
    for name, value, limit in (("title", title, MAX_TITLE_CHARS), ("url", url, MAX_URL_CHARS),
                               ("published", published, MAX_PUBLISHED_CHARS)):
        if value is not None and not isinstance(value, str):
            raise DocumentError(f"{name} must be a string")
        if value is not None and len(value) > limit:
            raise DocumentError(f"{name} must be at most {limit:,} characters (got {len(value):,})")
    try:
        meta = metadata(published and clean_text(published), source and clean_text(source),
                        [clean_text(t) for t in topics] if isinstance(topics, (list, tuple)) else topics,
                        url and clean_text(url))
    except MetadataError as exc:
        raise DocumentError(str(exc)) from None
    text = clean_text(text)
    doc = Document(check_id(doc_id) if doc_id is not None else content_id(text),
                   clean_text(title or "").strip() or "Untitled", text, meta.url, meta.published,
                   publisher=meta.publisher, topics=meta.topics)
    return split_text(doc)


def file_title(title: str | None) -> str | None:
    """The title a file gives itself (a Markdown heading, an HTML <title>, a PDF's metadata) within the title's
    bound: cut, not refused, since the article is still the article (a .jsonl record's fields are refused)."""
    if title is None or len(title) <= MAX_TITLE_CHARS:
        return title
    return title[:MAX_TITLE_CHARS - 1].rstrip() + "\u2026"


def _html_document(raw: bytes, name: str) -> list[SplitDocument]:
    import trafilatura  # only when HTML arrives

    extracted = trafilatura.extract(raw.decode("utf-8", errors="replace"), output_format="json", with_metadata=True,
                                    include_comments=False, include_tables=False, favor_recall=True)
    record = json.loads(extracted) if extracted else {}
    lines = [ln.strip() for ln in (record.get("text") or "").split("\n") if ln.strip()]
    title = record.get("title") or Path(name).stem
    if lines and lines[0] == title:
        lines = lines[1:]  # the headline is the title, not a paragraph
    if not lines:
        raise DocumentError(f"{name}: no article text found in the HTML")
    # The page's own date, site name and address (trafilatura reads them from its meta tags); what does not fit
    # its bound or cannot be read as a date is left out, since the article is still the article.
    published = record.get("date") if isinstance(record.get("date"), str) else None
    # trafilatura's JSON calls the site name "source-hostname" (and the page's address "source").
    site = record.get("source-hostname") if isinstance(record.get("source-hostname"), str) else None
    url = record.get("source") if isinstance(record.get("source"), str) else None
    try:
        metadata(published)
    except MetadataError:
        published = None
    return [article("\n\n".join(lines), file_title(title), url=url if url and len(url) <= MAX_URL_CHARS else None,
                    published=published, source=site[:MAX_SOURCE_CHARS] if site else None)]


def _pdf_document(raw: bytes, name: str, seconds: float) -> list[SplitDocument]:
    """A PDF read within its budget (a worker process with a deadline and a memory limit): beyond it, 413."""
    try:
        pdf = read_pdf(raw, seconds, PDF_READ_MEMORY_BYTES)
    except PdfTooLarge as exc:
        raise DocumentError(f"{name}: {exc}", kind="too_large") from None
    except PdfError as exc:
        raise DocumentError(f"{name}: {exc}") from None
    checked = article(pdf.text, file_title(pdf.title or title_from_filename(Path(name))), published=pdf.published).document
    return [SplitDocument(checked, pdf.spans, pdf.pages)]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BY_MEDIA_TYPE = {"text/html": ".html", "text/markdown": ".md", "application/jsonl": ".jsonl",
                  "application/x-ndjson": ".jsonl", "text/plain": ".txt"}


def parse_upload(name: str, raw: bytes, media_type: str | None = None, max_html_bytes: int | None = None,
                 pdf_seconds: float = PDF_READ_SECONDS) -> list[SplitDocument]:
    """Documents from an uploaded file: .txt, .md, .jsonl as the corpus loader reads them, .html via trafilatura,
    .pdf in a worker stopped after ``pdf_seconds``.

    The kind comes from the file name, else from the part's media type; an unknown kind is read as plain
    text if it is UTF-8, and refused (415) if it is not. HTML over ``max_html_bytes`` is refused unparsed.
    """
    if _CONTROL.search(name or ""):  # NUL cannot be a file name; none of these belongs in a title or a message
        raise DocumentError("the file's name has a control character (NUL, newline, ...); rename the file")
    name = Path(name or "upload.txt").name
    suffix = Path(name).suffix.lower()
    # The bytes must be what the name says: PDF syntax is never indexed as text, nor text read as a PDF.
    if is_pdf(raw) and suffix in UPLOAD_SUFFIXES and suffix != ".pdf":
        raise DocumentError(f"{name}: this is a PDF, named {suffix}; send it as .pdf", kind="unsupported")
    if suffix == ".pdf" and not is_pdf(raw):
        raise DocumentError(f"{name}: named .pdf but not a PDF (it does not start with %PDF-)", kind="unsupported")
    if suffix not in UPLOAD_SUFFIXES and is_pdf(raw):
        suffix, name = ".pdf", f"{Path(name).stem or 'upload'}.pdf"
    if suffix in (".txt", ".md", ".jsonl"):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:  # a binary file, or text in another encoding (Latin-1): the wrong kind, 415
            raise DocumentError(f"{name}: not a UTF-8 text file (binary, or another encoding such as Latin-1); "
                                "save it as UTF-8", kind="unsupported") from None
    if suffix != ".pdf" and not has_text(raw.decode("utf-8", errors="replace")):
        raise DocumentError(f"{name}: no text")
    if suffix not in UPLOAD_SUFFIXES:
        suffix = _BY_MEDIA_TYPE.get((media_type or "").split(";")[0].strip().lower(), ".txt")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError(f"{name}: not a text file (send UTF-8 {', '.join(UPLOAD_SUFFIXES)})", kind="unsupported") from None
        name = f"{Path(name).stem or 'upload'}{suffix}"
    if suffix in (".html", ".htm"):
        if max_html_bytes is not None and len(raw) > max_html_bytes:
            raise DocumentError(f"{name}: HTML uploads are at most {max_html_bytes:,} bytes (got {len(raw):,}); "
                                "send the article's text as .txt, .md or JSON", kind="too_large")
        return _html_document(raw, name)
    if suffix == ".pdf":
        return _pdf_document(raw, name, pdf_seconds)
    with tempfile.TemporaryDirectory(prefix="qa-upload-") as tmp:
        path = Path(tmp) / "upload"
        path.mkdir()
        path = path / (name if len(name.encode("utf-8", "surrogateescape")) < 200 else f"upload{suffix}")
        path.write_bytes(raw)
        splits, errors = load_splits([path])  # a .jsonl record nested too deeply is one of its named errors
    if errors:
        raise DocumentError("; ".join(e.replace(str(path), name) for e in errors[:5])[:1000])
    # Every record is checked as a JSON article is (id, url, published, text); headings stay out (Markdown).
    docs = []
    for split in splits:
        d = split.document
        title = d.title if suffix == ".jsonl" else file_title(d.title)
        try:
            checked = article(d.text, title, d.id, d.url, d.published, d.publisher, d.topics).document
        except DocumentError as exc:  # named by the record's line (.jsonl) or the file
            raise DocumentError(f"{(d.source or str(path)).replace(str(path), name)}: {exc}") from None
        docs.append(SplitDocument(checked, split.spans, split.pages))
    docs = [d for d in docs if d.spans]
    if not docs:
        raise DocumentError(f"{name}: no paragraphs found")
    return docs


class DocumentStore:
    """Documents added, replaced and deleted over HTTP: each write touches that document's passages only, is
    durable when it returns, and is answered from by the next question (the store writes in place)."""

    def __init__(self, embedder: Embedder, served: ServedIndex, max_documents: int | None = None,
                 max_passages: int | None = None):
        self.embedder, self.served = embedder, served
        # Bounds on one write (None: none): more is refused before anything is embedded or locked.
        self.max_documents, self.max_passages = max_documents, max_passages
        self._lock = threading.Lock()

    def stored(self, doc_id: str) -> bool:
        """Whether this id names a document added over HTTP (corpus documents are changed in their files)."""
        info = self.served.index.document(doc_id)
        return info is not None and info.source == API_SOURCE

    def get(self, doc_id: str) -> tuple[DocumentInfo, list[Passage]]:
        index = self.served.index
        info = index.document(doc_id)
        if info is None:
            raise DocumentError(f"no document with id {doc_id[:MAX_ID_CHARS]!r}", kind="not_found")
        return info, index.passages_of(doc_id)

    def put(self, docs: list[SplitDocument], replace: bool) -> list[DocumentInfo]:
        """Add (or, with ``replace``, add or replace) these documents."""
        return [info for info, _ in self.write(docs, replace)]

    def write(self, docs: list[SplitDocument], replace: bool) -> list[tuple[DocumentInfo, bool]]:
        """``put``, with whether each document is new: known inside the write lock, so of writes racing for one
        new id exactly one creates it (PUT answers 201 once, 200 after)."""
        if self.max_documents is not None and len(docs) > self.max_documents:
            raise DocumentError(f"{len(docs):,} documents in one request; at most {self.max_documents:,} "
                                "(split the file, or index large collections with `qa index`)", kind="too_large")
        ids = Counter(split.document.id for split in docs)
        twice = next((doc_id for doc_id, n in ids.items() if n > 1), None)
        if twice is not None:  # refused before anything is embedded (the store keeps one document per id)
            raise DocumentError(f"document id {twice!r} is given {ids[twice]} times in one request; each document needs "
                                "its own id (a record without one is named by a hash of its text)")
        pieces = [(replace_(split.document, source=API_SOURCE), passages_of(split)) for split in docs]
        count = sum(len(passages) for _, passages in pieces)
        if self.max_passages is not None and count > self.max_passages:
            raise DocumentError(f"{count:,} passages to index in one request; at most {self.max_passages:,} "
                                "(split the file, or index large collections with `qa index`)", kind="too_large")
        with self._lock:
            index = self.served.index
            new = [index.document(split.document.id) is None for split in docs]
            for split in docs:
                known = index.document(split.document.id)
                if known is not None and known.source != API_SOURCE:
                    raise DocumentError(f"document {known.id!r} comes from a corpus file, not from this API; "
                                        "change it there", kind="conflict")
                if known is not None and not replace:
                    raise DocumentError(f"document {known.id!r} exists; PUT /v1/documents/{{id}} replaces it",
                                        kind="conflict")
            empty = next((d.id for d, passages in pieces if not passages), None)
            if empty is not None:
                raise DocumentError(f"document {empty!r} has no paragraphs to index")
            known_vectors = {}
            for doc, _ in pieces:
                if index.document(doc.id) is not None:
                    known_vectors.update(index.passage_vectors(doc.id))
            vectors = embed_texts([p.text for _, ps in pieces for p in ps], self.embedder, known_vectors)
            index.write([new_document(doc, passages, vectors, index.manifest.dim) for doc, passages in pieces])
            return [(index.document(doc.id), created) for (doc, _), created in zip(pieces, new)]

    def delete(self, doc_id: str) -> None:
        with self._lock:
            index = self.served.index
            info = index.document(doc_id)
            if info is None:
                raise DocumentError(f"no document with id {doc_id[:MAX_ID_CHARS]!r}", kind="not_found")
            if info.source != API_SOURCE:
                raise DocumentError(f"document {doc_id!r} comes from a corpus file, not from this API; remove it there",
                                    kind="conflict")
            index.write(deletes=[doc_id])
