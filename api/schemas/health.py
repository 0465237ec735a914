"""/health and /ready."""

from __future__ import annotations

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    detail: str | None = None
    # The served index version's name (not a path): lets `qa ask` tell whether a server serves its index.
    index_version: str | None = None
