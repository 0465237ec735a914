"""Hybrid retriever: dense inner product fused with BM25, so names and rare words that a small
embedding model blurs ("Which German foreign minister ...") still find their paragraph.

Neither side scores every passage: the candidates are the dense top ``candidates`` and the BM25 top
``candidates`` (tantivy's inverted index), and only that pool is scored on both sides.
"""

from __future__ import annotations

import numpy as np

from qa.types import ScoredPassage
from retriever.store import StoredIndex


class HybridRetriever:
    def __init__(self, index: StoredIndex, lexical_weight: float = 0.3, candidates: int = 50):
        self.index = index
        self.lexical_weight = lexical_weight
        self.candidates = candidates

    def retrieve_batch(self, queries: list[str], embeddings: np.ndarray, top_k: int) -> list[list[ScoredPassage]]:
        if not queries:
            return []
        width = max(self.candidates, top_k)
        _, dense_rows = self.index.search(embeddings, width)
        results = []
        for query, qvec, rows in zip(queries, embeddings, dense_rows):
            lexical_rows, lexical_top = self.index.lexical(query, width)
            dense_index = self.index.dense
            # Rows deleted meanwhile (no longer in the dense index) are skipped, never cited.
            pool = np.array(sorted(r for r in {int(r) for r in rows if r >= 0} | {int(r) for r in lexical_rows}
                                   if dense_index.has(r)), dtype=np.int64)
            if not len(pool):
                results.append([])
                continue
            dense = dense_index.vectors_of(pool) @ qvec
            # BM25 scaled so that the question's best passage is 1 (0 everywhere when no word matches).
            best = lexical_top.max(initial=0.0)
            lexical = self.index.lexical_scores(query, pool) / best if best > 0 else np.zeros(len(pool))
            fused = (1 - self.lexical_weight) * dense + self.lexical_weight * lexical
            order = np.argsort(-fused, kind="stable")[:top_k]
            # Records only for the passages returned (a row deleted since the search is left out).
            found = self.index.passages_at(pool[order])
            results.append([ScoredPassage(found[int(pool[o])], float(fused[o])) for o in order if int(pool[o]) in found])
        return results

    def retrieve(self, query: str, embedding: np.ndarray, top_k: int) -> list[ScoredPassage]:
        return self.retrieve_batch([query], embedding[None, :], top_k)[0]
