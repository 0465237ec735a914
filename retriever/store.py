"""The passage store: records in SQLite, lexical search in tantivy, dense search in FAISS, written a
document at a time.

Layout: ``DIR/CURRENT`` names a version folder ``DIR/v-.../`` holding ``store.sqlite``, ``lexical/`` (tantivy)
and a dense snapshot (``dense-*.faiss`` with ``dense-*.rows.npy``, the passage row of each vector). A full
rebuild writes a new version aside and swaps ``CURRENT`` with ``os.replace``; everything else writes in place:

* SQLite (WAL, ``synchronous=FULL``) is the truth. Adding, replacing or deleting a document is one
  transaction over that document's rows only: its record and its passages (text, offsets, vector); the
  passage rows it removes are logged as tombstones. A write is durable when it returns; kill -9 at any
  moment leaves the last committed state.
* tantivy and FAISS are derived, each with the last passage row and tombstone it has applied; whatever
  SQLite committed beyond that is replayed (idempotently) on load, so a crash between the commit and the
  derived indexes loses nothing.
* FAISS is loaded from a snapshot that covers passage rows up to ``max_row`` and deletions up to
  ``max_tomb``; on load, rows and deletions committed since are replayed from SQLite (seconds, not a
  rebuild), and ``compact()`` writes a new snapshot when the replay grows long.
* Below ``EXACT_MAX`` passages the snapshot is exact (``IndexFlatIP``); above it, IVF-Flat, whose recall
  against exact search ``bench/bench_scale.py`` measures. Vectors added later go to their nearest cell.

Readers in other processes (``qa serve`` replicas over one directory) pick up committed writes through
``refresh()``; one writer at a time holds ``DIR/.write.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

import faiss
import numpy as np

from qa.atomic import fsync_dir, write_atomic
from qa.types import DocumentInfo, Passage
from retriever.lexical import LexicalIndex

FORMAT_VERSION = 2
REBUILD_HINT = "qa index"
log = logging.getLogger("qa.store")
# Up to this many passages, exact search; above, an inverted-file index (IVF-Flat: k-means cells, a few cells
# searched per question), chosen over HNSW by bench/bench_scale.py (recall against exact search, speed, memory).
EXACT_MAX = 50_000
IVF_CELLS_PER_SQRT, IVF_NPROBE = 4, 24
# Replayed rows or deletions beyond this share of the snapshot (and at least COMPACT_MIN) make a new snapshot.
COMPACT_SHARE, COMPACT_MIN = 0.2, 5_000
# How often a reader looks for writes committed by other processes.
REFRESH_S = 0.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, url TEXT, published TEXT, source TEXT,
    paragraphs INTEGER NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passages (
    row INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, doc_id TEXT NOT NULL, title TEXT NOT NULL,
    paragraph INTEGER NOT NULL, text TEXT NOT NULL, doc_start INTEGER NOT NULL, doc_end INTEGER NOT NULL,
    vector BLOB NOT NULL, page INTEGER);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE TABLE IF NOT EXISTS tombstones (seq INTEGER PRIMARY KEY AUTOINCREMENT, row INTEGER NOT NULL);
"""


class IndexError_(Exception):
    """Base for index problems; the message names the command that fixes it."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    fingerprint: str
    sources: list[str]
    created: float
    format: int = FORMAT_VERSION
    # Paths, sizes and modification times of the source files (corpus.loader.sources_signature): equal means
    # nothing to re-read at start-up.
    signature: str = ""


@dataclass(frozen=True)
class NewDocument:
    """One document to write: its record and text, its passages and their vectors (one row each)."""

    info: DocumentInfo
    text: str
    passages: list[Passage]
    vectors: np.ndarray


def _corrupt(directory: Path, why: str) -> IndexCorrupt:
    return IndexCorrupt(f"index at {directory} is unreadable ({why}); rebuild it with: {REBUILD_HINT}")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a committed write survives a power cut
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


# One thread per search: questions arrive one at a time from several request threads, and OpenMP's threads
# spinning against each other (and against the reader) made a 20,000-passage exact search take 24 ms
# instead of 2 (bench/README.md).
faiss.omp_set_num_threads(1)


def tune(index: faiss.Index) -> faiss.Index:
    """Search-time settings, which a saved index does not carry everywhere."""
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = IVF_NPROBE
        index.make_direct_map()
    return index


class DenseIndex:
    """Vectors by position in a FAISS index, with the passage row of each position and a deleted mask."""

    def __init__(self, index: faiss.Index, rows: np.ndarray):
        self.index = index
        self.rows = rows.astype(np.int64)
        self.dead = np.zeros(len(rows), dtype=bool)
        self.position = {int(r): i for i, r in enumerate(self.rows)}
        self._lock = threading.Lock()  # FAISS is not safe to search while it is added to

    @staticmethod
    def new(vectors: np.ndarray, dim: int) -> faiss.Index:
        """An index holding ``vectors``: exact up to ``EXACT_MAX``, IVF-Flat trained on them above."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
        if len(vectors) <= EXACT_MAX:
            index = faiss.IndexFlatIP(dim)
        else:
            cells = int(IVF_CELLS_PER_SQRT * np.sqrt(len(vectors)))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, cells, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(0).choice(len(vectors), min(len(vectors), 40 * cells), replace=False)
            index.train(vectors[np.sort(sample)])
        if len(vectors):
            index.add(vectors)
        tune(index)
        return index

    @property
    def live(self) -> int:
        return len(self.rows) - int(self.dead.sum())

    def add(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        if not len(rows):
            return
        with self._lock:
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            start = len(self.rows)
            self.rows = np.concatenate([self.rows, rows.astype(np.int64)])
            self.dead = np.concatenate([self.dead, np.zeros(len(rows), dtype=bool)])
            self.position.update({int(r): start + i for i, r in enumerate(rows)})

    def remove(self, rows: Iterable[int]) -> None:
        with self._lock:
            for r in rows:
                pos = self.position.pop(int(r), None)
                if pos is not None:
                    self.dead[pos] = True

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and passage rows, best first; -1 rows pad when fewer live passages exist."""
        n = len(queries)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        rows = np.full((n, k), -1, dtype=np.int64)
        if k == 0 or not self.live:
            return scores, rows
        dead = int(self.dead.sum())
        fetch = min(len(self.rows), k + dead) if dead else min(len(self.rows), k)
        with self._lock:
            found_s, found_p = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), fetch)
        for q in range(n):
            keep = [(s, p) for s, p in zip(found_s[q], found_p[q]) if p >= 0 and not self.dead[p]][:k]
            for j, (s, p) in enumerate(keep):
                scores[q, j], rows[q, j] = s, self.rows[p]
        return scores, rows

    def has(self, row: int) -> bool:
        return int(row) in self.position

    def vectors_of(self, rows: Iterable[int]) -> np.ndarray:
        with self._lock:
            return self._reconstruct(np.array([self.position[int(r)] for r in rows], dtype=np.int64))

    def snapshot(self) -> tuple[faiss.Index, np.ndarray]:
        """The live vectors only, re-indexed (compaction drops the deleted ones)."""
        with self._lock:
            keep = np.flatnonzero(~self.dead)
            vectors = self._reconstruct(keep)
        return self.new(vectors, self.index.d), self.rows[keep]

    def _reconstruct(self, positions: np.ndarray) -> np.ndarray:
        if isinstance(self.index, faiss.IndexIVF):
            self.index.make_direct_map()  # IVF reconstructs by position only with its direct map
        if not len(positions):
            return np.zeros((0, self.index.d), dtype=np.float32)
        return self.index.reconstruct_batch(np.asarray(positions, dtype=np.int64)).astype(np.float32)


class StoredIndex:
    """One version of the index. Light to open: passage records stay in SQLite, read by row when needed."""

    def __init__(self, directory: Path, version: Path, manifest: Manifest, dense: DenseIndex,
                 max_row: int, max_tomb: int):
        self.directory, self.version, self.manifest = directory, version, manifest
        self.dense = dense
        self.words = LexicalIndex(version / "lexical")
        self._max_row, self._max_tomb = max_row, max_tomb
        self._local = threading.local()
        self._refresh_lock = threading.Lock()
        self._checked = time.monotonic()

    # -- connections ----------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _connect(self.version / "store.sqlite")
        return conn

    # -- reads ----------------------------------------------------------------------------------
    def passage_count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM passages").fetchone()[0])

    def document_count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM documents").fetchone()[0])

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(*r) for r in self._db().execute(
            "SELECT id, title, url, published, source, paragraphs FROM documents ORDER BY rowid")]

    def document(self, doc_id: str) -> DocumentInfo | None:
        r = self._db().execute("SELECT id, title, url, published, source, paragraphs FROM documents WHERE id = ?",
                               (doc_id,)).fetchone()
        return DocumentInfo(*r) if r else None

    def document_text(self, doc_id: str) -> str | None:
        r = self._db().execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return r[0] if r else None

    def passages_of(self, doc_id: str) -> list[Passage]:
        return [Passage(*r) for r in self._db().execute(
            "SELECT id, doc_id, title, paragraph, text, doc_start, doc_end, page FROM passages WHERE doc_id = ? ORDER BY row",
            (doc_id,))]

    def passages_at(self, rows: Iterable[int]) -> dict[int, Passage]:
        """The passages of these rows that exist (a row deleted meanwhile is simply absent)."""
        rows = [int(r) for r in rows if r >= 0]
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        return {r[0]: Passage(*r[1:]) for r in self._db().execute(
            f"SELECT row, id, doc_id, title, paragraph, text, doc_start, doc_end, page FROM passages WHERE row IN ({marks})",
            rows)}

    def rows_of(self, doc_ids: Iterable[str]) -> np.ndarray:
        """The passage rows of these documents that are searchable now, in row order."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return np.zeros(0, dtype=np.int64)
        marks = ",".join("?" * len(ids))
        rows = [r for (r,) in self._db().execute(f"SELECT row FROM passages WHERE doc_id IN ({marks}) ORDER BY row", ids)]
        return np.array([r for r in rows if self.dense.has(r)], dtype=np.int64)

    def documents_of(self, rows: np.ndarray) -> np.ndarray:
        """The document id of each of these rows, in order ("" for a row deleted meanwhile)."""
        rows = [int(r) for r in rows]
        if not rows:
            return np.array([], dtype=object)
        marks = ",".join("?" * len(rows))
        found = dict(self._db().execute(f"SELECT row, doc_id FROM passages WHERE row IN ({marks})", rows).fetchall())
        return np.array([found.get(r, "") for r in rows], dtype=object)

    def all_passages(self) -> Iterator[tuple[Passage, np.ndarray]]:
        """Every passage with its vector, in row order (rebuilds reuse vectors of unchanged text)."""
        for r in self._db().execute(
                "SELECT id, doc_id, title, paragraph, text, doc_start, doc_end, page, vector FROM passages ORDER BY row"):
            yield Passage(*r[:8]), np.frombuffer(r[8], dtype=np.float32)

    def search(self, queries: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
        """Dense search: (scores, rows), best first."""
        self.refresh()
        return self.dense.search(queries, top_k)

    def vectors_of(self, rows: Iterable[int]) -> np.ndarray:
        """The stored vectors of these passage rows, in order (for re-scoring a candidate pool)."""
        return self.dense.vectors_of(rows)

    def lexical(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """BM25 over the passages' words: rows and scores (higher is better) of the best ``k``."""
        self.refresh()
        return self.words.search(query, k)

    def lexical_scores(self, query: str, rows: np.ndarray) -> np.ndarray:
        """BM25 of the question against these rows (0 where no word is shared)."""
        return self.words.scores(query, rows)

    # -- writes ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer across processes (replicas share the directory)."""
        with open(self.directory / ".write.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """The transaction commits (durably) or rolls back whole."""
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite rolls back by itself on some errors (a full disk): then there is nothing left to undo.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _catch_up_words(self) -> None:
        """Apply to tantivy what SQLite committed beyond what tantivy has (after a crash, or another writer)."""
        conn = self._db()
        done = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'lexical'").fetchone()[0])
        added = conn.execute("SELECT row, text FROM passages WHERE row > ? ORDER BY row", (done["max_row"],)).fetchall()
        tombs = conn.execute("SELECT seq, row FROM tombstones WHERE seq > ? ORDER BY seq", (done["max_tomb"],)).fetchall()
        if not added and not tombs:
            return
        self.words.delete(r for _, r in tombs)
        self.words.add([r for r, _ in added], [t for _, t in added])
        self.words.commit()
        max_row = max(done["max_row"], added[-1][0] if added else 0)
        max_tomb = max(done["max_tomb"], tombs[-1][0] if tombs else 0)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('lexical', ?)",
                     (json.dumps({"max_row": max_row, "max_tomb": max_tomb}),))

    def write(self, upserts: list[NewDocument] = (), deletes: Iterable[str] = ()) -> None:
        """Add or replace ``upserts`` and delete ``deletes`` (document ids), as one durable transaction.

        Only these documents' rows are touched; questions see the change as soon as this returns."""
        with self._locked():
            self.refresh(force=True)
            with self._transaction() as conn:
                gone, added = self._apply(conn, upserts, list(deletes))
                self._max_tomb = int(conn.execute("SELECT coalesce(max(seq), 0) FROM tombstones").fetchone()[0])
            # Committed: the derived indexes follow (a crash from here on is repaired by replay on load).
            self.dense.remove(gone)
            if added:
                self.dense.add(np.array([r for r, _ in added]), np.stack([v for _, v in added]))
                self._max_row = max(self._max_row, max(r for r, _ in added))
            self._catch_up_words()
            if self._replay_is_long():
                self._compact()

    @staticmethod
    def _apply(conn: sqlite3.Connection, upserts: list[NewDocument], deletes: list[str]):
        """The SQL of one write: old rows of every named document out (logged as tombstones), new rows in."""
        gone: list[int] = []
        added: list[tuple[int, np.ndarray]] = []
        for doc_id in [*deletes, *(d.info.id for d in upserts)]:
            rows = [r for (r,) in conn.execute("SELECT row FROM passages WHERE doc_id = ?", (doc_id,))]
            conn.executemany("INSERT INTO tombstones(row) VALUES (?)", [(r,) for r in rows])
            conn.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
            conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            gone += rows
        for doc in upserts:
            for row, vector in _insert(conn, doc):
                added.append((row, vector))
        return gone, added

    def passage_vectors(self, doc_id: str) -> dict[str, np.ndarray]:
        """The vectors of a document's passages by text (a replaced document re-embeds only what changed)."""
        return {t: np.frombuffer(v, dtype=np.float32) for t, v in self._db().execute(
            "SELECT text, vector FROM passages WHERE doc_id = ?", (doc_id,))}

    def set_sources(self, sources: list[str], fingerprint: str, signature: str) -> None:
        """Record the sources (with their fingerprint and signature) this index now holds."""
        manifest = Manifest(self.manifest.model, self.manifest.dim, fingerprint, sources, self.manifest.created,
                            signature=signature)
        with self._locked(), self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('manifest', ?)", (json.dumps(asdict(manifest)),))
        self.manifest = manifest
        write_atomic(self.directory / "SOURCES.json", json.dumps(sources))

    # -- other processes' writes, snapshots -----------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Apply passages added and deleted by other processes since this one last looked."""
        now = time.monotonic()
        if not force and now - self._checked < REFRESH_S:
            return
        if not self.version.is_dir():
            return  # replaced by a full rebuild and removed: this index is about to be let go
        with self._refresh_lock:
            self._checked = now
            conn = self._db()
            new = conn.execute("SELECT row, vector FROM passages WHERE row > ? ORDER BY row", (self._max_row,)).fetchall()
            tombs = conn.execute("SELECT seq, row FROM tombstones WHERE seq > ? ORDER BY seq", (self._max_tomb,)).fetchall()
            if tombs:
                self.dense.remove(r for _, r in tombs)
                self._max_tomb = tombs[-1][0]
            if new:
                self.dense.add(np.array([r for r, _ in new]), np.stack([np.frombuffer(v, np.float32) for _, v in new]))
                self._max_row = new[-1][0]
            if new or tombs:
                self.words.reload()

    def _replay_is_long(self) -> bool:
        meta = json.loads(self._db().execute("SELECT value FROM meta WHERE key = 'snapshot'").fetchone()[0])
        replayed = (self._max_row - meta["max_row"]) + (self._max_tomb - meta["max_tomb"])
        return replayed > max(COMPACT_MIN, COMPACT_SHARE * max(meta["size"], 1))

    def compact(self) -> None:
        """Write a new dense snapshot of the live vectors, so that loading replays nothing."""
        with self._locked():
            self.refresh(force=True)
            self._compact()

    def _rebuild_words(self) -> None:
        """The lexical index made again from SQLite, whole (it is derived): when replaying into it failed."""
        conn = self._db()
        lexical = self.version / "lexical"
        shutil.rmtree(lexical, ignore_errors=True)
        self.words = LexicalIndex(lexical)
        cursor = conn.execute("SELECT row, text FROM passages ORDER BY row")
        while chunk := cursor.fetchmany(10_000):
            self.words.add([r for r, _ in chunk], [t for _, t in chunk])
        self.words.commit()
        max_row = int(conn.execute("SELECT coalesce(max(row), 0) FROM passages").fetchone()[0])
        max_tomb = int(conn.execute("SELECT coalesce(max(seq), 0) FROM tombstones").fetchone()[0])
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('lexical', ?)",
                     (json.dumps({"max_row": max_row, "max_tomb": max_tomb}),))

    def _compact(self) -> None:
        index, rows = self.dense.snapshot()
        _write_snapshot(self._db(), self.version, index, rows, self._max_row, self._max_tomb)
        # The in-memory index sheds its deleted vectors too.
        self.dense = DenseIndex(index, rows)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _insert(conn: sqlite3.Connection, doc: NewDocument) -> Iterator[tuple[int, np.ndarray]]:
    """Insert one document and its passages; yields each passage's row and vector."""
    d = doc.info
    conn.execute("INSERT INTO documents(id, title, url, published, source, paragraphs, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (d.id, d.title, d.url, d.published, d.source, len(doc.passages), doc.text))
    if not doc.passages:
        return  # a copy whose every paragraph is stored with an earlier document: cited from there
    vectors = np.ascontiguousarray(doc.vectors, dtype=np.float32).reshape(len(doc.passages), -1)
    for p, v in zip(doc.passages, vectors):
        cur = conn.execute("INSERT INTO passages(id, doc_id, title, paragraph, text, doc_start, doc_end, vector, page) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (p.id, p.doc_id, p.title, p.paragraph, p.text, p.doc_start, p.doc_end, v.tobytes(), p.page))
        yield cur.lastrowid, v


def _write_snapshot(conn: sqlite3.Connection, version: Path, index: faiss.Index, rows: np.ndarray,
                    max_row: int, max_tomb: int) -> None:
    """New snapshot files under fresh names, fsynced, then pointed to from SQLite; the old ones removed."""
    name = f"dense-{max_row}-{max_tomb}-{os.getpid()}"
    faiss.write_index(index, str(version / f"{name}.faiss"))
    np.save(version / f"{name}.rows.npy", rows)
    for suffix in (".faiss", ".rows.npy"):
        with open(version / f"{name}{suffix}", "rb") as fh:
            os.fsync(fh.fileno())
    fsync_dir(version)
    old = conn.execute("SELECT value FROM meta WHERE key = 'snapshot'").fetchone()
    meta = {"file": name, "max_row": int(max_row), "max_tomb": int(max_tomb), "size": int(len(rows))}
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('snapshot', ?)", (json.dumps(meta),))
    if old:
        previous = json.loads(old[0])["file"]
        if previous != name:
            for suffix in (".faiss", ".rows.npy"):
                (version / f"{previous}{suffix}").unlink(missing_ok=True)


def build(directory: Path, manifest: Manifest, documents: Iterable[NewDocument], progress=None) -> StoredIndex:
    """Write a complete new version aside, make it current atomically, and return it opened.

    ``documents`` may be a generator; ``progress(n)`` is called with the passages written so far."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    version = Path(tempfile.mkdtemp(prefix=f"v-{int(time.time())}-", dir=directory))
    try:
        conn = _connect(version / "store.sqlite")
        conn.executescript(_SCHEMA)
        conn.execute("INSERT INTO meta VALUES ('manifest', ?)", (json.dumps(asdict(manifest)),))
        chunks: list[np.ndarray] = []
        words = LexicalIndex(version / "lexical")
        rows_all: list[int] = []
        texts: list[str] = []
        written = 0
        conn.execute("BEGIN")
        for doc in documents:
            new = list(_insert(conn, doc))
            rows_all += [r for r, _ in new]
            texts += [p.text for p in doc.passages]
            vectors = np.stack([v for _, v in new]) if new else np.zeros((0, manifest.dim), np.float32)
            chunks.append(vectors)
            if len(texts) >= 10_000:  # tantivy batches its own writes; keep Python's list short
                words.add(rows_all[-len(texts):], texts)
                texts = []
            written += len(doc.passages)
            if progress is not None:
                progress(written)
        rows = np.array(rows_all, dtype=np.int64)
        index = DenseIndex.new(np.concatenate(chunks) if chunks else np.zeros((0, manifest.dim)), manifest.dim)
        chunks.clear()
        words.add(rows_all[len(rows_all) - len(texts):], texts)
        words.commit()
        conn.execute("INSERT INTO meta VALUES ('lexical', ?)",
                     (json.dumps({"max_row": int(rows.max(initial=0)), "max_tomb": 0}),))
        _write_snapshot(conn, version, index, rows, int(rows.max(initial=0)), 0)
        conn.execute("COMMIT")
        conn.close()
        fsync_dir(version)
        previous = current_version(directory)
        write_atomic(directory / "SOURCES.json", json.dumps(manifest.sources))
        write_atomic(directory / "CURRENT", version.name)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    # The version just replaced stays until the next build: replicas still serving it move over within a
    # second (service.application.Application.follow), questions in flight finish on it.
    for old in directory.glob("v-*"):
        if old.name not in (version.name, previous) and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return load(directory)


def known_sources(directory: Path) -> list[str] | None:
    """The sources the last saved index was built from, readable even when the index itself is not."""
    try:
        sources = json.loads((directory / "SOURCES.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [str(s) for s in sources] if isinstance(sources, list) else None


def current_version(directory: Path) -> str | None:
    """The name of the version ``CURRENT`` points to (None without one): replicas compare it to reload."""
    try:
        return (directory / "CURRENT").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def check_folder(directory: Path) -> None:
    """An index folder that exists as something else (a file) cannot be read or built: say so plainly."""
    if directory.exists() and not directory.is_dir():
        raise IndexCorrupt(f"the index folder {directory} is a file, not a folder; point QA_INDEX_DIR at a folder "
                           "(or move that file away)")


def _add_page_column(path: Path) -> None:
    """Stores written before passages had page numbers (PDF) get the column, empty: a cheap, one-time change."""
    conn = _connect(path)
    try:
        if "page" not in {r[1] for r in conn.execute("PRAGMA table_info(passages)")}:
            try:
                conn.execute("ALTER TABLE passages ADD COLUMN page INTEGER")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise
    finally:
        conn.close()


def load(directory: Path) -> StoredIndex:
    directory = Path(directory)
    check_folder(directory)
    pointer = directory / "CURRENT"
    if not pointer.exists():
        raise IndexMissing(f"no index at {directory}; build it with: {REBUILD_HINT}")
    name = current_version(directory)
    if name is None or "/" in name or not (directory / name / "store.sqlite").is_file():
        raise _corrupt(directory, f"{pointer} does not name a version folder with a store.sqlite")
    version = directory / name
    try:
        conn = sqlite3.connect(f"file:{version / 'store.sqlite'}?mode=ro", uri=True)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            manifest = Manifest(**json.loads(meta["manifest"]))
            snap = json.loads(meta["snapshot"])
            if not isinstance(manifest.dim, int) or not isinstance(manifest.sources, list):
                raise ValueError(f"the manifest in {version / 'store.sqlite'} has a mistyped field: dim must be an "
                                 "integer and sources a list")
            index = tune(faiss.read_index(str(version / f"{snap['file']}.faiss")))
            rows = np.load(version / f"{snap['file']}.rows.npy")
            if index.ntotal != len(rows) or (index.ntotal and index.d != manifest.dim):
                raise ValueError(f"snapshot holds {index.ntotal} vectors of {index.d} numbers for {len(rows)} rows "
                                 f"of {manifest.dim}")
            # Offsets must describe real slices: a passage's text is its document's text[doc_start:doc_end].
            bad = conn.execute("SELECT count(*) FROM passages WHERE doc_start < 0 OR doc_end < doc_start "
                               "OR doc_end - doc_start != length(text)").fetchone()[0]
            if bad:
                raise ValueError(f"{bad} passage(s) with offsets that do not match their text")
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise _corrupt(directory, str(exc)[:300]) from exc
    _add_page_column(version / "store.sqlite")
    def open_stored() -> StoredIndex:
        return StoredIndex(directory, version, manifest, DenseIndex(index, rows), int(snap["max_row"]),
                           int(snap["max_tomb"]))

    try:
        stored, broken = open_stored(), None
    except Exception as exc:  # noqa: BLE001 - tantivy could not open its files: they are derived, make them again
        shutil.rmtree(version / "lexical", ignore_errors=True)
        stored, broken = open_stored(), exc
    stored.refresh(force=True)  # replay what was committed after the snapshot
    with stored._locked():
        try:
            if broken is not None:
                raise broken
            stored._catch_up_words()
        except Exception as first:  # noqa: BLE001 - tantivy's errors vary; the index is derived, so rebuild it
            log.warning("lexical index at %s could not catch up (%s); rebuilding it from the store", version, first)
            try:
                stored._rebuild_words()
            except (OSError, ValueError, sqlite3.Error) as exc:
                raise _corrupt(directory, f"lexical index: {exc}"[:300]) from exc
    return stored
