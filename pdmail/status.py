"""The cycle at a glance: per teacher, what went out and whether they answered."""

from __future__ import annotations

from dataclasses import dataclass

from .cycles import Cycle
from .messages import REQUEST
from .models import LedgerEntry, State
from .workspace import Workspace


@dataclass(frozen=True)
class TeacherStatus:
    email: str
    name: str
    team: str
    active: bool
    request: str  # the request's ledger state, or "" when none was recorded
    reminders: int
    answered: str  # submission time (ISO), or ""
    last_update: str  # the latest ledger change for this teacher (ISO, school time), or ""


@dataclass(frozen=True)
class CycleStatus:
    cycle: Cycle
    teachers: tuple[TeacherStatus, ...]
    attention: tuple[LedgerEntry, ...]  # unknown, pending or failed entries
    digest: str  # the digest's ledger state, or ""
    strangers: int
    problems: tuple[str, ...]

    def count(self, what: str) -> int:
        """How many teachers were sent a request / reminded / answered (``what``)."""
        if what == "sent":
            return sum(t.request == State.SENT.value for t in self.teachers)
        if what == "reminded":
            return sum(t.reminders > 0 for t in self.teachers)
        if what == "answered":
            return sum(bool(t.answered) for t in self.teachers)
        if what == "active":
            return sum(t.active for t in self.teachers)
        raise ValueError(what)


def cycle_status(ws: Workspace, cycle: Cycle) -> CycleStatus:
    """The status of ``cycle`` from the roster, the responses and the ledger."""
    entries = ws.ledger.entries(ws.config.campaign, cycle.name)
    by_teacher: dict[str, list[LedgerEntry]] = {}
    for e in entries:
        by_teacher.setdefault(e.key.recipient, []).append(e)
    collection = ws.collect(cycle)
    rows = []
    for t in ws.roster.teachers:
        mine = by_teacher.get(t.email, [])
        request = next((e.state.value for e in mine if e.key.kind == REQUEST), "")
        reminders = sum(
            1 for e in mine if e.key.kind.startswith("reminder-") and e.state is State.SENT
        )
        response = collection.response_for(t.email)
        answered = response.submitted.isoformat(timespec="minutes") if response else ""
        last = max((e.updated for e in mine), default=None)
        last_update = (
            last.astimezone(ws.config.timezone).isoformat(timespec="minutes") if last else ""
        )
        rows.append(TeacherStatus(t.email, t.display_name, t.team, t.active, request,
                                  reminders, answered, last_update))  # fmt: skip
    attention = tuple(e for e in entries if e.state is not State.SENT)
    digest = next((e.state.value for e in entries if e.key.kind == "digest"), "")
    return CycleStatus(
        cycle=cycle,
        teachers=tuple(rows),
        attention=attention,
        digest=digest,
        strangers=len(collection.strangers),
        problems=tuple(str(p) for p in (*ws.roster.problems, *collection.problems)),
    )


def status_rows(status: CycleStatus) -> tuple[list[str], list[list[str]]]:
    """The status as a header and rows, for a CSV file or a sheet tab."""
    header = ["Email", "Name", "Team", "Active", "Request", "Reminders", "Answered",
              "Last update"]  # fmt: skip
    rows = [
        [t.email, t.name, t.team, "yes" if t.active else "no", t.request or "-",
         str(t.reminders), t.answered or "-", t.last_update or "-"]
        for t in status.teachers
    ]  # fmt: skip
    return header, rows
