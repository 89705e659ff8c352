"""The tick: do whatever is due today. Cron runs it daily; ``pdmail schedule`` runs it in a
long-lived process. It is state-driven (the calendar says what is due, the ledger what is
done), so a missed day is caught up and a second run the same day sends nothing new."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from .. import cycles
from ..config.records import Config
from ..cycles import Cycle
from ..errors import InternalError, PdmailError
from ..models import MessageKey, State
from ..sources.roster import Roster
from ..state.ledger import Ledger
from ..wording import count
from .delivery import DeliveryReport, Progress
from .messages import REQUEST
from .opening import as_opened, describe_late, first_request_day
from .publish import DIGEST, PublishOptions, publish_digest
from .status import cycle_status, status_rows
from .steps import send_reminders, send_requests
from .survey_digest import publish_survey

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass
class TickReport:
    """What one tick did, step by step, and where it wrote files.

    ``errors`` holds what failed after the tick had begun to act: a report table or digest
    file that could not be written (the tick goes on without it), or a step that stopped the
    tick (the steps after it did not run). What was sent before stays in ``steps``.
    """

    today: date
    steps: list[tuple[str, DeliveryReport]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[PdmailError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and all(report.ok for _, report in self.steps)

    @property
    def sent(self) -> int:
        return sum(report.count("sent") for _, report in self.steps)


def tick(
    ws: Workspace, today: date, *, dry_run: bool = False, progress: Progress | None = None
) -> TickReport:
    """Send what is due on ``today`` and not yet sent: the current cycle's requests (from the
    send day until the due date), its latest due reminder (until the digest day), and the
    digest once its day has come, for this cycle or, caught up, the one before.

    Nothing is sent on a day that is not a school day (a note says when catching up resumes).
    When the due date came with no request sent (pdmail did not run), the requests go out late,
    today, with the cycle's days counted from today (see :mod:`pdmail.cycle.opening`), unless the
    new due date would reach the next cycle; a note says which.

    Raises :class:`PdmailError` when the tick fails before doing anything. Once something was
    sent or written, a failure never hides it: the report comes back with the error in
    ``errors`` (and ``ok`` False).
    """
    report = TickReport(today)
    try:
        _steps(ws, today, report, dry_run, progress)
    except Exception as exc:
        if not (report.steps or report.files or report.errors):
            raise
        if not isinstance(exc, PdmailError):
            # A bug after messages went out must not hide them either.
            error = InternalError(
                f"{type(exc).__name__}: {exc}",
                hint="this is a bug in pdmail; what was done is listed above",
            )
            error.__cause__ = exc
            exc = error
        report.errors.append(exc)
    return report


def _steps(
    ws: Workspace, today: date, report: TickReport, dry_run: bool, progress: Progress | None
) -> None:
    cfg = ws.config
    planned = cycles.cycle(cfg, cycles.current_name(cfg, today))
    first_request = first_request_day(cfg, ws.ledger, planned.name)
    current = cycles.as_opened(cfg, planned, first_request)
    previous = as_opened(cfg, ws.ledger, cycles.preceding(cfg, current.name))
    # Catching up waits for a school day: nothing goes out on a weekend or a skipped date,
    # whatever was missed. (On time, every step day is a school day already.)
    school_day = cfg.calendar.is_school_day(today)
    if not school_day:
        report.notes.append(
            f"{today} is not a school day (calendar): nothing is sent before "
            f"{cfg.calendar.next_school_day(today)}"
        )
    elif previous.runs:
        # Last month's digest, caught up; a month pdmail never sent in is no news each day.
        _digest_if_due(ws, previous, today, report, dry_run, quiet=True)
    if not current.runs:
        report.notes.append(_not_running(cfg, current.name))
        return
    if school_day:
        current = _teacher_steps(ws, current, first_request, today, report, dry_run, progress)
        _digest_if_due(ws, current, today, report, dry_run)
    if not dry_run:
        header, rows = status_rows(cycle_status(ws, current))
        _write(report, lambda: [ws.sink.write_table("status", header, rows)])


def _teacher_steps(
    ws: Workspace,
    current: Cycle,
    first_request: date | None,
    today: date,
    report: TickReport,
    dry_run: bool,
    progress: Progress | None,
) -> Cycle:
    """The requests (on time, still going out, or late) and the reminder due today; return
    the cycle as it runs after them (late, once its requests went out late today)."""
    if current.send <= today < current.due:
        report.steps.append(
            (f"{current.name} requests",
             send_requests(ws, current, dry_run=dry_run, progress=progress))
        )  # fmt: skip
    elif today >= current.due and first_request is None:
        current = _open_late(ws, current, today, report, dry_run, progress)
    elif today >= current.due:
        never = never_asked(ws.config, ws.ledger, ws.roster, current)
        if never:
            report.notes.append(
                f"{current.name}: {count(never, 'active teacher')} on the roster never got the "
                "request (added since, or held back), and its due date has passed: "
                "'pdmail send --late' sends it with a due date counted from today"
            )
        report.notes.append(_next_opening(ws.config, current.name))
    if current.reminders_due(today) and today < current.digest:
        reminders = send_reminders(ws, current, today, dry_run=dry_run, progress=progress)
        report.steps.append((f"{current.name} {reminders.kind}", reminders))
    return current


def _not_running(config: Config, name: str) -> str:
    if not config.calendar.windows:
        return f"{name}: the campaign does not run this month"
    return f"{name}: the {config.campaign} campaign is not open; " + _next_opening(config, name)


def _next_opening(config: Config, name: str) -> str:
    """When the cycle after ``name`` opens, in words (a one-off campaign may have none)."""
    upcoming = cycles.following(config, name)
    if upcoming is None:
        return f"{config.campaign}: no later window in its calendar"
    return f"{upcoming.name}: requests go out on {upcoming.send}"


def never_asked(config: Config, ledger: Ledger, roster: Roster, cycle: Cycle) -> int:
    """How many active teachers of ``roster`` have no request of ``cycle`` that may have
    reached them (none in the ledger, or one the server refused)."""
    asked = {
        e.key.recipient
        for e in ledger.entries(config.campaign, cycle.name)
        if e.key.kind == REQUEST and e.state is not State.FAILED
    }
    return sum(t.email not in asked for t in roster.active)


def _open_late(
    ws: Workspace,
    planned: Cycle,
    today: date,
    report: TickReport,
    dry_run: bool,
    progress: Progress | None,
) -> Cycle:
    """Send the requests of ``planned`` (none sent, its due date come) today, on a calendar
    counted from today, if there is still time before the next cycle; return the cycle as
    it now runs."""
    late, why_not = cycles.late_opening(ws.config, planned, today)
    if late is None:
        report.notes.append(f"{why_not}; {_next_opening(ws.config, planned.name)}")
        return planned
    report.notes.append(describe_late(late, dry_run=dry_run))
    report.steps.append(
        (f"{late.name} requests (late)",
         send_requests(ws, late, dry_run=dry_run, progress=progress))
    )  # fmt: skip
    return late


def _write(report: TickReport, write: Callable[[], list[str]]) -> None:
    """Write a report (a table, digest files): where it went joins ``files``; a failure joins
    ``errors`` and the tick goes on, since what it writes is a view of what it sends."""
    try:
        report.files.extend(write())
    except PdmailError as exc:
        report.errors.append(exc)


def _digest_if_due(
    ws: Workspace,
    cycle: Cycle,
    today: date,
    report: TickReport,
    dry_run: bool,
    *,
    quiet: bool = False,
) -> None:
    if today < cycle.digest:
        return
    key = MessageKey(ws.config.campaign, cycle.name, ws.config.librarian.email.lower(), DIGEST)
    entry = ws.ledger.get(key)
    if entry is not None and entry.state is not State.FAILED:
        return
    if not ws.ledger.count_sent(ws.config.campaign, REQUEST).get(cycle.name):
        if not quiet:
            report.notes.append(f"{cycle.name}: no requests were sent, so no digest")
        return
    # A survey's answers are counted, not read for needs: its digest is its own.
    publish = publish_survey if ws.config.active_campaign.kind == "survey" else publish_digest
    done = publish(
        ws,
        cycle,
        PublishOptions(write=not dry_run, send=True, dry_run=dry_run),
        files=report.files,
        errors=report.errors,
    )
    if done.mail is not None:
        report.steps.append((f"{cycle.name} digest", done.mail))
