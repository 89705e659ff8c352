"""When a cycle really opened, from the ledger, and the calendar it runs on since.

The calendar says when a cycle should open; the ledger says when its first request went out.
When that was on or after the planned due date (the machine was off, or nobody ran pdmail),
the cycle's due, reminder and digest days are counted from that day instead (see
:func:`pdmail.cycles.as_opened`). Every run works the same calendar out again from the ledger,
so nothing else has to be stored and a rerun agrees with the run before it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .. import cycles
from ..config.records import Config
from ..cycles import Cycle
from ..errors import UsageError
from ..state.ledger import Ledger
from .messages import REQUEST, long_date

if TYPE_CHECKING:
    from ..workspace import Workspace


def first_request_day(config: Config, ledger: Ledger, name: str) -> date | None:
    """The school-time day pdmail first tried to send a request of cycle ``name`` (whatever
    became of it), or None when it never has."""
    first = ledger.first_created(config.campaign, REQUEST, cycle=name)
    return None if first is None else first.astimezone(config.timezone).date()


def as_opened(config: Config, ledger: Ledger, planned: Cycle) -> Cycle:
    """``planned`` on the calendar it really runs on (late, when its requests went out late)."""
    return cycles.as_opened(config, planned, first_request_day(config, ledger, planned.name))


def resolve(ws: Workspace, name: str | None, today: date) -> Cycle:
    """:func:`resolve_opened` with the workspace's config and ledger."""
    return resolve_opened(ws.config, ws.ledger, name, today)


def resolve_opened(config: Config, ledger: Ledger, name: str | None, today: date) -> Cycle:
    """The cycle named (or the current one on ``today``), as it really runs by ``ledger``;
    it must be a running month."""
    return as_opened(config, ledger, cycles.resolve(config, name, today))


def describe_late(cycle: Cycle, *, dry_run: bool = False) -> str:
    """One line on a late cycle's dates: what the tick and ``send --late`` say they did."""
    reminders = ", ".join(str(d) for d in cycle.reminders) or "none"
    verb = "would go out" if dry_run else "went out"
    return (
        f"{cycle.name}: the requests {verb} late, on {cycle.send} (the calendar said "
        f"{cycle.planned_send}), so the answers are now due {long_date(cycle.due)} "
        f"({cycle.due}); reminders {reminders}, digest {cycle.digest}"
    )


def for_sending(config: Config, ledger: Ledger, cycle: Cycle, today: date, *, late: bool) -> Cycle:
    """The cycle a request sent by hand on ``today`` carries.

    Before the due date: ``cycle`` itself. On or after it, a request would ask for an answer by
    a day already gone, so this raises :class:`UsageError` (exit 2) unless ``late``; with
    ``late`` the cycle counted from ``today`` (its due date, and, when no request of the cycle
    has gone out yet, its reminders and digest too, as the ledger will show it opened today).
    """
    if today < cycle.due:
        return cycle
    shifted = cycles.counted_from(config, cycle, today)
    if not late:
        opened = first_request_day(config, ledger, cycle.name) is not None
        moves = (
            "reminders and digest keep their days, as requests already went out"
            if opened
            else "reminders and digest move to match"
        )
        raise UsageError(
            f"{cycle.name}: the answers were due {long_date(cycle.due)} ({cycle.due}); a request "
            "sent now would ask for an answer by a day already gone, so nothing was sent",
            hint=f"pass --late to send with a due date counted from today: "
            f"{long_date(shifted.due)} ({shifted.due}); the cycle's {moves}",
        )
    return shifted
