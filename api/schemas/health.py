"""/health and /ready."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    detail: str | None = None
    # The served index version's name (not a path): lets `qa ask` tell whether a server serves its index.
    index_version: str | None = None
    # Settings.answer_fingerprint() of the served settings: `qa ask` sends a question here only when its own
    # settings (QA_MIN_ANSWER_SCORE, the models, ...) would answer alike.
    answer_settings: str | None = None
