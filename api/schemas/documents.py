"""/v1/documents: articles in, listings and details out."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import DateText, Text
from qa.limits import (ID_PATTERN, MAX_ID_CHARS, MAX_SOURCE_CHARS, MAX_TITLE_CHARS, MAX_TOPIC_CHARS,
                       MAX_TOPICS, MAX_URL_CHARS, NONBLANK_PATTERN)


class DocumentOut(BaseModel):
    id: str
    title: str
    url: str | None = None
    published: str | None = Field(None, description="ISO 8601, as normalised when the article was added.")
    source: str | None = Field(None, description="Who published it.")
    topics: list[str] = []
    paragraphs: int


class ArticleBody(BaseModel):
    """An article's content (PUT /v1/documents/{id}: the id is the path's)."""

    model_config = ConfigDict(extra="forbid")
    title: Text | None = Field(None, max_length=MAX_TITLE_CHARS)
    text: Text = Field(..., min_length=1, max_length=2_000_000, pattern=NONBLANK_PATTERN)
    url: Text | None = Field(None, max_length=MAX_URL_CHARS)
    published: DateText | None = Field(None,
                                   description="ISO 8601 (e.g. 2022-01-18 or 2022-01-18T09:30:00Z) or an e-mail/RSS "
                                               "date; stored normalised. Another date is a 422.")
    source: Text | None = Field(None, max_length=MAX_SOURCE_CHARS, description="Who published it (e.g. reuters).")
    topics: list[Annotated[Text, Field(min_length=1, max_length=MAX_TOPIC_CHARS)]] | None = Field(
        None, max_length=MAX_TOPICS)


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


class SourceOut(BaseModel):
    name: str
    documents: int


class PublishedSpan(BaseModel):
    first: str | None = Field(None, description="The earliest published date in the index.")
    last: str | None = Field(None, description="The latest.")


class SourcesOut(BaseModel):
    """What filters can name (GET /v1/sources)."""

    sources: list[SourceOut]
    published: PublishedSpan
