"""What a question is asked of: filters on documents' metadata (published since/until, sources, topics, document
ids; AND of what is given) and an optional recency preference. One shape for every channel."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.dates import DateError, end_of, normalise, seconds_of
from qa.limits import MAX_FILTER_VALUES, MAX_ID_CHARS, MAX_SCOPE_DOCUMENTS, MAX_SOURCE_CHARS, MAX_TOPIC_CHARS

FIELDS = ("since", "until", "sources", "topics", "doc_ids")
# Verbs a publisher is the subject of in a question about what it ran ("What did Reuters report about ...").
TELLING = ("report", "reports", "reported", "say", "says", "said", "write", "writes", "wrote", "publish",
           "publishes", "published", "cover", "covers", "covered")
# Bounds of the recency preference's half-life, in days (an hour to a century).
RECENCY_MIN_DAYS, RECENCY_MAX_DAYS = 1 / 24, 36_500.0


class FilterError(ValueError):
    """A filter that cannot be applied; ``field`` names it (channels answer 422 / a one-line error)."""

    def __init__(self, field_: str, message: str):
        super().__init__(f"{field_}: {message}")
        self.field = field_


def _values(name: str, values, limit: int, each: int) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise FilterError(name, "must be a list of strings")
    if any(not v.strip() for v in values):  # dropping it would widen a scoped question to the whole index
        raise FilterError(name, "a value must not be blank")
    values = tuple(dict.fromkeys(v.strip() for v in values))
    if len(values) > limit:
        raise FilterError(name, f"at most {limit} values (got {len(values)})")
    if any(len(v) > each for v in values):
        raise FilterError(name, f"each value is at most {each} characters")
    return values


def _date(name: str, value) -> str | None:
    if value is None:
        return None
    try:
        return normalise(value)
    except DateError as exc:
        raise FilterError(name, str(exc)) from None


@dataclass(frozen=True)
class Scope:
    """``since``/``until``: ISO dates or times, both inclusive (a year, month or day includes the whole of it); ``sources``:
    publishers; ``topics``: any of them; ``doc_ids``: these documents only. ``recency_half_life_days``: prefer
    newer passages, a passage that many days older than the newest candidate weighing half as much (None: off)."""

    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    recency_half_life_days: float | None = field(default=None)

    @classmethod
    def of(cls, since=None, until=None, sources=None, topics=None, doc_ids=None,
           recency_half_life_days=None) -> "Scope":
        """Checked and normalised; ``FilterError`` names the first field that is wrong."""
        scope = cls(_date("since", since), _date("until", until),
                    _values("sources", sources, MAX_FILTER_VALUES, MAX_SOURCE_CHARS),
                    _values("topics", topics, MAX_FILTER_VALUES, MAX_TOPIC_CHARS),
                    _values("doc_ids", doc_ids, MAX_SCOPE_DOCUMENTS, MAX_ID_CHARS),
                    _recency(recency_half_life_days))
        if scope.since and scope.until and scope.since_seconds() >= scope.until_seconds():
            raise FilterError("since", f"{scope.since} is after until {scope.until}")
        return scope

    def to_dict(self) -> dict:
        return {k: v for k, v in (("since", self.since), ("until", self.until), ("sources", list(self.sources)),
                                  ("topics", list(self.topics)), ("doc_ids", list(self.doc_ids))) if v}

    @property
    def filtered(self) -> bool:
        """Whether any filter is set (recency alone filters nothing)."""
        return bool(self.since or self.until or self.sources or self.topics or self.doc_ids)

    def since_seconds(self) -> float | None:
        return seconds_of(self.since)

    def until_seconds(self) -> float | None:
        """The first moment after ``until`` (a year, month or day includes the whole of it)."""
        return None if self.until is None else end_of(self.until)

    def unnamed(self, question: str) -> str:
        """The question as retrieval and the reader get it: without a publisher this scope selects, named as the
        one who reported ("What did Reuters report about cocoa?" within ``reuters21578`` reads "What did report
        about cocoa?"). The name is the filter, not words a passage holds (Reuters' wire stories never name
        Reuters), and a reader looking for it abstained on the story itself. A source is named by its leading
        letters (``reuters21578``: "Reuters"); a publisher named otherwise ("told CNN") stays."""
        names = {m.group() for m in (re.match(r"[a-z]{3,}", s.lower()) for s in self.sources) if m}
        if not names:
            return question
        pattern = (rf"\b(?:the\s+)?(?:{'|'.join(map(re.escape, sorted(names)))})(?:'s|')?\s+"
                   rf"(?=(?:{'|'.join(TELLING)})\b)")
        return re.sub(pattern, "", question, flags=re.IGNORECASE)

    def describe(self) -> str:
        """The filters in words: "from reuters21578 published since 2023-01-01"."""
        parts = []
        if self.sources:
            parts.append("from " + " or ".join(self.sources))
        if self.topics:
            parts.append("on " + " or ".join(self.topics))
        if self.since and self.until:
            parts.append(f"published {self.since} to {self.until}")
        elif self.since:
            parts.append(f"published since {self.since}")
        elif self.until:
            parts.append(f"published until {self.until}")
        if self.doc_ids:
            parts.append("among " + ", ".join(self.doc_ids[:5]) + (" ..." if len(self.doc_ids) > 5 else ""))
        return " ".join(parts)


def _recency(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            RECENCY_MIN_DAYS <= value <= RECENCY_MAX_DAYS):
        raise FilterError("recency_half_life_days", f"a number of days from {RECENCY_MIN_DAYS:.3g} to {RECENCY_MAX_DAYS:g}")
    return float(value)


def documents_scope(doc_ids) -> Scope | None:
    """A scope of these document ids (None for none): what a conversation about one story is asked within."""
    return Scope.of(doc_ids=list(doc_ids)) if doc_ids else None
