"""The dense index: passage vectors in FAISS (exact, or IVF-Flat above ``EXACT_MAX``), each position's passage
row and the facts filters need of it, filtered search, and its snapshot files."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import faiss
import numpy as np

from qa.atomic import fsync_dir

# Up to this many passages, exact search; above, an inverted-file index (IVF-Flat: k-means cells, a share of the
# cells searched per question), chosen over HNSW by bench/bench_scale.py (recall against exact search, speed, memory).
EXACT_MAX = 50_000
IVF_CELLS_PER_SQRT = 4
# Cells searched per question: IVF_PROBES_PER_SQRT times the root of the number of cells, at least IVF_NPROBE_MIN.
# On the real news archive's vectors (118,473 passages, 1,376 cells) 24 cells found 82% of the exact top 10, 96
# cells 93%, 192 cells 97% (2 ms); copies of 2,000 vectors with noise, what earlier benches used, had made 24 look
# like 100% (bench/README.md). A share of the cells (12%: 166 there) found 98% at a million passages (480 of 4,000
# cells) but cost 17 ms a question; recall holds with fewer cells as they grow, so the count grows with their root.
IVF_NPROBE_MIN, IVF_PROBES_PER_SQRT = 24, 4.5
# A filter selecting at most this many passages is searched over just them (their vectors gathered and
# multiplied); a wider one goes through FAISS with the selection as an id bitmap and the IVF looking in more cells
# (below), so the top k is cut after the filter.
FILTER_EXACT_MAX = 2_000
# Filters keeping at least this share of the archive widen the IVF search by the square of their share; narrower
# ones search the nearest cells holding enough of their passages.
FILTER_WIDE_SHARE = 0.5
# A span holding more deleted positions than this (until compaction drops them) is searched with the bitmap:
# searching past them would fetch that many more.
SPAN_DEAD_MAX = 1_000


def date_order(when: np.ndarray) -> np.ndarray:
    """Positions in publication order, undated last, ties kept in their order: how a new index lays its vectors
    out, so that a date range is one run of each IVF cell's list and one span of positions. At a million passages
    a 10% date range took 18.8 ms laid out in arrival order, 12.8 ms laid out by date with the id bitmap (FAISS's
    per-id test turns predictable), 11.9 ms searched as a span, which FAISS bisects in each cell's ascending ids
    (bench/README.md, "Date ranges as spans")."""
    return np.argsort(when, kind="stable")  # NaN sorts last


def probes(index: faiss.Index) -> int:
    """Cells an IVF index searches per question (unfiltered)."""
    return min(index.nlist, max(IVF_NPROBE_MIN, int(np.ceil(IVF_PROBES_PER_SQRT * np.sqrt(index.nlist)))))

# One thread per search: questions arrive one at a time from several request threads, and OpenMP's threads
# spinning against each other (and against the reader) made a 20,000-passage exact search take 24 ms
# instead of 2 (bench/README.md).
faiss.omp_set_num_threads(1)


def tune(index: faiss.Index) -> faiss.Index:
    """Search-time settings, which a saved index does not carry everywhere."""
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = probes(index)
        index.make_direct_map()
    return index


@dataclass(frozen=True)
class RowFacts:
    """What filters need of passage rows, one entry each: the document's code (the documents table's rowid), its
    published time (POSIX seconds, NaN when undated) and its publisher (None when unknown)."""

    doc: np.ndarray
    when: np.ndarray
    publisher: list[str | None]

    @classmethod
    def unknown(cls, n: int) -> "RowFacts":
        """``n`` rows of no document, undated, of no publisher."""
        return cls(np.zeros(n, np.int64), np.full(n, np.nan), [None] * n)

    @classmethod
    def of(cls, records: list[tuple]) -> "RowFacts":
        """From ``(doc code, published seconds or None, publisher or None)`` triples."""
        return cls(np.array([r[0] for r in records], dtype=np.int64),
                   np.array([np.nan if r[1] is None else r[1] for r in records], dtype=np.float64),
                   [r[2] for r in records])


class DenseIndex:
    """Vectors by position in a FAISS index, with the passage row of each position, its facts and a deleted mask."""

    def __init__(self, index: faiss.Index, rows: np.ndarray, facts: RowFacts | None = None):
        self.index = index
        self.rows = rows.astype(np.int64)
        self.dead = np.zeros(len(rows), dtype=bool)
        self.position = {int(r): i for i, r in enumerate(self.rows)}
        self._codes: dict[str | None, int] = {None: -1}
        facts = facts or RowFacts.unknown(len(rows))
        self.doc, self.when, self.publisher = facts.doc, facts.when, self._encode(facts.publisher)
        self._lock = threading.Lock()  # FAISS is not safe to search while it is added to
        # Positions laid out when the index was made (in date order since ``date_order``); those added later
        # follow in the order they came.
        self._laid_out = len(self.rows)

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

    def _encode(self, publishers: list[str | None]) -> np.ndarray:
        """Publishers as small integers (compared a million at a time)."""
        return np.array([self._codes.setdefault(p, len(self._codes) - 1) for p in publishers], dtype=np.int32)

    @property
    def live(self) -> int:
        return len(self.rows) - int(self.dead.sum())

    def add(self, rows: np.ndarray, vectors: np.ndarray, facts: RowFacts | None = None) -> None:
        if not len(rows):
            return
        facts = facts or RowFacts.unknown(len(rows))
        with self._lock:
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            start = len(self.rows)
            self.rows = np.concatenate([self.rows, rows.astype(np.int64)])
            self.dead = np.concatenate([self.dead, np.zeros(len(rows), dtype=bool)])
            self.doc = np.concatenate([self.doc, facts.doc])
            self.when = np.concatenate([self.when, facts.when])
            self.publisher = np.concatenate([self.publisher, self._encode(facts.publisher)])
            self.position.update({int(r): start + i for i, r in enumerate(rows)})

    def remove(self, rows: Iterable[int]) -> None:
        with self._lock:
            for r in rows:
                pos = self.position.pop(int(r), None)
                if pos is not None:
                    self.dead[pos] = True

    def select(self, since: float | None = None, until: float | None = None, publishers: Iterable[str] | None = None,
               docs: np.ndarray | None = None) -> np.ndarray:
        """The live positions whose facts pass every given condition (AND), as a mask: ``since <= published <
        until`` (undated passages never pass a date bound), publisher among ``publishers``, document among
        ``docs`` (codes)."""
        mask = ~self.dead
        if since is not None:
            mask &= self.when >= since  # NaN compares False: undated rows drop out
        if until is not None:
            mask &= self.when < until
        if publishers is not None:
            # Publishers match whatever their case ("Reuters" finds "reuters"), as the lexical side does.
            wanted = {p.lower() for p in publishers}
            codes = [c for name, c in self._codes.items() if name is not None and name.lower() in wanted]
            mask &= np.isin(self.publisher, codes)
        if docs is not None:
            mask &= np.isin(self.doc, docs)
        return mask

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and passage rows, best first; -1 rows pad when fewer live passages exist. ``allowed``: a mask
        of positions (``select``) the results must come from, applied before the top ``k`` is cut."""
        n = len(queries)
        scores = np.full((n, k), -np.inf, dtype=np.float32)
        rows = np.full((n, k), -1, dtype=np.int64)
        if k == 0 or not self.live:
            return scores, rows
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if allowed is not None:
            return self._search_within(queries, k, allowed, scores, rows)
        dead = int(self.dead.sum())
        fetch = min(len(self.rows), k + dead) if dead else min(len(self.rows), k)
        with self._lock:
            found_s, found_p = self.index.search(queries, fetch)
        for q in range(n):
            keep = [(s, p) for s, p in zip(found_s[q], found_p[q]) if p >= 0 and not self.dead[p]][:k]
            for j, (s, p) in enumerate(keep):
                scores[q, j], rows[q, j] = s, self.rows[p]
        return scores, rows

    def _search_within(self, queries: np.ndarray, k: int, allowed: np.ndarray, scores: np.ndarray,
                       rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            # Positions added since the mask was made are not in it: padded as not allowed, so that the bitmap
            # FAISS reads covers every position it may meet.
            if len(allowed) != len(self.rows):
                allowed = np.pad(allowed[: len(self.rows)], (0, max(0, len(self.rows) - len(allowed))))
            allowed = allowed & ~self.dead
            positions = np.flatnonzero(allowed)
            if not len(positions):
                return scores, rows
            if len(positions) <= FILTER_EXACT_MAX:
                sims = queries @ self._reconstruct(positions).T
                take = min(k, len(positions))
                top = np.argpartition(-sims, take - 1, axis=1)[:, :take]
                order = np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, 1), axis=1, kind="stable"), 1)
                scores[:, :take] = np.take_along_axis(sims, order, 1)
                rows[:, :take] = self.rows[positions[order]]
                return scores, rows
            if not isinstance(self.index, faiss.IndexIVF):
                bits = np.packbits(allowed, bitorder="little")
                selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
                return self._found(*self.index.search(queries, k, params=faiss.SearchParameters(sel=selector)),
                                   scores, rows)
            share = len(positions) / max(len(allowed), 1)
            if share >= FILTER_WIDE_SHARE:
                # A filter keeping most of the archive often keeps passages away from the question (Reuters' stories
                # for a question about CNN's): look in more cells, by the square of its share (by the share alone,
                # Reuters' 74% of the archive found 93% of the exact top 10).
                nprobe = [min(self.index.nlist, int(np.ceil(probes(self.index) / share ** 2)))] * len(queries)
            else:
                nprobe = self._cells_for(queries, positions, share)
            span = self._span(positions)
            if span is not None:
                found_s, found_p = self._search_span(queries, k, span, nprobe)
            else:
                bits = np.packbits(allowed, bitorder="little")
                selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
                found_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
                found_p = np.full((len(queries), k), -1, dtype=np.int64)
                for q, cells in enumerate(nprobe):  # each question its own number of cells
                    found_s[q], found_p[q] = (x[0] for x in self.index.search(
                        queries[q : q + 1], k, params=faiss.SearchParametersIVF(sel=selector, nprobe=int(cells))))
        return self._found(found_s, found_p, scores, rows)

    def _span(self, positions: np.ndarray) -> tuple[int, int, np.ndarray, int] | None:
        """The allowed positions as one span ``[lo, hi)`` of the laid-out positions (every live position inside it
        allowed) plus the few added since (searched exactly), or None when they are not so."""
        head = positions[: int(np.searchsorted(positions, self._laid_out))]
        rest = positions[len(head):]
        if not len(head) or len(rest) > FILTER_EXACT_MAX:
            return None
        lo, hi = int(head[0]), int(head[-1]) + 1
        dead = int(self.dead[lo:hi].sum())
        if hi - lo - len(head) != dead or dead > SPAN_DEAD_MAX:
            return None  # gaps of passages the filter leaves out: not a span
        return lo, hi, rest, dead

    def _search_span(self, queries: np.ndarray, k: int, span: tuple[int, int, np.ndarray, int],
                     nprobe: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` positions of the span (FAISS bisects each cell's ascending ids to it), merged with exact
        scores of the positions added since; deleted positions inside the span fetched past and dropped."""
        lo, hi, rest, dead = span
        fetch = k + dead
        selector = faiss.IDSelectorRange(lo, hi, True)
        found_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
        found_p = np.full((len(queries), k), -1, dtype=np.int64)
        extra = queries @ self._reconstruct(rest).T if len(rest) else None
        for q, cells in enumerate(nprobe):
            s, p = (x[0] for x in self.index.search(
                queries[q : q + 1], fetch, params=faiss.SearchParametersIVF(sel=selector, nprobe=int(cells))))
            keep = (p >= 0) & ~self.dead[np.maximum(p, 0)] if dead else p >= 0
            s, p = s[keep], p[keep]
            if extra is not None:
                s, p = np.concatenate([s, extra[q]]), np.concatenate([p, rest])
            best = np.argsort(-s, kind="stable")[:k]
            found_s[q, : len(best)], found_p[q, : len(best)] = s[best], p[best]
        return found_s, found_p

    def _cells_for(self, queries: np.ndarray, positions: np.ndarray, share: float) -> list[int]:
        """For a narrower filter, per question: the nearest cells that hold enough of the filter's passages, the
        cells in order of nearness and counted by the filter's passages in each, until as many of them are
        compared as an unfiltered search compares passages times the root of the share (every cell at 10% made a
        1,000,000-passage search 4x slower; on the real archive, the nearest 38% of the cells found 96%)."""
        counts = np.bincount(self._cells()[positions], minlength=self.index.nlist)
        want = probes(self.index) * len(self.rows) / self.index.nlist * np.sqrt(share)
        _, order = self.index.quantizer.search(queries, self.index.nlist)
        return [min(self.index.nlist, int(np.searchsorted(np.cumsum(counts[o]), want)) + 1) for o in order]

    def _cells(self) -> np.ndarray:
        """The IVF cell of every position (from the index's direct map), kept and extended as positions are added."""
        if getattr(self, "_cell", None) is None or len(self._cell) < len(self.rows):
            self.index.make_direct_map()
            self._cell = (faiss.vector_to_array(self.index.direct_map.array) >> 32).astype(np.int32)
        return self._cell

    def _found(self, found_s: np.ndarray, found_p: np.ndarray, scores: np.ndarray,
               rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hit = found_p >= 0
        scores[hit], rows[hit] = found_s[hit], self.rows[found_p[hit]]
        return scores, rows

    def has(self, row: int) -> bool:
        return int(row) in self.position

    def positions_of(self, rows: Iterable[int]) -> np.ndarray:
        return np.array([self.position[int(r)] for r in rows], dtype=np.int64)

    def published_of(self, rows: Iterable[int]) -> np.ndarray:
        """Published seconds of these (live) rows, NaN where undated."""
        return self.when[self.positions_of(rows)]

    def vectors_of(self, rows: Iterable[int]) -> np.ndarray:
        with self._lock:
            return self._reconstruct(self.positions_of(rows))

    def snapshot(self) -> tuple[faiss.Index, np.ndarray, RowFacts]:
        """The live vectors only, re-indexed (compaction drops the deleted ones), with their rows and facts."""
        with self._lock:
            keep = np.flatnonzero(~self.dead)
            keep = keep[date_order(self.when[keep])]
            vectors = self._reconstruct(keep)
            names = {code: name for name, code in self._codes.items()}
            facts = RowFacts(self.doc[keep], self.when[keep], [names[int(c)] for c in self.publisher[keep]])
        return self.new(vectors, self.index.d), self.rows[keep], facts

    def _reconstruct(self, positions: np.ndarray) -> np.ndarray:
        if isinstance(self.index, faiss.IndexIVF):
            self.index.make_direct_map()  # IVF reconstructs by position only with its direct map
        if not len(positions):
            return np.zeros((0, self.index.d), dtype=np.float32)
        if isinstance(self.index, faiss.IndexFlat):
            # The flat index's own storage, read in place: gathering rows is a numpy take, not a copy per vector.
            stored = faiss.rev_swig_ptr(self.index.get_xb(), self.index.ntotal * self.index.d)
            return stored.reshape(self.index.ntotal, self.index.d)[positions]
        return self.index.reconstruct_batch(np.asarray(positions, dtype=np.int64)).astype(np.float32)


def write_snapshot(conn: sqlite3.Connection, version: Path, index: faiss.Index, rows: np.ndarray,
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
