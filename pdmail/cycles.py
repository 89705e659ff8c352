"""Cycles: one round of the campaign, named by its month, with its dates worked out.

A cycle opens on its send day (moved to the next school day when that falls on a weekend or a
skipped date) and closes when the next month's cycle opens. Answers submitted in that window
count for it. Reminder and digest days are counted from the send day and moved the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .config import Config
from .errors import ConfigError, UsageError

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

    def reminders_due(self, today: date) -> int:
        """How many reminder days have arrived by ``today`` (0 before the first)."""
        return sum(1 for day in self.reminders if day <= today)


def parse_cycle_name(text: str) -> tuple[int, int]:
    """``"2026-12"`` -> ``(2026, 12)``; a clear error for anything else."""
    m = _NAME.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UsageError(f"--cycle: {text!r} is not a cycle name", hint="use YYYY-MM, e.g. 2026-12")
    return int(m.group(1)), int(m.group(2))


def shift(name: str, months: int) -> str:
    """The cycle ``months`` after (or before, if negative) ``name``."""
    year, month = parse_cycle_name(name)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _send_date(config: Config, year: int, month: int) -> date:
    cal = config.calendar
    return cal.next_school_day(date(year, month, cal.send_day))


def cycle(config: Config, name: str) -> Cycle:
    """Work out the dates of the cycle called ``name`` under ``config``'s calendar."""
    year, month = parse_cycle_name(name)
    cal = config.calendar
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


def current_name(config: Config, today: date) -> str:
    """The cycle whose window holds ``today``: this month's once it opened, else last month's."""
    this = f"{today.year:04d}-{today.month:02d}"
    return this if cycle(config, this).send <= today else shift(this, -1)


def resolve(config: Config, name: str | None, today: date) -> Cycle:
    """The cycle named on the command line, or the current one; it must be a running month."""
    c = cycle(config, name or current_name(config, today))
    if not c.runs:
        raise ConfigError(
            f"cycle {c.name}: the campaign does not run in that month (calendar.months)",
            hint="pass --cycle for a month it runs in, or add the month to calendar.months",
        )
    return c
