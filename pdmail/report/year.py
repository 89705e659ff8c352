"""School years: named by the years they span (``2026-27``), starting in a configured month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .. import cycles
from ..errors import UsageError

_SPAN = re.compile(r"^(\d{4})\s*[-/\u2013\u2014]\s*(\d{2}|\d{4})$")
_ONE = re.compile(r"^(\d{4})$")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class SchoolYear:
    """The twelve months from ``starts`` (1-12) of ``start`` to the month before it a year on."""

    start: int
    starts: int = 8

    @property
    def label(self) -> str:
        """``2026-27``; a year that starts in January is named by its one year (``2026``)."""
        if self.starts == 1:
            return f"{self.start:04d}"
        return f"{self.start:04d}-{(self.start + 1) % 100:02d}"

    @property
    def cycles(self) -> tuple[str, ...]:
        """The names of its twelve months, as cycles are named (``2026-08`` ... ``2027-07``)."""
        first = f"{self.start:04d}-{self.starts:02d}"
        return tuple(cycles.shift(first, i) for i in range(12))

    @property
    def first_day(self) -> date:
        return date(self.start, self.starts, 1)

    @property
    def last_day(self) -> date:
        after = cycles.first_day(cycles.shift(self.cycles[-1], 1))
        return date.fromordinal(after.toordinal() - 1)

    def holds(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def month_label(cycle_name: str) -> str:
    """``"2026-09"`` -> ``"September 2026"``."""
    year, month = cycles.parse_cycle_name(cycle_name)
    return f"{_MONTHS[month - 1]} {year}"


def year_of(day: date, starts: int) -> SchoolYear:
    """The school year holding ``day``, for years starting in month ``starts``."""
    return SchoolYear(day.year if day.month >= starts else day.year - 1, starts)


def parse_year(text: str, starts: int) -> SchoolYear:
    """The school year ``text`` names: ``2026-27`` or ``2026-2027`` (or ``2026`` when the
    year starts in January). Raises :class:`~pdmail.errors.UsageError` saying what is wrong
    and how it is written."""
    raw = text.strip()
    example = "2026" if starts == 1 else "2026-27 or 2026-2027"
    hint = f"name the school year by the years it spans, e.g. {example}"
    if starts == 1:
        hint = "the school year starts in January (calendar.year_starts: 1), so it is named by " \
               "its one year, e.g. 2026"  # fmt: skip
    span, one = _SPAN.match(raw), _ONE.match(raw)
    if one and starts == 1:
        first = int(one.group(1))
    elif span and starts != 1:
        first = int(span.group(1))
        second = span.group(2)
        follows = f"{first + 1:04d}" if len(second) == 4 else f"{(first + 1) % 100:02d}"
        if second != follows:
            raise UsageError(
                f"--year: {text!r} is not a school year: the second year must be the one "
                f"after the first ({first}-{(first + 1) % 100:02d})",
                hint=hint,
            )
    else:
        raise UsageError(f"--year: {text!r} is not a school year", hint=hint)
    if not 1000 <= first <= 9997:
        raise UsageError(f"--year: {text!r} is out of range (years 1000 to 9997)", hint=hint)
    return SchoolYear(first, starts)
