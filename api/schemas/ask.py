"""POST /v1/ask: the question in, cited span answers out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from api.schemas.common import Question, WholeNumbers
from qa.limits import MAX_ANSWERS_MAX, TOP_K_MAX


class AskRequest(WholeNumbers):
    model_config = ConfigDict(extra="forbid")
    question: Question = Field(..., description="A natural-language question (1-1000 characters).",
                               examples=["What did Baerbock say about weapons?"])
    top_k: StrictInt | None = Field(None, ge=1, le=TOP_K_MAX, description="Passages to retrieve (default from settings).")
    max_answers: StrictInt | None = Field(None, ge=1, le=MAX_ANSWERS_MAX, description="Answers to return at most.")


class CitationOut(BaseModel):
    doc_id: str
    title: str
    paragraph: int = Field(..., description="0-based paragraph index within the document.")
    start: int = Field(..., description="Start character offset within the paragraph text.")
    end: int = Field(..., description="End character offset (exclusive) within the paragraph text.")


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
    score: float


class AskResponse(BaseModel):
    question: str
    answers: list[AnswerOut]
    no_answer: bool = Field(..., description="True when nothing in the corpus supports an answer.")
    passages: list[PassageOut]
    timings_ms: dict[str, float]
