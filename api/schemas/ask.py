"""POST /v1/ask: the question in, cited span answers out."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from api.schemas.common import Question, WholeNumbers
from api.schemas.filters import FiltersIn, Recency, scope_of
from qa.limits import MAX_ANSWERS_MAX, MAX_ID_CHARS, MAX_SCOPE_DOCUMENTS, TOP_K_MAX


class AskRequest(WholeNumbers):
    model_config = ConfigDict(extra="forbid")
    question: Question = Field(..., description="A natural-language question (1-1000 characters).",
                               examples=["What did Baerbock say about weapons?"])
    top_k: StrictInt | None = Field(None, ge=1, le=TOP_K_MAX, description="Passages to retrieve (default from settings).")
    max_answers: StrictInt | None = Field(None, ge=1, le=MAX_ANSWERS_MAX, description="Answers to return at most.")
    doc_ids: list[Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]] | None = Field(
        None, min_length=1, max_length=MAX_SCOPE_DOCUMENTS,
        description="Answer only from these documents (a conversation about one story); an id that is not indexed "
                    "is a 404. Default: the whole index. One list with filters.doc_ids (any of them).")
    filters: FiltersIn | None = Field(None, description="Published since/until, sources, topics, document ids (AND). "
                                                        "A filter that matches nothing is a 404 saying so.")
    recency_half_life_days: Recency = None

    @model_validator(mode="after")
    def _filters_together(self) -> "AskRequest":
        # Each part may be well formed and their sum not (60 doc_ids here and 60 in filters: over the 100 allowed).
        scope_of(self.filters, self.recency_half_life_days, self.doc_ids)
        return self


class CitationOut(BaseModel):
    doc_id: str
    title: str
    paragraph: int = Field(..., description="0-based paragraph index within the document.")
    start: int = Field(..., description="Start character offset within the passage text (the paragraph, or its part "
                                        "when the paragraph is longer than 1,500 characters).")
    end: int = Field(..., description="End character offset (exclusive) within the passage text.")
    doc_start: int = Field(..., description="The answer's start character offset within the whole document's text.")
    doc_end: int = Field(..., description="The answer's end character offset (exclusive) within the document's text.")
    page: int | None = Field(None, description="1-based page of a PDF document; null for other documents.")
    published: str | None = Field(None, description="When the cited story ran (ISO 8601).")
    source: str | None = Field(None, description="Who published it.")
    also_in: list[str] = Field([], description="Other documents carrying the same passage (syndicated copies).")


class AnswerOut(BaseModel):
    text: str = Field(..., description="Verbatim span: paragraph_text[start:end].")
    score: float = Field(..., ge=0.0, le=1.0,
                         description="Estimated probability that the answer is right (calibrated on held-out questions).")
    passage_id: str
    citation: CitationOut


class PassageOut(BaseModel):
    id: str
    doc_id: str
    title: str
    paragraph: int
    text: str
    doc_start: int = Field(..., description="Where the passage starts in its document's text.")
    doc_end: int = Field(..., description="Where it ends (exclusive): text == document_text[doc_start:doc_end].")
    page: int | None = Field(None, description="1-based page of a PDF document; null for other documents.")
    published: str | None = Field(None, description="When the story ran (ISO 8601).")
    source: str | None = Field(None, description="Who published it.")
    also_in: list[str] = Field([], description="Other documents carrying the same passage, or a near-duplicate of "
                                               "it: shown once, here.")
    score: float


class AskResponse(BaseModel):
    question: str
    answers: list[AnswerOut]
    no_answer: bool = Field(..., description="True when nothing in the corpus supports an answer.")
    passages: list[PassageOut]
    timings_ms: dict[str, float]
