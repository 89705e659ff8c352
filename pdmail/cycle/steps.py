"""The cycle's sending steps: requests to every active teacher, reminders to those who have not
answered. Each is safe to run any number of times: the ledger decides what is still owed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..backends.base import TableSource
from ..cycles import Cycle
from ..errors import InputError
from ..models import LedgerEntry, MessageKey, State
from ..sources.responses import Collection
from ..sources.roster import Roster, normalize_email
from ..state.ledger import Ledger
from ..wording import count, day
from .delivery import Courier, DeliveryReport, Due, Progress, hand_over
from .freshness import ensure_answers
from .messages import REQUEST, Composer, build_reminder, build_request, reminder_kind

if TYPE_CHECKING:
    from ..workspace import Workspace

# Why a request is not sent to a teacher.
ANSWERED = "already answered this cycle"
INACTIVE = "inactive on the roster"


@dataclass(frozen=True)
class Plan:
    """Who a step will write to (each message not rendered yet), and who it leaves out and
    why."""

    items: tuple[Due, ...]
    left_out: tuple[tuple[str, str], ...]  # (email, reason)


def _only(roster: Roster, only: Sequence[str]) -> set[str] | None:
    if not only:
        return None
    wanted = {normalize_email(e) for e in only}
    missing = sorted(e for e in wanted if roster.get(e) is None)
    if missing:
        raise InputError(
            f"--only: not on the roster ({roster.origin}): {', '.join(missing)}",
            hint="check the spelling against the roster's Email column",
        )
    return wanted


def plan_requests(ws: Workspace, cycle: Cycle, only: Sequence[str] = ()) -> Plan:
    """:func:`requests_plan` with the workspace's roster, answers and templates."""
    return requests_plan(Composer.of(ws), ws.roster, ws.collect(cycle), cycle, only)


def requests_plan(
    composer: Composer,
    roster: Roster,
    collection: Collection,
    cycle: Cycle,
    only: Sequence[str] = (),
) -> Plan:
    """The request owed to every active teacher of ``roster`` (or those in ``only``) who has
    not answered in ``collection``.

    Nothing is rendered here: delivery renders the messages the ledger lets go (with
    ``composer``), all of them before the first is sent, so a template or roster field error
    stops the step with nothing sent.
    """
    roster.require_active()
    wanted = _only(roster, only)
    answered = {t.email for t, _ in collection.answered}
    campaign = composer.config.campaign
    items: list[Due] = []
    left_out: list[tuple[str, str]] = []
    for teacher in roster.teachers:
        if wanted is not None and teacher.email not in wanted:
            continue
        if not teacher.active:
            left_out.append((teacher.email, INACTIVE))
        elif teacher.email in answered:
            left_out.append((teacher.email, ANSWERED))
        else:
            key = MessageKey(campaign, cycle.name, teacher.email, REQUEST)
            items.append(Due(key, partial(build_request, composer, cycle, teacher)))
    return Plan(tuple(items), tuple(left_out))


def why_none(plan: Plan, nobody: str) -> str:
    """Why ``plan`` has no message to send, from the teachers it left out (``nobody`` when
    it left out no one): "everyone has answered", "ann@x.org: already answered this cycle",
    "already sent reminder 1 (3 teachers)"."""
    if not plan.left_out:
        return nobody
    if len(plan.left_out) == 1:
        email, reason = plan.left_out[0]
        return f"{email}: {reason}"
    reasons = Counter(reason for _, reason in plan.left_out)
    if len(reasons) > 1:
        reasons.pop(INACTIVE, None)  # beside a real reason, inactive teachers are no news
    if set(reasons) == {ANSWERED}:
        return "everyone has answered"
    return "; ".join(f"{reason} ({count(n, 'teacher')})" for reason, n in reasons.items())


def send_requests(
    ws: Workspace,
    cycle: Cycle,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    only: Sequence[str] = (),
    resend: bool = False,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Send this cycle's request to every active teacher who has not had one: the workspace's
    :func:`plan_requests`, then :func:`hand_over_requests`."""
    plan = plan_requests(ws, cycle, only)
    return hand_over_requests(
        Courier.of(ws), cycle, plan, dry_run=dry_run, limit=limit, resend=resend, progress=progress
    )


def hand_over_requests(
    courier: Courier,
    cycle: Cycle,
    plan: Plan,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    resend: bool = False,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Hand over the requests of ``plan`` (see :func:`requests_plan`) that the ledger lets go;
    when there is none, the report's note says why."""
    report = hand_over(
        courier,
        plan.items,
        cycle=cycle.name,
        kind=REQUEST,
        dry_run=dry_run,
        limit=limit,
        resend=resend,
        progress=progress,
    )
    if not plan.items:
        report.note = why_none(plan, "no active teacher on the roster")
    return report


def reminder_due(cycle: Cycle, today: date) -> int:
    """The number of the reminder of ``cycle`` due on ``today``: the latest whose day has
    come, or 0 when none has or the digest day has come (the reminders are over)."""
    return cycle.reminders_due(today) if today < cycle.digest else 0


def plan_reminders(
    ws: Workspace, cycle: Cycle, today: date, only: Sequence[str] = (), *, resend: bool = False
) -> tuple[int, Plan]:
    """:func:`reminders_plan` with the workspace's roster, ledger, responses and templates
    (read only when a reminder is due)."""
    if not reminder_due(cycle, today):
        return 0, Plan((), ())
    composer = Composer.of(ws)
    return reminders_plan(
        composer, ws.roster, ws.ledger, ws.source, ws.collect, cycle, today, only, resend=resend
    )


def reminders_plan(
    composer: Composer,
    roster: Roster,
    ledger: Ledger,
    source: TableSource,
    collect: Callable[[Cycle], Collection],
    cycle: Cycle,
    today: date,
    only: Sequence[str] = (),
    *,
    resend: bool = False,
) -> tuple[int, Plan]:
    """The reminder number due on ``today`` and the reminders it owes, from the roster, the
    ledger's record of what went out, and the cycle's answers: ``source`` is first checked
    to hold them (see below), and only then ``collect`` matches them to the roster.

    Reminder *n* is due once the calendar's *n*-th reminder day has come. A teacher gets it
    when they have not answered, their request went out (so there is a thread to reply in) on
    an earlier day, and no reminder numbered *n* or later was recorded for them (reminder *n*
    itself with an unknown outcome counts as recorded unless ``resend``). A missed reminder
    day is not made up with two messages: only the latest due reminder goes.

    Raises :class:`~pdmail.errors.InputError` when a reminder is due but the responses cannot
    tell who answered (missing, or saved before the requests went out; see
    :mod:`pdmail.cycle.freshness`).
    """
    number = reminder_due(cycle, today)
    if not number:
        return 0, Plan((), ())
    config = composer.config
    roster.require_active()
    wanted = _only(roster, only)
    # A missing or stale export would make every teacher look like a non-responder.
    ensure_answers(config, ledger, source, cycle, "no reminder was sent")
    collection = collect(cycle)
    entries = ledger.entries(config.campaign, cycle.name)
    requests = {e.key.recipient: e for e in entries if e.key.kind == REQUEST}
    reminded: dict[str, int] = {}
    unsettled: set[str] = set()
    for e in entries:
        if e.key.kind.startswith("reminder-") and e.state is not State.FAILED:
            n = int(e.key.kind.split("-", 1)[1])
            if n == number and e.state in (State.UNKNOWN, State.PENDING):
                unsettled.add(e.key.recipient)
                if resend:
                    continue  # planned again, for delivery to resend as it does requests
            reminded[e.key.recipient] = max(reminded.get(e.key.recipient, 0), n)
    items: list[Due] = []
    left_out: list[tuple[str, str]] = []
    tz = config.timezone
    kind = reminder_kind(number)
    for teacher in collection.not_answered:
        if wanted is not None and teacher.email not in wanted:
            continue
        request = requests.get(teacher.email)
        reason = _no_reminder(request, reminded.get(teacher.email, 0), number, today, tz)
        if reason and teacher.email in unsettled and not resend:
            reason = f"reminder {number} has an unknown outcome (--resend sends it again)"
        if reason:
            left_out.append((teacher.email, reason))
            continue
        assert request is not None  # _no_reminder said there is one
        render = partial(build_reminder, composer, cycle, teacher, number, request)
        items.append(Due(MessageKey(config.campaign, cycle.name, teacher.email, kind), render))
    return number, Plan(tuple(items), tuple(left_out))


def _no_reminder(
    request: LedgerEntry | None, reminded: int, number: int, today: date, tz: ZoneInfo
) -> str:
    if request is None or request.state is not State.SENT:
        return "no request was sent to them this cycle"
    if request.updated.astimezone(tz).date() >= today:
        return "their request went out today"
    if reminded >= number:
        return f"already sent reminder {reminded}"
    return ""


def send_reminders(
    ws: Workspace,
    cycle: Cycle,
    today: date,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    only: Sequence[str] = (),
    resend: bool = False,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Send the reminder due on ``today`` to teachers who have not answered: the workspace's
    :func:`plan_reminders`, then :func:`hand_over_reminders`."""
    number, plan = plan_reminders(ws, cycle, today, only, resend=resend)
    return hand_over_reminders(
        Courier.of(ws),
        cycle,
        today,
        number,
        plan,
        dry_run=dry_run,
        limit=limit,
        resend=resend,
        progress=progress,
    )


def hand_over_reminders(
    courier: Courier,
    cycle: Cycle,
    today: date,
    number: int,
    plan: Plan,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    resend: bool = False,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Hand over reminder ``number`` to the teachers of ``plan`` (see
    :func:`reminders_plan`) that the ledger lets go; the report's note says why none went
    (everyone answered, no reminder is due yet, the reminder days are over)."""
    report = hand_over(
        courier,
        plan.items,
        cycle=cycle.name,
        kind=reminder_kind(number) if number else "reminder",
        dry_run=dry_run,
        limit=limit,
        resend=resend,
        progress=progress,
    )
    if number and not plan.items:
        report.note = why_none(plan, "everyone has answered")
    if number == 0:
        first = cycle.reminders[0] if cycle.reminders else None
        if today >= cycle.digest:
            report.note = f"the reminder days of {cycle.name} are over (digest day {cycle.digest})"
        elif first:
            report.note = f"no reminder is due before {day(first)}"
        else:
            report.note = "the calendar has no reminder days"
    return report
