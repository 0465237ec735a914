"""Dense retriever: embed the query, search the FAISS inner-product index."""

from __future__ import annotations

from qa.types import ScoredPassage
from qa.protocols import Embedder
from retriever.store import StoredIndex


class DenseRetriever:
    def __init__(self, embedder: Embedder, index: StoredIndex):
        self.embedder = embedder
        self.index = index

    def retrieve_batch(self, queries: list[str], top_k: int) -> list[list[ScoredPassage]]:
        if not queries:
            return []
        scores, ids = self.index.search(self.embedder.encode(queries), top_k)
        passages = self.index.passages
        return [
            [ScoredPassage(passages[i], float(s)) for s, i in zip(row_s, row_i) if i >= 0]
            for row_s, row_i in zip(scores, ids)
        ]

    def retrieve(self, query: str, top_k: int) -> list[ScoredPassage]:
        return self.retrieve_batch([query], top_k)[0]
