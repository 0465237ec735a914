"""The interfaces the pipeline runs over, so readers and retrieval backends swap by configuration."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from qa.filters import Scope
from qa.types import Answer, ScoredPassage


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str

    def warm_up(self) -> None:
        """Load the model now (idempotent); ``encode`` would otherwise load it on first use."""
        ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


class Retriever(Protocol):
    """Finds passages for questions already embedded (the pipeline embeds once; a retriever never embeds).

    ``queries`` are the questions' texts, for retrievers that also match words (BM25); ``embeddings``
    their vectors, one row each.
    """

    def retrieve_batch(self, queries: list[str], embeddings: np.ndarray, top_k: int,
                       scope: Scope | None = None) -> list[list[ScoredPassage]]:
        """``scope``: filters the passages must pass (dates, sources, topics, document ids: a conversation about
        one story) and a recency preference; None: the whole index."""
        ...

    def warm_up(self) -> None:
        """Load whatever models it uses (idempotent)."""
        ...

    def retrieve(self, query: str, embedding: np.ndarray, top_k: int) -> list[ScoredPassage]: ...


class Reader(Protocol):
    def warm_up(self) -> None: ...

    def read_batch(
        self, questions: list[str], passages: list[list[ScoredPassage]], max_answers: int,
        within_documents: bool = False,
    ) -> list[list[Answer]]:
        """Best-first answers per question; an empty list means no answer. ``within_documents``: the questions
        were asked within named documents (a chat about one story), where a reader may answer more readily."""
        ...

    def read(self, question: str, passages: list[ScoredPassage], max_answers: int,
             within_documents: bool = False) -> list[Answer]: ...
