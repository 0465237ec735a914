"""Input bounds, declared once: settings, the HTTP schemas, the chat endpoint and the CLI all use these."""

from __future__ import annotations

import re

QUESTION_MAX_CHARS = 1000
TOP_K_MAX = 50
MAX_ANSWERS_MAX = 10
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Lone surrogates (valid in JSON, not in UTF-8) become U+FFFD, so nothing downstream chokes on them."""
    return _SURROGATE.sub("\ufffd", text)


def check_question(text: str) -> str:
    """The question as asked (stripped), or ValueError saying what is wrong with it."""
    text = clean_text(text).strip()
    if not text:
        raise ValueError("question must not be empty")
    if len(text) > QUESTION_MAX_CHARS:
        raise ValueError(f"question must be at most {QUESTION_MAX_CHARS} characters (got {len(text)})")
    return text


def quoted(value: object, limit: int = 60) -> str:
    """A short, encodable rendering of user input for error messages (never the whole of it)."""
    text = clean_text(value if isinstance(value, str) else repr(value))
    return repr(text if len(text) <= limit else text[:limit] + "…")
