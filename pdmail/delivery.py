"""Handing messages to the mailer under the ledger's exactly-once rules.

Every message of a run is rendered before the first one goes out, so a template error or a
bad roster field stops the run with nothing sent. Then each message is claimed in the ledger,
handed over, and recorded. A refusal is recorded as failed (tried again next run); a failure
whose outcome cannot be known is recorded as unknown and never resent without ``resend``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from email.message import EmailMessage

from .backends import Mailer
from .errors import BackendError, DeliveryError, PdmailError
from .models import LedgerEntry, MessageKey, State
from .runlock import RunLock
from .workspace import Workspace

Progress = Callable[[MessageKey], None]


@dataclass(frozen=True)
class Outgoing:
    """One rendered message and where it belongs in the ledger."""

    key: MessageKey
    message: EmailMessage
    thread_id: str | None = None

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass
class Outcome:
    """What happened to one message in a run."""

    recipient: str
    kind: str
    # sent | would-send | already-sent | failed | unknown (this run) | skipped-unknown (an
    # earlier run's unknown outcome, not resent) | held (over the limit, or the run stopped)
    result: str
    detail: str = ""


@dataclass
class DeliveryReport:
    """A run's outcomes, in the order the messages were considered."""

    cycle: str
    kind: str
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str = ""
    note: str = ""

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    def recipients(self, result: str) -> list[str]:
        return [o.recipient for o in self.outcomes if o.result == result]

    @property
    def ok(self) -> bool:
        """False when a message failed, has an unknown outcome, or the run stopped early."""
        return not self.stopped and not any(
            o.result in ("failed", "unknown") for o in self.outcomes
        )


def deliver(
    ws: Workspace,
    items: Sequence[Outgoing],
    *,
    cycle: str,
    kind: str,
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
    if dry_run:
        return _deliver(ws, items, DeliveryReport(cycle, kind, True), limit, resend, progress)
    with RunLock(ws.config.state):
        ws.ledger.settle_interrupted(ws.config.campaign, ws.now())
        return _deliver(ws, items, DeliveryReport(cycle, kind, False), limit, resend, progress)


def _deliver(
    ws: Workspace,
    items: Sequence[Outgoing],
    report: DeliveryReport,
    limit: int | None,
    resend: bool,
    progress: Progress | None,
) -> DeliveryReport:
    ledger = ws.ledger
    dry_run = report.dry_run
    to_send: list[Outgoing] = []
    for item in items:
        entry = ledger.get(item.key)
        blocked = _blocked(entry, resend)
        if blocked:
            report.outcomes.append(Outcome(item.key.recipient, item.key.kind, *blocked))
        elif limit is not None and len(to_send) >= limit:
            report.outcomes.append(
                Outcome(item.key.recipient, item.key.kind, "held", f"over --limit {limit}")
            )
        elif dry_run:
            report.outcomes.append(Outcome(item.key.recipient, item.key.kind, "would-send"))
        else:
            to_send.append(item)
    if not to_send:
        return report
    cap = ws.config.mail.daily_cap
    window_start = ws.now() - timedelta(days=1)
    counted = ledger.sent_since(window_start) if cap else []
    if cap and len(counted) >= cap:
        _hold_for_cap(report, to_send, cap, counted, ws.config.timezone)
        return report
    pacer = _Pacer(ws.config.mail.per_minute, ws.monotonic, ws.sleep)
    with ws.mailer() as mailer:
        for n, item in enumerate(to_send):
            if cap and len(counted) >= cap:
                _hold_for_cap(report, to_send[n:], cap, counted, ws.config.timezone)
                break
            pacer.wait()
            outcome, stop = _send_one(ws, mailer, item, resend)
            if outcome.result in ("sent", "unknown"):
                counted.append(ws.now())
            report.outcomes.append(outcome)
            if progress:
                progress(item.key)
            if stop:
                report.stopped = stop
                for rest in to_send[n + 1 :]:
                    report.outcomes.append(
                        Outcome(rest.key.recipient, rest.key.kind, "held", "the run stopped")
                    )
                break
    return report


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


def _hold_for_cap(
    report: DeliveryReport,
    rest: Sequence[Outgoing],
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
        f"the daily cap of {cap} messages (mail.daily_cap) is reached; {len(rest)} left will "
        f"go on the next run after {resume.astimezone(tz):%Y-%m-%d %H:%M}"
    )


def _blocked(entry: LedgerEntry | None, resend: bool) -> tuple[str, str] | None:
    if entry is None or entry.state is State.FAILED:
        return None
    if entry.state is State.SENT:
        return ("already-sent", entry.updated.isoformat(timespec="minutes"))
    if resend:
        return None
    return ("skipped-unknown", entry.error or "outcome unknown; pass --resend to send it again")


def _send_one(ws: Workspace, mailer: Mailer, item: Outgoing, resend: bool) -> tuple[Outcome, str]:
    """Claim, hand over and record one message; the second value, when not empty, is why the
    run must stop here."""
    ledger = ws.ledger
    key = item.key
    claim = ledger.claim(
        key, str(item.message["Message-ID"]), item.subject, ws.now(), resend=resend
    )
    if not claim.granted:
        # Another process took it between our look and our claim.
        blocked = _blocked(claim.existing, resend) or ("skipped-unknown", "claimed by another run")
        return Outcome(key.recipient, key.kind, *blocked), ""
    try:
        result = mailer.send(item.message, thread_id=item.thread_id)
    except DeliveryError as exc:
        if exc.stop:
            ledger.mark_failed(key, exc.message, ws.now())
            return Outcome(key.recipient, key.kind, "held", exc.message), exc.message
        if exc.definite:
            ledger.mark_failed(key, exc.message, ws.now())
            return Outcome(key.recipient, key.kind, "failed", exc.message), ""
        ledger.mark_unknown(key, exc.message, ws.now())
        return Outcome(key.recipient, key.kind, "unknown", exc.message), ""
    except PdmailError as exc:
        # Not about this message (a lost connection, a login refused): it may have left.
        ledger.mark_unknown(key, exc.message, ws.now())
        return Outcome(key.recipient, key.kind, "unknown", exc.message), exc.message
    except Exception as exc:
        # The mailer broke in a way it did not classify: the message may have left.
        msg = f"{type(exc).__name__}: {exc}"
        ledger.mark_unknown(key, msg, ws.now())
        raise BackendError(
            f"{mailer.__class__.__name__} failed unexpectedly for {key.recipient} ({msg})",
            hint="the message is recorded as unknown; check the mailbox, then pdmail status",
        ) from exc
    ledger.mark_sent(key, result, ws.now())
    return Outcome(key.recipient, key.kind, "sent"), ""
