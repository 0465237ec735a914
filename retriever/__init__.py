"""Passage retrieval: embedders, the persisted index and the retrievers over it; the factories build them."""

from __future__ import annotations

from typing import Literal

from qa.protocols import Retriever


def make_embedder(model_path: str | None = None, device: str = "cpu"):
    """The sentence embedder (``model_path`` None: the bundled all-MiniLM-L6-v2); loads on ``warm_up()``."""
    from retriever.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model_path, device=device)


def make_retriever(index, kind: Literal["hybrid", "dense"] = "hybrid", lexical_weight: float = 0.3) -> Retriever:
    """Dense search alone, or dense fused with BM25 over the same ``StoredIndex``."""
    if kind == "dense":
        from retriever.dense import DenseRetriever

        return DenseRetriever(index)
    from retriever.hybrid import HybridRetriever

    return HybridRetriever(index, lexical_weight=lexical_weight)
