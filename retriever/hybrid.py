"""Hybrid retriever: dense inner product fused with BM25, so names and rare words that a small
embedding model blurs ("Which German foreign minister ...") still find their paragraph.

Neither side scores every passage: the candidates are the dense top ``candidates`` and the BM25 top
``candidates`` (tantivy's inverted index), and only that pool is scored on both sides (``pool``, the one
scoring call). The fused score adds, with ``article_weight``, the best score of another passage of the same
article in the pool: a news question is often written from the story's headline and lead, so the paragraph that
answers it can share few words with it while its article as a whole matches well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from qa.types import ScoredPassage
from retriever.store import StoredIndex


@dataclass(frozen=True)
class Pool:
    """One question's candidate passages, scored on both sides: rows, dense cosine, BM25 scaled to the best = 1."""

    rows: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray


def fuse(pool: Pool, doc_of: np.ndarray, lexical_weight: float, article_weight: float) -> np.ndarray:
    """Each pooled passage's score: dense and BM25 mixed, plus ``article_weight`` times the best mixed score among
    the other passages of its article in the pool (0 when it is alone there)."""
    mixed = (1 - lexical_weight) * pool.dense + lexical_weight * pool.lexical
    if not article_weight or not len(mixed):
        return mixed
    others = np.zeros(len(mixed))
    for doc in np.unique(doc_of):
        members = np.flatnonzero(doc_of == doc)
        if len(members) < 2:
            continue
        scores = mixed[members]
        order = np.argsort(-scores)
        best, second = scores[order[0]], scores[order[1]]
        others[members] = best
        others[members[order[0]]] = second
    return mixed + article_weight * others


class HybridRetriever:
    def __init__(self, index: StoredIndex, lexical_weight: float = 0.3, candidates: int = 50,
                 article_weight: float = 0.0):
        self.index = index
        self.lexical_weight = lexical_weight
        self.candidates = candidates
        self.article_weight = article_weight

    def pool(self, query: str, qvec: np.ndarray, dense_rows: np.ndarray, width: int) -> Pool:
        """The question's candidate pool (the dense search's rows and BM25's own top ``width``), scored on both
        sides; rows deleted meanwhile (no longer in the dense index) are left out, never cited."""
        lexical_rows, lexical_top = self.index.lexical(query, width)
        dense_index = self.index.dense
        rows = np.array(sorted(r for r in {int(r) for r in dense_rows if r >= 0} | {int(r) for r in lexical_rows}
                               if dense_index.has(r)), dtype=np.int64)
        return self._scored(query, qvec, rows, lexical_top.max(initial=0.0))

    def scoped_pool(self, query: str, qvec: np.ndarray, rows: np.ndarray) -> Pool:
        """Every passage of a scope (a few documents), scored on both sides; BM25 scaled to the scope's best."""
        return self._scored(query, qvec, rows, None)

    def _scored(self, query: str, qvec: np.ndarray, rows: np.ndarray, best: float | None) -> Pool:
        if not len(rows):
            return Pool(rows, np.zeros(0), np.zeros(0))
        dense = self.index.dense.vectors_of(rows) @ qvec
        lexical = self.index.lexical_scores(query, rows)
        # BM25 scaled so that the question's best passage is 1 (0 everywhere when no word matches).
        best = lexical.max(initial=0.0) if best is None else best
        return Pool(rows, dense, lexical / best if best > 0 else np.zeros(len(rows)))

    def retrieve_batch(self, queries: list[str], embeddings: np.ndarray, top_k: int,
                       scope: Sequence[str] | None = None) -> list[list[ScoredPassage]]:
        if not queries:
            return []
        width = max(self.candidates, top_k)
        if scope is None:
            _, dense_rows = self.index.search(embeddings, width)
        else:
            within = self.index.rows_of(scope)
        results = []
        for i, (query, qvec) in enumerate(zip(queries, embeddings)):
            pool = self.pool(query, qvec, dense_rows[i], width) if scope is None else self.scoped_pool(query, qvec, within)
            if not len(pool.rows):
                results.append([])
                continue
            doc_of = self.index.documents_of(pool.rows) if self.article_weight else np.zeros(len(pool.rows))
            fused = fuse(pool, doc_of, self.lexical_weight, self.article_weight)
            order = np.argsort(-fused, kind="stable")[:top_k]
            # Records only for the passages returned (a row deleted since the search is left out).
            found = self.index.passages_at(pool.rows[order])
            results.append([ScoredPassage(found[int(pool.rows[o])], float(fused[o])) for o in order
                            if int(pool.rows[o]) in found])
        return results

    def retrieve(self, query: str, embedding: np.ndarray, top_k: int) -> list[ScoredPassage]:
        return self.retrieve_batch([query], embedding[None, :], top_k)[0]
