"""Shared, immutable data types that flow between corpus, retriever, reader, pipeline and API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One article. ``text`` is the exact source text that paragraph offsets point into."""

    id: str
    title: str
    text: str
    url: str | None = None
    published: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Passage:
    """One paragraph of a document; ``text == document.text[doc_start:doc_end]``."""

    id: str
    doc_id: str
    title: str
    paragraph: int
    text: str
    doc_start: int
    doc_end: int


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float


@dataclass(frozen=True)
class Answer:
    """A span copied verbatim from a passage: ``passage.text[start:end] == text``."""

    text: str
    score: float
    passage_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    paragraph: int
    start: int
    end: int


@dataclass(frozen=True)
class CitedAnswer:
    text: str
    score: float
    passage_id: str
    citation: Citation


@dataclass(frozen=True)
class QAResult:
    question: str
    answers: tuple[CitedAnswer, ...]
    passages: tuple[ScoredPassage, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def no_answer(self) -> bool:
        return not self.answers


@dataclass(frozen=True)
class DocumentInfo:
    """What the index keeps about a document besides its paragraphs."""

    id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    paragraphs: int
