"""Pydantic request/response schemas of the HTTP API, one class per role."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

MAX_QUESTION_CHARS = 1000


def error_message(errors: list[dict]) -> str:
    """One line from pydantic errors, e.g. "top_k: Input should be less than or equal to 50"."""
    parts = []
    for e in errors:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', '')}")
    return "; ".join(parts)


class AskRequest(BaseModel):
    question: str = Field(..., description="A natural-language question.", examples=["What did Baerbock say about weapons?"])
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default from settings).")
    max_answers: int | None = Field(None, ge=1, le=10, description="Answers to return at most.")

    @field_validator("question")
    @classmethod
    def _question_text(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("question must not be empty")
        if len(value) > MAX_QUESTION_CHARS:
            raise ValueError(f"question must be at most {MAX_QUESTION_CHARS} characters (got {len(value)})")
        return value


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


class DocumentOut(BaseModel):
    id: str
    title: str
    url: str | None = None
    published: str | None = None
    paragraphs: int


class DocumentList(BaseModel):
    documents: list[DocumentOut]
    total: int


class Health(BaseModel):
    status: str
    detail: str | None = None
