"""Published dates: parsed and normalised on the way in (ISO 8601, or an e-mail/RSS date), so filters compare
times, not text."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# What a date may be, exactly (the HTTP schemas state the same pattern, so a client can check before it sends): ISO
# 8601 as a year, a month, a day, or a day and time with an optional zone; or an e-mail/RSS date. Days that do not
# exist (30 February, 29 February 1987) are not dates.
_YEAR = r"[1-9][0-9]{3}"
_LEAP = r"(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)"
_MONTH_DAY = (r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)")
_TIME = (r"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
         r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?)?")
_ISO = rf"(?:{_YEAR}(?:-(?:0[1-9]|1[0-2]))?|(?:{_YEAR}-{_MONTH_DAY}|{_LEAP}-02-29){_TIME})"
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_RFC_DAY = (rf"(?:(?:0?[1-9]|1[0-9]|2[0-8]) (?:{_MONTHS}) {_YEAR}|(?:29|30) (?:Jan|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
            rf" {_YEAR}|31 (?:Jan|Mar|May|Jul|Aug|Oct|Dec) {_YEAR}|29 Feb {_LEAP})")
_RFC = (rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?{_RFC_DAY} (?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
        r" (?:GMT|UT|UTC|[+-](?:[01][0-9]|2[0-3])[0-5][0-9])")
DATE_PATTERN = rf"^(?:{_ISO}|{_RFC})$"
_DATE = re.compile(DATE_PATTERN)
_DATE_ONLY = re.compile(rf"^{_YEAR}(-[0-9]{{2}}){{0,2}}$")  # 1987, 1987-02, 1987-02-26: kept as a date
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")


# The first second of the year 10000 (no datetime holds it): the last day of 9999 ends there.
_YEAR_10000 = float(calendar.timegm((9999, 12, 31, 0, 0, 0, 0, 365, 0)) + 86_400)


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
    """A year, month or day as given (``1987``, ``1987-02``, ``1987-02-26``), ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) for a
    time; a time without a zone is taken as UTC. None stays None; anything else that is not a date raises ``DateError``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise DateError("a date must be a string (ISO 8601)")
    if not _DATE.match(value.strip()):
        raise DateError(f"{value[:60]!r} is not a date (use ISO 8601 with a year from 1000 to 9999, e.g. 1987-02-26 "
                        "or 1987-02-26T15:01:01Z)")
    if _DATE_ONLY.match(value.strip()):
        return value.strip()  # a year, a month or a day, as precise as it was given
    when = _parse(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        when = when.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:30-01:00 is in the year 10000 in UTC
        when = None
    if when is None or when.year < 1000:  # 1000-01-01T00:30+01:00 is in the year 999
        raise DateError(f"{value[:60]!r} is out of range: in UTC it must fall in the years 1000 to 9999")
    return f"{when.year:04d}-{when:%m-%dT%H:%M:%SZ}"


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


def end_of(value: str) -> float:
    """POSIX seconds of the first moment after the period a normalised date names: the next year, month, day or
    second (an ``until`` includes the whole of it)."""
    from datetime import timedelta

    start = _parse(value)
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    text = value.strip()
    try:
        if len(text) == 4:
            end = start.replace(year=start.year + 1)
        elif len(text) == 7:
            end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        elif len(text) == 10:
            end = start + timedelta(days=1)
        else:
            end = start + timedelta(seconds=1)
    except (OverflowError, ValueError):  # "until 9999": the year 10000 is no datetime; its first second is
        return _YEAR_10000                 # still a bound (an undated story passes no date filter)
    return end.timestamp()


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
