"""Dense retriever: search the FAISS inner-product index with the questions' embeddings."""

from __future__ import annotations

import numpy as np

from qa.types import ScoredPassage
from retriever.store import StoredIndex


class DenseRetriever:
    def __init__(self, index: StoredIndex):
        self.index = index

    def retrieve_batch(self, queries: list[str], embeddings: np.ndarray, top_k: int) -> list[list[ScoredPassage]]:
        if not queries:
            return []
        scores, ids = self.index.search(embeddings, top_k)
        passages = self.index.passages
        return [
            [ScoredPassage(passages[i], float(s)) for s, i in zip(row_s, row_i) if i >= 0]
            for row_s, row_i in zip(scores, ids)
        ]

    def retrieve(self, query: str, embedding: np.ndarray, top_k: int) -> list[ScoredPassage]:
        return self.retrieve_batch([query], embedding[None, :], top_k)[0]
