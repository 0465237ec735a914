"""An article's metadata (published, source, topics, url) read from a record or a Markdown front matter, checked
and normalised the same way for every format and route."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.dates import DateError, normalise
from qa.limits import MAX_PUBLISHED_CHARS, MAX_SOURCE_CHARS, MAX_TOPIC_CHARS, MAX_TOPICS

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", re.S)
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")


class MetadataError(ValueError):
    """A metadata field that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Metadata:
    published: str | None = None
    publisher: str | None = None
    topics: tuple[str, ...] = ()
    url: str | None = None


def _text(name: str, value, limit: int | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MetadataError(f"{name} must be a string")
    value = value.strip()
    if limit is not None and len(value) > limit:
        raise MetadataError(f"{name} must be at most {limit:,} characters (got {len(value):,})")
    return value or None


def topics_of(value) -> tuple[str, ...]:
    """Topics as a list of strings (or one comma-separated string), each trimmed; duplicates dropped."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(t, str) for t in items):
        raise MetadataError("topics must be a list of strings")
    topics = tuple(dict.fromkeys(t.strip() for t in items if t.strip()))
    if len(topics) > MAX_TOPICS:
        raise MetadataError(f"topics must be at most {MAX_TOPICS} (got {len(topics)})")
    for t in topics:
        if len(t) > MAX_TOPIC_CHARS:
            raise MetadataError(f"a topic must be at most {MAX_TOPIC_CHARS} characters (got {len(t):,})")
    return topics


def metadata(published=None, source=None, topics=None, url=None) -> Metadata:
    """Checked and normalised metadata; ``MetadataError`` names the first field that is wrong."""
    try:
        when = normalise(_text("published", published, MAX_PUBLISHED_CHARS))
    except DateError as exc:
        raise MetadataError(f"published: {exc}") from None
    return Metadata(when, _text("source", source, MAX_SOURCE_CHARS), topics_of(topics), _text("url", url, None))


def of_record(record: dict) -> Metadata:
    """A ``.jsonl`` record's (or a JSON request's) metadata fields."""
    return metadata(record.get("published"), record.get("source"), record.get("topics"), record.get("url"))


def front_matter(text: str) -> tuple[dict[str, str], int]:
    """A Markdown file's front matter (``---`` lines around ``key: value`` lines) and where the article begins;
    ({}, 0) without one. Values in ``[a, b]`` are lists; quotes around a value are dropped."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    fields: dict = {}
    for line in match.group(1).splitlines():
        found = _KEY.match(line.strip())
        if not found:
            continue
        key, value = found.group(1).lower(), found.group(2).strip()
        if value.startswith("[") and value.endswith("]"):
            value = [v.strip().strip("\"'") for v in value[1:-1].split(",") if v.strip()]
        else:
            value = value.strip("\"'")
        fields[key] = value
    return fields, match.end()


def of_front_matter(fields: dict) -> Metadata:
    """Metadata from front matter, under the names static-site generators use too (date, tags, publisher)."""
    return metadata(fields.get("published") or fields.get("date"), fields.get("source") or fields.get("publisher"),
                    fields.get("topics") or fields.get("tags"), fields.get("url"))
