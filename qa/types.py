"""Shared, immutable data types that flow between corpus, retriever, reader, pipeline and channels.

The types own their serialisation (``to_dict``): the one JSON shape of a result that the CLI, the HTTP
API, the OpenAI-compatible endpoint, the chat page and Slack all send.
"""

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


    def to_dict(self) -> dict:
        return {"id": self.id, "doc_id": self.doc_id, "title": self.title, "paragraph": self.paragraph, "text": self.text}


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float

    def to_dict(self) -> dict:
        return {**self.passage.to_dict(), "score": round(self.score, 4)}


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
    """Where an answer comes from: ``start``/``end`` are character offsets into the paragraph's text."""

    doc_id: str
    title: str
    paragraph: int
    start: int
    end: int

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "paragraph": self.paragraph, "start": self.start,
                "end": self.end}


@dataclass(frozen=True)
class CitedAnswer:
    text: str
    score: float
    passage_id: str
    citation: Citation

    def to_dict(self, passage: Passage | None = None) -> dict:
        """The answer and its citation; with ``passage``, also the paragraph it quotes (``context``)."""
        out = {"text": self.text, "score": round(self.score, 4), "passage_id": self.passage_id,
               "citation": self.citation.to_dict()}
        if passage is not None:
            out["context"] = passage.text
        return out


@dataclass(frozen=True)
class QAResult:
    question: str
    answers: tuple[CitedAnswer, ...]
    passages: tuple[ScoredPassage, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def no_answer(self) -> bool:
        return not self.answers

    def closest(self) -> ScoredPassage | None:
        """When there is no answer, the best retrieved passage: shown as such, so nobody leaves empty-handed."""
        return self.passages[0] if self.no_answer and self.passages else None

    def passage_of(self, answer: CitedAnswer) -> Passage:
        """The retrieved passage an answer quotes (every answer quotes one of ``passages``)."""
        return next(sp.passage for sp in self.passages if sp.passage.id == answer.passage_id)

    def to_dict(self, with_context: bool = False) -> dict:
        return {
            "question": self.question,
            "answers": [a.to_dict(self.passage_of(a) if with_context else None) for a in self.answers],
            "no_answer": self.no_answer,
            "passages": [sp.to_dict() for sp in self.passages],
            "timings_ms": dict(self.timings_ms),
        }


@dataclass(frozen=True)
class DocumentInfo:
    """What the index keeps about a document besides its paragraphs."""

    id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    paragraphs: int

    def to_dict(self) -> dict:
        """What a listing shows (the source path stays on the server)."""
        return {"id": self.id, "title": self.title, "url": self.url, "published": self.published,
                "paragraphs": self.paragraphs}
