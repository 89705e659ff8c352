"""GmailMailer through the real googleapiclient against a loopback Gmail fake.

Every test drives the real client library and pdmail's own transport over HTTP to
``tests/fakes/gmail_server.py``; faults (429, 5xx, a dropped connection after the message was
stored, a hang) are injected there. Credentials are ``Credentials(token="test")``, and retry
waits go to a recorder instead of ``time.sleep``.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import Project, answer
from fakes.gmail_server import FakeGmail
from google.oauth2.credentials import Credentials

from pdmail.backends import make_mailer
from pdmail.backends.google.auth import GMAIL_SCOPE
from pdmail.backends.google.gmail import GmailMailer, discovery_document
from pdmail.backends.google.http import RetryPolicy
from pdmail.cli.commands import main
from pdmail.errors import BackendError, DeliveryError
from pdmail.mail.compose import address, compose, message_id
from pdmail.models import LedgerEntry, MessageKey, State
from pdmail.state.ledger import Ledger

SCHOOL = "school.example.org"
WHEN = datetime(2026, 12, 1, 7, 30, tzinfo=timezone.utc)


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail() as server:
        yield server
        assert server.errors == []


class Recorder:
    """A RetryPolicy whose waits are recorded, not slept."""

    def __init__(self, attempts: int = 3) -> None:
        self.sleeps: list[float] = []
        self.policy = RetryPolicy(attempts=attempts, base=0.5, cap=4.0, sleep=self.sleeps.append)


def gmail(
    fake: FakeGmail,
    recorder: Recorder | None = None,
    *,
    token: str = "test",
    timeout: float = 5.0,
) -> GmailMailer:
    return GmailMailer(
        Credentials(token=token),  # type: ignore[no-untyped-call]
        base_url=fake.base_url,
        policy=(recorder or Recorder()).policy,
        timeout=timeout,
        trust_env=False,
    )


def request_message(
    to: str = "ann@school.example.org",
    name: str = "Ann Lee",
    kind: str = "request",
    subject: str = "What is coming up in December?",
) -> Any:
    key = MessageKey("monthly-update", "2026-12", to, kind)
    return compose(
        sender=address("Lib Rarian", f"librarian@{SCHOOL}"),
        to=address(name, to),
        subject=subject,
        text=f"Hello {name},\n\nFrom the library: tell us what you need.\n.a dotted line\n",
        html=f"<p>Hello {name},</p>\n<p>Tell us what you need.</p>\n",
        message_id=message_id(key, SCHOOL),
        date=WHEN,
    )


def reminder_message(first: Any, to: str = "ann@school.example.org") -> Any:
    key = MessageKey("monthly-update", "2026-12", to, "reminder-1")
    return compose(
        sender=address("Lib Rarian", f"librarian@{SCHOOL}"),
        to=address("Ann Lee", to),
        subject=f"Re: {first['Subject']}",
        text="A gentle reminder.\n",
        html="<p>A gentle reminder.</p>\n",
        message_id=message_id(key, SCHOOL),
        date=WHEN,
        in_reply_to=str(first["Message-ID"]),
    )


def wire(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


# -- the happy path ----------------------------------------------------------------------------


def test_one_request_per_message_and_a_reminder_lands_in_the_same_thread(
    fake: FakeGmail,
) -> None:
    first = request_message()
    second = reminder_message(first)
    with gmail(fake) as mailer:
        sent = mailer.send(first)
        again = mailer.send(second, thread_id=sent.thread_id)
        assert mailer.http is not None and mailer.http.calls == 2

    # Two HTTP requests in all: no discovery fetch, no hidden retry.
    assert [r.line for r in fake.requests] == ["POST /gmail/v1/users/me/messages/send"] * 2
    assert "threadId" not in fake.sends[0].body
    assert fake.sends[1].body["threadId"] == sent.thread_id
    request_stored, reminder_stored = fake.stored
    assert sent.message_id == first["Message-ID"]
    assert (sent.provider_id, sent.thread_id) == (request_stored.id, request_stored.thread_id)
    assert (again.provider_id, again.thread_id) == (reminder_stored.id, request_stored.thread_id)
    assert reminder_stored.parsed()["In-Reply-To"] == first["Message-ID"]
    assert reminder_stored.parsed()["References"] == first["Message-ID"]


def test_the_stored_mime_is_what_pdmail_built(fake: FakeGmail) -> None:
    subject = "Café – what is coming up? " + "x" * 80
    message = request_message("zoe@school.example.org", "Zoë Ångström", subject=subject)
    with gmail(fake) as mailer:
        mailer.send(message)
    [stored] = fake.stored

    assert stored.raw == wire(message)  # byte for byte, CRLF line ends as on the wire
    got, built = stored.parsed(), message
    assert [(k, str(v)) for k, v in got.items()] == [(k, str(v)) for k, v in built.items()]
    assert got["Subject"] == "Café – what is coming up? " + "x" * 80
    assert got["To"].addresses[0].display_name == "Zoë Ångström"
    got_parts, built_parts = list(got.iter_parts()), list(built.iter_parts())
    assert [p.get_content_type() for p in got_parts] == ["text/plain", "text/html"]
    for mine, theirs in zip(got_parts, built_parts, strict=True):
        assert [(k, str(v)) for k, v in mine.items()] == [(k, str(v)) for k, v in theirs.items()]
        assert mine.get_content().replace("\r\n", "\n") == theirs.get_content()


def test_a_message_id_as_thread_is_not_sent_as_a_gmail_thread_id(fake: FakeGmail) -> None:
    # The ledger's thread of a request sent through another footing is its Message-ID.
    first = request_message()
    with gmail(fake) as mailer:
        result = mailer.send(reminder_message(first), thread_id=str(first["Message-ID"]))
    assert "threadId" not in fake.sends[0].body
    assert result.thread_id == fake.stored[0].thread_id


# -- rate limits: refused before accepting, so waited for and tried again ---------------------


def test_429_then_success_honours_retry_after(fake: FakeGmail) -> None:
    fake.fail_next(429, retry_after=7)
    recorder = Recorder()
    with gmail(fake, recorder) as mailer:
        result = mailer.send(request_message())
    assert len(fake.sends) == 2
    assert [m.id for m in fake.stored] == [result.provider_id]
    assert recorder.sleeps == [7.0]


def test_403_user_rate_limit_is_waited_for_with_backoff(fake: FakeGmail) -> None:
    fake.fail_next(403, reason="userRateLimitExceeded", count=2)
    recorder = Recorder(attempts=3)
    with gmail(fake, recorder) as mailer:
        mailer.send(request_message())
    assert len(fake.sends) == 3 and len(fake.stored) == 1
    assert len(recorder.sleeps) == 2
    assert 0 <= recorder.sleeps[0] <= 0.5 and 0 <= recorder.sleeps[1] <= 1.0


def test_429_forever_is_definite_after_the_policy_attempts(fake: FakeGmail) -> None:
    fake.fail_next(429, count=10)
    recorder = Recorder(attempts=3)
    with gmail(fake, recorder) as mailer, pytest.raises(DeliveryError) as caught:
        mailer.send(request_message())
    error = caught.value
    assert error.definite is True
    assert len(fake.sends) == 3 and len(recorder.sleeps) == 2
    assert fake.stored == []
    text = str(error)
    assert "Gmail API" in text and "429" in text and "rateLimitExceeded" in text
    assert "ann@school.example.org" in text and "tried 3 times" in text
    assert error.hint and "mail.per_minute" in error.hint


# -- refusals: definite, never retried ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "hint"),
    [
        (400, "invalidArgument", "rejected the message"),
        (403, "insufficientPermissions", "gmail.send"),
        (403, "forbidden", "pdmail auth"),
        (404, "notFound", "librarian.email"),
    ],
)
def test_a_refusal_is_definite_and_not_retried(
    fake: FakeGmail, status: int, reason: str, hint: str
) -> None:
    fake.fail_next(status, reason=reason)
    recorder = Recorder()
    with gmail(fake, recorder, token="ya29.secret-token") as mailer:
        with pytest.raises(DeliveryError) as caught:
            mailer.send(request_message())
        mailer.send(request_message("raj@school.example.org"))  # the next one still goes
    error = caught.value
    assert error.definite is True
    assert len(fake.sends) == 2 and len(fake.stored) == 1 and recorder.sleeps == []
    text = str(error)
    assert f"Gmail API: message to ann@school.example.org not sent: {status} {reason}" in text
    assert error.hint and hint in error.hint
    assert "ya29.secret-token" not in text


def test_a_message_gmail_finds_invalid_is_definite(fake: FakeGmail) -> None:
    # A script's own message (pdmail's own would be refused before it left, see
    # test_header_safety.py), so that Gmail is the one to find it invalid.
    message = email.message_from_bytes(request_message().as_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    del message["To"]
    message["To"] = "undisclosed-recipients:;"
    with gmail(fake) as mailer, pytest.raises(DeliveryError) as caught:
        mailer.send(message)
    assert caught.value.definite is True
    assert "400" in str(caught.value) and "Recipient address required" in str(caught.value)


def test_a_refused_token_is_definite_with_an_auth_hint() -> None:
    with FakeGmail(token="the-right-one") as fake:
        with gmail(fake, token="ya29.wrong-token") as mailer, pytest.raises(DeliveryError) as err:
            mailer.send(request_message())
        assert fake.stored == []
    error = err.value
    assert error.definite is True
    text = str(error)
    assert "Gmail API: message to ann@school.example.org not sent: 401 authError" in text
    assert error.hint and "pdmail auth" in error.hint
    assert "ya29.wrong-token" not in str(error)


# -- the daily cap: the run stops -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"), [(403, "dailyLimitExceeded"), (429, "quotaExceeded")]
)
def test_the_daily_sending_limit_stops_the_run(fake: FakeGmail, status: int, reason: str) -> None:
    fake.fail_next(status, reason=reason, count=5)
    recorder = Recorder()
    with gmail(fake, recorder) as mailer, pytest.raises(DeliveryError) as caught:
        mailer.send(request_message())
    # Gmail refused it: certainly not sent (retried on a later run), and nothing more today.
    assert caught.value.definite and caught.value.stop
    assert len(fake.sends) == 1 and recorder.sleeps == []
    assert f"{status} {reason}" in str(caught.value) and "Gmail API" in str(caught.value)
    assert caught.value.hint and "tomorrow" in caught.value.hint


# -- unknown outcomes: never retried -----------------------------------------------------------


@pytest.mark.parametrize(("status", "store_first"), [(500, False), (503, False), (500, True)])
def test_a_5xx_is_unknown_and_not_retried(fake: FakeGmail, status: int, store_first: bool) -> None:
    fake.fail_next(status, store_first=store_first)
    recorder = Recorder()
    with gmail(fake, recorder) as mailer, pytest.raises(DeliveryError) as caught:
        mailer.send(request_message())
    error = caught.value
    assert error.definite is False
    assert len(fake.sends) == 1 and recorder.sleeps == []
    assert len(fake.stored) == int(store_first)
    assert f"{status} backendError" in str(error) and "ann@school.example.org" in str(error)
    assert error.hint and "Sent folder" in error.hint


def test_stored_then_dropped_is_unknown_and_sent_exactly_once(fake: FakeGmail) -> None:
    """The hidden second send: Gmail kept the message, then the line died before the answer."""
    fake.fail_next(store_first=True, drop=True)
    with gmail(fake) as mailer:
        with pytest.raises(DeliveryError) as caught:
            mailer.send(request_message())
        assert mailer.http is not None and mailer.http.calls == 1
    assert caught.value.definite is False
    assert "connection lost" in str(caught.value)
    assert len(fake.sends) == 1
    assert len(fake.stored) == 1  # the transport never sent it again


def test_httplib2_the_default_transport_would_have_sent_it_twice(fake: FakeGmail) -> None:
    """The same fault through googleapiclient's default transport (httplib2): it re-sends the
    POST by itself and the teacher gets two copies. If GmailMailer's transport were swapped
    back to httplib2, the test above would fail the way this one succeeds."""
    from googleapiclient.discovery import build_from_document

    service = build_from_document(
        discovery_document(fake.base_url),
        credentials=Credentials(token="test"),  # type: ignore[no-untyped-call]
    )
    fake.fail_next(store_first=True, drop=True)
    raw = base64.urlsafe_b64encode(wire(request_message())).decode()
    service.users().messages().send(userId="me", body={"raw": raw}).execute(num_retries=0)
    assert len(fake.sends) == 2
    first, second = fake.stored
    assert first.id != second.id and first.raw == second.raw  # one message, delivered twice


def test_no_answer_within_the_timeout_is_unknown(fake: FakeGmail) -> None:
    fake.fail_next(store_first=True, delay=3)
    with gmail(fake, timeout=0.3) as mailer, pytest.raises(DeliveryError) as caught:
        mailer.send(request_message())
    assert caught.value.definite is False
    assert "no answer within 0.3 s" in str(caught.value)
    assert len(fake.sends) == 1


def test_a_refused_connection_is_definite() -> None:
    # Bound but not listening: connecting is refused, and no other process can take the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        mailer = GmailMailer(
            Credentials(token="test"),  # type: ignore[no-untyped-call]
            base_url=f"http://127.0.0.1:{port}",
            timeout=5,
            trust_env=False,
        )
        with mailer, pytest.raises(DeliveryError) as caught:
            mailer.send(request_message())
    assert caught.value.definite is True
    assert "could not connect" in str(caught.value) and "refused" in str(caught.value)


def test_send_outside_with_raises(fake: FakeGmail) -> None:
    with pytest.raises(BackendError, match="outside"):
        gmail(fake).send(request_message())
    assert fake.requests == []


# -- configuration -----------------------------------------------------------------------------

TOKEN = "ya29.pdmail-test-access-token"


def gmail_project(project: Project, fake: FakeGmail, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PDMAIL_GOOGLE_ENDPOINT", raising=False)
    token_file = project.folder / "secrets" / "token.json"
    token_file.parent.mkdir(mode=0o700)
    token_file.write_text(
        json.dumps(
            {
                "token": TOKEN,
                "refresh_token": "1//pdmail-test-refresh",
                "client_id": "pdmail-test.apps.googleusercontent.com",
                "client_secret": "GOCSPX-pdmail-test",
                "token_uri": "https://oauth2.googleapis.com/token",
                "scopes": [GMAIL_SCOPE],
                "expiry": "2099-01-01T00:00:00Z",  # far off: no refresh is attempted
            }
        ),
        encoding="utf-8",
    )
    token_file.chmod(0o600)
    project.write_config(
        {
            "mail": {"kind": "gmail"},
            "google": {"token_file": str(token_file), "endpoints": {"gmail": fake.base_url}},
        }
    )
    return project.config_path


def test_make_mailer_builds_a_gmail_mailer_from_the_config(
    project: Project, fake: FakeGmail, monkeypatch: pytest.MonkeyPatch
) -> None:
    gmail_project(project, fake, monkeypatch)
    mailer = make_mailer(project.config())
    assert isinstance(mailer, GmailMailer)
    assert mailer.base_url == fake.base_url and mailer.trust_env is True
    assert mailer.credentials.token == TOKEN
    assert TOKEN not in repr(mailer)

    monkeypatch.setenv("PDMAIL_GOOGLE_ENDPOINT", "http://127.0.0.1:9/")
    other = make_mailer(project.config())
    assert isinstance(other, GmailMailer) and other.base_url == "http://127.0.0.1:9"


# -- a whole month through pdmail's own commands -------------------------------------------


def run(config: Path, *args: str, today: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--config", str(config), "--today", today])
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pdmail raised {result.exception!r}\n{result.output}")
    assert TOKEN not in result.output
    return result


def ledger(project: Project) -> dict[tuple[str, str], LedgerEntry]:
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as book:
        return {(e.key.recipient, e.key.kind): e for e in book.entries("monthly-update")}


def test_a_whole_month_over_gmail(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeGmail(token=TOKEN) as fake:
        config = gmail_project(project, fake, monkeypatch)

        sent = run(config, "send", today="2026-12-01")
        assert sent.exit_code == 0, sent.output
        requests = {m.parsed()["To"].addresses[0].addr_spec: m for m in fake.stored}
        assert sorted(requests) == [
            "ann@school.example.org",
            "maria@school.example.org",
            "raj@school.example.org",
            "sam@school.example.org",
        ]
        entries = ledger(project)
        for teacher, stored in requests.items():
            entry = entries[(teacher, "request")]
            assert entry.state is State.SENT
            assert (entry.provider_id, entry.thread_id) == (stored.id, stored.thread_id)
            assert entry.message_id == stored.parsed()["Message-ID"]

        project.write_responses([answer("ann@school.example.org", "12/2/2026 9:00:00")])
        reminded = run(config, "remind", today="2026-12-07")
        assert reminded.exit_code == 0, reminded.output
        reminders = fake.stored[4:]
        assert len(reminders) == 3
        entries = ledger(project)
        for stored in reminders:
            parsed = stored.parsed()
            teacher = parsed["To"].addresses[0].addr_spec
            first = requests[teacher]
            assert stored.thread_id == first.thread_id
            assert parsed["In-Reply-To"] == first.parsed()["Message-ID"]
            assert str(parsed["Subject"]).startswith("Re: ")
            entry = entries[(teacher, "reminder-1")]
            assert (entry.provider_id, entry.thread_id) == (stored.id, first.thread_id)
        assert "ann@school.example.org" not in {
            m.parsed()["To"].addresses[0].addr_spec for m in reminders
        }

        digest = run(config, "digest", "--send", today="2026-12-11")
        assert digest.exit_code == 0, digest.output
        [mailed] = fake.stored[7:]
        assert mailed.parsed()["To"].addresses[0].addr_spec == "librarian@school.example.org"
        assert ledger(project)[("librarian@school.example.org", "digest")].provider_id == mailed.id

        # Again, the same days: the ledger has it all; Gmail is not called.
        calls = len(fake.requests)
        assert run(config, "send", today="2026-12-01").exit_code == 0
        assert run(config, "remind", today="2026-12-07").exit_code == 0
        assert run(config, "digest", "--send", today="2026-12-11").exit_code == 0
        assert len(fake.requests) == calls
        assert len(fake.stored) == 8
        assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
        assert fake.errors == []


def test_send_records_unknown_for_a_dropped_answer_and_never_resends_it(
    project: Project, fake: FakeGmail, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = gmail_project(project, fake, monkeypatch)
    fake.fail_next(store_first=True, drop=True)

    first = run(config, "send", today="2026-12-01")
    assert first.exit_code == 1, first.output
    assert len(fake.sends) == 4 and len(fake.stored) == 4  # one each, the dropped one included
    lost = fake.stored[0].parsed()["To"].addresses[0].addr_spec
    entries = ledger(project)
    assert entries[(lost, "request")].state is State.UNKNOWN
    assert "Gmail API" in entries[(lost, "request")].error
    others = [e for (who, _), e in entries.items() if who != lost]
    assert len(others) == 3 and all(e.state is State.SENT for e in others)
    assert f"UNKNOWN {lost}" in first.output

    second = run(config, "send", today="2026-12-02")
    assert len(fake.sends) == 4  # Gmail was not called again for that teacher
    assert ledger(project)[(lost, "request")].state is State.UNKNOWN
    assert f"UNKNOWN {lost}" in second.output and "--resend" in second.output


def test_send_stops_the_run_at_the_daily_sending_limit(
    project: Project, fake: FakeGmail, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = gmail_project(project, fake, monkeypatch)
    fake.fail_next(403, reason="dailyLimitExceeded", count=10)

    result = run(config, "send", today="2026-12-01")
    assert result.exit_code == 1, result.output
    assert len(fake.sends) == 1 and fake.stored == []  # the rest were not even tried
    assert "Stopped:" in result.output and "403 dailyLimitExceeded" in result.output
    # Everyone, the refused one included, is left for the next run: Gmail took none of them.
    assert "4 left for a later run" in result.output
    fake.clear_faults()
    rerun = run(config, "send", today="2026-12-02")
    assert rerun.exit_code == 0, rerun.output
    assert len(fake.stored) == 4 and "Sent 4 requests" in rerun.output
