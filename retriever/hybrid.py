"""Hybrid retriever: dense inner product fused with BM25, so names and rare words that a small
embedding model blurs ("Which German foreign minister ...") still find their paragraph."""

from __future__ import annotations

import numpy as np
from rank_bm25 import BM25Okapi

from qa.text import lexical_terms
from qa.types import ScoredPassage
from retriever.store import StoredIndex


class HybridRetriever:
    def __init__(self, index: StoredIndex, lexical_weight: float = 0.3, candidates: int = 50):
        self.index = index
        self.lexical_weight = lexical_weight
        self.candidates = candidates
        corpus = [lexical_terms(p.text) or ["<empty>"] for p in index.passages]
        self._bm25 = BM25Okapi(corpus) if corpus else None

    def lexical_scores(self, query: str) -> np.ndarray:
        """BM25 scores of every passage, scaled so that the best is 1 (all zeros if nothing matches)."""
        terms = lexical_terms(query)
        if self._bm25 is None or not terms:
            return np.zeros(len(self.index.passages))
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float64)
        top = scores.max(initial=0.0)
        return scores / top if top > 0 else np.zeros_like(scores)

    def retrieve_batch(self, queries: list[str], embeddings: np.ndarray, top_k: int) -> list[list[ScoredPassage]]:
        n = len(self.index.passages)
        if not queries or n == 0:
            return [[] for _ in queries]
        _, dense_ids = self.index.search(embeddings, max(self.candidates, top_k))
        results = []
        for query, qvec, ids in zip(queries, embeddings, dense_ids):
            lexical = self.lexical_scores(query)
            pool = set(int(i) for i in ids if i >= 0)
            pool.update(int(i) for i in np.argsort(-lexical)[: max(self.candidates, top_k)])
            pool_ids = np.fromiter(sorted(pool), dtype=np.int64)
            dense = self.index.vectors_of(pool_ids) @ qvec
            fused = (1 - self.lexical_weight) * dense + self.lexical_weight * lexical[pool_ids]
            order = np.argsort(-fused, kind="stable")[:top_k]
            results.append([ScoredPassage(self.index.passages[pool_ids[o]], float(fused[o])) for o in order])
        return results

    def retrieve(self, query: str, embedding: np.ndarray, top_k: int) -> list[ScoredPassage]:
        return self.retrieve_batch([query], embedding[None, :], top_k)[0]
