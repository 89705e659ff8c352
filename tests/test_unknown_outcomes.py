"""Messages whose outcome is unknown: what pdmail records and says about them, the exit code
of every command while one is unsettled, sending them again, and settling them by hand.

Real folders and SQLite ledger; real mailers (aiosmtpd on 127.0.0.1, the loopback Gmail fake)
where the cause of the unknown comes from the wire.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, time, timezone
from email.message import EmailMessage
from types import TracebackType

import pytest
from click.testing import CliRunner, Result
from conftest import ANN, MARIA, RAJ, SAM, Project, answer, read_eml
from fakes.gmail_server import FakeGmail
from fakes.slow_smtp import SlowSmtp
from google.oauth2.credentials import Credentials

from pdmail import cycles
from pdmail.backends import Mailer
from pdmail.backends.google.gmail import GmailMailer
from pdmail.backends.google.http import RetryPolicy
from pdmail.backends.outbox import OutboxMailer
from pdmail.backends.smtp import SmtpMailer
from pdmail.cli.commands import main
from pdmail.config.records import Config
from pdmail.cycle.delivery import CAUSE_MAILER_ERROR, CAUSE_UNEXPECTED, explain, unsettled
from pdmail.cycle.steps import send_requests
from pdmail.errors import BackendError, PdmailError
from pdmail.mail.compose import message_id
from pdmail.models import MessageKey, SendResult
from pdmail.state.ledger import INTERRUPTED, Ledger
from pdmail.state.runlock import RunLock
from pdmail.workspace import Workspace

CAMPAIGN = "monthly-update"
LIBRARIAN = "librarian@school.example.org"
WHEN = datetime(2026, 12, 1, 13, 30, tzinfo=timezone.utc)


def key(recipient: str = ANN, kind: str = "request", cycle: str = "2026-12") -> MessageKey:
    return MessageKey(CAMPAIGN, cycle, recipient, kind)


def mid(k: MessageKey) -> str:
    return message_id(k, "school.example.org")


def ledger(project: Project) -> Ledger:
    return Ledger(project.folder / ".pdmail" / "ledger.sqlite3")


def leave_pending(project: Project, k: MessageKey, mailer: str) -> None:
    """The ledger as a run killed between handing ``k`` over and recording it leaves it."""
    with ledger(project) as book:
        assert book.claim(k, mid(k), "Subject", WHEN, mailer=mailer).granted


def leave_unknown(project: Project, k: MessageKey, mailer: str, error: str, cause: str) -> None:
    with ledger(project) as book:
        assert book.claim(k, mid(k), "Subject", WHEN, mailer=mailer).granted
        book.mark_unknown(k, error, WHEN, cause=cause)


def cli(project: Project, *args: str, today: str = "2026-12-01") -> Result:
    result = CliRunner().invoke(
        main, [*args, "--config", str(project.config_path), "--today", today]
    )
    assert "Traceback" not in result.output and "Internal error" not in result.output
    return result


def states(project: Project) -> dict[tuple[str, str, str], str]:
    path = project.folder / ".pdmail" / "ledger.sqlite3"
    with sqlite3.connect(str(path)) as db:
        found = db.execute("SELECT cycle, recipient, kind, state FROM messages").fetchall()
    return {(c, r, k): s for c, r, k, s in found}


# -- what is said about an unknown outcome ------------------------------------------------------


def test_an_interrupted_gmail_send_is_explained_and_every_command_exits_1(
    project: Project,
) -> None:
    leave_pending(project, key(), "gmail")
    search = f"rfc822msgid:{mid(key()).strip('<>')}"

    status = cli(project, "status")
    assert status.exit_code == 1, status.output
    assert f"UNKNOWN {ANN} (request, 2026-12): {INTERRUPTED}" in status.output
    settle = f"pdmail resolve --cycle 2026-12 --kind request {ANN} --sent"
    assert search in status.output and settle in status.output

    dry = cli(project, "send", "--dry-run")
    assert dry.exit_code == 1 and project.sent() == []

    sent = cli(project, "send")
    assert sent.exit_code == 1, sent.output
    assert "Sent 3 requests" in sent.output
    # Said once, in the report, with what is known and where to look.
    assert sent.output.count(f"UNKNOWN {ANN}") == 1
    assert INTERRUPTED in sent.output and search in sent.output and settle in sent.output
    assert "--resend" in sent.output
    assert states(project)[("2026-12", ANN, "request")] == "unknown"

    as_json = cli(project, "status", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["attention"][0]["key"]["recipient"] == ANN

    nothing_due = cli(project, "run", today="2026-12-02")
    assert nothing_due.exit_code == 1
    assert len(project.sent()) == 3


class Failing:
    """The outbox mailer, except that the first message raises ``error``."""

    name = "outbox"

    def __init__(self, outbox: object, error: Exception) -> None:
        self.inner = OutboxMailer(outbox)  # type: ignore[arg-type]
        self.error: Exception | None = error

    def __enter__(self) -> Failing:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def send(self, message: EmailMessage, *, thread_id: str | None = None) -> SendResult:
        error, self.error = self.error, None
        if error is not None:
            raise error
        return self.inner.send(message, thread_id=thread_id)


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail() as server:
        yield server
        assert server.errors == []


@pytest.fixture
def slow() -> Iterator[SlowSmtp]:
    with SlowSmtp() as server:
        yield server


def _gmail(fake: FakeGmail, timeout: float = 5) -> Callable[[Config], Mailer]:
    return lambda cfg: GmailMailer(
        Credentials(token="test"),  # type: ignore[no-untyped-call]
        base_url=fake.base_url,
        policy=RetryPolicy(attempts=2, sleep=lambda s: None),
        timeout=timeout,
        trust_env=False,
    )


GMAIL_FAULTS = [
    pytest.param({"status": 500, "store_first": True}, 5, "Gmail answered 500 after receiving "
                 "the message", id="gmail-500-after-storing"),
    pytest.param({"status": 503}, 5, "Gmail answered 503 after receiving the message",
                 id="gmail-503"),
    pytest.param({"store_first": True, "drop": True}, 5, "the connection to Gmail dropped "
                 "after the message was handed over", id="gmail-dropped"),
    pytest.param({"store_first": True, "delay": 2}, 0.3, "Gmail did not answer within 0.3 s "
                 "after receiving the message", id="gmail-no-answer"),
]  # fmt: skip


def _first_run(project: Project, factory: Callable[[Config], Mailer]) -> list[tuple[str, str]]:
    config = project.config()
    ws = Workspace(
        config,
        mailer_factory=factory,
        clock=lambda: datetime.combine(date(2026, 12, 1), time(7, 30), config.timezone),
    )
    with ws:
        report = send_requests(ws, cycles.cycle(config, "2026-12"))
    return [(o.result, f"{o.cause} | {o.find}") for o in report.outcomes]


def _recorded(project: Project, recipient: str = ANN) -> tuple[str, str, str]:
    with ledger(project) as book:
        entry = book.get(key(recipient))
    assert entry is not None
    return entry.state.value, entry.cause, entry.mailer


@pytest.mark.parametrize(("fault", "timeout", "cause"), GMAIL_FAULTS)
def test_gmail_unknowns_record_what_is_known_and_the_search_that_finds_them(
    project: Project, fake: FakeGmail, fault: dict[str, object], timeout: float, cause: str
) -> None:
    fake.fail_next(**fault)  # type: ignore[arg-type]
    outcomes = _first_run(project, _gmail(fake, timeout))

    assert outcomes[0] == ("unknown", f"{cause} | search the sending account's Gmail (Sent) for "
                           f"rfc822msgid:{mid(key()).strip('<>')}")  # fmt: skip
    assert [r for r, _ in outcomes[1:]] == ["sent"] * 3
    assert _recorded(project) == ("unknown", cause, "gmail")


def test_an_smtp_connection_dropped_after_data_is_recorded_as_such(
    project: Project, slow: SlowSmtp
) -> None:
    slow.handler.drop_on_data = True

    class DropOnce(SmtpMailer):
        """Drops the connection after the first message's data only."""

        def send(self, message: EmailMessage, *, thread_id: str | None = None) -> SendResult:
            try:
                return super().send(message, thread_id=thread_id)
            finally:
                slow.handler.drop_on_data = False

    outcomes = _first_run(
        project, lambda cfg: DropOnce("127.0.0.1", slow.port, security="none", timeout=5)
    )

    cause = "the connection dropped after the message was handed over"
    assert outcomes[0][0] == "unknown" and outcomes[0][1].startswith(cause + " | ")
    assert f"for the Message-ID {mid(key())}" in outcomes[0][1]
    assert _recorded(project) == ("unknown", cause, "smtp")
    assert len(slow.handler.swallowed) == 1 and len(slow.received) == 3


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (BackendError("SMTP x:25: the connection was reset"), CAUSE_MAILER_ERROR),
        (RuntimeError("socket exploded"), CAUSE_UNEXPECTED),
    ],
)
def test_failures_the_mailer_did_not_classify_say_so(
    project: Project, error: Exception, cause: str
) -> None:
    config = project.config()
    ws = Workspace(
        config,
        mailer_factory=lambda cfg: Failing(cfg.mail.outbox, error),
        clock=lambda: datetime.combine(date(2026, 12, 1), time(7, 30), config.timezone),
    )
    raised: AbstractContextManager[object] = (
        pytest.raises(PdmailError) if isinstance(error, RuntimeError) else nullcontext()
    )
    with ws, raised:
        send_requests(ws, cycles.cycle(config, "2026-12"))
    assert _recorded(project)[:2] == ("unknown", cause)
    with ledger(project) as book:
        entry = book.get(key())
    assert entry is not None
    text = explain(entry)
    assert text.startswith(cause) and str(error) in text
    assert f"outbox folder for the file with Message-ID {mid(key())}" in text


# -- any cycle, any kind ------------------------------------------------------------------------


def test_an_unknown_digest_of_last_month_fails_this_months_send_until_resolved(
    project: Project,
) -> None:
    digest = key(LIBRARIAN, "digest", "2026-11")
    leave_unknown(project, digest, "smtp", "SMTP x:25: connection lost", "the connection "
                  "dropped after the message was handed over")  # fmt: skip

    sent = cli(project, "send")
    assert sent.exit_code == 1, sent.output
    assert "Sent 4 requests" in sent.output
    assert "1 message has an unknown outcome:" in sent.output
    assert (f"UNKNOWN {LIBRARIAN} (digest, 2026-11): the connection dropped after the message "
            "was handed over (SMTP x:25: connection lost)") in sent.output  # fmt: skip

    resolved = cli(project, "resolve", "--cycle", "2026-11", "--kind", "digest", "--sent",
                   LIBRARIAN)  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    assert "recorded as sent" in resolved.output
    assert states(project)[("2026-11", LIBRARIAN, "digest")] == "sent"
    assert cli(project, "status").exit_code == 0
    again = cli(project, "send")
    assert again.exit_code == 0 and "unknown" not in again.output.lower()


def test_another_campaigns_unknowns_are_its_own(project: Project) -> None:
    other = MessageKey("pd-survey", "2026-12", ANN, "request")
    with ledger(project) as book:
        book.claim(other, "<x@school.example.org>", "S", WHEN, mailer="outbox")
        book.mark_unknown(other, "lost", WHEN)
    assert cli(project, "status").exit_code == 0


def test_a_message_in_flight_in_another_run_is_not_called_unknown(project: Project) -> None:
    leave_pending(project, key(), "outbox")
    state = project.config().state
    with RunLock(state, wait=0):
        # Another run holds the lock: its pending row is in flight, not unknown.
        assert cli(project, "status").exit_code == 0
        with Workspace(project.config()) as ws:
            assert unsettled(ws) == []
    assert cli(project, "status").exit_code == 1


# -- sending again and settling by hand -------------------------------------------------------


def _answers_saved_after_the_requests(project: Project) -> None:
    project.write_responses([answer(RAJ, "12/2/2026 9:00:00")])
    saved = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc).timestamp()
    os.utime(project.responses_path, (saved, saved))


def test_an_unknown_reminder_is_reported_and_resent_only_with_resend(project: Project) -> None:
    assert cli(project, "send").exit_code == 0
    _answers_saved_after_the_requests(project)
    reminder = key(ANN, "reminder-1")
    leave_unknown(project, reminder, "outbox", "SMTP x:25: timed out", "the server stopped "
                  "answering after the message was handed over")  # fmt: skip

    first = cli(project, "remind", today="2026-12-07")
    assert first.exit_code == 1, first.output
    assert f"UNKNOWN {ANN} (reminder-1, 2026-12)" in first.output
    assert "the server stopped answering after the message was handed over" in first.output
    assert sorted(project.sent_to("reminder-1")) == [MARIA, SAM]

    resent = cli(project, "remind", "--resend", "--only", ANN, today="2026-12-07")
    assert resent.exit_code == 0, resent.output
    assert sorted(project.sent_to("reminder-1")) == [ANN, MARIA, SAM]
    path = project.outbox / "2026-12" / f"reminder-1-{ANN}.eml"
    assert str(read_eml(path)["Message-ID"]) == mid(reminder)  # the same message again
    assert states(project)[("2026-12", ANN, "reminder-1")] == "sent"
    assert cli(project, "remind", today="2026-12-07").exit_code == 0
    assert sorted(project.sent_to("reminder-1")) == [ANN, MARIA, SAM]


def test_resolve_not_sent_lets_the_next_run_send_it(project: Project) -> None:
    leave_unknown(project, key(), "outbox", "lost", "the connection dropped")
    assert cli(project, "send").exit_code == 1
    assert ANN not in project.sent_to("request")

    settled = cli(project, "resolve", "--not-sent", "ANN@School.Example.org ")
    assert settled.exit_code == 0, settled.output
    assert states(project)[("2026-12", ANN, "request")] == "failed"

    again = cli(project, "send")
    assert again.exit_code == 0, again.output
    assert sorted(project.sent_to("request")) == sorted([ANN, RAJ, MARIA, SAM])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sent", RAJ], "it is sent, so there is no unknown outcome to resolve"),
        (["--sent", "nobody@school.example.org"], "nothing was recorded"),
        ([ANN], "say what you found: --sent"),
        (["--kind", "requets", "--sent", ANN], "--kind: 'requets' is not a message kind"),
        (["--kind", "reminder", "--sent", ANN], "--kind: 'reminder' is not a message kind"),
    ],
)
def test_resolve_refuses_what_it_cannot_settle(
    project: Project, args: list[str], message: str
) -> None:
    assert cli(project, "send", "--only", RAJ).exit_code == 0
    leave_unknown(project, key(), "outbox", "lost", "the connection dropped")
    result = cli(project, "resolve", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert states(project)[("2026-12", ANN, "request")] == "unknown"


def test_the_daily_job_logs_unknown_outcomes(project: Project) -> None:
    from pdmail.cycle.scheduler import daily_job

    leave_unknown(project, key(LIBRARIAN, "digest", "2026-11"), "gmail", "lost", "dropped")
    # The job runs on the real clock: a campaign that runs neither this month nor last sends
    # nothing and needs no export, whatever today is.
    quiet_month = (date.today().month + 5) % 12 + 1
    project.write_config({"calendar": {"months": [quiet_month]}})
    logs: list[str] = []
    daily_job(project.config_path, logs.append)
    assert logs and logs[-1].endswith("; 1 message with an unknown outcome (pdmail status)")


def test_resolve_changes_nothing_when_one_of_several_cannot_be_settled(project: Project) -> None:
    leave_unknown(project, key(ANN), "outbox", "lost", "the connection dropped")
    leave_unknown(project, key(MARIA), "outbox", "lost", "the connection dropped")
    result = cli(project, "resolve", "--sent", ANN, RAJ, MARIA)
    assert result.exit_code == 2, result.output
    assert f"{RAJ} (request, 2026-12): nothing was recorded" in result.output
    assert "nothing was changed" in result.output
    assert {r: s for (_, r, _), s in states(project).items()} == {ANN: "unknown", MARIA: "unknown"}

    both = cli(project, "resolve", "--sent", ANN, MARIA)
    assert both.exit_code == 0, both.output
    assert both.output.count("recorded as sent") == 2
    assert set(states(project).values()) == {"sent"}


def test_an_unknown_digest_is_sent_again_with_resend(project: Project) -> None:
    assert cli(project, "send").exit_code == 0
    _answers_saved_after_the_requests(project)
    digest = key(LIBRARIAN, "digest")
    leave_unknown(project, digest, "outbox", "lost", "the connection dropped")

    run = cli(project, "run", today="2026-12-11")
    assert run.exit_code == 1, run.output
    assert f"UNKNOWN {LIBRARIAN} (digest, 2026-12)" in run.output
    assert project.sent_to("digest") == []

    again = cli(project, "digest", "--send", "--resend", today="2026-12-11")
    assert again.exit_code == 0, again.output
    assert project.sent_to("digest") == [LIBRARIAN]
    [path] = project.outbox.rglob("digest-*.eml")
    assert str(read_eml(path)["Message-ID"]) == mid(digest)
    assert cli(project, "status", today="2026-12-11").exit_code == 0


@pytest.mark.parametrize("unknown", [[ANN], [ANN, RAJ]])
def test_a_send_left_only_with_unknowns_says_so_rather_than_sent_0(
    project: Project, unknown: list[str]
) -> None:
    assert cli(project, "send").exit_code == 0
    with ledger(project) as book:
        for who in unknown:
            k = key(who)
            book.mark_unknown(k, "no answer", WHEN, cause="the server stopped answering")
    result = cli(project, "send")
    assert result.exit_code == 1
    assert "Sent 0" not in result.output
    n = len(unknown)
    left = "the 1 request left has" if n == 1 else f"the {n} requests left have"
    assert f"{left} an unknown outcome" in result.output
