"""Read the timestamps Google Forms and Microsoft Forms exports write, and config dates.

The accepted forms are matched with patterns rather than ``strptime`` so that parsing does not
depend on the machine's locale (``%p`` only knows the locale's AM/PM words) and so one pattern
covers the one- and two-digit fields every export mixes.

``03/12/2026`` is 3 December in most of the world and 12 March in the United States. A single
value cannot say which; a column can (a ``25/11/2026`` anywhere settles it), and so can the
config (``form.date_order``) or a Google Sheet's locale. :func:`read_column` weighs those and
never quietly picks an order the column contradicts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "DATE_ORDERS",
    "ColumnTimes",
    "OrderConflict",
    "OrderMismatch",
    "date_order",
    "locale_order",
    "order_name",
    "parse_date",
    "parse_timestamp",
    "read_column",
]

_EXAMPLES = (
    "'12/3/2026 8:14:22', '3.12.2026 08:14', '12/3/26 8:14:22 AM', "
    "'2026/12/03 8:14:22 AM GMT-5', '2026-12-03 08:14:22', '2026-12-03T08:14:22Z' or '2026-12-03'"
)

#: The spellings ``form.date_order`` accepts, and the order each one means.
DATE_ORDERS = {
    "auto": "auto",
    "day-first": "dmy",
    "dmy": "dmy",
    "month-first": "mdy",
    "mdy": "mdy",
    "year-first": "ymd",
    "ymd": "ymd",
}
_ORDER_NAMES = {"dmy": "day first", "mdy": "month first", "ymd": "year first"}
_SETTING = {"dmy": "day-first", "mdy": "month-first", "ymd": "year-first"}

# Where dates are written month first (CLDR's short date patterns): the United States and the
# places that follow its conventions. Every other region writes them day first, except the
# year-first languages, whose Sheets dates start with a four-digit year and so never need a
# rule (a two-digit or year-last date from them is left to the column).
_MONTH_FIRST_REGIONS = frozenset({"US", "PH", "PR", "GU", "AS", "VI", "UM", "MP"})
_YEAR_FIRST_LANGUAGES = frozenset({"ja", "zh", "ko", "hu", "lt", "mn", "sv", "eu", "si"})
_UNSURE_REGIONS = frozenset({"CA"})  # Canada writes both; its Sheets locales vary too

_TIMESTAMP = re.compile(
    r"""
    (?:
        (?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})\.?
      | (?P<p1>\d{1,2})(?P<sep2>[-/.])(?P<p2>\d{1,2})(?P=sep2)(?P<p3>\d{4}|\d{2})\.?
      | (?P<nday>\d{1,2})\.?(?:\s+|-)(?P<nmonth>[A-Za-z]{3,9})\.?,?(?:\s+|-)(?P<nyear>\d{4}|\d{2})
      | (?P<mmonth>[A-Za-z]{3,9})\.?\s+(?P<mday>\d{1,2}),?\s+(?P<myear>\d{4})
    )
    (?:
        (?:T|,?\s+)
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


def parse_timestamp(
    text: str, tz: ZoneInfo, *, fmt: str | None = None, order: str = "mdy"
) -> datetime:
    """Return the moment ``text`` names, as an aware datetime.

    With ``fmt`` (a ``strptime`` format from the config) only that format is tried. Otherwise
    these forms are accepted:

    * Google Sheets: ``12/3/2026 8:14:22``, ``03/12/2026 08:14`` (en_GB), ``3.12.2026 08:14``
      (de_DE), ``03-12-2026 08:14:22`` (nl_NL), ``12/3/2026, 8:14:22 AM``
    * Google Forms CSV download: ``2026/12/03 8:14:22 AM GMT-5``; a ``GMT``/``UTC`` offset
      (``GMT+1``, ``GMT+05:30``) is honoured, a bare abbreviation (``EST``, ``CET``) is
      ignored because abbreviations are ambiguous
    * ISO 8601: ``2026-12-03 08:14:22``, ``2026-12-03T08:14:22.5+01:00``, ``...Z``
    * Microsoft Forms: ``12/3/26 8:14:22`` (years ``00``-``99`` are 2000-2099),
      ``12/3/2026 8:14:22 AM``
    * a month written as a word, in English: ``3 Dec 2026 8:14``, ``03-Dec-26``,
      ``December 3, 2026 8:14 AM``
    * a date alone, ``2026-12-03`` or ``12/3/2026``, meaning midnight

    ``order`` says how a date whose year is not written first is read: ``"mdy"`` (the
    default, ``12/3/2026`` is 3 December), ``"dmy"`` (``3/12/2026`` is 3 December) or
    ``"ymd"`` (only two-digit dates such as ``26/12/03``; a date ending in a four-digit year
    is refused). Any spelling in :data:`DATE_ORDERS` except ``auto`` is accepted; to weigh a
    whole column, use :func:`read_column`. A date that starts with a four-digit year is always
    year, month, day.

    A time without an explicit offset is taken as local time in ``tz`` (a time that does not
    exist or occurs twice at a DST change gets zoneinfo's ``fold=0`` reading); an explicit
    offset is kept as it is, not converted to ``tz``.

    Raises ValueError, naming the text and the accepted forms, when it cannot be read.
    """
    order = _fixed_order(order)
    stripped = _clean(text)
    if fmt is not None:
        return _with_format(stripped, tz, fmt)
    return _moment(stripped, _match(stripped), tz, order)


def _moment(stripped: str, match: re.Match[str], tz: ZoneInfo, order: str) -> datetime:
    """The moment ``match`` (of ``stripped``) names read in ``order``, as
    :func:`parse_timestamp` returns it."""
    try:
        moment = _build(match, order, tz)
    except ValueError as exc:
        message = f"{stripped!r} is not a real date and time ({exc})"
        if match["p1"] is not None:
            message += (
                f"; dates like this are being read {_ORDER_NAMES[order]}; if the export writes "
                "them otherwise, set form.date_order in the config (day-first, month-first "
                "or year-first)"
            )
        raise ValueError(message) from exc
    return moment


def date_order(text: str) -> str:
    """The order a ``form.date_order`` value means: ``auto``, ``dmy``, ``mdy`` or ``ymd``.

    Spellings are compared trimmed, ignoring case, with ``_`` or a space read as ``-``; a
    pattern such as ``dd/mm/yyyy`` or ``MM-DD-YY`` is read as the order of its parts.
    Raises ValueError listing the accepted spellings for anything else.
    """
    key = "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
    if key in DATE_ORDERS:
        return DATE_ORDERS[key]
    # A pattern as people write one: dd/mm/yyyy, MM-DD-YY, day/month/year.
    letters = re.sub(r"[^a-z]", "", key)
    for word in ("month", "day", "year"):
        letters = letters.replace(word, word[0])
    pattern = re.sub(r"(.)\1+", r"\1", letters)
    if pattern in ("dmy", "mdy", "ymd"):
        return pattern
    raise ValueError(
        f"{text!r} is not a date order; use auto, day-first (dmy), month-first (mdy) "
        "or year-first (ymd)"
    )


def order_name(order: str) -> str:
    """``"day first"``, ``"month first"`` or ``"year first"`` for ``dmy``/``mdy``/``ymd``."""
    return _ORDER_NAMES[_fixed_order(order)]


def locale_order(locale: str) -> str | None:
    """How a spreadsheet in ``locale`` (``en_GB``, ``de-DE``, ``en_US``) writes a date whose
    year comes last: ``"mdy"`` or ``"dmy"``; None when the locale does not say (empty, a
    year-first language, or a region that writes both)."""
    parts = locale.strip().replace("-", "_").split("_")
    language = parts[0].lower()
    region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), "")
    if not language or language in _YEAR_FIRST_LANGUAGES or region in _UNSURE_REGIONS:
        return None
    if region in _MONTH_FIRST_REGIONS:
        return "mdy"
    if not region and language == "en":  # a bare "en" is Google's US English
        return "mdy"
    return "dmy"


class OrderConflict(ValueError):
    """A column holds dates that can only be day first and dates that can only be month
    first. ``day_first`` and ``month_first`` are the positions of one of each."""

    def __init__(self, day_first: int, month_first: int, values: Sequence[str]) -> None:
        self.day_first = day_first
        self.month_first = month_first
        super().__init__(
            f"dates are written both day first ({values[day_first].strip()!r}) and month first "
            f"({values[month_first].strip()!r})"
        )


class OrderMismatch(ValueError):
    """A column holds a date only the order other than the one set can read, and none that
    only the set order can: ``index`` is its position, ``order`` the order set
    (``dmy``/``mdy``), ``source`` what set it (``form.date_order``, ``the spreadsheet's
    locale (en_GB)``)."""

    def __init__(self, index: int, order: str, source: str, values: Sequence[str]) -> None:
        self.index = index
        self.order = order
        self.source = source
        other = "mdy" if order == "dmy" else "dmy"
        super().__init__(
            f"{values[index].strip()!r} can only be {_ORDER_NAMES[other]}, but {source} "
            f"says dates are written {_ORDER_NAMES[order]}"
        )


@dataclass(frozen=True)
class ColumnTimes:
    """A column of timestamps read with one order for all its dates.

    ``times[i]`` is the moment ``values[i]`` names, or the ValueError saying why it cannot be
    read. ``order`` is the order used for dates whose year is not first (``dmy``, ``mdy`` or
    ``ymd``); ``basis`` says what decided it (``"form.date_order"``, ``"the spreadsheet's
    locale en_GB"``, ``"'25/11/2026 9:00' can only be day first"``) and is ``""`` when
    nothing did and the order was guessed. For a guessed order, ``alternatives[i]`` is the
    moment under the other order when that differs (else None), so a caller can tell whether
    the guess matters.
    """

    order: str
    basis: str
    times: tuple[datetime | ValueError, ...]
    alternatives: tuple[datetime | None, ...]

    @property
    def guessed(self) -> bool:
        return not self.basis


def read_column(
    values: Sequence[str],
    tz: ZoneInfo,
    *,
    order: str = "auto",
    fmt: str | None = None,
    locale: str = "",
) -> ColumnTimes:
    """Read every timestamp of one column with the same date order.

    The order comes from, first to last: ``fmt`` (a ``strptime`` format), ``order`` when it is
    not ``auto``, ``locale`` (a Google Sheet's locale, see :func:`locale_order`), and else the
    column itself: a date that is a real date only day first (``25/11/2026``) or only month
    first (``11/25/2026``) decides for the whole column. When no value decides, dates are read
    month first and each one's day-first reading is kept in ``alternatives``.

    Raises :class:`OrderConflict` when the order comes from the column or the locale and the
    column holds dates of both kinds, and :class:`OrderMismatch` when it comes from the
    locale and the column holds a date only the other order can read, or from ``order`` and
    every date in the column that settles the order says the other one.
    """
    wanted = date_order(order)
    if fmt is not None:
        times = tuple(_attempt(lambda v: parse_timestamp(v, tz, fmt=fmt), v) for v in values)
        return ColumnTimes("", f"form.timestamp_format {fmt!r}", times, (None,) * len(values))
    fast = _FastColumn.read(values) if wanted != "ymd" else None
    matched = _match_all(values) if fast is None else []
    only = fast.settling() if fast is not None else _settling(matched)
    basis = ""
    if wanted != "auto":
        basis = "form.date_order"
        if wanted in ("dmy", "mdy"):
            # A column whose every telling date contradicts the config is read with the
            # wrong order (a config copied from another school): stop rather than skew the
            # ambiguous dates. With dates of both kinds, the config decides and the misfits
            # are reported row by row.
            try:
                settled, index = _decide(values, only)
            except OrderConflict:
                settled, index = wanted, None
            if index is not None and settled != wanted:
                raise OrderMismatch(index, wanted, "form.date_order", values)
    elif (from_locale := locale_order(locale)) is not None:
        # A locale is the Sheet's default, and a column can carry a format of its own: a
        # date the locale cannot read stops here rather than skewing the dates it can.
        settled, index = _decide(values, only)
        if index is not None and settled != from_locale:
            raise OrderMismatch(index, from_locale, f"the spreadsheet's locale ({locale})", values)
        wanted, basis = from_locale, f"the spreadsheet's locale {locale}"
    else:
        wanted, index = _decide(values, only)
        if index is not None:
            basis = f"{values[index].strip()!r} can only be {_ORDER_NAMES[wanted]}"
    if fast is not None:
        return ColumnTimes(wanted, basis, *fast.times(wanted, tz, guessed=not basis))
    times = _read_all(matched, wanted, tz)
    if basis:
        return ColumnTimes(wanted, basis, times, (None,) * len(values))
    other = "dmy" if wanted == "mdy" else "mdy"
    alternatives = [
        _alternative(read, moment, other, tz) for read, moment in zip(matched, times, strict=True)
    ]
    return ColumnTimes(wanted, basis, times, tuple(alternatives))


def _alternative(
    read: _Matched, moment: datetime | ValueError, other: str, tz: ZoneInfo
) -> datetime | None:
    """The moment ``read`` names in the ``other`` order when that is real and differs from
    ``moment``, else None."""
    stripped, match = read
    # Only a date of three numbers reads differently in another order.
    if isinstance(moment, datetime) and isinstance(match, re.Match) and match["p1"]:
        try:
            alternative = _moment(stripped, match, tz, other)
        except ValueError:
            return None
        return None if alternative == moment else alternative
    return None


_Matched = tuple[str, "re.Match[str] | ValueError"]

# The two shapes nearly every value of a column is written in (Google Sheets, a Forms
# download's "2026/12/03 8:14:22 AM GMT-5" or "... AM CST", ISO 8601), each a strict subset
# of _TIMESTAMP with the same fields: year, month, day (or the two numbers whose order is to
# be settled), hour, minute, second, AM/PM, GMT and its offset. A zone's abbreviation is
# matched but not kept, as _TIMESTAMP's reading ignores it; one that _TIMESTAMP could read
# as GMT or UTC is left to it. One search over the column joined reads 100,000 values in the
# time matching ten thousand one by one takes; the last alternative takes a line in neither
# shape (its first field is then empty), to be read on its own.
_CLOCK = (
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?( [AP]M)?"
    r"(?:( GMT)([+-]\d{1,2}(?::?\d{2})?)?| (?!AM\b|PM\b|GMT|UTC)[A-Z]{2,5})?"
)
_YEAR_LAST = re.compile(
    rf"^(?:(\d{{1,2}})([-/.])(\d{{1,2}})\2(\d{{4}})(?: {_CLOCK})?|.*)$", re.MULTILINE | re.ASCII
)
_YEAR_FIRST = re.compile(
    rf"^(?:(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}})(?:[ T]{_CLOCK})?|.*)$", re.MULTILINE | re.ASCII
)
_Fields = tuple[str, ...]  # the ten groups above, "" where one is not there
_UNREAD: _Fields = ("",) * 10


class _FastColumn:
    """A column read by :data:`_YEAR_LAST` (or :data:`_YEAR_FIRST`, whichever more of its
    values are in) without a match object a value; a value in neither shape, or not a real
    date, is read as :func:`_match_all` and :func:`_read_all` read every value."""

    def __init__(
        self, values: Sequence[str], fields: list[_Fields], year_first: bool, gmt: bool
    ) -> None:
        self.values = values
        self.fields = fields
        self.year_first = year_first
        # The zone of each offset written after GMT ("" for GMT alone), made once.
        self.zones: dict[str, tzinfo] = {}
        if gmt:
            for text in {f[9] for f in fields if f[8]}:
                try:
                    self.zones[text] = _offset(text) if text else timezone.utc
                except ValueError:  # out of range: its rows are read on their own
                    fields[:] = [_UNREAD if f[8] and f[9] == text else f for f in fields]
        self.others = {i: _match_one(values[i]) for i, f in enumerate(fields) if not f[0]}

    @classmethod
    def read(cls, values: Sequence[str]) -> _FastColumn | None:
        """The column read by shape, or None when its values cannot be (a value with a line
        break of its own, or with a character beyond ASCII, which _clean would normalise)."""
        if not values:
            return None
        joined = "\n".join(values)
        if not joined.isascii() or joined.count("\n") != len(values) - 1:
            return None
        # The shape more values are in (the choice is only of speed: a value in neither is
        # read on its own, as every value is without this class).
        best: tuple[int, list[_Fields], bool] | None = None
        shapes = [(_YEAR_LAST, False), (_YEAR_FIRST, True)]
        if values[0][4:5] in ("-", "/", "."):  # the first value is written year first
            shapes.reverse()
        for shape, year_first in shapes:
            fields: list[_Fields] = shape.findall(joined)
            if len(fields) != len(values):  # one match a line, by construction
                return None
            unread = sum(1 for f in fields if not f[0])
            if best is None or unread < best[0]:
                best = (unread, fields, year_first)
            if unread <= len(values) // 2:
                break
        assert best is not None
        return cls(values, best[1], best[2], " GMT" in joined)

    def settling(self) -> dict[str, int]:
        """:func:`_settling` of the column."""
        only: dict[str, int] = {}
        others = self.others
        if self.year_first:  # a date written year first settles nothing: only the others can
            for index, read in others.items():
                found = _settles(read[1])
                if found is not None:
                    only.setdefault(found, index)
            return only
        for index, (a, _, b, year, hour, minute, sec, ampm, *_zone) in enumerate(self.fields):
            if not a:
                found = _settles(others[index][1])
                if found is None or found in only:
                    continue
                only[found] = index
            else:
                p1, p2 = int(a), int(b)
                if p1 <= 12 and p2 <= 12:
                    continue
                if p1 > 12 and p2 > 12:
                    continue  # a month past 12 either way: neither order reads it
                found, month, day = ("dmy", p2, p1) if p1 > 12 else ("mdy", p1, p2)
                if found in only:
                    continue
                if _fast_moment(int(year), month, day, hour, minute, sec, ampm, None) is None:
                    continue
                only[found] = index
            if len(only) == 2:
                break
        return only

    def times(
        self, order: str, tz: ZoneInfo, *, guessed: bool
    ) -> tuple[tuple[datetime | ValueError, ...], tuple[datetime | None, ...]]:
        """Each value's moment read in ``order`` (or why it cannot be) and, when the order
        is ``guessed``, its moment read the other way where that differs, else None (as
        :class:`ColumnTimes` holds them)."""
        times: list[datetime | ValueError] = []
        alternatives: list[datetime | None] = []
        other = "dmy" if order == "mdy" else "mdy"
        # Where the year, month and day are among a value's fields.
        if self.year_first:
            at_y, at_m, at_d = 0, 2, 3
        else:
            at_y, at_m, at_d = (3, 2, 0) if order == "dmy" else (3, 0, 2)
        swaps = guessed and not self.year_first
        for index, f in enumerate(self.fields):
            moment: datetime | ValueError | None = None
            alternative = None
            if f[0]:
                hour = f[4]
                if hour and not f[7] and not f[8]:  # the usual value, made here without a call
                    try:
                        moment = datetime(
                            int(f[at_y]), int(f[at_m]), int(f[at_d]),
                            int(hour), int(f[5]), int(f[6] or 0), tzinfo=tz,
                        )  # fmt: skip
                    except ValueError:
                        moment = None
                else:
                    zone = self.zones[f[9]] if f[8] else tz
                    y, m, d = int(f[at_y]), int(f[at_m]), int(f[at_d])
                    moment = _fast_moment(y, m, d, hour, f[5], f[6], f[7], zone)
                if swaps and moment is not None and int(f[0]) != int(f[2]):
                    zone = self.zones[f[9]] if f[8] else tz
                    y, m, d = int(f[at_y]), int(f[at_m]), int(f[at_d])
                    alternative = _fast_moment(y, d, m, hour, f[5], f[6], f[7], zone)
            if moment is None:  # not in the shape, or not a real date: read on its own
                read = self.others.get(index) or _match_one(self.values[index])
                moment = _read(read, order, tz)
                if guessed:
                    alternative = _alternative(read, moment, other, tz)
            times.append(moment)
            alternatives.append(alternative)
        return tuple(times), tuple(alternatives) if guessed else (None,) * len(times)


def _fast_moment(
    year: int,
    month: int,
    day: int,
    hour: str,
    minute: str,
    second: str,
    ampm: str,
    tz: tzinfo | None,
) -> datetime | None:
    """The moment :func:`_build` makes of these fields (the text the fast shapes capture),
    or None where it raises."""
    try:
        if not hour:
            return datetime(year, month, day, tzinfo=tz)
        h = int(hour)
        if ampm:
            if not 1 <= h <= 12:
                return None
            h = h % 12 + (12 if ampm == " PM" else 0)
        return datetime(year, month, day, h, int(minute), int(second or 0), tzinfo=tz)
    except ValueError:
        return None


def _match_all(values: Sequence[str]) -> list[_Matched]:
    """Each value cleaned and matched once (a column is read in up to three passes)."""
    return [_match_one(value) for value in values]


def _match_one(value: str) -> _Matched:
    stripped = _clean(value)
    try:
        return stripped, _match(stripped)
    except ValueError as exc:
        return stripped, exc


def _read_all(
    matched: Sequence[_Matched], order: str, tz: ZoneInfo
) -> tuple[datetime | ValueError, ...]:
    """:func:`_read` of each of ``matched``, the usual value built at once (a column can hold
    a year of answers)."""
    out: list[datetime | ValueError] = []
    for read in matched:
        match = read[1]
        if isinstance(match, ValueError):
            out.append(match)
            continue
        try:
            out.append(_build(match, order, tz))
        except ValueError:
            out.append(_read(read, order, tz))  # the error as _moment words it
    return tuple(out)


def _read(read: _Matched, order: str, tz: ZoneInfo) -> datetime | ValueError:
    stripped, match = read
    if isinstance(match, ValueError):
        return match
    try:
        return _moment(stripped, match, tz, order)
    except ValueError as exc:
        return exc


def _settling(matched: Sequence[_Matched]) -> dict[str, int]:
    """For each order, the position of the first value only that order reads as a real
    date (``{"dmy": 4}``)."""
    only: dict[str, int] = {}
    for index, (_, match) in enumerate(matched):
        found = _settles(match)
        if found is not None:
            only.setdefault(found, index)
    return only


def _settles(match: re.Match[str] | ValueError) -> str | None:
    """The one order (``dmy``/``mdy``) in which ``match`` is a real date, or None."""
    if isinstance(match, ValueError) or match["p1"] is None:
        return None
    if int(match["p1"]) <= 12 and int(match["p2"]) <= 12:
        # Read either way, the month is at most 12 and the day one every month has (a 0
        # fails both readings): both orders fit or neither does, so it settles nothing.
        return None
    fits = [o for o in ("dmy", "mdy") if _fits(match, o)]
    return fits[0] if len(fits) == 1 else None


def _decide(values: Sequence[str], only: dict[str, int]) -> tuple[str, int | None]:
    """The order the column's values settle (``only``, as :func:`_settling` finds it) and
    the position of a value that settles it, else ``("mdy", None)``; raises
    :class:`OrderConflict` when values settle both orders."""
    if "dmy" in only and "mdy" in only:
        raise OrderConflict(only["dmy"], only["mdy"], values)
    for found, index in only.items():
        return found, index
    return "mdy", None


def _fits(match: re.Match[str], order: str) -> bool:
    try:
        _build(match, order)
    except ValueError:
        return False
    return True


def _attempt(read: Callable[[str], datetime], value: str) -> datetime | ValueError:
    try:
        return read(value)
    except ValueError as exc:
        return exc


def _fixed_order(order: str) -> str:
    found = date_order(order)
    if found == "auto":
        raise ValueError("a single timestamp needs a fixed date order (dmy, mdy or ymd)")
    return found


def _clean(text: str) -> str:
    if text.isascii():  # NFKC keeps ASCII as it is, and no ASCII character is a format one
        return " ".join(text.split())
    # Spreadsheets and web forms pad cells with no-break spaces, zero-width spaces and
    # direction marks (format characters, which str.strip() keeps), and full-width digits.
    text = unicodedata.normalize("NFKC", text)
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Cf").split())


def _match(text: str) -> re.Match[str]:
    if not text:
        raise ValueError(f"the timestamp is empty; expected a form like {_EXAMPLES}")
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(
            f"cannot read {text!r} as a date and time; expected a form like {_EXAMPLES}"
        )
    return match


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


# Each group's place in ``match.groups()``: one call for all of them, not one a field (a year
# of answers is 100,000 timestamps).
_G = {name: index - 1 for name, index in _TIMESTAMP.groupindex.items()}
_YEAR, _MONTH, _DAY = _G["year"], _G["month"], _G["day"]
_P1, _P2, _P3 = _G["p1"], _G["p2"], _G["p3"]
_NDAY, _NMONTH, _NYEAR = _G["nday"], _G["nmonth"], _G["nyear"]
_MDAY, _MMONTH, _MYEAR = _G["mday"], _G["mmonth"], _G["myear"]
_HOUR, _MINUTE, _SECOND, _FRACTION, _AMPM = (
    _G["hour"], _G["minute"], _G["second"], _G["fraction"], _G["ampm"]
)  # fmt: skip
_UTC, _NAMED_OFFSET, _OFFSET, _GMT = _G["utc"], _G["named_offset"], _G["offset"], _G["gmt"]


def _build(match: re.Match[str], order: str, tz: tzinfo | None = None) -> datetime:
    """The moment ``match`` names read in ``order``: in its own offset when it writes one,
    else in ``tz`` (naive without one)."""
    g = match.groups()
    if g[_YEAR] is not None:
        year, month, day = int(g[_YEAR]), int(g[_MONTH]), int(g[_DAY])
    elif g[_NMONTH] is not None or g[_MMONTH] is not None:
        # A month written as a word (3 Dec 2026, December 3, 2026) needs no order.
        named = g[_NMONTH] or g[_MMONTH]
        month = _month_number(named)
        day = int(g[_NDAY] or g[_MDAY])
        year_text = g[_NYEAR] or g[_MYEAR]
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    else:
        first, second, last = g[_P1], g[_P2], g[_P3]
        if order == "ymd":
            if len(last) == 4:
                raise ValueError("the year is written last, but dates are set to be year first")
            year_text, month, day = first, int(second), int(last)
        elif order == "dmy":
            year_text, month, day = last, int(second), int(first)
        else:
            year_text, month, day = last, int(first), int(second)
        year = int(year_text)
        if len(year_text) <= 2:
            # Form exports are all from this century; strptime's %y would put 69-99 in 1900s.
            year += 2000
    if g[_HOUR] is None:
        return datetime(year, month, day, tzinfo=tz)
    hour, minute = int(g[_HOUR]), int(g[_MINUTE])
    second = int(g[_SECOND] or 0)
    fraction = g[_FRACTION]
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    ampm = g[_AMPM]
    if ampm is not None:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} cannot have AM/PM")
        hour = hour % 12 + (12 if ampm in "Pp" else 0)
    zone = tz
    if g[_UTC] is not None:
        zone = timezone.utc
    elif g[_NAMED_OFFSET] is not None:
        zone = _offset(g[_NAMED_OFFSET])
    elif g[_OFFSET] is not None:
        zone = _offset(g[_OFFSET])
    elif g[_GMT] is not None:
        zone = timezone.utc
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")  # fmt: skip


def _month_number(name: str) -> int:
    word = name.lower()
    for number, month in enumerate(_MONTHS, start=1):
        # "Dec", "Sept" and "December" name December; "Decem" or "Decx" do not.
        if word == month or word in (month[:3], month[:4]):
            return number
    raise ValueError(f"{name!r} is not a month")


def _offset(text: str) -> timezone:
    compact = text.replace(" ", "").replace(":", "")
    sign = -1 if compact[0] == "-" else 1
    digits = compact[1:]
    hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:-2]), int(digits[-2:]))
    if minutes >= 60 or hours >= 24:
        raise ValueError(f"offset {text.strip()!r} is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
