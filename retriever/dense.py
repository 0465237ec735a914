"""Dense retriever: search the store's vector index with the questions' embeddings."""

from __future__ import annotations

import numpy as np

from qa.filters import Scope
from qa.types import ScoredPassage
from retriever.store import StoredIndex


class DenseRetriever:
    def __init__(self, index: StoredIndex):
        self.index = index

    def warm_up(self) -> None:
        """Nothing to load: the index is open already."""

    def retrieve_batch(self, queries: list[str], embeddings: np.ndarray, top_k: int,
                       scope: Scope | None = None) -> list[list[ScoredPassage]]:
        """``scope``: filters applied inside the search (before the top ``top_k`` is cut); recency is the hybrid
        retriever's."""
        if not queries:
            return []
        allowed = self.index.select(scope).mask if scope is not None and scope.filtered else None
        scores, rows = self.index.search(embeddings, top_k, allowed)
        found = self.index.passages_at({int(r) for r in rows.ravel() if r >= 0})
        # A row deleted between the search and the lookup is skipped, never cited.
        return [[ScoredPassage(found[r], float(s)) for s, r in zip(row_s, row_r) if r in found]
                for row_s, row_r in zip(scores, rows)]

    def retrieve(self, query: str, embedding: np.ndarray, top_k: int) -> list[ScoredPassage]:
        return self.retrieve_batch([query], embedding[None, :], top_k)[0]
