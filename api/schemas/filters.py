"""The filters every question route takes (POST /v1/ask's ``filters``, the OpenAI route's ``filters`` or
``metadata``): one shape, checked by ``qa.filters.Scope``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import DateText, Number, Text
from qa.filters import RECENCY_MAX_DAYS, RECENCY_MIN_DAYS, FilterError, Scope
from qa.limits import MAX_FILTER_VALUES, MAX_ID_CHARS, MAX_SCOPE_DOCUMENTS, MAX_SOURCE_CHARS, MAX_TOPIC_CHARS

Recency = Annotated[Number | None, Field(
    ge=RECENCY_MIN_DAYS, le=RECENCY_MAX_DAYS, allow_inf_nan=False,
    description="Prefer newer passages: one this many days older than the newest candidate weighs half as much. "
                "Default: the server's QA_RECENCY_HALF_LIFE_DAYS (off unless set).")]


class FiltersIn(BaseModel):
    """Which documents a question is answered from (AND of what is given); an unknown field is a 422."""

    model_config = ConfigDict(extra="forbid")
    since: DateText | None = Field(None, examples=["1987-02-01"],
                               description="Published on or after (ISO 8601: 1987, 1987-02, 1987-02-01 or a time).")
    until: DateText | None = Field(None, examples=["1987-03-01"],
                               description="Published on or before (a year, month or day includes the whole of it).")
    sources: list[Annotated[Text, Field(min_length=1, max_length=MAX_SOURCE_CHARS)]] | None = Field(
        None, max_length=MAX_FILTER_VALUES, description="Publishers (any of them; case does not matter), as "
                                                        "GET /v1/sources lists them.", examples=[["reuters21578"]])
    topics: list[Annotated[Text, Field(min_length=1, max_length=MAX_TOPIC_CHARS)]] | None = Field(
        None, max_length=MAX_FILTER_VALUES, description="Topics (any of them; case does not matter).")
    doc_ids: list[Annotated[Text, Field(min_length=1, max_length=MAX_ID_CHARS)]] | None = Field(
        None, max_length=MAX_SCOPE_DOCUMENTS, description="These documents only (an id not indexed is a 404).")

    @model_validator(mode="after")
    def _valid(self) -> "FiltersIn":
        self.scope()  # a malformed date or since after until: a 422 naming the field
        return self

    def scope(self, recency: float | None = None, doc_ids: list[str] | None = None) -> Scope:
        fields = self.model_dump(exclude_none=True)
        if doc_ids:
            fields["doc_ids"] = [*fields.get("doc_ids", []), *doc_ids]
        try:
            return Scope.of(**fields, recency_half_life_days=recency)
        except FilterError as exc:
            raise ValueError(str(exc)) from None


def scope_of(filters: FiltersIn | None, recency: float | None, doc_ids: list[str] | None = None) -> Scope | None:
    """A request's scope (None when it sets nothing)."""
    if filters is None and recency is None and not doc_ids:
        return None
    return (filters or FiltersIn()).scope(recency, doc_ids)
