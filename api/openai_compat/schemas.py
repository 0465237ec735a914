"""OpenAI chat-completions request/response shapes (the fields we read or send; others are ignored)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from api.schemas.ask import AnswerOut, PassageOut
from api.schemas.common import Number, Text, WholeNumbers
from api.schemas.filters import FiltersIn, Recency
from qa.filters import FIELDS, FilterError, Scope
from qa.limits import MAX_ID_CHARS, MAX_SCOPE_DOCUMENTS, QUESTION_MAX_CHARS


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Text
    text: Text | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    content: Text | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class UserMessage(_Message):
    role: Literal["user"]
    content: Text | list[ContentPart] | None = Field(None, json_schema_extra={"maxLength": QUESTION_MAX_CHARS})

    @model_validator(mode="after")
    def _not_too_long(self) -> "UserMessage":
        # Every user message is a question: /v1/ask's length rule and words, whether it came as a string or as
        # text parts (a bound on the string alone let parts through, and a failed union said "items").
        if len(self.text) > QUESTION_MAX_CHARS:
            raise ValueError(f"question must be at most {QUESTION_MAX_CHARS} characters (got {len(self.text)})")
        return self


class OtherMessage(_Message):
    """System, developer, assistant and tool messages: read for context (assistant answers) or skipped."""

    role: Literal["system", "developer", "assistant", "tool", "function"]
    # Our extension, for clients that keep them (the chat page): the answers this assistant message gave.
    # Without it they are read back from the message's text.
    answers: list[Annotated[Text, Field(max_length=QUESTION_MAX_CHARS)]] | None = Field(None, max_length=10)


ChatMessage = Annotated[UserMessage | OtherMessage, Field(discriminator="role")]


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: StrictBool = False


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text", "json_object", "json_schema"]

    @model_validator(mode="after")
    def _supported(self) -> "ResponseFormat":
        if self.type == "json_schema":
            raise ValueError('json_schema is not supported: the answer comes as one fixed JSON object with '
                             '{"type": "json_object"} (answer, score, no_answer, question, citations)')
        return self


Stop = Annotated[Text, Field(min_length=1, max_length=200)]
# A conversation may be long (a chat UI sends all of it every time); only its last turns are read.
MAX_MESSAGES = 10_000


class ChatCompletionRequest(WholeNumbers):
    """OpenAI's request. Sampling fields are checked against OpenAI's ranges and have no effect (an extractive
    answer is not sampled); what cannot be done (tools the model must call, a JSON schema) is refused naming the
    parameter, never silently ignored."""

    model_config = ConfigDict(extra="ignore")
    model: Text = Field(..., min_length=1, max_length=200, description="Any id; GET /v1/models lists ours.")
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=MAX_MESSAGES,
                                        description=f"The conversation; every user message is a question of at most {QUESTION_MAX_CHARS} "
                                                    "characters (longer: 400). Only the last turns are read (follow-ups refer "
                                                    "to them); one that does not end with a user's question is answered with "
                                                    "a prompt to ask one.")
    temperature: Number | None = Field(None, ge=0, le=2, allow_inf_nan=False, description="0-2; no effect.")
    top_p: Number | None = Field(None, ge=0, le=1, allow_inf_nan=False, description="0-1; no effect.")
    presence_penalty: Number | None = Field(None, ge=-2, le=2, allow_inf_nan=False, description="-2 to 2; no effect.")
    frequency_penalty: Number | None = Field(None, ge=-2, le=2, allow_inf_nan=False, description="-2 to 2; no effect.")
    stop: Stop | list[Stop] | None = Field(None, description="Up to 4 sequences: the reply ends before the first.")
    response_format: ResponseFormat | None = Field(
        None, description='{"type": "json_object"}: the reply is a JSON object (answer, score, no_answer, question, '
                          'citations). json_schema is refused.')
    tools: list[dict] | None = Field(None, max_length=128, description="Accepted; this model never calls a tool.")
    tool_choice: Literal["none", "auto", "required"] | dict | None = Field(
        None, description='"none" or "auto" (the model answers in text); "required" or a named tool is refused.')

    @model_validator(mode="after")
    def _can_be_done(self) -> "ChatCompletionRequest":
        if isinstance(self.stop, list) and len(self.stop) > 4:
            raise ValueError("stop: at most 4 sequences")
        if self.tool_choice == "required" or isinstance(self.tool_choice, dict):
            raise ValueError('tool_choice: this model answers from the articles and never calls a tool; use "auto" '
                             'or "none"')
        return self

    def stops(self) -> list[str]:
        return [] if self.stop is None else [self.stop] if isinstance(self.stop, str) else list(self.stop)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    max_tokens: StrictInt | None = Field(None, ge=1, description="Cut the reply after this many words.")
    max_completion_tokens: StrictInt | None = Field(None, ge=1)
    n: StrictInt = Field(1, ge=1, le=1, description="Only 1: the reader's answer is deterministic.")
    user: Text | None = None
    # Not OpenAI's: the official client sends it as extra_body={"doc_ids": [...]} (a chat about one story).
    doc_ids: list[Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]] | None = Field(
        None, min_length=1, max_length=MAX_SCOPE_DOCUMENTS,
        description="Answer only from these documents, as POST /v1/ask's doc_ids (an id not indexed is a 404).")
    # Not OpenAI's either (extra_body={"filters": {...}}): POST /v1/ask's filters, the same shape.
    filters: FiltersIn | None = None
    recency_half_life_days: Recency = None
    # OpenAI's own request metadata (string values): the same filters for clients that can only set it, e.g.
    # metadata={"sources": "reuters21578", "until": "1987-03-01"}; lists comma-separated. Other keys are ignored.
    metadata: dict[Annotated[str, Field(max_length=64)], Annotated[Text, Field(max_length=512)]] | None = Field(
        None, max_length=16)

    @field_validator("metadata")
    @classmethod
    def _metadata_alone(cls, metadata: dict | None) -> dict | None:
        # A malformed filter in metadata is refused naming metadata (the error's param), as one in filters is.
        listed, recency = _metadata_filters(metadata)
        if any(listed.values()) or recency is not None:
            try:
                Scope.of(**listed, recency_half_life_days=recency)
            except FilterError as exc:
                raise ValueError(str(exc)) from None
        return metadata

    @model_validator(mode="after")
    def _filters_together(self) -> "ChatCompletionRequest":
        self.scope()  # each part may be well formed and their AND not ("since" in one after "until" in the other)
        return self

    def scope(self) -> Scope | None:
        """The filters of ``filters``, ``metadata`` and ``doc_ids`` together (AND), with the recency preference."""
        listed, recency = _metadata_filters(self.metadata)
        recency = self.recency_half_life_days if recency is None else recency
        fields = (self.filters.model_dump(exclude_none=True) if self.filters else {})
        for key, value in listed.items():
            if not isinstance(value, list) and key in fields and fields[key] != value:
                # Taking either would drop the other, widening the question: say so instead.
                raise ValueError(f"{key}: given twice, {fields[key]!r} in filters and {value!r} in metadata; "
                                 "give it once")
            fields[key] = [*fields.get(key, []), *value] if isinstance(value, list) else value
        fields["doc_ids"] = [*fields.get("doc_ids", []), *(self.doc_ids or [])]
        if all(v is None or v == [] for v in fields.values()) and recency is None:  # "" is a value, and refused
            return None
        try:
            return Scope.of(**fields, recency_half_life_days=recency)
        except FilterError as exc:
            raise ValueError(str(exc)) from None


def _metadata_filters(metadata: dict | None) -> tuple[dict, float | None]:
    """The filter fields OpenAI's string-valued ``metadata`` carries (lists comma-separated; other keys ignored),
    and its recency preference."""
    meta = {k: v for k, v in (metadata or {}).items() if k in FIELDS or k == "recency_half_life_days"}
    recency = None
    if "recency_half_life_days" in meta:
        try:
            recency = float(meta.pop("recency_half_life_days"))
        except ValueError:
            raise ValueError("recency_half_life_days: must be a number of days") from None
    return {k: v.split(",") if k in ("sources", "topics", "doc_ids") else v for k, v in meta.items()}, recency


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCitation(AnswerOut):
    index: int = Field(..., description="The [n] marker in the message.")
    context: str = Field(..., description="The cited paragraph: context[citation.start:citation.end] is the text.")


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None
    # Our extras: what was asked after follow-up resolution, and the structured citations.
    question: str = Field(..., description="The standalone question that was answered.")
    no_answer: bool
    citations: list[ChatCitation]
    closest: PassageOut | None = Field(None, description="With no answer: the closest passage (not an answer).")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
