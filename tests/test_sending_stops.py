"""A run that cannot go on stops cleanly: Gmail's sending limit, a rate limit that keeps
coming, a hung SMTP server. What is left is held for the next run, with no ledger row of its
own (neither failed nor unknown), and nothing is sent twice.

Real components: aiosmtpd and a silent socket on 127.0.0.1 (tests/fakes/slow_smtp.py), the
loopback Gmail fake with Gmail's own error envelope (tests/fakes/gmail_server.py), the real
SQLite ledger.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta, timezone

import pytest
from click.testing import CliRunner
from conftest import Project
from fakes.gmail_server import FakeGmail
from fakes.slow_smtp import SilentSocket, SlowSmtp
from google.oauth2.credentials import Credentials

from pdmail import cycles
from pdmail.backends import Mailer
from pdmail.backends.google.auth import GMAIL_SCOPE
from pdmail.backends.google.gmail import GmailMailer
from pdmail.backends.google.http import RetryPolicy
from pdmail.backends.smtp import SmtpMailer
from pdmail.cli.commands import main
from pdmail.config.records import Config
from pdmail.cycle.delivery import DeliveryReport
from pdmail.cycle.steps import send_requests
from pdmail.errors import DeliveryError
from pdmail.workspace import Workspace

ACTIVE = [
    "ann@school.example.org",
    "raj@school.example.org",
    "maria@school.example.org",
    "sam@school.example.org",
]
SEND = date(2026, 12, 1)


def workspace(project: Project, factory: Callable[[Config], Mailer]) -> Workspace:
    config = project.config()
    return Workspace(
        config,
        mailer_factory=factory,
        clock=lambda: datetime.combine(SEND, time(7, 30), config.timezone),
    )


def run_requests(project: Project, factory: Callable[[Config], Mailer]) -> DeliveryReport:
    with workspace(project, factory) as ws:
        return send_requests(ws, cycles.cycle(ws.config, "2026-12"))


def rows(project: Project) -> dict[str, tuple[str, str]]:
    """``{recipient: (state, cause)}`` straight from the SQLite file."""
    path = project.config().state / "ledger.sqlite3"
    if not path.exists():
        return {}
    with sqlite3.connect(str(path)) as db:
        found = db.execute("SELECT recipient, state, cause FROM messages").fetchall()
    return {r: (s, c) for r, s, c in found}


def results(report: DeliveryReport) -> list[tuple[str, str]]:
    return [(o.recipient, o.result) for o in report.outcomes]


# -- a hung SMTP server --------------------------------------------------------------------------


@pytest.fixture
def slow() -> Iterator[SlowSmtp]:
    with SlowSmtp() as server:
        yield server


def smtp(server: SlowSmtp | SilentSocket, timeout: float = 0.5) -> Callable[[Config], Mailer]:
    return lambda cfg: SmtpMailer("127.0.0.1", server.port, security="none", timeout=timeout)


def test_a_server_hung_before_data_stops_after_two_timeouts_and_holds_the_rest(
    project: Project, slow: SlowSmtp
) -> None:
    slow.handler.hang_on_mail = True

    report = run_requests(project, smtp(slow))

    # Two tries (one per message, none repeated), then the run stops; nothing left.
    assert slow.handler.mails == 2
    assert results(report) == [(r, "held") for r in ACTIVE]
    assert "2 messages in a row timed out" in report.stopped
    assert report.note == "4 messages left will go on the next run"
    assert report.ok is False
    assert rows(project) == {}  # neither failed nor unknown: simply not sent yet

    slow.handler.hang_on_mail = False
    again = run_requests(project, smtp(slow))
    assert results(again) == [(r, "sent") for r in ACTIVE]
    assert len(slow.received) == 4
    assert rows(project) == {r: ("sent", "") for r in ACTIVE}


def test_a_server_hung_after_data_leaves_two_unknown_and_never_resends_them(
    project: Project, slow: SlowSmtp
) -> None:
    slow.handler.hang_on_data = True

    report = run_requests(project, smtp(slow))

    hung = "the server stopped answering after the message was handed over"
    assert results(report) == [
        (ACTIVE[0], "unknown"),
        (ACTIVE[1], "unknown"),
        (ACTIVE[2], "held"),
        (ACTIVE[3], "held"),
    ]
    assert [o.cause for o in report.outcomes[:2]] == [hung, hung]
    assert all("Message-ID <pdmail." in o.find for o in report.outcomes[:2])
    assert "2 messages in a row timed out" in report.stopped
    assert rows(project) == {ACTIVE[0]: ("unknown", hung), ACTIVE[1]: ("unknown", hung)}
    assert len(slow.handler.swallowed) == 2

    slow.handler.hang_on_data = False
    again = run_requests(project, smtp(slow))
    assert results(again) == [
        (ACTIVE[0], "skipped-unknown"),
        (ACTIVE[1], "skipped-unknown"),
        (ACTIVE[2], "sent"),
        (ACTIVE[3], "sent"),
    ]
    assert again.outcomes[0].cause == hung
    assert len(slow.received) == 2  # the two unknown ones were not sent again


def test_one_timeout_between_answers_does_not_stop_the_run(
    project: Project, slow: SlowSmtp
) -> None:
    sends: list[int] = []

    class HangOnce(SmtpMailer):
        def send(self, message, *, thread_id=None):  # type: ignore[no-untyped-def]
            sends.append(1)
            slow.handler.hang_on_mail = len(sends) == 2
            return super().send(message, thread_id=thread_id)

    report = run_requests(
        project, lambda cfg: HangOnce("127.0.0.1", slow.port, security="none", timeout=0.5)
    )
    assert results(report) == [
        (ACTIVE[0], "sent"),
        (ACTIVE[1], "held"),
        (ACTIVE[2], "sent"),
        (ACTIVE[3], "sent"),
    ]
    assert report.stopped == "" and report.ok
    assert "no answer within 0.5 s" in report.outcomes[1].detail
    assert rows(project) == {r: ("sent", "") for r in (ACTIVE[0], ACTIVE[2], ACTIVE[3])}


def test_a_server_that_never_greets_fails_the_run_before_anything_is_claimed(
    project: Project,
) -> None:
    with SilentSocket() as silent:
        project.write_config(
            {
                "mail": {
                    "kind": "smtp",
                    "smtp": {
                        "host": "127.0.0.1",
                        "port": silent.port,
                        "security": "none",
                        "timeout": 1,
                    },
                }
            }
        )
        result = CliRunner().invoke(
            main, ["send", "--config", str(project.config_path), "--today", "2026-12-01"]
        )
        assert silent.accepted == 1
    assert result.exit_code == 5, result.output
    assert f"SMTP 127.0.0.1:{silent.port}" in result.output
    assert "could not connect: no answer within 1 s" in result.output
    assert "the server is hung or overloaded" in result.output
    assert "Traceback" not in result.output
    assert rows(project) == {}


# -- Gmail's sending limit and its rate limit ---------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail() as server:
        yield server
        assert server.errors == []


def gmail(fake: FakeGmail, sleeps: list[float], attempts: int = 3) -> Callable[[Config], Mailer]:
    policy = RetryPolicy(attempts=attempts, base=0.5, cap=4.0, sleep=sleeps.append)
    return lambda cfg: GmailMailer(
        Credentials(token="test"),  # type: ignore[no-untyped-call]
        base_url=fake.base_url,
        policy=policy,
        timeout=5,
        trust_env=False,
    )


def _later(hours: float) -> tuple[datetime, str]:
    when = (datetime.now(timezone.utc) + timedelta(hours=hours)).replace(microsecond=0)
    return when, when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


LIMIT_AT, LIMIT_TEXT = _later(5)

# (status, reason, message, Retry-After header, resume time the run reports)
SENDING_LIMITS = [
    pytest.param(
        429,
        "rateLimitExceeded",
        f"User-rate limit exceeded.  Retry after {LIMIT_TEXT} (Mail sending)",
        None,
        LIMIT_AT,
        id="429-user-rate-mail-sending-retry-after-time",
    ),
    pytest.param(
        429,
        "userRateLimitExceeded",
        "Mail sending limit exceeded",
        None,
        None,
        id="429-user-rate-mail-sending-limit",
    ),
    pytest.param(403, "dailyLimitExceeded", None, None, None, id="403-daily-limit"),
    pytest.param(
        429,
        "quotaExceeded",
        "Quota exceeded for quota metric 'Daily sending'.",
        None,
        None,
        id="429-daily-sending-quota",
    ),
    pytest.param(
        429,
        "rateLimitExceeded",
        f"User-rate limit exceeded.  Retry after {LIMIT_TEXT}",
        None,
        LIMIT_AT,
        id="429-retry-after-hours-away",
    ),
    pytest.param(
        429, "rateLimitExceeded", None, "7200", "header", id="429-retry-after-header-two-hours"
    ),
]


@pytest.mark.parametrize(("status", "reason", "message", "header", "resume"), SENDING_LIMITS)
def test_the_sending_limit_stops_the_run_at_once(
    project: Project,
    fake: FakeGmail,
    status: int,
    reason: str,
    message: str | None,
    header: str | None,
    resume: datetime | str | None,
) -> None:
    fake.fail_next(status, reason=reason, message=message, retry_after=header, count=50)
    sleeps: list[float] = []

    report = run_requests(project, gmail(fake, sleeps))

    assert len(fake.sends) == 1 and sleeps == []  # no grinding: one request, no waiting
    assert results(report) == [(r, "held") for r in ACTIVE]
    assert f"{status} {reason}" in report.stopped
    assert rows(project) == {}  # nothing failed, nothing unknown
    if resume is None:
        assert report.note == (
            "4 messages left will go on the next run once the sending limit resets "
            "(usually tomorrow)"
        )
    else:
        assert report.note.startswith("4 messages left will go on the next run after ")
        when = datetime.strptime(report.note.rsplit("after ", 1)[1], "%Y-%m-%d %H:%M")
        expected = (
            resume
            if isinstance(resume, datetime)
            else datetime.now(timezone.utc) + timedelta(seconds=7200)
        )
        local = expected.astimezone(project.config().timezone).replace(tzinfo=None)
        assert abs(when - local) < timedelta(minutes=2)

    fake.clear_faults()
    again = run_requests(project, gmail(fake, sleeps))
    assert results(again) == [(r, "sent") for r in ACTIVE]
    assert len(fake.stored) == 4


def test_a_per_minute_429_is_waited_for_and_not_taken_for_the_sending_limit(
    project: Project, fake: FakeGmail
) -> None:
    fake.fail_next(
        429,
        reason="rateLimitExceeded",
        message="Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per "
        "user' of service 'gmail.googleapis.com'",
        retry_after=2,
    )
    sleeps: list[float] = []
    report = run_requests(project, gmail(fake, sleeps))
    assert results(report) == [(r, "sent") for r in ACTIVE]
    assert sleeps == [2.0] and report.stopped == ""


def test_429s_that_keep_coming_stop_after_three_messages(project: Project, fake: FakeGmail) -> None:
    fake.fail_next(429, count=100)
    sleeps: list[float] = []

    report = run_requests(project, gmail(fake, sleeps, attempts=3))

    # The first message gets every try; the next ones, with the limit still on, two each.
    assert len(fake.sends) == 3 + 2 + 2
    assert len(sleeps) == 2 + 1 + 1
    assert results(report) == [(r, "held") for r in ACTIVE]
    assert "3 messages in a row were turned away (rate limit)" in report.stopped
    assert report.note == "4 messages left will go on the next run"
    assert rows(project) == {}
    assert fake.stored == []


def test_429s_that_stop_coming_let_the_run_go_on(project: Project, fake: FakeGmail) -> None:
    fake.fail_next(429, count=3)  # exactly one message's worth of tries
    sleeps: list[float] = []

    report = run_requests(project, gmail(fake, sleeps, attempts=3))

    assert results(report) == [
        (ACTIVE[0], "held"),
        (ACTIVE[1], "sent"),
        (ACTIVE[2], "sent"),
        (ACTIVE[3], "sent"),
    ]
    assert report.stopped == "" and report.ok
    assert "tried 3 times" in report.outcomes[0].detail
    assert sorted(rows(project)) == sorted(ACTIVE[1:])

    again = run_requests(project, gmail(fake, sleeps))
    assert dict(results(again)) == {ACTIVE[0]: "sent"} | dict.fromkeys(ACTIVE[1:], "already-sent")
    assert len(fake.stored) == 4


def test_the_mailer_says_when_and_why_it_stops(fake: FakeGmail) -> None:
    from pdmail.mail.compose import address, compose

    message = compose(
        sender=address("Lib", "librarian@school.example.org"),
        to=address("Ann", "ann@school.example.org"),
        subject="s",
        text="t\n",
        html="<p>t</p>\n",
        message_id="<pdmail.test@school.example.org>",
        date=datetime(2026, 12, 1, tzinfo=timezone.utc),
    )
    fake.fail_next(429, message=f"User-rate limit exceeded.  Retry after {LIMIT_TEXT}")
    with gmail(fake, [])(None) as mailer, pytest.raises(DeliveryError) as caught:  # type: ignore[arg-type]
        mailer.send(message)
    error = caught.value
    assert error.definite and error.stop and error.resume_after == LIMIT_AT
    assert error.hint and "tomorrow" in error.hint


def test_the_sending_limit_through_the_command_line(
    project: Project, fake: FakeGmail, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PDMAIL_GOOGLE_ENDPOINT", raising=False)
    token = project.folder / "token.json"
    token.write_text(
        json.dumps(
            {
                "token": "ya29.test",
                "refresh_token": "1//r",
                "client_id": "c.apps.googleusercontent.com",
                "client_secret": "s",
                "token_uri": "https://oauth2.googleapis.com/token",
                "scopes": [GMAIL_SCOPE],
                "expiry": "2099-01-01T00:00:00Z",
            }
        ),
        encoding="utf-8",
    )
    token.chmod(0o600)
    project.write_config(
        {
            "mail": {"kind": "gmail"},
            "google": {"token_file": str(token), "endpoints": {"gmail": fake.base_url}},
        }
    )
    fake.fail_next(429, message=f"User-rate limit exceeded.  Retry after {LIMIT_TEXT}", count=9)
    argv = ["send", "--config", str(project.config_path), "--today", "2026-12-01"]

    result = CliRunner().invoke(main, argv)

    assert result.exit_code == 1, result.output
    assert len(fake.sends) == 1
    assert "4 messages left will go on the next run after " in result.output
    assert "Stopped:" in result.output and "429" in result.output
    assert "FAILED" not in result.output and "UNKNOWN" not in result.output
    assert rows(project) == {}

    fake.clear_faults()
    again = CliRunner().invoke(main, argv)
    assert again.exit_code == 0, again.output
    assert len(fake.stored) == 4


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.4.5 Daily user sending limit exceeded",
        "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
        "451 4.7.0 Too many messages, slow down",
    ],
)
def test_an_smtp_sending_limit_stops_the_run_and_holds_everyone(
    project: Project, slow: SlowSmtp, reply: str
) -> None:
    slow.handler.mail_reply = reply

    report = run_requests(project, smtp(slow))

    assert slow.handler.mails == 1  # not tried again, and no other message tried
    assert results(report) == [(r, "held") for r in ACTIVE]
    assert "the server's sending limit is reached" in report.stopped
    assert reply.split(" ", 1)[0] in report.stopped
    assert report.note.startswith("4 messages left will go on the next run once the sending")
    assert rows(project) == {}

    slow.handler.mail_reply = ""
    assert results(run_requests(project, smtp(slow))) == [(r, "sent") for r in ACTIVE]


def test_an_ordinary_smtp_refusal_is_still_one_failed_message(
    project: Project, slow: SlowSmtp
) -> None:
    slow.handler.mail_reply = "550 5.7.1 Sender address rejected: not owned by user"
    report = run_requests(project, smtp(slow))
    assert [r for _, r in results(report)] == ["failed"] * 4 and report.stopped == ""
    assert {s for s, _ in rows(project).values()} == {"failed"}


def test_a_gmail_endpoint_that_cannot_be_reached_stops_at_the_first_message(
    project: Project,
) -> None:
    import socket

    with socket.socket() as sock:  # bound, not listening: connecting is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        factory: Callable[[Config], Mailer] = lambda cfg: GmailMailer(  # noqa: E731
            Credentials(token="test"),  # type: ignore[no-untyped-call]
            base_url=f"http://127.0.0.1:{port}",
            timeout=5,
            trust_env=False,
        )
        report = run_requests(project, factory)
    assert results(report) == [(r, "held") for r in ACTIVE]
    assert report.stopped.startswith("the mail server cannot be reached: Gmail API")
    assert "could not connect" in report.stopped
    assert report.note == "4 messages left will go on the next run"
    assert rows(project) == {}


def test_an_smtp_server_gone_between_messages_stops_the_run(project: Project) -> None:
    server = SlowSmtp().__enter__()

    class StopsAfterFirst(SmtpMailer):
        def send(self, message, *, thread_id=None):  # type: ignore[no-untyped-def]
            result = super().send(message, thread_id=thread_id)
            server.__exit__(None, None, None)  # the server goes away for good
            return result

    try:
        report = run_requests(
            project,
            lambda cfg: StopsAfterFirst("127.0.0.1", server.port, security="none", timeout=2),
        )
    finally:
        server.__exit__(None, None, None)
    assert results(report) == [(ACTIVE[0], "sent")] + [(r, "held") for r in ACTIVE[1:]]
    assert "reconnecting failed" in report.stopped
    assert rows(project) == {ACTIVE[0]: ("sent", "")}


def test_gmail_that_stops_answering_stops_the_run_after_two(
    project: Project, fake: FakeGmail
) -> None:
    fake.fail_next(store_first=True, delay=2, count=2)
    factory: Callable[[Config], Mailer] = lambda cfg: GmailMailer(  # noqa: E731
        Credentials(token="test"),  # type: ignore[no-untyped-call]
        base_url=fake.base_url,
        timeout=0.3,
        trust_env=False,
    )
    report = run_requests(project, factory)
    assert results(report) == [
        (ACTIVE[0], "unknown"),
        (ACTIVE[1], "unknown"),
        (ACTIVE[2], "held"),
        (ACTIVE[3], "held"),
    ]
    assert "2 messages in a row timed out" in report.stopped
    assert len(fake.sends) == 2
    cause = "Gmail did not answer within 0.3 s after receiving the message"
    assert rows(project) == {ACTIVE[0]: ("unknown", cause), ACTIVE[1]: ("unknown", cause)}


def test_a_later_step_of_the_same_run_does_not_ask_gmail_again(
    project: Project, fake: FakeGmail
) -> None:
    fake.fail_next(429, reason="dailyLimitExceeded", message="Daily Limit Exceeded", count=50)
    with workspace(project, gmail(fake, [])) as ws:
        cycle = cycles.cycle(ws.config, "2026-12")
        first = send_requests(ws, cycle)
        second = send_requests(ws, cycle)  # as a tick's next step would
    assert len(fake.sends) == 1
    assert results(second) == [(r, "held") for r in ACTIVE]
    assert second.stopped.startswith("not tried, as the run stopped earlier: Gmail API")
    assert second.note == first.note and "usually tomorrow" in second.note
    assert rows(project) == {}

    # A new run (a new workspace) asks again.
    fake.clear_faults()
    assert results(run_requests(project, gmail(fake, []))) == [(r, "sent") for r in ACTIVE]
