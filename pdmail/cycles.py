"""Cycles: one round of the campaign, named by its month, with its dates worked out.

A cycle opens on its send day (moved to the next school day when that falls on a weekend or a
skipped date) and closes when the next month's cycle opens. Answers submitted in that window
count for it. Reminder and digest days are counted from the send day and moved the same way.

When pdmail did not run from the send day until past the due date, the requests still go out
(late), and the cycle's other days are counted from the day they really went out: see
:func:`as_opened`. The ledger keeps that day (the first request's), so every later run works
out the same shifted calendar.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from .errors import ConfigError, UsageError

if TYPE_CHECKING:
    # Only for annotations: the name functions below serve modules beneath the config.
    from .config.records import Config

_NAME = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Cycle:
    """A cycle's name and dates. ``opens``/``closes`` bound the answers that count for it."""

    name: str
    send: date
    due: date
    reminders: tuple[date, ...]
    digest: date
    opens: datetime
    closes: datetime
    runs: bool
    # The calendar's send day when the requests went out late (on or after the planned due
    # date) and the other days were counted again from ``send``; None for a cycle on time.
    planned_send: date | None = None

    @property
    def late(self) -> bool:
        """True when the cycle's dates are counted from a late send (see :func:`counted_from`)."""
        return self.planned_send is not None

    def reminders_due(self, today: date) -> int:
        """How many reminder days have arrived by ``today`` (0 before the first)."""
        return sum(1 for day in self.reminders if day <= today)


@functools.lru_cache(maxsize=1024)  # a digest asks for the same few names 150,000 times
def parse_cycle_name(text: str) -> tuple[int, int]:
    """``"2026-12"`` -> ``(2026, 12)``; a clear error for anything else."""
    m = _NAME.match(text.strip())
    # The year stops at 9998 so that the cycle after any cycle is a cycle name too.
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1 <= int(m.group(1)) <= 9998:
        raise UsageError(f"--cycle: {text!r} is not a cycle name", hint="use YYYY-MM, e.g. 2026-12")
    return int(m.group(1)), int(m.group(2))


def is_cycle_name(text: str) -> bool:
    """True when ``text`` is a cycle name as :func:`parse_cycle_name` reads it."""
    try:
        parse_cycle_name(text)
    except UsageError:
        return False
    return True


def name_of(day: date) -> str:
    """The name of the cycle of ``day``'s month (1 December 2026: ``"2026-12"``)."""
    return f"{day.year:04d}-{day.month:02d}"


def first_day(name: str) -> date:
    """The first day of the month that names cycle ``name`` (``"2026-12"``: 1 December)."""
    year, month = parse_cycle_name(name)
    return date(year, month, 1)


def months_between(later: str, earlier: str) -> int:
    """How many months cycle ``later`` comes after ``earlier`` (negative when before)."""
    (ly, lm), (ey, em) = parse_cycle_name(later), parse_cycle_name(earlier)
    return (ly - ey) * 12 + (lm - em)


def school_year(name: str, year_starts: int) -> str:
    """The name of the cycle that begins the school year holding cycle ``name``, for a year
    starting in month ``year_starts`` (``"2027-03"``, August: ``"2026-08"``)."""
    year, month = parse_cycle_name(name)
    start = year if month >= year_starts else year - 1
    return f"{start:04d}-{year_starts:02d}"


def shift(name: str, months: int) -> str:
    """The cycle ``months`` after (or before, if negative) ``name``."""
    year, month = parse_cycle_name(name)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _send_date(config: Config, year: int, month: int) -> date:
    cal = config.calendar
    return cal.next_school_day(date(year, month, cal.send_day))


def cycle(config: Config, name: str) -> Cycle:
    """Work out the dates of the cycle called ``name`` under ``config``'s calendar.

    Under a calendar of one-off windows, the cycle of a month a window opens in runs, with
    the window's dates; any other month's cycle does not run.
    """
    year, month = parse_cycle_name(name)
    cal = config.calendar
    if cal.windows:
        return _window_cycle(config, name)
    send = _send_date(config, year, month)
    nyear, nmonth = parse_cycle_name(shift(name, 1))
    next_send = _send_date(config, nyear, nmonth)

    def after(days: int) -> date:
        return cal.next_school_day(send + timedelta(days=days))

    tz = config.timezone
    return Cycle(
        name=name,
        send=send,
        due=after(cal.due_after_days),
        reminders=tuple(after(d) for d in cal.reminders_after_days),
        digest=after(cal.digest_after_days),
        opens=datetime.combine(send, time(0), tzinfo=tz),
        closes=datetime.combine(next_send, time(0), tzinfo=tz),
        runs=month in cal.months,
    )


def _window_cycle(config: Config, name: str) -> Cycle:
    cal, tz = config.calendar, config.timezone
    sends = [cal.next_school_day(w.opens) for w in cal.windows]
    for i, w in enumerate(cal.windows):
        if name_of(w.opens) != name:
            continue
        # Answers count from the opening day until the next window opens (a later answer to
        # a one-off survey still counts: the Form is the survey's own).
        closes = sends[i + 1] if i + 1 < len(sends) else sends[i] + timedelta(days=366)
        return Cycle(
            name=name,
            send=sends[i],
            due=cal.next_school_day(w.due),
            reminders=tuple(cal.next_school_day(d) for d in w.reminders),
            digest=cal.next_school_day(w.digest),
            opens=datetime.combine(sends[i], time(0), tzinfo=tz),
            closes=datetime.combine(closes, time(0), tzinfo=tz),
            runs=True,
        )
    first = first_day(name)
    start = datetime.combine(first, time(0), tzinfo=tz)
    return Cycle(name, first, first, (), first, start, start, runs=False)


def following(config: Config, name: str) -> Cycle | None:
    """The cycle that opens after cycle ``name``: next month's, or under one-off windows the
    next window's (None after the last)."""
    if not config.calendar.windows:
        return cycle(config, shift(name, 1))
    later = [w for w in config.calendar.windows if name_of(w.opens) > name]
    return cycle(config, name_of(later[0].opens)) if later else None


def preceding(config: Config, name: str) -> Cycle:
    """The cycle before cycle ``name``: last month's, or under one-off windows the previous
    window's (a cycle that does not run when there is none)."""
    if not config.calendar.windows:
        return cycle(config, shift(name, -1))
    earlier = [w for w in config.calendar.windows if name_of(w.opens) < name]
    return cycle(config, name_of(earlier[-1].opens) if earlier else shift(name, -1))


def counted_from(config: Config, planned: Cycle, start: date) -> Cycle:
    """``planned`` as it runs when its requests go out on ``start`` instead: the due, reminder
    and digest days counted from ``start`` by the calendar's rules (moved to school days).

    The answer window stays the planned one (windows of consecutive cycles meet without a
    gap), and ``planned_send`` keeps the calendar's send day.
    """
    cal = config.calendar
    if cal.windows:
        # A window's days keep their distances from its opening day.
        def moved(day: date) -> date:
            return cal.next_school_day(start + (day - planned.send))

        return replace(
            planned,
            send=start,
            due=moved(planned.due),
            reminders=tuple(moved(d) for d in planned.reminders),
            digest=moved(planned.digest),
            planned_send=planned.planned_send or planned.send,
        )

    def after(days: int) -> date:
        return cal.next_school_day(start + timedelta(days=days))

    return replace(
        planned,
        send=start,
        due=after(cal.due_after_days),
        reminders=tuple(after(d) for d in cal.reminders_after_days),
        digest=after(cal.digest_after_days),
        planned_send=planned.planned_send or planned.send,
    )


def as_opened(config: Config, planned: Cycle, first_request: date | None) -> Cycle:
    """The cycle as it really runs, given the day its first request went out (None: none has).

    A cycle whose first request went out before its planned due date keeps the calendar's
    dates. One whose first request went out on or after it (pdmail did not run in between)
    has its dates counted from that day, so no teacher is asked for an answer by a day gone.
    """
    if first_request is None or first_request < planned.due:
        return planned
    return counted_from(config, planned, first_request)


def late_opening(config: Config, planned: Cycle, today: date) -> tuple[Cycle | None, str]:
    """Whether ``planned``, with no request sent and its due date come, can still open on
    ``today``: the cycle counted from ``today``, or None and why not.

    It can while its due date, counted from ``today``, comes before the next cycle opens:
    after that its answers would land in the next cycle's window, and the next month's
    requests are about to go out anyway.
    """
    late = counted_from(config, planned, today)
    upcoming = following(config, planned.name)
    if upcoming is not None and late.due >= upcoming.send:
        return None, (
            f"{planned.name}: its requests were never sent, and it is now too late to ask "
            f"(they would be due {late.due}, after {upcoming.name} opens on {upcoming.send})"
        )
    return late, ""


def current_name(config: Config, today: date) -> str:
    """The cycle whose window holds ``today``: this month's once it opened, else last month's
    (under one-off windows: the latest window opened by ``today``, else this month's)."""
    if config.calendar.windows:
        opened = [
            w for w in config.calendar.windows if cycle(config, name_of(w.opens)).send <= today
        ]
        return name_of(opened[-1].opens) if opened else name_of(today)
    this = name_of(today)
    return this if cycle(config, this).send <= today else shift(this, -1)


def resolve(config: Config, name: str | None, today: date) -> Cycle:
    """The cycle named on the command line, or the current one; it must be a running month."""
    c = cycle(config, name or current_name(config, today))
    if not c.runs and config.calendar.windows:
        opens = ", ".join(name_of(w.opens) for w in config.calendar.windows)
        raise ConfigError(
            f"cycle {c.name}: the {config.campaign} campaign has no window opening that month "
            f"(its windows open in {opens})",
            hint="pass --cycle with one of those months, or add a window to the campaign's "
            "calendar",
        )
    if not c.runs:
        raise ConfigError(
            f"cycle {c.name}: the campaign does not run in that month (calendar.months)",
            hint="pass --cycle for a month it runs in, or add the month to calendar.months",
        )
    return c
