"""Read the timestamps Google Forms and Microsoft Forms exports write, and config dates.

The accepted forms are matched with patterns rather than ``strptime`` so that parsing does not
depend on the machine's locale (``%p`` only knows the locale's AM/PM words) and so one pattern
covers the one- and two-digit fields every export mixes.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["parse_date", "parse_timestamp"]

_EXAMPLES = (
    "'12/3/2026 8:14:22', '12/3/26 8:14:22 AM', '2026/12/03 8:14:22 AM GMT-5', "
    "'2026-12-03 08:14:22', '2026-12-03T08:14:22Z' or '2026-12-03'"
)

_TIMESTAMP = re.compile(
    r"""
    (?:
        (?P<year>\d{4})(?P<sep>[-/])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})
      | (?P<us_month>\d{1,2})/(?P<us_day>\d{1,2})/(?P<us_year>\d{4}|\d{2})
    )
    (?:
        (?:T|\s+)
        (?P<hour>\d{1,2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?
        (?:\s*(?P<ampm>[AaPp])\.?[Mm]\.?)?
        (?:\s*
            (?:
                (?P<utc>Z)
              | (?P<gmt>GMT|UTC)(?P<named_offset>\s*[+-]\d{1,2}(?::?\d{2})?)?
              | (?P<offset>[+-]\d{1,2}(?::?\d{2})?)
              | (?!(?:AM|PM)\b)(?P<abbreviation>[A-Z]{2,5})
            )
        )?
    )?
    """,
    re.VERBOSE,
)
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_timestamp(text: str, tz: ZoneInfo, *, fmt: str | None = None) -> datetime:
    """Return the moment ``text`` names, as an aware datetime.

    With ``fmt`` (a ``strptime`` format from the config) only that format is tried. Otherwise
    these forms are accepted, month first wherever slashes separate the date:

    * Google Sheets: ``12/3/2026 8:14:22``, ``12/3/2026 8:14``
    * Google Forms CSV download: ``2026/12/03 8:14:22 AM GMT-5``; a ``GMT``/``UTC`` offset
      (``GMT+1``, ``GMT+05:30``) is honoured, a bare abbreviation (``EST``, ``CET``) is
      ignored because abbreviations are ambiguous
    * ISO 8601: ``2026-12-03 08:14:22``, ``2026-12-03T08:14:22.5+01:00``, ``...Z``
    * Microsoft Forms: ``12/3/26 8:14:22`` (years ``00``-``99`` are 2000-2099),
      ``12/3/2026 8:14:22 AM``
    * a date alone, ``2026-12-03`` or ``12/3/2026``, meaning midnight

    A time without an explicit offset is taken as local time in ``tz`` (a time that does not
    exist or occurs twice at a DST change gets zoneinfo's ``fold=0`` reading); an explicit
    offset is kept as it is, not converted to ``tz``.

    Raises ValueError, naming the text and the accepted forms, when it cannot be read.
    """
    stripped = text.strip()
    if fmt is not None:
        return _with_format(stripped, tz, fmt)
    if not stripped:
        raise ValueError(f"the timestamp is empty; expected a form like {_EXAMPLES}")
    match = _TIMESTAMP.fullmatch(stripped)
    if match is None:
        raise ValueError(
            f"cannot read {stripped!r} as a date and time; expected a form like {_EXAMPLES}"
        )
    try:
        moment = _build(match)
    except ValueError as exc:
        message = f"{stripped!r} is not a real date and time ({exc})"
        if match["us_month"] is not None:
            message += (
                "; dates with slashes are read month first, so for day-first dates set "
                "form.timestamp_format in the config (for example '%d/%m/%Y %H:%M:%S')"
            )
        raise ValueError(message) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def parse_date(text: str) -> date:
    """Return the date written as ``YYYY-MM-DD`` (as in the config or on the command line).

    Raises ValueError saying what was expected when ``text`` is not such a date or is not a
    real day.
    """
    stripped = text.strip()
    match = _DATE.fullmatch(stripped)
    if match is None:
        raise ValueError(f"expected a date as YYYY-MM-DD (for example 2026-12-03), got {text!r}")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"{stripped!r} is not a real date: {exc}") from exc


def _with_format(text: str, tz: ZoneInfo, fmt: str) -> datetime:
    try:
        moment = datetime.strptime(text, fmt)
    except ValueError as exc:
        raise ValueError(
            f"cannot read {text!r} with the configured timestamp format {fmt!r}: {exc}"
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _build(match: re.Match[str]) -> datetime:
    if match["year"] is not None:
        year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    else:
        year, month, day = int(match["us_year"]), int(match["us_month"]), int(match["us_day"])
        if len(match["us_year"]) == 2:
            # Form exports are all from this century; strptime's %y would put 69-99 in 1900s.
            year += 2000
    if match["hour"] is None:
        return datetime(year, month, day)
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    if match["ampm"] is not None:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} cannot have AM/PM")
        hour = hour % 12 + (12 if match["ampm"] in "Pp" else 0)
    zone: tzinfo | None = None
    if match["utc"] is not None:
        zone = timezone.utc
    elif match["named_offset"] is not None:
        zone = _offset(match["named_offset"])
    elif match["offset"] is not None:
        zone = _offset(match["offset"])
    elif match["gmt"] is not None:
        zone = timezone.utc
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)


def _offset(text: str) -> timezone:
    compact = text.replace(" ", "").replace(":", "")
    sign = -1 if compact[0] == "-" else 1
    digits = compact[1:]
    hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:-2]), int(digits[-2:]))
    if minutes >= 60 or hours >= 24:
        raise ValueError(f"offset {text.strip()!r} is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
