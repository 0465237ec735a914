"""POST /v1/feedback: a user's verdict on an answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.schemas.common import Question, Text


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
