"""A property of delivery under any mix of mailer failures: nothing is ever delivered twice,
and after one healthy run every message is either sent exactly once or recorded as unknown.

Each example plays several runs against a real SQLite ledger and the real outbox mailer,
wrapped so that each hand-over may instead be refused, lost after or before it left, time
out, be turned away by a rate limit, or meet the provider's sending limit.
"""

from __future__ import annotations

import collections
import tempfile
from datetime import date, datetime, time
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType

import pytest
from conftest import Project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdmail import cycles
from pdmail.backends.outbox import OutboxMailer
from pdmail.cycle.steps import send_requests
from pdmail.errors import DeliveryError
from pdmail.models import SendResult, State
from pdmail.workspace import Workspace

BEHAVIOURS = ["ok", "refused", "lost-after", "lost-before", "timeout", "throttled", "limit"]
TEACHERS = 5


class Scripted:
    """The outbox mailer, each hand-over behaving as the script says (then "ok")."""

    name = "outbox"

    def __init__(self, outbox: Path, script: list[str], delivered: collections.Counter[str]):
        self.inner = OutboxMailer(outbox)
        self.script = list(script)
        self.delivered = delivered

    def __enter__(self) -> Scripted:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def send(self, message: EmailMessage, *, thread_id: str | None = None) -> SendResult:
        to = str(message["To"].addresses[0].addr_spec)
        what = self.script.pop(0) if self.script else "ok"
        if what in ("ok", "lost-after"):
            result = self.inner.send(message, thread_id=thread_id)
            self.delivered[to] += 1
            if what == "ok":
                return result
            raise DeliveryError("lost after DATA", definite=False, cause="dropped after")
        if what == "lost-before":
            raise DeliveryError("lost, maybe after", definite=False, cause="dropped")
        if what == "refused":
            raise DeliveryError("550 no", definite=True)
        if what == "timeout":
            raise DeliveryError("no answer", definite=True, transient="timeout")
        if what == "throttled":
            raise DeliveryError("429", definite=True, transient="throttled")
        raise DeliveryError("daily limit", definite=True, stop=True)


@pytest.mark.slow
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    runs=st.lists(
        st.lists(st.sampled_from(BEHAVIOURS), max_size=TEACHERS + 2), min_size=1, max_size=4
    )
)
def test_no_script_of_failures_delivers_twice_or_loses_a_message(runs: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(Path(tmp))
        project.write_config()
        emails = [f"t{i}@school.example.org" for i in range(TEACHERS)]
        project.write_roster([[e, f"T{i}", "X", "Grade 6", "yes"] for i, e in enumerate(emails)])
        config = project.config()
        delivered: collections.Counter[str] = collections.Counter()

        for day, script in enumerate([*runs, []], start=1):  # the last run is healthy
            mailer = Scripted(config.mail.outbox, script, delivered)
            when = datetime.combine(date(2026, 12, min(day, 7)), time(7, 30), config.timezone)
            ws = Workspace(
                config,
                mailer_factory=lambda cfg, m=mailer: m,  # type: ignore[misc]
                clock=lambda t=when: t,  # type: ignore[misc]
            )
            with ws:
                before = {e.key.recipient: e for e in ws.ledger.entries("monthly-update")}
                report = send_requests(ws, cycles.cycle(config, "2026-12"))
                entries = {e.key.recipient: e for e in ws.ledger.entries("monthly-update")}
            # A held message leaves the ledger as it was: no failed or unknown row of its own.
            for o in report.outcomes:
                if o.result == "held":
                    assert entries.get(o.recipient) == before.get(o.recipient), o

        assert all(n <= 1 for n in delivered.values()), delivered
        for email in emails:
            entry = entries[email]
            assert entry.state in (State.SENT, State.UNKNOWN), entry
            if entry.state is State.SENT:
                assert delivered[email] == 1, (email, delivered)
