"""The passage store: records in SQLite, lexical search in tantivy, dense search in FAISS, written a
document at a time. Its parts live beside it: the schema (``retriever.schema``), the dense index and its
snapshots (``retriever.dense_index``), the lexical index (``retriever.lexical``), versions and the write lock
(``retriever.versions``); this module keeps them in step.

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
import json
import logging
import shutil
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

import faiss
import numpy as np

from qa.atomic import fsync_dir, write_atomic
from qa.dates import seconds_of
from qa.filters import Scope
from qa.types import DocumentInfo, Passage
from retriever.dense_index import DenseIndex, RowFacts, date_order, tune, write_snapshot
from retriever.lexical import SCHEMA_VERSION as LEXICAL_SCHEMA, LexicalIndex
from retriever.schema import (REBUILD_HINT, SCHEMA, IndexCorrupt, IndexError_, IndexMissing, connect, corrupt,
                              migrate)
from retriever.versions import check_folder, current_version, known_sources, make_current, new_version, write_lock

__all__ = ["FORMAT_VERSION", "REBUILD_HINT", "IndexError_", "IndexMissing", "IndexCorrupt", "Manifest", "NewDocument",
           "StoredIndex", "build", "load", "check_folder", "current_version", "known_sources"]

# 3: documents keep publisher, topics and a parsed published time (older indexes are rebuilt, reusing vectors).
FORMAT_VERSION = 3
log = logging.getLogger("qa.store")
# Replayed rows or deletions beyond this share of the snapshot (and at least COMPACT_MIN) make a new snapshot.
COMPACT_SHARE, COMPACT_MIN = 0.2, 5_000
# How often a reader looks for writes committed by other processes.
REFRESH_S = 0.5
_DOC_COLUMNS = "id, title, url, published, source, paragraphs, publisher, topics"
# The title is its document's, stored once there (a passage row keeps an empty one: a long title is not copied
# into every passage of the article).
_PASSAGE_COLUMNS = ("p.id, p.doc_id, d.title, p.paragraph, p.text, p.doc_start, p.doc_end, p.page, d.published, "
                    "d.publisher")
# The facts filters need of passage rows (RowFacts), joined from their documents.
_FACTS = "SELECT p.row, d.rowid, d.published_at, d.publisher FROM passages p JOIN documents d ON d.id = p.doc_id"


def _info(r: tuple) -> DocumentInfo:
    return DocumentInfo(*r[:6], publisher=r[6], topics=tuple(json.loads(r[7] or "[]")))


def _facts(records: list[tuple]) -> tuple[np.ndarray, RowFacts]:
    """Rows and their facts from ``_FACTS`` records."""
    return np.array([r[0] for r in records], dtype=np.int64), RowFacts.of([r[1:] for r in records])


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
class Selection:
    """The passages a filter lets through, for both sides: a mask of dense positions, the same as a lexical query
    clause, and how many there are."""

    mask: np.ndarray
    where: object
    count: int


@dataclass(frozen=True)
class NewDocument:
    """One document to write: its record and text, its passages and their vectors (one row each)."""

    info: DocumentInfo
    text: str
    passages: list[Passage]
    vectors: np.ndarray


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
            conn = self._local.conn = connect(self.version / "store.sqlite")
        return conn

    # -- reads ----------------------------------------------------------------------------------
    def passage_count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM passages").fetchone()[0])

    def document_count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM documents").fetchone()[0])

    def documents(self, limit: int | None = None, offset: int = 0) -> list[DocumentInfo]:
        """In the order they were added; ``limit`` and ``offset``: one page of them."""
        return [_info(r) for r in self._db().execute(
            f"SELECT {_DOC_COLUMNS} FROM documents ORDER BY rowid LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset))]

    def document(self, doc_id: str) -> DocumentInfo | None:
        r = self._db().execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return _info(r) if r else None

    def document_text(self, doc_id: str) -> str | None:
        r = self._db().execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return r[0] if r else None

    def passages_of(self, doc_id: str) -> list[Passage]:
        return [Passage(*r) for r in self._db().execute(
            f"SELECT {_PASSAGE_COLUMNS} FROM passages p JOIN documents d ON d.id = p.doc_id WHERE p.doc_id = ? "
            "ORDER BY p.row", (doc_id,))]

    def passages_at(self, rows: Iterable[int]) -> dict[int, Passage]:
        """The passages of these rows that exist (a row deleted meanwhile is simply absent)."""
        rows = [int(r) for r in rows if r >= 0]
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        return {r[0]: Passage(*r[1:]) for r in self._db().execute(
            f"SELECT p.row, {_PASSAGE_COLUMNS} FROM passages p JOIN documents d ON d.id = p.doc_id "
            f"WHERE p.row IN ({marks})", rows)}

    def documents_of(self, rows: np.ndarray) -> np.ndarray:
        """The document id of each of these rows, in order ("" for a row deleted meanwhile)."""
        rows = [int(r) for r in rows]
        if not rows:
            return np.array([], dtype=object)
        marks = ",".join("?" * len(rows))
        found = dict(self._db().execute(f"SELECT row, doc_id FROM passages WHERE row IN ({marks})", rows).fetchall())
        return np.array([found.get(r, "") for r in rows], dtype=object)

    def layout_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where each of these rows stands, in order: its document id ("" for a row deleted meanwhile), its
        paragraph in that document and its length in characters (-1 and 0 when deleted)."""
        rows = [int(r) for r in rows]
        found = {}
        if rows:
            marks = ",".join("?" * len(rows))
            found = {r: (d, p, n) for r, d, p, n in self._db().execute(
                f"SELECT row, doc_id, paragraph, length(text) FROM passages WHERE row IN ({marks})", rows)}
        facts = [found.get(r, ("", -1, 0)) for r in rows]
        return (np.array([f[0] for f in facts], dtype=object), np.array([f[1] for f in facts], dtype=np.int64),
                np.array([f[2] for f in facts], dtype=np.int64))

    def rows_of_documents(self, doc_ids: Iterable[str]) -> np.ndarray:
        """Every passage row of these documents (sorted)."""
        doc_ids = [d for d in doc_ids if d]
        if not doc_ids:
            return np.zeros(0, dtype=np.int64)
        marks = ",".join("?" * len(doc_ids))
        return np.array(sorted(r for (r,) in self._db().execute(
            f"SELECT row FROM passages WHERE doc_id IN ({marks})", doc_ids)), dtype=np.int64)

    def document_codes(self, doc_ids: Iterable[str] = (), topics: Iterable[str] | None = None) -> np.ndarray:
        """The codes (rowids) filters use for these documents, or for the documents carrying any of ``topics``."""
        if topics is not None:
            # Case does not matter, as for sources ("CRUDE" finds "crude", "ÉCONOMIE" "Économie"): the topics as
            # stored are matched here (SQLite's lower() knows ASCII only), then looked up exactly, by their index.
            wanted = {t.casefold() for t in topics}
            names = [n for (n,) in self._db().execute("SELECT DISTINCT topic FROM topics") if n.casefold() in wanted]
            if not names:
                return np.zeros(0, dtype=np.int64)
            marks = ",".join("?" * len(names))
            sql = (f"SELECT DISTINCT d.rowid FROM topics t JOIN documents d ON d.id = t.doc_id "
                   f"WHERE t.topic IN ({marks})")
            return np.array([r for (r,) in self._db().execute(sql, names)], dtype=np.int64)
        ids = list(dict.fromkeys(doc_ids))
        out = []
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            out += [r for (r,) in self._db().execute(f"SELECT rowid FROM documents WHERE id IN ({marks})", part)]
        return np.array(out, dtype=np.int64)

    def publishers(self) -> list[tuple[str, int]]:
        """Every publisher with its number of documents, most first (what a source picker offers)."""
        return [(p, n) for p, n in self._db().execute(
            "SELECT publisher, count(*) FROM documents WHERE publisher IS NOT NULL GROUP BY publisher "
            "ORDER BY count(*) DESC, publisher")]

    def published_range(self) -> tuple[str | None, str | None]:
        """The earliest and latest published dates (ISO) in the index."""
        r = self._db().execute("SELECT min(published_at), max(published_at) FROM documents").fetchone()
        return tuple(None if v is None else time.strftime("%Y-%m-%d", time.gmtime(v)) for v in r)

    def select(self, scope: Scope) -> Selection:
        """The searchable passages that pass ``scope``'s filters (all of them, AND)."""
        self.refresh()
        docs = None
        if scope.doc_ids:
            docs = self.document_codes(scope.doc_ids)
        if scope.topics:
            on = self.document_codes(topics=scope.topics)
            docs = on if docs is None else np.intersect1d(docs, on)
        publishers = list(scope.sources) or None
        since, until = scope.since_seconds(), scope.until_seconds()
        mask = self.dense.select(since, until, publishers, docs)
        return Selection(mask, self.words.where(since, until, publishers, docs), int(mask.sum()))

    def live_within(self, rows: np.ndarray, selection: Selection | None = None) -> np.ndarray:
        """Those of ``rows`` still in the dense index (not deleted meanwhile) and let through by ``selection``."""
        rows = np.array([int(r) for r in rows if self.has(int(r))], dtype=np.int64)
        if selection is None or not len(rows):
            return rows
        return rows[selection.mask[self.dense.positions_of(rows)]]

    def rows_at(self, mask: np.ndarray) -> np.ndarray:
        """The passage rows of a selection's positions, in row order."""
        return np.sort(self.dense.rows[np.flatnonzero(mask)])

    def all_passages(self) -> Iterator[tuple[Passage, np.ndarray]]:
        """Every passage with its vector, in row order (rebuilds reuse vectors of unchanged text)."""
        for r in self._db().execute(
                "SELECT p.id, p.doc_id, d.title, p.paragraph, p.text, p.doc_start, p.doc_end, p.page, p.vector "
                "FROM passages p JOIN documents d ON d.id = p.doc_id ORDER BY p.row"):
            yield Passage(*r[:8]), np.frombuffer(r[8], dtype=np.float32)

    def search(self, queries: np.ndarray, top_k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Dense search: (scores, rows), best first; ``allowed``: a mask from ``dense.select`` (a filter)."""
        self.refresh()
        return self.dense.search(queries, top_k, allowed)

    def has(self, row: int) -> bool:
        """Whether a passage row is searchable now (a row deleted meanwhile is not)."""
        return self.dense.has(row)

    def vectors_of(self, rows: Iterable[int]) -> np.ndarray:
        """The stored vectors of these passage rows, in order (for re-scoring a candidate pool)."""
        return self.dense.vectors_of(rows)

    def published_of(self, rows: Iterable[int]) -> np.ndarray:
        """Published seconds of these passage rows (NaN where undated): what a recency preference weighs."""
        return self.dense.published_of(rows)

    def lexical(self, query: str, k: int, where=None) -> tuple[np.ndarray, np.ndarray]:
        """BM25 over the passages' words: rows and scores (higher is better) of the best ``k`` (matching
        ``where``, a filter clause from ``self.words.where``)."""
        self.refresh()
        return self.words.search(query, k, where)

    def lexical_scores(self, query: str, rows: np.ndarray) -> np.ndarray:
        """BM25 of the question against these rows (0 where no word is shared)."""
        return self.words.scores(query, rows)

    # -- writes ---------------------------------------------------------------------------------
    def _locked(self):
        return write_lock(self.directory)

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
        if done.get("schema", 1) != LEXICAL_SCHEMA:
            raise IndexCorrupt(f"lexical index of schema {done.get('schema', 1)}, not {LEXICAL_SCHEMA}")
        added = conn.execute(f"SELECT p.row, p.text, d.rowid, d.published_at, d.publisher FROM passages p "
                             f"JOIN documents d ON d.id = p.doc_id WHERE p.row > ? ORDER BY p.row",
                             (done["max_row"],)).fetchall()
        tombs = conn.execute("SELECT seq, row FROM tombstones WHERE seq > ? ORDER BY seq", (done["max_tomb"],)).fetchall()
        if not added and not tombs:
            return
        self.words.delete(r for _, r in tombs)
        self.words.add([r[0] for r in added], [r[1] for r in added], RowFacts.of([r[2:] for r in added]))
        self.words.commit()
        max_row = max(done["max_row"], added[-1][0] if added else 0)
        max_tomb = max(done["max_tomb"], tombs[-1][0] if tombs else 0)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('lexical', ?)",
                     (json.dumps({"max_row": max_row, "max_tomb": max_tomb, "schema": LEXICAL_SCHEMA}),))

    def write(self, upserts: list[NewDocument] = (), deletes: Iterable[str] = ()) -> None:
        """Add or replace ``upserts`` and delete ``deletes`` (document ids), as one durable transaction.

        Only these documents' rows are touched; questions see the change as soon as this returns."""
        with self._locked():
            self.refresh(force=True)
            with self._transaction() as conn:
                gone, added = self._apply(conn, upserts, list(deletes))
                self._max_tomb = int(conn.execute("SELECT coalesce(max(seq), 0) FROM tombstones").fetchone()[0])
                facts = self._facts_of([r for r, _ in added], conn)
            # Committed: the derived indexes follow (a crash from here on is repaired by replay on load).
            self.dense.remove(gone)
            if added:
                self.dense.add(np.array([r for r, _ in added]), np.stack([v for _, v in added]), facts)
                self._max_row = max(self._max_row, max(r for r, _ in added))
            self._catch_up_words()
            if self._replay_is_long():
                self._compact()

    @staticmethod
    def _facts_of(rows: list[int], conn: sqlite3.Connection) -> RowFacts:
        if not rows:
            return RowFacts.unknown(0)
        found = {}
        for i in range(0, len(rows), 500):
            part = rows[i : i + 500]
            marks = ",".join("?" * len(part))
            found.update({r[0]: r[1:] for r in conn.execute(f"{_FACTS} WHERE p.row IN ({marks})", part)})
        # A row whose document another process deleted since it was read: no facts, and masked out as dead soon.
        return RowFacts.of([found.get(r, (0, None, None)) for r in rows])

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
            conn.execute("DELETE FROM topics WHERE doc_id = ?", (doc_id,))
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
                rows = [r for r, _ in new]
                self.dense.add(np.array(rows), np.stack([np.frombuffer(v, np.float32) for _, v in new]),
                               self._facts_of(rows, conn))
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
        cursor = conn.execute("SELECT p.row, p.text, d.rowid, d.published_at, d.publisher FROM passages p "
                              "JOIN documents d ON d.id = p.doc_id ORDER BY p.row")
        while chunk := cursor.fetchmany(10_000):
            self.words.add([r[0] for r in chunk], [r[1] for r in chunk], RowFacts.of([r[2:] for r in chunk]))
        self.words.commit()
        max_row = int(conn.execute("SELECT coalesce(max(row), 0) FROM passages").fetchone()[0])
        max_tomb = int(conn.execute("SELECT coalesce(max(seq), 0) FROM tombstones").fetchone()[0])
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('lexical', ?)",
                     (json.dumps({"max_row": max_row, "max_tomb": max_tomb, "schema": LEXICAL_SCHEMA}),))

    def _compact(self) -> None:
        index, rows, facts = self.dense.snapshot()
        write_snapshot(self._db(), self.version, index, rows, self._max_row, self._max_tomb)
        # The in-memory index sheds its deleted vectors too.
        self.dense = DenseIndex(index, rows, facts)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _insert(conn: sqlite3.Connection, doc: NewDocument) -> Iterator[tuple[int, np.ndarray]]:
    """Insert one document and its passages; yields each passage's row and vector."""
    d = doc.info
    conn.execute("INSERT INTO documents(id, title, url, published, source, paragraphs, text, publisher, topics, "
                 "published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (d.id, d.title, d.url, d.published, d.source, len(doc.passages), doc.text, d.publisher,
                  json.dumps(list(d.topics)) if d.topics else None, seconds_of(d.published)))
    conn.executemany("INSERT INTO topics(doc_id, topic) VALUES (?, ?)", [(d.id, t) for t in d.topics])
    if not doc.passages:
        return  # no vectors to reshape (the loader names a document without paragraphs as an error)
    vectors = np.ascontiguousarray(doc.vectors, dtype=np.float32).reshape(len(doc.passages), -1)
    for p, v in zip(doc.passages, vectors):
        cur = conn.execute("INSERT INTO passages(id, doc_id, title, paragraph, text, doc_start, doc_end, vector, page) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (p.id, p.doc_id, "", p.paragraph, p.text, p.doc_start, p.doc_end, v.tobytes(), p.page))
        yield cur.lastrowid, v


def build(directory: Path, manifest: Manifest, documents: Iterable[NewDocument], progress=None) -> StoredIndex:
    """Write a complete new version aside, make it current atomically, and return it opened.

    ``documents`` may be a generator; ``progress(n)`` is called with the passages written so far."""
    directory = Path(directory)
    version = new_version(directory)
    try:
        conn = connect(version / "store.sqlite")
        conn.executescript(SCHEMA)
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
                _add_words(conn, words, rows_all[-len(texts):], texts)
                texts = []
            written += len(doc.passages)
            if progress is not None:
                progress(written)
        rows = np.array(rows_all, dtype=np.int64)
        vectors = np.concatenate(chunks) if chunks else np.zeros((0, manifest.dim), np.float32)
        chunks.clear()
        # Vectors laid out by publication date (dense_index.date_order): a date filter becomes one span.
        order = date_order(_published(conn, rows))
        rows, vectors = rows[order], vectors[order]
        index = DenseIndex.new(vectors, manifest.dim)
        del vectors
        _add_words(conn, words, rows_all[len(rows_all) - len(texts):], texts)
        words.commit()
        conn.execute("INSERT INTO meta VALUES ('lexical', ?)",
                     (json.dumps({"max_row": int(rows.max(initial=0)), "max_tomb": 0, "schema": LEXICAL_SCHEMA}),))
        write_snapshot(conn, version, index, rows, int(rows.max(initial=0)), 0)
        conn.execute("COMMIT")
        conn.close()
        fsync_dir(version)
        make_current(directory, version, manifest.sources)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    return load(directory)


def _published(conn: sqlite3.Connection, rows: np.ndarray) -> np.ndarray:
    """Each row's published seconds (NaN when undated), for ``rows`` in ascending order: every passage of a new
    version."""
    when = np.fromiter((np.nan if w is None else w for (w,) in conn.execute(
        "SELECT d.published_at FROM passages p JOIN documents d ON d.id = p.doc_id ORDER BY p.row")), np.float64)
    if len(when) != len(rows):
        raise RuntimeError(f"{len(when)} passages stored for {len(rows)} written")
    return when


def _add_words(conn: sqlite3.Connection, words: LexicalIndex, rows: list[int], texts: list[str]) -> None:
    if rows:
        words.add(rows, texts, StoredIndex._facts_of(rows, conn))


def load(directory: Path) -> StoredIndex:
    directory = Path(directory)
    check_folder(directory)
    pointer = directory / "CURRENT"
    if not pointer.exists():
        raise IndexMissing(f"no index at {directory}; build it with: {REBUILD_HINT}")
    name = current_version(directory)
    if name is None or "/" in name or not (directory / name / "store.sqlite").is_file():
        raise corrupt(directory, f"{pointer} does not name a version folder with a store.sqlite")
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
        migrate(version / "store.sqlite")
        facts = _snapshot_facts(version, rows)
    except (sqlite3.Error, OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise corrupt(directory, str(exc)[:300]) from exc

    def open_stored() -> StoredIndex:
        return StoredIndex(directory, version, manifest, DenseIndex(index, rows, facts), int(snap["max_row"]),
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
                raise corrupt(directory, f"lexical index: {exc}"[:300]) from exc
    return stored


def _snapshot_facts(version: Path, rows: np.ndarray) -> RowFacts:
    """The facts of the snapshot's rows, in its order (a row deleted since is undated: it is masked out anyway)."""
    conn = sqlite3.connect(f"file:{version / 'store.sqlite'}?mode=ro", uri=True)
    try:
        found = {r[0]: r[1:] for r in conn.execute(_FACTS)}
    finally:
        conn.close()
    return RowFacts.of([found.get(int(r), (0, None, None)) for r in rows])
