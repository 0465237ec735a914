"""OpenAI's error object, and the paths whose errors take its shape (used by the app and the middleware)."""

from __future__ import annotations

# Paths whose errors take OpenAI's shape instead of FastAPI's.
OPENAI_PATHS = ("/v1/chat/", "/v1/models")


class OpenAIError(Exception):
    """An error reported in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 type_: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type_

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
