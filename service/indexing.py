"""Build, open and keep the index in step with its sources: full builds aside, changes a document at a time.

* ``build_index`` writes a whole new version (first build, ``qa index --replace``, another model) and swaps
  it in atomically. Vectors of unchanged passages are reused, and the ones it computes are kept in
  ``INDEX_DIR/.vectors.sqlite`` until the build completes, so an interrupted build resumes where it stopped.
* ``sync_sources`` brings an existing index in step with its sources by writing only the documents that
  were added, changed or removed (``qa index PATH`` and a start-up after files changed).
* ``open_index`` decides which, from a cheap signature of the source files (paths, sizes, times).
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from corpus.loader import Corpus, load_corpus, sources_signature
from qa.protocols import Embedder
from qa.types import Document, DocumentInfo, Passage
from retriever import store
from retriever.store import IndexMissing, Manifest, NewDocument, StoredIndex

Log = Callable[[str], None]
Progress = Callable[[int, int], None]  # (passages done, passages in all)
# Documents added over HTTP carry this source: rebuilds keep them, source syncs never remove them.
API_SOURCE = "api"
# Passages embedded per call (progress and the resume cache advance by this much).
EMBED_CHUNK = 256


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass
class BuildReport:
    index: StoredIndex
    errors: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    written_documents: int | None = None  # a sync: documents added, replaced or removed
    embed_seconds: float = 0.0  # of ``seconds``, spent in the model (loading it excluded)

    def summary(self) -> str:
        rate = (f", {self.embedded / self.embed_seconds:.0f} passages/s embedded"
                if self.embedded and self.embed_seconds else "")
        changed = "" if self.written_documents is None else f"; {self.written_documents} documents written"
        return (f"indexed {self.index.passage_count()} passages from {self.index.document_count()} documents "
                f"({self.embedded} embedded, {self.reused} reused{changed}) in {self.seconds:.1f}s{rate}")


class VectorCache:
    """Vectors computed for passage texts during a build, by model: what an interrupted build resumes from."""

    def __init__(self, path: Path, model: str):
        self.path, self.model = path, model
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS v (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for i in range(0, len(texts), 500):
            part = {self._key(t): t for t in texts[i : i + 500]}
            marks = ",".join("?" * len(part))
            for key, blob in self._db.execute(f"SELECT key, vector FROM v WHERE key IN ({marks})", list(part)):
                out[part[key]] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put(self, texts: list[str], vectors: np.ndarray) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)",
                                 [(self._key(t), np.asarray(v, np.float32).tobytes()) for t, v in zip(texts, vectors)])

    def drop(self) -> None:
        self._db.close()
        self.path.unlink(missing_ok=True)


def embed_texts(texts: list[str], embedder: Embedder, known: dict[str, np.ndarray],
                cache: VectorCache | None = None, progress: Progress | None = None,
                timing: dict | None = None) -> dict[str, np.ndarray]:
    """Vectors for ``texts``: from ``known`` and the cache where they are, else embedded in chunks of similar
    length (less padding), each chunk cached as it completes. ``timing["seconds"]`` gets the model's time."""
    todo = [t for t in dict.fromkeys(texts) if t not in known]
    out = dict(known)
    if cache is not None and todo:
        out.update(cache.get(todo))
        todo = [t for t in todo if t not in out]
    if todo:
        embedder.warm_up()  # loading the model is not embedding: the rate leaves it out
    started = time.perf_counter()
    todo.sort(key=len)
    done = len(set(texts)) - len(todo)
    if progress is not None:
        progress(done, done + len(todo))
    for i in range(0, len(todo), EMBED_CHUNK):
        chunk = todo[i : i + EMBED_CHUNK]
        vectors = embedder.encode(chunk)
        if cache is not None:
            cache.put(chunk, vectors)
        out.update(zip(chunk, vectors))
        if progress is not None:
            progress(done + i + len(chunk), done + len(todo))
    if timing is not None and todo:
        timing["seconds"] = time.perf_counter() - started
    return out


def _by_document(corpus: Corpus) -> dict[str, list[Passage]]:
    grouped: dict[str, list[Passage]] = {d.id: [] for d in corpus.documents}
    for p in corpus.passages:
        grouped[p.doc_id].append(p)
    return grouped


def new_document(doc: Document, passages: list[Passage], vectors: dict[str, np.ndarray], dim: int) -> NewDocument:
    info = DocumentInfo(doc.id, doc.title, doc.url, doc.published, doc.source, len(passages), doc.publisher, doc.topics)
    stacked = np.stack([vectors[p.text] for p in passages]) if passages else np.zeros((0, dim), np.float32)
    return NewDocument(info, doc.text, passages, stacked)


def _kept_api_documents(previous: StoredIndex | None, corpus: Corpus) -> list[tuple[DocumentInfo, str, list[Passage]]]:
    """Documents added over HTTP, which a rebuild from files would otherwise drop."""
    if previous is None:
        return []
    ids = {d.id for d in corpus.documents}
    return [(d, previous.document_text(d.id) or "", previous.passages_of(d.id))
            for d in previous.documents() if d.source == API_SOURCE and d.id not in ids]


def build_index(
    sources: list[Path | str],
    embedder: Embedder,
    index_dir: Path,
    previous: StoredIndex | None = None,
    corpus: Corpus | None = None,
    progress: Progress | None = None,
    computed: dict[str, np.ndarray] | None = None,
    signature: str | None = None,
) -> BuildReport:
    """Embed the corpus under ``sources`` into a new version of the index; unchanged vectors are reused.

    ``computed``: vectors already made elsewhere for this corpus (a Ray cluster), by the same model.
    ``signature``: the sources' signature taken before ``corpus`` was read (else it is taken now)."""
    started = time.perf_counter()
    store.check_folder(Path(index_dir))
    sources = [str(Path(s).resolve()) for s in sources]
    # Before reading: a file changed while it is indexed then differs from the signature, and is read again.
    signature = signature or sources_signature(sources)
    corpus = corpus or load_corpus(sources)
    kept = _kept_api_documents(previous, corpus)
    if not corpus.passages and not any(passages for _, _, passages in kept):
        raise ValueError("no paragraphs to index" + "".join(f"\n  {e}" for e in corpus.errors))
    known: dict[str, np.ndarray] = {}
    if previous is not None and previous.manifest.model == embedder.name:
        known = {p.text: v for p, v in previous.all_passages()}
    texts = [p.text for p in corpus.passages] + [p.text for _, _, ps in kept for p in ps]
    reused = sum(t in known for t in set(texts))
    known.update(computed or {})
    cache = VectorCache(Path(index_dir) / ".vectors.sqlite", embedder.name)
    timing: dict = {}
    vectors = embed_texts(texts, embedder, known, cache, progress, timing)
    embedded = len(set(texts)) - reused
    dim = int(next(iter(vectors.values())).shape[0]) if vectors else embedder.dim
    manifest = Manifest(embedder.name, dim, corpus.fingerprint(), sources, time.time(),
                        signature=signature)
    grouped = _by_document(corpus)

    def documents() -> Iterator[NewDocument]:
        for doc in corpus.documents:
            yield new_document(doc, grouped[doc.id], vectors, dim)
        for info, text, passages in kept:
            yield new_document(Document(info.id, info.title, text, info.url, info.published, info.source,
                                        info.publisher, info.topics), passages, vectors, dim)

    stored = store.build(Path(index_dir), manifest, documents())
    cache.drop()
    return BuildReport(stored, corpus.errors, embedded, reused, time.perf_counter() - started,
                       embed_seconds=timing.get("seconds", 0.0))


def _source_file(source: str) -> str:
    """The file of a document's recorded source (``file`` or, for JSONL, ``file:line``)."""
    head, _, line = source.rpartition(":")
    return head if head and line.isdigit() else source


def _in_sources(source: str | None, sources: list[str]) -> bool:
    """Whether a document's recorded source lies under one of ``sources`` (documents added over HTTP never do)."""
    if not source or source == API_SOURCE:
        return False
    path = _source_file(source)
    return any(path == s or path.startswith(s.rstrip("/") + "/") for s in sources)


def sync_sources(stored: StoredIndex, sources: list[Path | str], embedder: Embedder,
                 progress: Progress | None = None, corpus: Corpus | None = None, batch: int = 500,
                 signature: str | None = None) -> BuildReport:
    """Write only the documents of ``sources`` that are new, changed or gone; documents added over HTTP stay."""
    started = time.perf_counter()
    sources = [str(Path(s).resolve()) for s in sources]
    signature = signature or sources_signature(sources)  # before reading, as in build_index
    corpus = corpus or load_corpus(sources)
    grouped = _by_document(corpus)
    current = {d.id: d for d in stored.documents()}
    changed: list[Document] = []
    for doc in corpus.documents:
        old = current.get(doc.id)
        same = old is not None and (old.title, old.url, old.published, old.publisher, old.topics, old.paragraphs) == (
            doc.title, doc.url, doc.published, doc.publisher, doc.topics, len(grouped[doc.id])) and (
            stored.document_text(doc.id) == doc.text)
        if not same:
            changed.append(doc)
    ids = {d.id for d in corpus.documents}
    # A file that could not be read this time keeps its documents (a transient error must not delete them).
    unreadable = {e.split(": ", 1)[0] for e in corpus.errors}
    gone = [d.id for d in current.values() if d.id not in ids and _in_sources(d.source, sources)
            and _source_file(d.source) not in unreadable and d.source not in unreadable]
    known: dict[str, np.ndarray] = {}
    for doc in changed:
        if doc.id in current:
            known.update(stored.passage_vectors(doc.id))
    texts = [p.text for doc in changed for p in grouped[doc.id]]
    reused = sum(t in known for t in set(texts))
    timing: dict = {}
    vectors = embed_texts(texts, embedder, known, progress=progress, timing=timing)
    dim = stored.manifest.dim
    upserts = [new_document(doc, grouped[doc.id], vectors, dim) for doc in changed]
    for i in range(0, max(len(upserts), len(gone)), batch):
        stored.write(upserts[i : i + batch], gone[i : i + batch])
    stored.set_sources(sources, corpus.fingerprint(), signature)
    return BuildReport(stored, corpus.errors, len(set(texts)) - reused, reused, time.perf_counter() - started,
                       written_documents=len(upserts) + len(gone), embed_seconds=timing.get("seconds", 0.0))


def stale_reason(stored: StoredIndex, embedder: Embedder) -> str | None:
    """Why ``stored`` needs a full rebuild (another format or model), else None."""
    m = stored.manifest
    if m.format != store.FORMAT_VERSION:
        return f"index format {m.format} is not {store.FORMAT_VERSION}"
    if m.model != embedder.name:
        return f"index was built with model {m.model!r}, not {embedder.name!r}"
    return None


def open_index(
    index_dir: Path,
    embedder: Embedder,
    default_sources: list[Path],
    build_if_missing: bool,
    log: Log = stderr_log,
    refresh: bool = True,
) -> StoredIndex:
    """Load the index; bring it in step with its sources if they changed (``refresh``); build it if missing.

    A corrupt index raises ``IndexCorrupt`` rather than being replaced (``qa index`` rebuilds it from
    its recorded sources). Read-only callers pass ``refresh=False``: a stale index is then used as built.
    A source that has gone missing (moved checkout, unmounted share) never removes its documents.
    """
    try:
        stored = store.load(index_dir)
    except IndexMissing:
        if not build_if_missing:
            raise
        log(f"no index at {index_dir}; building it from {', '.join(map(str, default_sources))}")
        return _report(build_index(default_sources, embedder, index_dir), log).index
    except store.IndexCorrupt:
        raise
    missing = [s for s in stored.manifest.sources if not Path(s).exists()]
    if missing:
        log(f"warning: source(s) of the index at {index_dir} cannot be found ({', '.join(missing)}); "
            "using the index as built")
        return stored
    reason = stale_reason(stored, embedder)
    signature = sources_signature(stored.manifest.sources)
    if reason is None and signature == stored.manifest.signature:
        return stored
    if not refresh:
        log(f"warning: the index at {index_dir} is out of date ({reason or 'its source files changed'}); "
            "answering from it as built (qa index or qa serve refreshes it)")
        return stored
    corpus = load_corpus(stored.manifest.sources)
    if not corpus.passages:
        log(f"warning: the sources of the index at {index_dir} cannot be read; using the index as built")
        return stored
    if reason is not None:
        log(f"rebuilding index at {index_dir}: {reason}")
        report = build_index(stored.manifest.sources, embedder, index_dir, previous=stored, corpus=corpus,
                             signature=signature)
    else:
        log(f"updating index at {index_dir}: its source files changed")
        report = sync_sources(stored, stored.manifest.sources, embedder, corpus=corpus, signature=signature)
    return _report(report, log).index


def _report(report: BuildReport, log: Log) -> BuildReport:
    for error in report.errors:
        log(f"warning: skipped {error}")
    log(report.summary())
    return report
