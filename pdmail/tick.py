"""The tick: do whatever is due today. Cron runs it daily; ``pdmail schedule`` runs it in a
long-lived process. It is state-driven (the calendar says what is due, the ledger what is
done), so a missed day is caught up and a second run the same day sends nothing new."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from . import cycles
from .cycles import Cycle
from .delivery import DeliveryReport, Progress
from .digest import digest_rows
from .messages import REQUEST
from .models import MessageKey, State
from .publish import DIGEST, compile_digest, render_digest, send_digest, write_digest
from .status import cycle_status, status_rows
from .steps import send_reminders, send_requests
from .workspace import Workspace


@dataclass
class TickReport:
    """What one tick did, step by step, and where it wrote files."""

    today: date
    steps: list[tuple[str, DeliveryReport]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(report.ok for _, report in self.steps)

    @property
    def sent(self) -> int:
        return sum(report.count("sent") for _, report in self.steps)


def tick(
    ws: Workspace, today: date, *, dry_run: bool = False, progress: Progress | None = None
) -> TickReport:
    """Send what is due on ``today`` and not yet sent: the current cycle's requests (from the
    send day until the due date), its latest due reminder (until the digest day), and the
    digest once its day has come, for this cycle or, caught up, the one before."""
    report = TickReport(today)
    current = cycles.cycle(ws.config, cycles.current_name(ws.config, today))
    previous = cycles.cycle(ws.config, cycles.shift(current.name, -1))
    if previous.runs:
        _digest_if_due(ws, previous, today, report, dry_run)
    if not current.runs:
        report.notes.append(f"{current.name}: the campaign does not run this month")
        return report
    if current.send <= today < current.due:
        report.steps.append(
            (f"{current.name} requests",
             send_requests(ws, current, dry_run=dry_run, progress=progress))
        )  # fmt: skip
    elif today >= current.due:
        upcoming = cycles.cycle(ws.config, cycles.shift(current.name, 1))
        report.notes.append(f"{upcoming.name}: requests go out on {upcoming.send}")
    if current.reminders_due(today) and today < current.digest:
        reminders = send_reminders(ws, current, today, dry_run=dry_run, progress=progress)
        report.steps.append((f"{current.name} {reminders.kind}", reminders))
    _digest_if_due(ws, current, today, report, dry_run)
    if not dry_run:
        header, rows = status_rows(cycle_status(ws, current))
        report.files.append(ws.sink.write_table("status", header, rows))
    return report


def _digest_if_due(
    ws: Workspace, cycle: Cycle, today: date, report: TickReport, dry_run: bool
) -> None:
    if today < cycle.digest:
        return
    key = MessageKey(ws.config.campaign, cycle.name, ws.config.librarian.email.lower(), DIGEST)
    entry = ws.ledger.get(key)
    if entry is not None and entry.state is not State.FAILED:
        return
    if not ws.ledger.count_sent(ws.config.campaign, REQUEST).get(cycle.name):
        report.notes.append(f"{cycle.name}: no requests were sent, so no digest")
        return
    rendered = render_digest(ws, cycle, compile_digest(ws, cycle, persist=not dry_run))
    if not dry_run:
        out = ws.config.digest_out / cycle.name
        report.files.extend(str(p) for p in write_digest(rendered, out))
        report.files.append(ws.sink.write_table("digest", *digest_rows(rendered.digest)))
    report.steps.append((f"{cycle.name} digest", send_digest(ws, cycle, rendered, dry_run=dry_run)))
