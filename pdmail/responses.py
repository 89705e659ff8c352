"""Responses: form submissions read from an export or a sheet, matched to roster and cycle.

Forgiving where people are sloppy: headers and addresses are compared trimmed and ignoring
case. Strict where it matters: a submission counts for a cycle only inside the cycle's window
(or when its prefilled cycle answer names it), the latest one per teacher wins, and a row whose
timestamp cannot be read is reported, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .config import Form
from .cycles import Cycle
from .models import Problem, Response, Table, Teacher
from .roster import Roster, normalize_email
from .tables import require_column
from .timestamps import parse_timestamp

_CYCLE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_responses(table: Table, form: Form, tz: ZoneInfo) -> tuple[list[Response], list[Problem]]:
    """Every submission in ``table`` as a :class:`Response`, and the rows that were skipped.

    A configured column missing from the header raises :class:`pdmail.errors.InputError`
    naming it and the config key, before anything else happens.
    """
    cols = form.columns
    index = {
        role: require_column(table, getattr(cols, role), key=f"form.columns.{role}")
        for role in ("timestamp", "email", "units", "help", "format")
    }
    cycle_index = (
        require_column(table, cols.cycle, key="form.columns.cycle") if cols.cycle else None
    )
    responses: list[Response] = []
    problems: list[Problem] = []
    for row_number, cells in table.rows:
        stamp = cells[index["timestamp"]]
        try:
            submitted = parse_timestamp(stamp, tz, fmt=form.timestamp_format)
        except ValueError as exc:
            problems.append(
                Problem(table.origin, row_number, table.header[index["timestamp"]], str(exc))
            )
            continue
        cycle_answer = cells[cycle_index].strip() if cycle_index is not None else ""
        responses.append(
            Response(
                email=normalize_email(cells[index["email"]]),
                submitted=submitted,
                units=cells[index["units"]],
                help=cells[index["help"]],
                format=cells[index["format"]],
                answers={h: c for h, c in zip(table.header, cells, strict=False) if h},
                origin=table.origin,
                row=row_number,
                cycle=cycle_answer if _CYCLE.match(cycle_answer) else "",
            )
        )
    return responses, problems


def in_cycle(response: Response, cycle: Cycle) -> bool:
    """True when ``response`` counts for ``cycle``: its prefilled cycle answer names it, or,
    without one, it was submitted inside the cycle's window."""
    if response.cycle:
        return response.cycle == cycle.name
    return cycle.opens <= response.submitted < cycle.closes


@dataclass(frozen=True)
class Collection:
    """What a cycle's responses come to.

    ``answered`` holds the latest response of each roster teacher (a later submission
    supersedes an earlier one, listed in ``superseded``); ``not_answered`` lists the active
    teachers with none; ``strangers`` are answers from addresses not on the roster;
    ``outside`` counts submissions that belong to other cycles.
    """

    cycle: Cycle
    answered: tuple[tuple[Teacher, Response], ...]
    not_answered: tuple[Teacher, ...]
    superseded: tuple[Response, ...]
    strangers: tuple[Response, ...]
    outside: int
    problems: tuple[Problem, ...]

    def response_for(self, email: str) -> Response | None:
        key = normalize_email(email)
        return next((r for t, r in self.answered if t.email == key), None)

    @property
    def rate(self) -> float:
        """Answered teachers over active teachers asked (0.0 for an empty roster)."""
        answered = sum(t.active for t, _ in self.answered)
        total = answered + len(self.not_answered)
        return answered / total if total else 0.0


def match(
    roster: Roster,
    responses: Sequence[Response],
    cycle: Cycle,
    problems: Sequence[Problem] = (),
) -> Collection:
    """Match ``responses`` to ``roster`` for ``cycle``."""
    latest: dict[str, Response] = {}
    superseded: list[Response] = []
    strangers: dict[str, Response] = {}
    outside = 0
    for response in sorted(responses, key=lambda r: (r.submitted, r.row)):
        if not in_cycle(response, cycle):
            outside += 1
            continue
        teacher = roster.get(response.email)
        if teacher is None:
            key = response.email or f"(no address, row {response.row})"
            if key in strangers:
                superseded.append(strangers[key])
            strangers[key] = response
            continue
        if teacher.email in latest:
            superseded.append(latest[teacher.email])
        latest[teacher.email] = response
    answered = tuple((t, latest[t.email]) for t in roster.teachers if t.email in latest)
    not_answered = tuple(t for t in roster.active if t.email not in latest)
    return Collection(
        cycle=cycle,
        answered=answered,
        not_answered=not_answered,
        superseded=tuple(superseded),
        strangers=tuple(strangers.values()),
        outside=outside,
        problems=tuple(problems),
    )
