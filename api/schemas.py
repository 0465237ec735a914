"""Pydantic request/response schemas of the HTTP API, one class per role."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import math

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, model_validator

from qa.limits import ID_PATTERN, NONBLANK_PATTERN, MAX_ANSWERS_MAX, MAX_ID_CHARS, QUESTION_MAX_CHARS, TOP_K_MAX, check_question, clean_text

# Every text field: lone surrogates (legal JSON, illegal UTF-8) are replaced rather than crashing later.
Text = Annotated[str, BeforeValidator(lambda v: clean_text(v) if isinstance(v, str) else v)]
# Questions: check_question enforces the rule (with its own words); the schema states the same rule.
Question = Annotated[Text, AfterValidator(check_question),
                     Field(json_schema_extra={"minLength": 1, "maxLength": QUESTION_MAX_CHARS, "pattern": NONBLANK_PATTERN})]


def _has_int(annotation) -> bool:
    """Whether a field's type is int (StrictInt, int | None, ...), looking inside Annotated and unions."""
    return annotation is int or any(_has_int(a) for a in get_args(annotation))


class WholeNumbers(BaseModel):
    """Integer fields are strict (no booleans, strings, fractions, NaN or infinities) but take 5.0 as 5,
    as JSON Schema's "integer" does."""

    @model_validator(mode="before")
    @classmethod
    def _integral_floats(cls, data):
        if isinstance(data, dict):
            ints = [name for name, f in cls.model_fields.items() if _has_int(f.annotation)]
            return {k: int(v) if k in ints and isinstance(v, float) and math.isfinite(v) and v.is_integer() else v
                    for k, v in data.items()}
        return data


def error_message(errors: list[dict]) -> str:
    """One line from pydantic errors, e.g. "top_k: Input should be less than or equal to 50"; no input echoed."""
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {clean_text(str(e.get('msg', '')))[:200]}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def error_detail(errors: list[dict]) -> list[dict]:
    """pydantic errors without the offending input (it may be huge, non-finite or unencodable)."""
    return [{"loc": [clean_text(str(p))[:100] if isinstance(p, str) else p for p in e.get("loc", ())][:10],
             "msg": clean_text(str(e.get("msg", "")))[:200], "type": str(e.get("type", ""))} for e in errors[:20]]


class ErrorOut(BaseModel):
    """What every 4xx/5xx of this API says (OpenAI-compatible routes use OpenAI's error object instead)."""

    message: str
    detail: list[dict] | str | None = None


def error_responses(*statuses: int) -> dict[int, dict]:
    """The OpenAPI ``responses`` entry for statuses a route answers with ErrorOut."""
    return {s: {"model": ErrorOut} for s in statuses}


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


class DocumentOut(BaseModel):
    id: str
    title: str
    url: str | None = None
    published: str | None = None
    paragraphs: int


class ArticleBody(BaseModel):
    """An article's content (PUT /v1/documents/{id}: the id is the path's)."""

    model_config = ConfigDict(extra="forbid")
    title: Text | None = Field(None, max_length=500)
    text: Text = Field(..., min_length=1, max_length=2_000_000, pattern=NONBLANK_PATTERN)
    url: Text | None = Field(None, max_length=2000)
    published: Text | None = Field(None, max_length=100, description="e.g. 2022-01-18")


class ArticleIn(ArticleBody):
    """One article to index; its paragraphs are its blank-line separated blocks (or lines)."""

    id: Text | None = Field(None, min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN,
                            description="Default: a hash of the text.")


class ParagraphOut(BaseModel):
    id: str
    paragraph: int
    text: str


class DocumentDetail(DocumentOut):
    paragraphs_text: list[ParagraphOut]


class DocumentList(BaseModel):
    documents: list[DocumentOut]
    total: int


class Health(BaseModel):
    status: str
    detail: str | None = None



class FeedbackIn(BaseModel):
    """A user's verdict on an answer; ``qa eval FEEDBACK_FILE`` scores the service against these."""

    model_config = ConfigDict(extra="forbid")
    question: Question
    answer: Text = Field("", max_length=2000, description="The answer given (empty: the service said no answer).")
    verdict: Literal["up", "down"]
    correct_answer: Text | None = Field(None, max_length=2000, description="With a thumbs down: the right answer, "
                                        "copied from the article.")
    unanswerable: StrictBool = Field(False, description="With a thumbs down: the articles do not answer this at all.")


class FeedbackOut(BaseModel):
    stored: bool
    usable_as_gold: bool = Field(..., description="Whether qa eval can score against it (a thumbs down needs "
                                 "correct_answer or unanswerable).")
