"""Documents added, replaced and deleted while serving: stored by the service, indexed, swapped in atomically."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import threading
from pathlib import Path
from typing import Literal, Protocol

from corpus.loader import SUPPORTED_SUFFIXES, content_id, load_corpus
from service.indexing import build_index
from qa.atomic import write_atomic
from qa.limits import ID_PATTERN, MAX_ID_CHARS, has_text
from qa.types import Document, DocumentInfo, Passage
from qa.protocols import Embedder
from retriever import store
from retriever.store import StoredIndex

UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES + (".html", ".htm")


ErrorKind = Literal["invalid", "not_found", "conflict", "unsupported"]


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
    if len(doc_id) > MAX_ID_CHARS or not re.fullmatch(ID_PATTERN, doc_id):
        raise DocumentError(f"a document id is 1-{MAX_ID_CHARS} characters, no control characters, no space at either end")
    return doc_id


def article(text: str, title: str | None = None, doc_id: str | None = None, url: str | None = None,
            published: str | None = None) -> Document:
    if not has_text(text):
        raise DocumentError("text must not be empty")
    return Document(check_id(doc_id) if doc_id is not None else content_id(text), (title or "").strip() or "Untitled",
                    text, url, published)


def _html_document(raw: bytes, name: str) -> list[Document]:
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
    return [article("\n\n".join(lines), title)]


_BY_MEDIA_TYPE = {"text/html": ".html", "text/markdown": ".md", "application/jsonl": ".jsonl",
                  "application/x-ndjson": ".jsonl", "text/plain": ".txt"}


def parse_upload(name: str, raw: bytes, media_type: str | None = None) -> list[Document]:
    """Documents from an uploaded file: .txt, .md, .jsonl as the corpus loader reads them, .html via trafilatura.

    The kind comes from the file name, else from the part's media type; an unknown kind is read as plain
    text if it is UTF-8, and refused (415) if it is not.
    """
    name = Path(name or "upload.txt").name
    suffix = Path(name).suffix.lower()
    if not has_text(raw.decode("utf-8", errors="replace")):
        raise DocumentError(f"{name}: no text")
    if suffix not in UPLOAD_SUFFIXES:
        suffix = _BY_MEDIA_TYPE.get((media_type or "").split(";")[0].strip().lower(), ".txt")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError(f"{name}: not a text file (send UTF-8 {', '.join(UPLOAD_SUFFIXES)})", kind="unsupported") from None
        name = f"{Path(name).stem or 'upload'}{suffix}"
    if suffix in (".html", ".htm"):
        return _html_document(raw, name)
    with tempfile.TemporaryDirectory(prefix="qa-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        corpus = load_corpus([path])
    if corpus.errors:
        raise DocumentError("; ".join(e.replace(str(path), name) for e in corpus.errors[:5])[:1000])
    with_text = {p.doc_id for p in corpus.passages}
    docs = [Document(d.id, d.title, d.text, d.url, d.published) for d in corpus.documents if d.id in with_text]
    if not docs:
        raise DocumentError(f"{name}: no paragraphs found")
    return docs


class DocumentStore:
    """One writer at a time; readers are never blocked: a new index is built aside and swapped in."""

    def __init__(self, directory: Path, index_dir: Path, embedder: Embedder, served: ServedIndex):
        self.directory, self.index_dir, self.embedder = directory, index_dir, embedder
        self.served = served
        self._lock = threading.Lock()

    def _path(self, doc_id: str) -> Path:
        return self.directory / f"{hashlib.sha256(doc_id.encode('utf-8', 'surrogatepass')).hexdigest()[:24]}.jsonl"

    def stored(self, doc_id: str) -> bool:
        return self._path(doc_id).is_file()

    def get(self, doc_id: str) -> tuple[DocumentInfo, list[Passage]]:
        index = self.served.index
        info = next((d for d in index.documents if d.id == doc_id), None)
        if info is None:
            raise DocumentError(f"no document with id {doc_id[:MAX_ID_CHARS]!r}", kind="not_found")
        return info, [p for p in index.passages if p.doc_id == doc_id]

    def put(self, docs: list[Document], replace: bool) -> list[DocumentInfo]:
        """Add (or, with ``replace``, add or replace) these documents, then reindex and swap."""
        with self._lock:
            index = self.served.index
            known = {d.id: d for d in index.documents}
            changes: dict[Path, str | None] = {}
            for doc in docs:
                if doc.id in known and not self.stored(doc.id):
                    raise DocumentError(f"document {doc.id!r} comes from {known[doc.id].source or 'a corpus source'}, "
                                        "not from this API; change it there", kind="conflict")
                if doc.id in known and not replace:
                    raise DocumentError(f"document {doc.id!r} exists; PUT /v1/documents/{{id}} replaces it", kind="conflict")
                record = {"id": doc.id, "title": doc.title, "text": doc.text, "url": doc.url, "published": doc.published}
                changes[self._path(doc.id)] = json.dumps(record) + "\n"  # ASCII: one record, one line
            self._apply(changes, index, expect={d.id for d in docs})
            ids = {d.id for d in docs}
            return [d for d in self.served.index.documents if d.id in ids]

    def delete(self, doc_id: str) -> None:
        with self._lock:
            index = self.served.index
            info = next((d for d in index.documents if d.id == doc_id), None)
            if info is None:
                raise DocumentError(f"no document with id {doc_id[:MAX_ID_CHARS]!r}", kind="not_found")
            if not self.stored(doc_id):
                raise DocumentError(f"document {doc_id!r} comes from {info.source or 'a corpus source'}, not from this "
                                    "API; remove it there", kind="conflict")
            self._apply({self._path(doc_id): None}, index)

    def _apply(self, changes: dict[Path, str | None], index: StoredIndex, expect: set[str] = frozenset()) -> None:
        """Write the files, rebuild from every source with unchanged vectors reused, swap; undo on failure."""
        self.directory.mkdir(parents=True, exist_ok=True)
        before = {path: path.read_text(encoding="utf-8") if path.is_file() else None for path in changes}
        try:
            for path, data in changes.items():
                if data is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, data)
            sources = list(dict.fromkeys([*index.manifest.sources, str(self.directory.resolve())]))
            report = build_index(sources, self.embedder, self.index_dir, previous=index)
            missing = expect - {d.id for d in report.index.documents}
            if missing:
                store.save(index, self.index_dir)  # the index as it was
                raise DocumentError("could not index the document: " + "; ".join(report.errors[:3])[:500])
        except BaseException:
            for path, data in before.items():
                if data is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, data)
            raise
        self.served.swap_index(report.index)
