"""The cycle at a glance: per teacher, what went out and whether they answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from ..config.records import Config
from ..cycles import Cycle
from ..models import LedgerEntry, Response, State
from ..sources.responses import Collection
from ..sources.roster import Roster
from ..state.ledger import Ledger
from ..wording import (
    count,
    day,
    local_time,
    one_line,
    pad,
    plural,
    series,
    shorten,
    text_width,
)
from .messages import REQUEST

if TYPE_CHECKING:
    from ..workspace import Workspace

# An unmatched answer's address cell is shown as typed, but a pasted paragraph is cut here.
TYPED_WIDTH = 60


@dataclass(frozen=True)
class TeacherStatus:
    email: str
    name: str
    team: str
    active: bool
    request: str  # the request's ledger state, or "" when none was recorded
    reminders: int
    answered: datetime | None  # when the counted submission was made, in school time
    last_update: datetime | None  # the latest ledger change for this teacher, in school time


@dataclass(frozen=True)
class Unmatched:
    """An answer in this cycle from someone pdmail could not match to a roster teacher."""

    typed: str  # the address cell as the person typed it, on one line ("" when left empty)
    submitted: datetime  # in school time
    origin: str
    row: int
    probably: str = ""  # the roster teacher it most likely is, when one can be told


@dataclass(frozen=True)
class CycleStatus:
    cycle: Cycle
    teachers: tuple[TeacherStatus, ...]
    attention: tuple[LedgerEntry, ...]  # unknown, pending or failed entries
    digest: str  # the digest's ledger state, or ""
    strangers: tuple[Unmatched, ...]
    problems: tuple[str, ...]

    def count(self, what: str) -> int:
        """How many teachers were sent a request / reminded / answered (``what``)."""
        if what == "sent":
            return sum(t.request == State.SENT.value for t in self.teachers)
        if what == "reminded":
            return sum(t.reminders > 0 for t in self.teachers)
        if what == "answered":
            return sum(t.answered is not None for t in self.teachers)
        if what == "active":
            return sum(t.active for t in self.teachers)
        raise ValueError(what)


def typed_address(response: Response, column: str) -> str:
    """The address cell of ``response`` as it was typed (trimmed, on one line, shortened),
    found under the configured column header compared as the reader compares it."""
    wanted = " ".join(column.split()).casefold()
    for header, cell in response.answers.items():
        if " ".join(header.split()).casefold() == wanted:
            return shorten(cell, TYPED_WIDTH)
    return shorten(response.email, TYPED_WIDTH)


def unmatched(config: Config, collection: Collection) -> tuple[Unmatched, ...]:
    """The answers of ``collection`` that no roster teacher matched, as typed, in school time."""
    tz = config.timezone
    column = config.form.columns.email
    out = []
    for r in collection.strangers:
        teacher = collection.probably(r)
        probably = f"{one_line(teacher.display_name)} <{teacher.email}>" if teacher else ""
        typed = typed_address(r, column)
        out.append(Unmatched(typed, r.submitted.astimezone(tz), r.origin, r.row, probably))
    return tuple(out)


def unmatched_line(answer: Unmatched, tz: tzinfo) -> str:
    """One unmatched answer on a line: ``"Ann Lee", 2026-12-02 11:00 (responses.csv, row 3)``,
    with the teacher it probably is when that is known."""
    typed = f'"{answer.typed}"' if answer.typed else "(no address given)"
    hint = f"; probably {answer.probably}" if answer.probably else ""
    return f"{typed}, {local_time(answer.submitted, tz)} ({answer.origin}, row {answer.row}){hint}"


def cycle_status(ws: Workspace, cycle: Cycle) -> CycleStatus:
    """The status of ``cycle`` from the workspace's roster, responses and ledger (see
    :func:`status_of`)."""
    return status_of(ws.config, ws.ledger, ws.roster, ws.collect(cycle), cycle)


def status_of(
    config: Config, ledger: Ledger, roster: Roster, collection: Collection, cycle: Cycle
) -> CycleStatus:
    """The status of ``cycle`` from the roster, its matched ``collection`` of responses and
    the ledger's entries for it."""
    tz = config.timezone
    entries = ledger.entries(config.campaign, cycle.name)
    by_teacher: dict[str, list[LedgerEntry]] = {}
    for e in entries:
        by_teacher.setdefault(e.key.recipient, []).append(e)
    rows = []
    for t in roster.teachers:
        mine = by_teacher.get(t.email, [])
        request = next((e.state.value for e in mine if e.key.kind == REQUEST), "")
        reminders = sum(
            1 for e in mine if e.key.kind.startswith("reminder-") and e.state is State.SENT
        )
        response = collection.response_for(t.email)
        answered = response.submitted.astimezone(tz) if response else None
        last = max((e.updated for e in mine), default=None)
        last_update = last.astimezone(tz) if last else None
        rows.append(TeacherStatus(t.email, t.display_name, t.team, t.active, request,
                                  reminders, answered, last_update))  # fmt: skip
    attention = tuple(e for e in entries if e.state is not State.SENT)
    digest = next((e.state.value for e in entries if e.key.kind == "digest"), "")
    strangers = unmatched(config, collection)
    return CycleStatus(
        cycle=cycle,
        teachers=tuple(rows),
        attention=attention,
        digest=digest,
        strangers=strangers,
        problems=tuple(str(p) for p in (*roster.problems, *collection.problems)),
    )


def status_rows(status: CycleStatus) -> tuple[list[str], list[list[str]]]:
    """The status as a header and rows, for a CSV file or a sheet tab (times in school time,
    as ``2026-12-02 09:00``)."""
    tz = status.cycle.opens.tzinfo
    assert tz is not None  # a cycle's window is always in the school's zone

    def when(moment: datetime | None) -> str:
        return local_time(moment, tz) if moment else "-"

    header = ["Email", "Name", "Team", "Active", "Request", "Reminders", "Answered",
              "Last update"]  # fmt: skip
    rows = [
        [t.email, t.name, t.team, "yes" if t.active else "no", t.request or "-",
         str(t.reminders), when(t.answered), when(t.last_update)]
        for t in status.teachers
    ]  # fmt: skip
    return header, rows


def status_lines(status: CycleStatus) -> list[str]:
    """The status as ``pdmail status`` prints it: the cycle's days, the counts, a table of
    teachers (names and teams whole, columns as wide as their widest cell), the messages that
    need attention and the answers no roster teacher matched."""
    tz = status.cycle.opens.tzinfo
    assert tz is not None  # a cycle's window is always in the school's zone
    c = status.cycle
    reminders = series([day(d) for d in c.reminders]) or "none"
    lines = [
        f"{c.name}: send day {day(c.send)}, due {day(c.due)}, "
        f"{plural(len(c.reminders), 'reminder')} {reminders}, digest {day(c.digest)}",
        f"Active {status.count('active')} · requested {status.count('sent')} · reminded "
        f"{status.count('reminded')} · answered {status.count('answered')} · digest "
        f"{status.digest or 'not yet'}",
        "",
    ]
    header = ["Name", "Email", "Team", "Request", "Reminders", "Answered"]
    table = [
        [one_line(t.name) if t.name != t.email else "-", t.email, one_line(t.team) or "-",
         t.request or "-", str(t.reminders), local_time(t.answered, tz) if t.answered else "-"]
        for t in status.teachers
    ]  # fmt: skip
    widths = [max(text_width(row[i]) for row in (header, *table)) for i in range(len(header))]
    aligns = ["<", "<", "<", "<", ">", "<"]

    def line(cells: list[str]) -> str:
        return "  ".join(pad(v, w, a) for v, w, a in zip(cells, widths, aligns, strict=True))

    lines.append(line(header).rstrip())
    for t, cells in zip(status.teachers, table, strict=True):
        lines.append(line(cells).rstrip() + ("" if t.active else "  (inactive)"))
    names = {t.email: one_line(t.name) for t in status.teachers}
    if status.attention:
        lines += ["", "Needs attention:"]
        for e in status.attention:
            name = names.get(e.key.recipient, "")
            who = f"{name} <{e.key.recipient}>" if name and name != e.key.recipient else (
                e.key.recipient)  # fmt: skip
            lines.append(
                f"  {e.state.value:<8} {e.key.kind:<11} {who}, {local_time(e.updated, tz)}"
                + (f": {one_line(e.error)}" if e.error else "")
            )
    if status.strangers:
        n = len(status.strangers)
        lines += ["", f"{count(n, 'answer')} from people not on the roster:"]
        lines += [f"  {unmatched_line(s, tz)}" for s in status.strangers]
    return lines
