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
    published: str | None = None  # ISO 8601, normalised on the way in (qa.dates)
    source: str | None = None  # where it was read from (a file, "api"); not shown to users
    publisher: str | None = None  # who published it ("reuters21578"): what APIs and filters call "source"
    topics: tuple[str, ...] = ()


def display_date(published: str | None) -> str | None:
    """A normalised date as people read it: "26 Feb 1987" (None stays None)."""
    if not published or len(published) < 10 or published[4] != "-":
        return published or None
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    try:
        return f"{int(published[8:10])} {months[int(published[5:7]) - 1]} {published[:4]}"
    except (ValueError, IndexError):
        return published


def place(paragraph: int, page: int | None) -> str:
    """A 0-based paragraph (and a PDF's page) as people read them."""
    return f"paragraph {paragraph + 1}" if page is None else f"page {page}, paragraph {paragraph + 1}"


@dataclass(frozen=True)
class Passage:
    """One paragraph of a document, or one part of a paragraph longer than ``MAX_PASSAGE_CHARS``;
    ``text == document.text[doc_start:doc_end]``."""

    id: str
    doc_id: str
    title: str
    paragraph: int
    text: str
    doc_start: int
    doc_end: int
    page: int | None = None  # 1-based page of a PDF the passage starts on; None for other documents
    published: str | None = None  # its document's, shown with every citation
    source: str | None = None  # its document's publisher

    def place(self) -> str:
        """Where it is, as people count: "paragraph 3", or "page 2, paragraph 3" in a PDF."""
        return place(self.paragraph, self.page)

    def line(self) -> str:
        """Who, when and where: "reuters21578 · 26 Feb 1987 · paragraph 3" (what a citation line shows)."""
        return " · ".join(p for p in (self.source, display_date(self.published), self.place()) if p)

    def to_dict(self) -> dict:
        return {"id": self.id, "doc_id": self.doc_id, "title": self.title, "paragraph": self.paragraph, "text": self.text,
                "doc_start": self.doc_start, "doc_end": self.doc_end, "page": self.page, "published": self.published,
                "source": self.source}

    @classmethod
    def from_dict(cls, d: dict) -> "Passage":
        return cls(d["id"], d["doc_id"], d["title"], d["paragraph"], d["text"], d["doc_start"], d["doc_end"],
                   d.get("page"), d.get("published"), d.get("source"))


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float
    # Other documents carrying this passage, or a near-duplicate of it (a syndicated copy): shown once, here.
    also_in: tuple[str, ...] = ()
    # The part of ``score`` a preference added (recency), not evidence: the reader ranks answers with it and states
    # their probability, and decides whether to answer, without it. Internal to one question; not serialised.
    boost: float = 0.0

    @property
    def evidence(self) -> float:
        """The score without the preference: what the reader decides and states a probability from."""
        return self.score - self.boost

    def to_dict(self) -> dict:
        return {**self.passage.to_dict(), "score": round(self.score, 4), "also_in": list(self.also_in)}

    @classmethod
    def from_dict(cls, d: dict) -> "ScoredPassage":
        return cls(Passage.from_dict(d), float(d["score"]), tuple(d.get("also_in") or ()))


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
    """Where an answer comes from: ``start``/``end`` are character offsets into the passage's text (the
    paragraph, or its part), ``doc_start``/``doc_end`` the same characters in the whole document's text."""

    doc_id: str
    title: str
    paragraph: int
    start: int
    end: int
    doc_start: int
    doc_end: int
    page: int | None = None  # 1-based PDF page of the passage; None for other documents
    published: str | None = None  # when the cited story ran (ISO 8601)
    source: str | None = None  # who published it
    also_in: tuple[str, ...] = ()  # other documents that carry the same passage (syndicated copies)

    def place(self) -> str:
        return place(self.paragraph, self.page)

    def line(self) -> str:
        """When, where and which paragraph, as every channel shows it: "reuters21578 · 26 Feb 1987 · paragraph 3"
        (and "also in 2 other articles" for a syndicated story)."""
        also = f"also in {len(self.also_in)} other article{'s' * (len(self.also_in) > 1)}" if self.also_in else None
        return " · ".join(p for p in (self.source, display_date(self.published), self.place(), also) if p)

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "paragraph": self.paragraph, "start": self.start,
                "end": self.end, "doc_start": self.doc_start, "doc_end": self.doc_end, "page": self.page,
                "published": self.published, "source": self.source, "also_in": list(self.also_in)}

    @classmethod
    def from_dict(cls, d: dict) -> "Citation":
        return cls(d["doc_id"], d["title"], d["paragraph"], d["start"], d["end"], d["doc_start"], d["doc_end"],
                   d.get("page"), d.get("published"), d.get("source"), tuple(d.get("also_in") or ()))


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

    @classmethod
    def from_dict(cls, d: dict) -> "CitedAnswer":
        return cls(d["text"], float(d["score"]), d["passage_id"], Citation.from_dict(d["citation"]))


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

    @classmethod
    def from_dict(cls, d: dict) -> "QAResult":
        """The result as ``to_dict`` (and so ``POST /v1/ask``) gives it: what ``qa ask`` reads from a server."""
        return cls(d["question"], tuple(CitedAnswer.from_dict(a) for a in d["answers"]),
                   tuple(ScoredPassage.from_dict(p) for p in d["passages"]), dict(d.get("timings_ms") or {}))


@dataclass(frozen=True)
class DocumentInfo:
    """What the index keeps about a document besides its paragraphs."""

    id: str
    title: str
    url: str | None
    published: str | None
    source: str | None  # where it was read from (a file, "api"): stays on the server
    paragraphs: int
    publisher: str | None = None
    topics: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """What a listing shows (the file it came from stays on the server; "source" is the publisher)."""
        return {"id": self.id, "title": self.title, "url": self.url, "published": self.published,
                "source": self.publisher, "topics": list(self.topics), "paragraphs": self.paragraphs}
