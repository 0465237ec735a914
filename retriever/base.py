"""Interfaces that retrieval backends implement, so the pipeline does not depend on FAISS."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from qa.types import ScoredPassage


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


class Retriever(Protocol):
    def retrieve_batch(self, queries: list[str], top_k: int) -> list[list[ScoredPassage]]: ...

    def retrieve(self, query: str, top_k: int) -> list[ScoredPassage]: ...
