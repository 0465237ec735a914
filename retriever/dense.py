"""Dense retriever: search the store's vector index with the questions' embeddings."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from qa.types import ScoredPassage
from retriever.store import StoredIndex


class DenseRetriever:
    def __init__(self, index: StoredIndex):
        self.index = index

    def retrieve_batch(self, queries: list[str], embeddings: np.ndarray, top_k: int,
                       scope: Sequence[str] | None = None) -> list[list[ScoredPassage]]:
        if not queries:
            return []
        if scope is not None:
            within = self.index.rows_of(scope)
            sims = embeddings @ self.index.vectors_of(within).T if len(within) else np.zeros((len(queries), 0))
            order = np.argsort(-sims, axis=1, kind="stable")[:, :top_k]
            scores, rows = np.take_along_axis(sims, order, axis=1), within[order]
        else:
            scores, rows = self.index.search(embeddings, top_k)
        found = self.index.passages_at({int(r) for r in rows.ravel() if r >= 0})
        # A row deleted between the search and the lookup is skipped, never cited.
        return [[ScoredPassage(found[r], float(s)) for s, r in zip(row_s, row_r) if r in found]
                for row_s, row_r in zip(scores, rows)]

    def retrieve(self, query: str, embedding: np.ndarray, top_k: int) -> list[ScoredPassage]:
        return self.retrieve_batch([query], embedding[None, :], top_k)[0]
