"""Handing messages to the mailer under the ledger's exactly-once rules.

A step names the messages it owes (:class:`Due`) without rendering them; the ledger decides
which may go, so a rerun with nothing left renders nothing. Each of those is rendered once,
as the run comes to it: a few dozen ahead of the one going out (those the next ledger claim
covers), so memory stays flat however long the roster. The first claim's messages are
rendered before anything is opened or sent, so a template that fails for every teacher (an
undefined field, a syntax error) stops the run with nothing sent; a roster row that cannot
make a safe message stops the run where it is met, the messages before it sent and recorded.
Each message is claimed in the ledger, handed over, and recorded. A refusal is recorded as
failed (tried again next run); a failure whose outcome cannot be known is recorded as unknown,
with what is known about it, and never resent without ``resend``.

The functions take what they use (:class:`Courier`: the config, the ledger, the mailer, the
clock and the pacing timers); :func:`deliver`, :func:`count_due`, :func:`unsettled` and
:func:`resolve` are the same for a :class:`~pdmail.workspace.Workspace`.

A provider's sending limit, or a passing condition that keeps coming (two timeouts in a row,
three messages in a row turned away for the rate limit), stops the run: the message that met
it and the rest are held for a later run, with no ledger row of their own.
"""

from __future__ import annotations

import contextlib
import inspect
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..backends import Mailer
from ..errors import BackendError, DeliveryError, PdmailError, UsageError
from ..mail.wire import Sendable, message_id_of, subject_of
from ..models import (
    Clock,
    LedgerEntry,
    MessageKey,
    MessageKind,
    OutcomeResult,
    SendResult,
    State,
)
from ..state.ledger import INTERRUPTED, QUEUED, Claim, Ledger, boot_id, never_handed_over
from ..state.runlock import RunLock
from ..wording import count, local_time

if TYPE_CHECKING:
    from ..config.records import Config
    from ..workspace import Workspace

Progress = Callable[[MessageKey], None]
# What a report is about: a kind of message, or "reminder" when no reminder is due.
ReportKind = MessageKind | Literal["reminder"]


@dataclass(frozen=True)
class Outgoing:
    """One rendered message and where it belongs in the ledger."""

    key: MessageKey
    message: Sendable
    thread_id: str | None = None

    @property
    def subject(self) -> str:
        return subject_of(self.message)

    @property
    def message_id(self) -> str:
        return message_id_of(self.message)


@dataclass(frozen=True)
class Due:
    """A message a step owes, not rendered yet: where it belongs in the ledger, and how to
    render it (called at most once, and only when the ledger lets the message go)."""

    key: MessageKey
    render: Callable[[], Outgoing]


Item = Outgoing | Due


@dataclass
class Outcome:
    """What happened to one message in a run."""

    recipient: str
    kind: MessageKind
    result: OutcomeResult  # see OutcomeResult for what each word means
    detail: str = ""
    at: datetime | None = None  # for already-sent: when the ledger recorded it as sent
    # For an unknown outcome: what is known, in words, and how to find the message.
    cause: str = ""
    find: str = ""


@dataclass
class DeliveryReport:
    """A run's outcomes, in the order the messages were considered."""

    cycle: str
    kind: ReportKind
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str = ""
    note: str = ""

    def count(self, result: OutcomeResult) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    def recipients(self, result: OutcomeResult) -> list[str]:
        return [o.recipient for o in self.outcomes if o.result == result]

    @property
    def ok(self) -> bool:
        """False when a message failed, has an unknown outcome, or the run stopped early."""
        return not self.stopped and not any(
            o.result in ("failed", "unknown") for o in self.outcomes
        )


class Halt:
    """Why and until when a run stopped sending (the provider's limit, a hung server), kept
    across the steps of one run so that a later step does not ask again."""

    def __init__(self) -> None:
        self.stopped: tuple[str, datetime | None, datetime] | None = None  # reason, resume, until


@dataclass
class Courier:
    """What handing messages over takes: the config (campaign, state folder, ``mail``
    pacing, cap and lock wait, time zone), the ledger, a factory for the run's mailer, the
    clock, the pacing timers, and the run's :class:`Halt` (shared by its steps)."""

    config: Config
    ledger: Ledger
    mailer: Callable[[], Mailer]
    clock: Clock
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    halt: Halt = field(default_factory=Halt)

    @classmethod
    def of(cls, ws: Workspace) -> Courier:
        """The workspace's pieces; its steps share one :class:`Halt`."""
        halt = ws.__dict__.setdefault(_HALTED, Halt())
        assert isinstance(halt, Halt)
        return cls(ws.config, ws.ledger, ws.mailer, ws.now, ws.sleep, ws.monotonic, halt)


def count_due(
    ws: Workspace, items: Sequence[Item], *, limit: int | None = None, resend: bool = False
) -> int:
    """:func:`due_in` with the workspace's ledger."""
    return due_in(ws.ledger, items, limit=limit, resend=resend)


def due_in(
    ledger: Ledger, items: Sequence[Item], *, limit: int | None = None, resend: bool = False
) -> int:
    """How many of ``items`` a run would hand over now (the ledger's say and ``limit``), from
    the ledger alone: nothing is rendered."""
    entries = _entries(ledger, items)
    due = sum(_blocked(entries.get(item.key), resend) is None for item in items)
    return min(due, limit) if limit is not None else due


def deliver(
    ws: Workspace,
    items: Sequence[Item],
    *,
    cycle: str,
    kind: ReportKind,
    dry_run: bool = False,
    limit: int | None = None,
    resend: bool = False,
    progress: Progress | None = None,
) -> DeliveryReport:
    """:func:`hand_over` with the workspace's config, ledger, mailer and clock."""
    return hand_over(
        Courier.of(ws),
        items,
        cycle=cycle,
        kind=kind,
        dry_run=dry_run,
        limit=limit,
        resend=resend,
        progress=progress,
    )


def hand_over(
    courier: Courier,
    items: Sequence[Item],
    *,
    cycle: str,
    kind: ReportKind,
    dry_run: bool = False,
    limit: int | None = None,
    resend: bool = False,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Send ``items`` that the ledger allows; with ``dry_run`` decide only, touching nothing.

    ``limit`` caps how many are handed over in this run; the rest are reported as held and
    go out on a later run. ``resend`` allows messages whose outcome is unknown to go again
    (with the same Message-ID, so a mail system can recognise a duplicate).
    """
    c = courier
    if dry_run:
        return _deliver(c, items, DeliveryReport(cycle, kind, True), limit, resend, progress)
    with RunLock(c.config.state, wait=c.config.mail.lock_wait, campaign=c.config.campaign):
        c.ledger.settle_interrupted(c.config.campaign, c.clock())
        return _deliver(c, items, DeliveryReport(cycle, kind, False), limit, resend, progress)


def _entries(ledger: Ledger, items: Sequence[Item]) -> dict[MessageKey, LedgerEntry]:
    """The ledger's entries for the cycles of ``items``, by key: one query a cycle rather
    than one a message."""
    found: dict[MessageKey, LedgerEntry] = {}
    for campaign, cycle in {(i.key.campaign, i.key.cycle) for i in items}:
        found.update((e.key, e) for e in ledger.entries(campaign, cycle))
    # Claims a killed run queued and certainly never handed over are no claims at all.
    for key in never_handed_over([e for e in found.values() if e.state is State.PENDING]):
        del found[key]
    return found


def _rendered(item: Item) -> Outgoing:
    if isinstance(item, Outgoing):
        return item
    outgoing = item.render()
    if outgoing.key != item.key:
        # The ledger was asked about item.key: anything else would escape exactly-once.
        raise AssertionError(f"rendered {outgoing.key} for {item.key}")
    return outgoing


def _deliver(
    c: Courier,
    items: Sequence[Item],
    report: DeliveryReport,
    limit: int | None,
    resend: bool,
    progress: Progress | None,
) -> DeliveryReport:
    dry_run = report.dry_run
    entries = _entries(c.ledger, items)
    wanted: list[Item] = []
    for item in items:
        skipped = _skipped(entries.get(item.key), resend, item.key)
        if skipped:
            report.outcomes.append(skipped)
        elif limit is not None and len(wanted) >= limit:
            report.outcomes.append(
                Outcome(item.key.recipient, item.key.kind, "held", f"over --limit {limit}")
            )
        elif dry_run:
            _rendered(item)  # a template or roster error shows in a dry run too
            wanted.append(item)
            report.outcomes.append(Outcome(item.key.recipient, item.key.kind, "would-send"))
        else:
            wanted.append(item)
    if dry_run or not wanted:
        return report
    return _send_all(c, wanted, entries, report, resend, progress)


def _send_all(
    c: Courier,
    to_send: list[Item],
    entries: dict[MessageKey, LedgerEntry],
    report: DeliveryReport,
    resend: bool,
    progress: Progress | None,
) -> DeliveryReport:
    ledger = c.ledger
    tz = c.config.timezone
    cap = c.config.mail.daily_cap
    window_start = c.clock() - timedelta(days=1)
    counted = ledger.sent_since(window_start) if cap else []
    if cap and len(counted) >= cap:
        _hold_for_cap(report, to_send, cap, counted, tz)
        return report
    halted = _halted(c)
    if halted is not None:
        # An earlier step of this run met the provider's limit or a hung or unreachable
        # server: asking again now would only meet it again.
        reason, resume = halted
        for item in to_send:
            report.outcomes.append(
                Outcome(item.key.recipient, item.key.kind, "held", "the run stopped earlier")
            )
        report.stopped = f"not tried, as the run stopped earlier: {reason}"
        report.note = _resume_note(report.count("held"), resume, tz)
        return report
    queue = _Ahead(to_send)
    batch = CLAIM_BATCH if boot_id() and not c.config.mail.per_minute else 1
    # The first claim's messages are rendered before the mailer is opened: a template that
    # fails for everyone fails with nothing sent.
    queue.render_upto(min(batch, len(to_send)))
    pacer = _Pacer(c.config.mail.per_minute, c.monotonic, c.sleep)
    streak = _Streak()
    with (
        c.mailer() as mailer,
        _Claims(c, mailer, queue, entries, resend, batch) as claims,
        # Unpaced, the next message follows at once: a mailer that can write the last
        # message's record while the next one's envelope goes out is given that work.
        _Record(c, deferred=batch > 1 and _takes(mailer, "before_data")) as record,
    ):
        # A mailer that can wait for its server while the next message is rendered is
        # given that work (SMTP: while the server takes in the data).
        meanwhile = queue.render_next if _takes(mailer, "meanwhile") else None
        for n in range(len(to_send)):
            if cap and len(counted) >= cap:
                _hold_for_cap(report, to_send[n:], cap, counted, tz)
                break
            try:
                outgoing = queue.get(n)
                pacer.wait()
                if not claims.ahead_of(outgoing):
                    record.now()  # a claim of its own is written after the record, never before
                claim = claims.claim(n, outgoing)
            except PdmailError as exc:
                if exc is not queue.failed or n == 0:
                    raise
                # A later row that cannot make its message: the ones before it went out and
                # are recorded; this one and the rest wait for the row to be fixed.
                report.stopped = f"a message could not be written: {exc.message}"
                for later in to_send[n:]:
                    report.outcomes.append(
                        Outcome(later.key.recipient, later.key.kind, "held", "the run stopped")
                    )
                report.note = _resume_note(report.count("held"), None, tz)
                break
            outcome, error = _send_one(c, mailer, outgoing, claim, resend, meanwhile, record)
            queue.done(n)
            if outcome.result in ("sent", "unknown"):
                counted.append(c.clock())
            report.outcomes.append(outcome)
            if progress:
                progress(outgoing.key)
            stop = _stop_reason(error, streak)
            if stop:
                rest = to_send[n + 1 :]
                report.stopped = stop
                for later in rest:
                    report.outcomes.append(
                        Outcome(later.key.recipient, later.key.kind, "held", "the run stopped")
                    )
                resume = error.resume_after if isinstance(error, DeliveryError) else None
                if isinstance(error, DeliveryError) and error.stop and resume is None:
                    resume = _TOMORROW
                held = report.count("held")
                if held:
                    report.note = _resume_note(held, resume, tz)
                _halt(c, stop, resume)
                break
    return report


def _takes(mailer: Mailer, parameter: str) -> bool:
    """Whether the mailer's ``send`` takes ``parameter`` (``meanwhile``, ``before_data``)."""
    try:
        return parameter in inspect.signature(mailer.send).parameters
    except (TypeError, ValueError):
        return False


class _Record:
    """The record of the last message handed over, written as late as exactly-once allows.

    ``deferred`` (an unpaced run, a mailer that takes ``before_data``: SMTP), it is written
    while the next message's envelope goes out, the server answering meanwhile, and always
    before any of that message's data: so, as before, at most the first pending row of a batch
    may have been handed over (:meth:`~pdmail.state.ledger.Ledger.settle_interrupted`). Any
    other ledger write of the run, and the run's end however it ends, writes it first.
    Otherwise it is written at once, never left pending over a pause of the run.
    """

    def __init__(self, c: Courier, *, deferred: bool) -> None:
        self.c = c
        self.deferred = deferred
        self.todo: tuple[MessageKey, SendResult, datetime] | None = None

    def add(self, key: MessageKey, result: SendResult, at: datetime) -> None:
        """Record ``key`` as sent: now, or (deferred) by the next message's ``before_data``."""
        self.now()
        self.todo = (key, result, at)
        if not self.deferred:
            self.now()

    def now(self) -> None:
        """Write the pending record, if any (once)."""
        todo, self.todo = self.todo, None
        if todo is not None:
            self.c.ledger.mark_sent(*todo)

    def __enter__(self) -> _Record:
        return self

    def __exit__(self, *exc: object) -> None:
        self.now()


class _RecordFailed(Exception):
    """Writing the last message's record failed while the next one's envelope went out:
    raised through the mailer, so that the next message is known not to have gone."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _Ahead:
    """The messages of a run, each rendered once, at most :data:`AHEAD` ahead of the one
    going out; a message is dropped once handed over, so memory does not grow with the run.

    A render that fails in :meth:`render_next` (called while the mailer waits) is kept and
    raised when the run comes to that message, never inside the mailer.
    """

    def __init__(self, items: Sequence[Item]) -> None:
        self.items = items
        self.rendered: dict[int, Outgoing] = {}
        self.next = 0  # the first index not rendered yet
        self.current = 0  # the message going out
        self.failed: Exception | None = None

    def _render(self) -> None:
        if self.failed is not None:
            raise self.failed
        try:
            self.rendered[self.next] = _rendered(self.items[self.next])
        except Exception as exc:
            self.failed = exc
            raise
        self.next += 1

    def get(self, n: int) -> Outgoing:
        """Message ``n``, rendered now if it was not; raises what rendering it raised."""
        self.current = max(self.current, n)
        self.render_upto(n + 1)
        return self.rendered[n]

    def render_upto(self, end: int) -> None:
        """Render every message before index ``end``."""
        while self.next < min(end, len(self.items)):
            self._render()

    def render_next(self) -> None:
        """Render one more message if it is not too far ahead; never raises."""
        if self.failed is None and self.next < min(self.current + AHEAD, len(self.items)):
            with contextlib.suppress(Exception):  # kept in self.failed
                self._render()

    def done(self, n: int) -> None:
        self.rendered.pop(n, None)


# Consecutive messages that met the same passing condition before the run gives up on it:
# a server that timed out twice is hung, one that turned three messages away for its rate
# limit in a row, each after waiting, will not take more in this run, and one that cannot be
# reached at all will not be for the next message either.
STREAK_LIMITS = {"timeout": 2, "throttled": 3, "unreachable": 1}


class _Streak:
    """How many messages in a row met the same passing condition."""

    def __init__(self) -> None:
        self.kind = ""
        self.count = 0

    def add(self, kind: str) -> int:
        self.count = self.count + 1 if kind and kind == self.kind else int(bool(kind))
        self.kind = kind
        return self.count


def _stop_reason(error: PdmailError | None, streak: _Streak) -> str:
    """Why the run must stop after this message's ``error`` ("" to go on)."""
    if error is None:
        streak.add("")
        return ""
    if not isinstance(error, DeliveryError):
        # Not about this message (a lost connection, a login refused): stop.
        return error.message
    if error.stop:
        return error.message
    count = streak.add(error.transient)
    limit = STREAK_LIMITS.get(error.transient, 0)
    if limit == 1:
        return f"the mail server cannot be reached: {error.message}"
    if limit and count >= limit:
        what = "timed out" if error.transient == "timeout" else "were turned away (rate limit)"
        return f"{count} messages in a row {what}; the last: {error.message}"
    return ""


# Stands for "when the provider's sending limit resets", which it did not say.
_TOMORROW = datetime.min.replace(tzinfo=timezone.utc)

# How long a stop without a time from the provider keeps later steps of the same run (the
# same workspace) from trying: longer than a run, shorter than the next one.
_HALT_FOR = timedelta(minutes=15)


def _resume_note(held: int, resume: datetime | None, tz: tzinfo) -> str:
    left = f"{held} message{'s' * (held != 1)} left"
    if resume is _TOMORROW:
        return f"{left} will go on the next run once the sending limit resets (usually tomorrow)"
    if resume is not None:
        return f"{left} will go on the next run after {local_time(resume, tz)}"
    return f"{left} will go on the next run"


def _halt(c: Courier, reason: str, resume: datetime | None) -> None:
    """Remember that the run stopped, so a later step of it does not ask again."""
    until = c.clock() + _HALT_FOR
    if resume is not None and resume is not _TOMORROW:
        until = max(until, resume)
    c.halt.stopped = (reason, resume, until)


def _halted(c: Courier) -> tuple[str, datetime | None] | None:
    """Why and until when an earlier step of this run stopped, if it did and still holds."""
    found = c.halt.stopped
    if found is None:
        return None
    reason, resume, until = found
    if c.clock() >= until:
        return None
    return reason, resume


_HALTED = "_pdmail_delivery_halted"


class _Pacer:
    """At most ``per_minute`` sends in any sixty seconds (0: no limit), sleeping as needed."""

    def __init__(
        self, per_minute: int, monotonic: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self.per_minute = per_minute
        self.monotonic = monotonic
        self.sleep = sleep
        self.starts: deque[float] = deque()

    def wait(self) -> None:
        if not self.per_minute:
            return
        now = self.monotonic()
        while self.starts and now - self.starts[0] >= 60.0:
            self.starts.popleft()
        if len(self.starts) >= self.per_minute:
            self.sleep(60.0 - (now - self.starts[0]))
            now = self.monotonic()
            self.starts.popleft()
        self.starts.append(now)


# How many messages a run renders ahead of the one going out: enough for the next claim.
AHEAD = 64


def _hold_for_cap(
    report: DeliveryReport,
    rest: Sequence[Item],
    cap: int,
    counted: list[datetime],
    tz: tzinfo,
) -> None:
    for item in rest:
        report.outcomes.append(
            Outcome(item.key.recipient, item.key.kind, "held", f"daily cap of {cap}")
        )
    resume = min(counted) + timedelta(days=1)
    report.note = (
        f"the daily cap of {count(cap, 'message')} (mail.daily_cap) is reached; {len(rest)} "
        f"left will go on the next run after {local_time(resume, tz)}"
    )


def _blocked(
    entry: LedgerEntry | None, resend: bool
) -> tuple[OutcomeResult, str] | tuple[OutcomeResult, str, datetime] | None:
    if entry is None or entry.state is State.FAILED:
        return None
    if entry.state is State.SENT:
        return ("already-sent", entry.updated.isoformat(timespec="minutes"), entry.updated)
    if resend:
        return None
    return ("skipped-unknown", entry.error or "outcome unknown; pass --resend to send it again")


def _skipped(entry: LedgerEntry | None, resend: bool, key: MessageKey) -> Outcome | None:
    """The outcome of a message the ledger does not let go now, or None if it may go."""
    blocked = _blocked(entry, resend)
    if blocked is None:
        return None
    outcome = Outcome(key.recipient, key.kind, *blocked)
    if entry is not None and outcome.result == "skipped-unknown":
        outcome.cause = cause_of(entry)
        outcome.find = how_to_find(entry.mailer, entry.message_id)
    return outcome


# What is known when the mailer gave no words of its own for an unknown outcome.
CAUSE_MAILER_ERROR = "the mailer failed while handing the message over, so it may have left"
CAUSE_UNEXPECTED = (
    "the mailer failed in a way pdmail does not recognise while handing the message over, "
    "so it may have left"
)
CAUSE_UNKNOWN = "the mailer could not tell whether the server accepted it"
_OLD_INTERRUPTED = (
    "interrupted: the run stopped after handing the message over and before recording"
)


def cause_of(entry: LedgerEntry) -> str:
    """What is known about ``entry``'s unknown (or interrupted) outcome, in words."""
    if entry.cause and not entry.cause.startswith(QUEUED):
        return entry.cause
    # "interrupted: ..." is how pdmail before schema 3 worded it, with no cause of its own.
    if entry.state is State.PENDING or entry.error in (INTERRUPTED, _OLD_INTERRUPTED):
        return INTERRUPTED
    return CAUSE_UNKNOWN


def how_to_find(mailer: str, message_id: str) -> str:
    """Where to look for a message whose outcome is unknown, and how to search for it (the
    advice of the mailer named ``mailer``)."""
    from ..backends.registry import where_to_look

    return where_to_look(mailer, message_id)


def known(entry: LedgerEntry) -> str:
    """What is known about an unsettled ``entry``, and what the mailer said about it."""
    cause = cause_of(entry)
    said = entry.error if entry.error not in ("", cause, _OLD_INTERRUPTED) else ""
    return f"{cause} ({said})" if said else cause


def explain(entry: LedgerEntry) -> str:
    """One line on an unsettled ``entry``: what is known, what the mailer said, where to look."""
    return f"{known(entry)}; {how_to_find(entry.mailer, entry.message_id)}"


def unsettled(ws: Workspace) -> list[LedgerEntry]:
    """:func:`unsettled_in` for the workspace's ledger, campaign and state folder."""
    return unsettled_in(ws.ledger, ws.config.campaign, ws.config.state)


def unsettled_in(ledger: Ledger, campaign: str, state: Path) -> list[LedgerEntry]:
    """The campaign's messages (every cycle and kind) whose outcome is not known: unknown ones,
    and pending ones left by a run that stopped (not those of a run of the campaign sending
    right now, on the ``state`` folder)."""
    entries = ledger.unsettled(campaign)
    queued = set(never_handed_over([e for e in entries if e.state is State.PENDING]))
    entries = [e for e in entries if e.key not in queued]
    running = RunLock.holder(state, campaign)
    if running and any(e.state is State.PENDING for e in entries):
        entries = [e for e in entries if e.state is not State.PENDING]
    return entries


def _send_one(
    c: Courier,
    mailer: Mailer,
    item: Outgoing,
    claim: Claim,
    resend: bool,
    meanwhile: Callable[[], None] | None = None,
    record: _Record | None = None,
) -> tuple[Outcome, PdmailError | None]:
    """Hand over and record one message as ``claim`` allows; the second value is the error it
    met, if any (the caller decides whether the run goes on). With ``record``, a message
    handed over is recorded by it, at the latest before the next one's data go out."""
    ledger = c.ledger
    key = item.key
    message_id = item.message_id
    name = _mailer_name(mailer)
    if not claim.granted:
        # Another process took it between our look and our claim.
        skipped = _skipped(claim.existing, resend, key)
        return skipped or Outcome(key.recipient, key.kind, "skipped-unknown",
                                  "claimed by another run"), None  # fmt: skip
    extra: dict[str, Callable[[], None]] = {}
    if meanwhile is not None:
        extra["meanwhile"] = meanwhile
    if record is not None and record.todo is not None:  # only a deferred record waits
        extra["before_data"] = _raising_through(record.now)
    try:
        # Only a mailer whose send() takes them is given these (see _takes).
        send: Callable[..., SendResult] = mailer.send
        result = send(item.message, thread_id=item.thread_id, **extra)
    except _RecordFailed as exc:
        # The last message's record could not be written: this one never went.
        raise exc.error from None
    except DeliveryError as exc:
        if record is not None:
            record.now()
        return _record_failure(c, key, claim, exc, message_id, name), exc
    except PdmailError as exc:
        if record is not None:
            record.now()
        # Not about this message (a lost connection, a login refused): it may have left.
        ledger.mark_unknown(key, exc.message, c.clock(), cause=CAUSE_MAILER_ERROR)
        return _unknown(key, CAUSE_MAILER_ERROR, exc.message, name, message_id), exc
    except Exception as exc:
        # The mailer broke in a way it did not classify: the message may have left.
        if record is not None:
            record.now()
        msg = f"{type(exc).__name__}: {exc}"
        ledger.mark_unknown(key, msg, c.clock(), cause=CAUSE_UNEXPECTED)
        raise BackendError(
            f"{mailer.__class__.__name__} failed unexpectedly for {key.recipient} ({msg})",
            hint="the message is recorded as unknown; check the mailbox, then pdmail status",
        ) from exc
    if record is not None:
        record.add(key, result, c.clock())
    else:
        ledger.mark_sent(key, result, c.clock())
    return Outcome(key.recipient, key.kind, "sent"), None


def _raising_through(write: Callable[[], None]) -> Callable[[], None]:
    """``write``, with what it raises wrapped in :class:`_RecordFailed` (see there)."""

    def before_data() -> None:
        try:
            write()
        except Exception as exc:
            raise _RecordFailed(exc) from exc

    return before_data


def _mailer_name(mailer: Mailer) -> str:
    return str(getattr(mailer, "name", "") or "")


# How many new messages one flushed ledger commit claims ahead when nothing paces the run.
CLAIM_BATCH = 64


class _Claims:
    """The run's claims, each durable before its message is handed over.

    Unpaced, on a system that tells its boot apart (:func:`~pdmail.state.ledger.boot_id`), the
    messages the ledger has never seen are claimed up to :data:`CLAIM_BATCH` at a time in one
    flushed commit, instead of one each: a flush costs milliseconds, a message less. Any
    other message is claimed alone, as before. Claims ahead that the run does not hand over
    (it stopped, or failed) are released when it ends; those of a killed run are settled by
    the next one (:meth:`~pdmail.state.ledger.Ledger.settle_interrupted`).
    """

    def __init__(
        self,
        c: Courier,
        mailer: Mailer,
        queue: _Ahead,
        entries: dict[MessageKey, LedgerEntry],
        resend: bool,
        size: int,
    ) -> None:
        self.c = c
        self.name = _mailer_name(mailer)
        self.queue = queue
        self.entries = entries
        self.resend = resend
        self.boot = boot_id()
        self.size = size if self.boot else 1
        self.ahead: dict[MessageKey, str] = {}  # claimed ahead, not handed over: their batch

    def __enter__(self) -> _Claims:
        return self

    def __exit__(self, *exc: object) -> None:
        batches: dict[str, list[MessageKey]] = {}
        for key, batch in self.ahead.items():
            batches.setdefault(batch, []).append(key)
        self.ahead.clear()
        for batch, keys in batches.items():
            self.c.ledger.release_queued(keys, batch)

    def ahead_of(self, item: Outgoing) -> bool:
        """Whether ``item`` was claimed ahead, so that claiming it writes nothing."""
        return item.key in self.ahead

    def claim(self, n: int, item: Outgoing) -> Claim:
        """The claim for ``item``, the ``n``-th message of the run, about to be handed over."""
        key = item.key
        if key not in self.ahead and self.size > 1 and key not in self.entries:
            self._claim_ahead(n)
        if self.ahead.pop(key, None) is not None:
            return Claim(True, None)
        return self.c.ledger.claim(
            key, item.message_id, item.subject, self.c.clock(), resend=self.resend, mailer=self.name
        )

    def _claim_ahead(self, n: int) -> None:
        # The batch's messages are rendered first: a claim records their Message-ID and subject.
        items = self.queue.items
        end = min(n + self.size, len(items))
        end = next((i for i in range(n, end) if items[i].key in self.entries), end)
        try:
            self.queue.render_upto(end)
        except Exception:
            # Claim those before the message that cannot be written; the run stops when it
            # comes to that one (the queue keeps what it raised).
            end = self.queue.next
        batch: list[tuple[MessageKey, str, str]] = []
        for i in range(n, end):
            item = self.queue.rendered[i]
            batch.append((item.key, item.message_id, item.subject))
        name = f"{self.boot}:{uuid.uuid4().hex[:12]}"
        granted = self.c.ledger.claim_new(batch, self.c.clock(), batch=name, mailer=self.name)
        self.ahead.update((meta[0], name) for meta, ok in zip(batch, granted, strict=True) if ok)


def _record_failure(
    c: Courier, key: MessageKey, claim: Claim, exc: DeliveryError, message_id: str, name: str
) -> Outcome:
    if exc.definite and (exc.stop or exc.transient):
        # Not refused for a reason of its own and certainly not sent: it simply waits for a
        # later run, so the ledger is left as it was before this claim.
        c.ledger.release(key, claim)
        return Outcome(key.recipient, key.kind, "held", exc.message)
    if exc.definite:
        c.ledger.mark_failed(key, exc.message, c.clock())
        return Outcome(key.recipient, key.kind, "failed", exc.message)
    cause = exc.cause or CAUSE_UNKNOWN
    c.ledger.mark_unknown(key, exc.message, c.clock(), cause=cause)
    return _unknown(key, cause, exc.message, name, message_id)


def _unknown(key: MessageKey, cause: str, detail: str, mailer: str, message_id: str) -> Outcome:
    return Outcome(
        key.recipient,
        key.kind,
        "unknown",
        detail,
        cause=cause,
        find=how_to_find(mailer, message_id),
    )


def resolve(ws: Workspace, keys: Sequence[MessageKey], *, sent: bool) -> list[LedgerEntry]:
    """:func:`settle` with the workspace's ledger, config and clock."""
    return settle(Courier.of(ws), keys, sent=sent)


def settle(c: Courier, keys: Sequence[MessageKey], *, sent: bool) -> list[LedgerEntry]:
    """Settle the unknown outcomes of ``keys`` as the librarian found them: ``sent`` (the
    message is in the Sent folder or the teacher has it) records each as sent, never to go
    again; otherwise as failed, so the next run sends it (with the same Message-ID).

    Waits for a sending run on the same state folder like any run. Raises
    :class:`~pdmail.errors.UsageError`, changing nothing, when any of them has no unknown
    outcome.
    """
    note = (
        "checked by hand: it had been sent"
        if sent
        else "checked by hand: it had not been sent; it goes on the next run"
    )
    with RunLock(c.config.state, wait=c.config.mail.lock_wait, campaign=c.config.campaign):
        c.ledger.settle_interrupted(c.config.campaign, c.clock())
        for key in keys:
            entry = c.ledger.get(key)
            if entry is None or entry.state is not State.UNKNOWN:
                what = "nothing was recorded" if entry is None else f"it is {entry.state.value}"
                raise UsageError(
                    f"{key.recipient} ({key.kind}, {key.cycle}): {what}, so there is no "
                    "unknown outcome to resolve; nothing was changed",
                    hint="pdmail status lists the messages whose outcome is unknown, with "
                    "their cycle and kind",
                )
        settled = []
        for key in keys:
            _, after = c.ledger.resolve(key, sent=sent, note=note, now=c.clock())
            assert after is not None  # checked above, under the same lock
            settled.append(after)
    return settled
