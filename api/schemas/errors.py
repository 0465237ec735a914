"""What every refusal of this API says: one-line message and input-free detail."""

from __future__ import annotations

import re

from pydantic import BaseModel

from qa.limits import clean_text

# Field names and list indexes; pydantic also puts union members in a location ("function-after[functools.partial(
# <function max_length_validator at 0x…>…)]", "list[ContentPart]"): internals, never shown.
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def location(loc) -> list:
    """The parts of a pydantic error location a client can act on: field names and indexes."""
    return [p for p in loc if p != "body" and (isinstance(p, int) or (isinstance(p, str) and _FIELD.fullmatch(p)))]


def error_message(errors: list[dict]) -> str:
    """One line from pydantic errors, e.g. "top_k: Input should be less than or equal to 50"; no input echoed."""
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in location(e.get("loc", ()))) or "body"
        # pydantic prefixes the words of a validator's ValueError with "Value error, ": the words are ours.
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        for bound in (e.get("ctx") or {}).values():  # "at least 0.041666666666666664" reads as "at least 0.04167"
            if isinstance(bound, float) and not bound.is_integer():
                msg = msg.replace(str(bound), f"{bound:.4g}")
        part = f"{where}: {clean_text(msg)[:200]}"
        if part not in parts:
            parts.append(part)
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def error_detail(errors: list[dict]) -> list[dict]:
    """pydantic errors without the offending input (it may be huge, non-finite or unencodable)."""
    return [{"loc": [clean_text(p)[:100] if isinstance(p, str) else p for p in location(e.get("loc", ()))][:10],
             "msg": clean_text(str(e.get("msg", "")))[:200], "type": str(e.get("type", ""))} for e in errors[:20]]


class ErrorOut(BaseModel):
    """What every 4xx/5xx of this API says (OpenAI-compatible routes use OpenAI's error object instead)."""

    message: str
    detail: list[dict] | str | None = None


def error_responses(*statuses: int) -> dict[int, dict]:
    """The OpenAPI ``responses`` entry for statuses a route answers with ErrorOut."""
    return {s: {"model": ErrorOut} for s in statuses}
