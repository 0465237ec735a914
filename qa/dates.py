"""Published dates: parsed and normalised on the way in (ISO 8601, or an e-mail/RSS date), so filters compare
times, not text."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

_DATE_ONLY = re.compile(r"^\d{4}(-?\d{2}){0,2}$")  # 1987, 1987-02, 1987-02-26, 19870226
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")


class DateError(ValueError):
    """A date that is neither ISO 8601 nor an e-mail/RSS date; the message quotes it."""


def _parse(value: str) -> datetime:
    from dateutil.parser import isoparse

    text = value.strip()
    try:
        return isoparse(text)
    except (ValueError, OverflowError):
        pass
    try:
        return parsedate_to_datetime(text)  # "Thu, 26 Feb 1987 15:01:01 GMT", as RSS and e-mail write them
    except (TypeError, ValueError, IndexError):
        pass
    raise DateError(f"{value[:60]!r} is not a date (use ISO 8601, e.g. 1987-02-26 or 1987-02-26T15:01:01Z)")


def normalise(value: str | None) -> str | None:
    """``YYYY-MM-DD`` for a date alone, ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) for a time; a time without a zone is
    taken as UTC. None stays None; anything else that is not a date raises ``DateError``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise DateError("a date must be a string (ISO 8601)")
    if _DATE_ONLY.match(value.strip()):
        return _parse(value).strftime("%Y-%m-%d")
    when = _parse(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seconds_of(value: str | None) -> float | None:
    """POSIX seconds of a normalised (or any parseable) date; None when there is none or it cannot be read
    (a store written before dates were normalised)."""
    if value is None:
        return None
    try:
        when = _parse(value)
    except DateError:
        return None
    if when.tzinfo is None:
        return float(calendar.timegm(when.timetuple()))
    return when.timestamp()


def day_after(value: str) -> str:
    """The normalised date of the day after ``value`` (an ``until`` date includes its whole day)."""
    from datetime import timedelta

    return (_parse(value) + timedelta(days=1)).strftime("%Y-%m-%d")


def from_pdf(value: str | None) -> str | None:
    """A PDF's ``D:YYYYMMDDHHmmSS`` date as ISO 8601 (the date alone when no time is given); None if unreadable."""
    match = _PDF_DATE.match(value or "")
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else None for g in match.groups())
    try:
        if hour is None:
            return datetime(year, month or 1, day or 1).strftime("%Y-%m-%d")
        return datetime(year, month or 1, day or 1, hour, minute or 0, second or 0).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
