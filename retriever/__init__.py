"""Passage retrieval: embedders, the persisted index and the retrievers over it; the factories build them."""

from __future__ import annotations

from typing import Literal

from qa.protocols import Retriever


def make_embedder(model_path: str | None = None, device: str = "cpu"):
    """The sentence embedder; loads on ``warm_up()``.

    None: the shipped int8 ONNX export of all-MiniLM-L6-v2 (ONNX Runtime, no PyTorch). A directory with a
    ``model.onnx`` (made by ``python -m training.export_embedder``): that export. Any other directory: a
    sentence-transformers model under PyTorch."""
    from pathlib import Path

    if model_path is None or (Path(model_path) / "model.onnx").is_file():
        from retriever.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(model_path)
    from retriever.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model_path, device=device)


def make_retriever(index, kind: Literal["hybrid", "dense"] = "hybrid", lexical_weight: float = 0.3,
                   article_weight: float = 0.0, ranker: bool = False) -> Retriever:
    """Dense search alone, or dense fused with BM25 over the same ``StoredIndex``; ``ranker``: the hybrid pool
    widened to its best articles and ordered by the shipped learned ranker (``retriever/ranker.py``), when one
    ships."""
    if kind == "dense":
        from retriever.dense import DenseRetriever

        return DenseRetriever(index)
    from retriever.hybrid import HybridRetriever
    from retriever.ranker import DEFAULT_DIR, PassageRanker, shipped

    if ranker and not PassageRanker.available():
        import logging

        logging.getLogger(__name__).warning("the passage ranker is not in %s: the fixed fusion orders passages "
                                            "(reinstall the package, or QA_RANKER=false to say so)", DEFAULT_DIR)
        ranker = False
    return HybridRetriever(index, lexical_weight=lexical_weight, article_weight=article_weight,
                           ranker=shipped() if ranker else None)
