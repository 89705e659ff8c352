"""The librarian's own work in a month's needs: the tasks to do, grouped the way a librarian
does them, and the lessons to schedule, each in the order it is needed.

A task goes to one group, by the most specific of its task topics: a room or a cart to book,
accounts to set up, a device to fix, printing, then books to pull or order (ebooks and
audiobooks too). Groups follow the built-in topic names (:mod:`pdmail.digest.taxonomy`), and a
topic a school renamed with ``replaces`` keeps its group; a task with no such topic, or none at all,
is in "Other tasks", never dropped. Books to pull are batched by team and unit of study, so
one trip to the shelves serves a team's unit. Within a group, what is needed first comes
first ("ASAP" as of the day it was asked); needs with no date written come last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from .taxonomy import ACCOUNTS, BOOKING, BOOKS, DEVICES, EBOOKS, PRINTING

if TYPE_CHECKING:
    from .build import Need

__all__ = [
    "ACCOUNTS_TO_SET_UP",
    "BOOKINGS",
    "BOOKS_TO_PULL",
    "FIXES",
    "GROUPS",
    "OTHER_TASKS",
    "PRINTING_TO_DO",
    "Batch",
    "TaskGroup",
    "by_date",
    "group_of",
    "group_tasks",
    "needed_by",
]

BOOKS_TO_PULL = "Books to pull or order"
FIXES = "Fixes"
BOOKINGS = "Bookings"
ACCOUNTS_TO_SET_UP = "Accounts and logins"
PRINTING_TO_DO = "Printing and copies"
OTHER_TASKS = "Other tasks"
#: The groups in the order the digest shows them.
GROUPS = (BOOKS_TO_PULL, FIXES, BOOKINGS, ACCOUNTS_TO_SET_UP, PRINTING_TO_DO, OTHER_TASKS)
#: The built-in topics that place a task, most specific first: a laptop cart to reserve is a
#: booking, Sora accounts are accounts, a jammed printer is a fix.
_PLACES = (
    (BOOKING, BOOKINGS),
    (ACCOUNTS, ACCOUNTS_TO_SET_UP),
    (DEVICES, FIXES),
    (PRINTING, PRINTING_TO_DO),
    (EBOOKS, BOOKS_TO_PULL),
    (BOOKS, BOOKS_TO_PULL),
)
_RANK = {topic: i for i, (topic, _) in enumerate(_PLACES)}
_GROUP = dict(_PLACES)
NO_UNIT = "(no unit named)"


@dataclass(frozen=True)
class Batch:
    """Books to pull for one team's unit of study (``unit`` as the teacher wrote it)."""

    team: str
    unit: str
    needs: tuple[Need, ...]


@dataclass(frozen=True)
class TaskGroup:
    """One kind of work on the to-do list, its needs by the date needed; ``batches`` (books
    to pull only) the same needs by team and unit."""

    name: str
    needs: tuple[Need, ...]
    batches: tuple[Batch, ...] = ()


def group_of(topics: Iterable[str], renamed: Mapping[str, str] | None = None) -> str:
    """The to-do group of a task on ``topics``: that of its most specific built-in topic
    (``renamed`` maps a school's name for a built-in topic to the built-in name), else
    :data:`OTHER_TASKS`."""
    renamed = renamed or {}
    known = [renamed.get(t, t) for t in topics]
    placed = [t for t in known if t in _RANK]
    return _GROUP[min(placed, key=_RANK.__getitem__)] if placed else OTHER_TASKS


def needed_by(need: Need) -> date | None:
    """The day ``need`` is needed: the first date its answer names; for one asked "ASAP",
    the day it was asked if that is earlier; None when no date is written."""
    first = need.wanted.earliest
    if need.wanted.asap and need.submitted is not None:
        asked = need.submitted.date()
        return asked if first is None or asked < first else first
    return first


def _order(need: Need) -> tuple[bool, date, bool, str, str, str]:
    day = needed_by(need)
    return (day is None, day or date.max, not need.wanted.asap, need.team, need.teacher, need.id)


def by_date(needs: Iterable[Need]) -> tuple[Need, ...]:
    """``needs`` in the order they are needed: earliest date first, then "ASAP" with no date,
    then those with no date; ties by team and teacher."""
    return tuple(sorted(needs, key=_order))


def _task_topics(need: Need) -> tuple[str, ...]:
    # The topics of the answer's task sentences ("pull books ... and show me Canva": books),
    # else all of them.
    return need.topics_for("task") or need.topics


def _unit_key(unit: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in unit.casefold()).split())


def _batches(needs: Sequence[Need]) -> tuple[Batch, ...]:
    """Books to pull by team, the team that needs them first first; within a team, by unit,
    the unit needed first first (``needs`` come by date, so each batch's first is its most
    urgent)."""
    groups: dict[tuple[str, str], list[Need]] = {}
    for n in needs:
        groups.setdefault((n.team, _unit_key(n.units)), []).append(n)
    first_of_team: dict[str, int] = {}
    for i, (team, _) in enumerate(groups):  # dicts keep order: the first seen is the first due
        first_of_team.setdefault(team, i)
    ordered = sorted(enumerate(groups.items()), key=lambda e: (first_of_team[e[1][0][0]], e[0]))
    return tuple(
        Batch(team, members[0].units.strip() or NO_UNIT, tuple(members))
        for _, ((team, _), members) in ordered
    )


def group_tasks(
    needs: Iterable[Need], renamed: Mapping[str, str] | None = None
) -> tuple[TaskGroup, ...]:
    """The task ``needs`` as the to-do list: each need once, in the group of its most
    specific task topic (:func:`group_of`), groups in :data:`GROUPS` order, empty ones left
    out, each by date needed; books to pull also batched by team and unit."""
    placed: dict[str, list[Need]] = {}
    for n in needs:
        placed.setdefault(group_of(_task_topics(n), renamed), []).append(n)
    out = []
    for name in GROUPS:
        if name in placed:
            ordered = by_date(placed[name])
            out.append(TaskGroup(name, ordered, _batches(ordered) if name == BOOKS_TO_PULL else ()))
    return tuple(out)
