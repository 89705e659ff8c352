"""Microsoft 365 through MSAL and Graph against a loopback server over TLS.

The real MSAL and requests talk HTTPS to ``tests/fakes/microsoft_server.py``, whose certificate
comes from a ``trustme`` test CA that ``REQUESTS_CA_BUNDLE`` points at; the sign-in is a real
device-code flow (``pdmail auth --microsoft``) and every later run refreshes it silently.
Faults (429 with Retry-After, 5xx, a connection dropped after the message was stored) are
injected there. No test reaches the internet.
"""

from __future__ import annotations

import base64
import json
import ssl
import stat
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import Project, answer, ledger_entries, run_cli
from fakes.microsoft_server import CLIENT_ID, TENANT, USER, FakeMicrosoft

from pdmail.backends import make_mailer, make_source
from pdmail.backends.google.api import RetryPolicy
from pdmail.backends.microsoft.auth import TokenSource
from pdmail.backends.microsoft.graph import GraphMailer
from pdmail.errors import BackendError, ConfigError, DeliveryError
from pdmail.mail.compose import address, compose, message_id
from pdmail.models import MessageKey, State

SCHOOL = "school.example.org"
WHEN = datetime(2026, 12, 1, 7, 30, tzinfo=timezone.utc)
TEACHERS = sorted(
    ["ann@school.example.org", "raj@school.example.org", "maria@school.example.org",
     "sam@school.example.org"]
)  # fmt: skip


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ms(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMicrosoft]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with FakeMicrosoft(context) as server:
        yield server
        assert server.errors == []


def ms_config(project: Project, ms: FakeMicrosoft, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "mail": {"kind": "microsoft365"},
        "microsoft": {
            "tenant": TENANT,
            "client_id": CLIENT_ID,
            "token_file": "secrets/microsoft-token.json",
            "endpoints": {"login": ms.base_url, "graph": f"{ms.base_url}/v1.0"},
        },
    }
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value}
    project.write_config(data)
    return project.folder / "secrets" / "microsoft-token.json"


def sign_in(project: Project) -> Path:
    result = run_cli(project, "auth", "--microsoft")
    assert result.exit_code == 0, result.output
    assert "ABCD-EFGH" in result.output  # the device code to type elsewhere
    assert "refresh-" not in result.output  # never the refresh token
    path = project.folder / "secrets" / "microsoft-token.json"
    assert f"saved the sign-in to {path}" in result.output
    return path


def message(to: str = "ann@school.example.org", kind: str = "request") -> Any:
    key = MessageKey("monthly-update", "2026-12", to, kind)
    return compose(
        sender=address("Lib Rarian", f"librarian@{SCHOOL}"),
        to=address("Ann Lee", to),
        subject="What is coming up in December?",
        text="Hello Ann,\nFrom: the library\n",
        html="<p>Hello Ann</p>",
        message_id=message_id(key, SCHOOL),
        date=WHEN,
    )


class Recorder:
    def __init__(self, attempts: int = 3) -> None:
        self.sleeps: list[float] = []
        self.policy = RetryPolicy(attempts=attempts, base=0.5, cap=4.0, sleep=self.sleeps.append)


def mailer(project: Project, recorder: Recorder | None = None) -> GraphMailer:
    config = project.config()
    return GraphMailer(
        TokenSource(config),
        base_url=config.microsoft.endpoints.graph,
        policy=(recorder or Recorder()).policy,
        timeout=5,
    )


# -- the sign-in -----------------------------------------------------------------------------------


def test_auth_signs_in_once_with_a_device_code_and_keeps_it_owner_only(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    path = sign_in(project)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    cache = json.loads(path.read_text())
    assert cache["RefreshToken"]  # MSAL's cache, refresh token included
    [asked] = [r for r in ms.requests if r.path.endswith("/devicecode")]
    # Only what the config needs, and MSAL's own offline_access for the refresh token.
    scope = dict(urllib.parse.parse_qsl(asked.body.decode()))["scope"]
    assert set(scope.split()) == {"Mail.Send", "offline_access", "openid", "profile"}
    assert "TokenSource(" in repr(TokenSource(project.config()))
    assert "refresh-" not in repr(TokenSource(project.config()))


def test_auth_browser_signs_in_through_this_machines_browser(
    project: Project, ms: FakeMicrosoft, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import html
    import re
    import threading
    import webbrowser

    import requests

    visited: list[str] = []

    def browser(url: str, *args: Any, **kwargs: Any) -> bool:
        # The librarian's browser: Microsoft's page sends it back to MSAL's local server.
        def go() -> None:
            with requests.Session() as session:
                session.trust_env = False
                session.verify = str(tmp_path / "test-ca.pem")
                page = session.get(url, timeout=10).text
                found = re.search(r'action="([^"]+)"', page)
                assert found is not None, page
                action = html.unescape(found[1])
                fields = {
                    k: html.unescape(v)
                    for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', page)
                }
                visited.append(action)
                session.post(action, data=fields, timeout=10)

        threading.Thread(target=go, daemon=True).start()
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    ms_config(project, ms)
    result = run_cli(project, "auth", "--microsoft", "--browser")
    assert result.exit_code == 0, result.output
    assert f"Signed in as {USER}" in result.output
    assert "Mail.Send" in ms.authorize_scopes and "offline_access" in ms.authorize_scopes
    assert visited and visited[0].startswith("http://localhost:")
    path = project.folder / "secrets" / "microsoft-token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert TokenSource(project.config()).token(["Mail.Send"]) in ms.valid_tokens


def test_a_browser_sign_in_left_unfinished_gives_up_with_a_way_out(
    project: Project, ms: FakeMicrosoft, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    from pdmail.backends.microsoft import auth as msal_auth

    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: True)  # nobody signs in
    monkeypatch.setattr(msal_auth, "_BROWSER_WAIT", 1)
    ms_config(project, ms)
    result = run_cli(project, "auth", "--microsoft", "--browser")
    assert result.exit_code != 0
    assert "browser sign-in was not finished" in result.output
    assert "without --browser" in result.output


@pytest.mark.parametrize("error", ["invalid_grant", "expired_token", "authorization_declined"])
def test_a_failed_device_code_sign_in_saves_nothing(
    project: Project, ms: FakeMicrosoft, error: str
) -> None:
    ms.device_error = error
    path = ms_config(project, ms)
    result = run_cli(project, "auth", "--microsoft")
    assert result.exit_code != 0
    assert f"sign-in failed: {error} (AADSTS65001" in result.output
    assert "admin" in result.output
    assert not path.exists()


def test_plain_auth_on_a_microsoft_config_points_to_microsoft(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    result = run_cli(project, "auth")
    assert result.exit_code == 2
    assert "pdmail auth --microsoft" in result.output
    assert ms.requests == []
    browser = run_cli(project, "auth", "--browser")
    assert browser.exit_code == 2 and "--browser goes with --microsoft" in browser.output


def test_a_run_refreshes_the_sign_in_silently_and_saves_it(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms.expires_in = 60  # MSAL refreshes a token with less than five minutes left
    ms_config(project, ms)
    path = sign_in(project)
    before = path.read_text()
    tokens = TokenSource(project.config())
    token = tokens.token(["Mail.Send"])
    assert token in ms.valid_tokens
    assert path.read_text() != before  # the new refresh token is kept
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.username == USER


@pytest.mark.parametrize("broken", ["", "{not json", "[1, 2]"])
def test_a_broken_token_file_is_a_clear_error(
    project: Project, ms: FakeMicrosoft, broken: str
) -> None:
    path = ms_config(project, ms)
    path.parent.mkdir(mode=0o700)
    path.write_text(broken)
    path.chmod(0o600)
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code != 0
    assert "pdmail auth --microsoft" in result.output
    assert ms.sends == []
    sign_in(project)  # the way out it names works
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    assert len(ms.stored) == 4


def test_no_sign_in_in_cron_is_a_clear_error_with_the_command(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    result = run_cli(project, "run", today="2026-12-01")
    assert result.exit_code != 0
    assert "no Microsoft sign-in" in result.output
    assert "pdmail auth --microsoft" in result.output
    assert ms.sends == [] and ledger_entries(project) == []


def test_a_sign_in_microsoft_refuses_stops_the_run_before_any_message(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms.expires_in = 60
    ms_config(project, ms)
    sign_in(project)
    ms.revoked = True
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code != 0
    assert "invalid_grant" in result.output and "AADSTS700082" in result.output
    assert "pdmail auth --microsoft" in result.output
    assert ms.sends == []
    assert all(e.state is not State.SENT for e in ledger_entries(project))


def test_an_unreachable_sign_in_service_is_an_outage_not_a_dead_sign_in(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    sign_in(project)
    data = project.config_path.read_text().replace(
        f"login: {ms.base_url}", "login: https://127.0.0.1:9"
    )
    project.config_path.write_text(data)
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code != 0
    assert "did not answer" in result.output and "run the command again later" in result.output
    assert ms.sends == []


def test_a_token_file_readable_by_others_is_refused(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    path = sign_in(project)
    path.chmod(0o644)
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code != 0
    assert "readable by others" in result.output and "chmod 600" in result.output
    assert ms.sends == []
    # Signing in again replaces it, owner-only.
    sign_in(project)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0


# -- sending ---------------------------------------------------------------------------------------


def test_send_hands_graph_pdmails_own_mime_and_a_reminder_threads(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    sign_in(project)
    first = message()
    reminder = compose(
        sender=address("Lib Rarian", f"librarian@{SCHOOL}"),
        to=address("Ann Lee", "ann@school.example.org"),
        subject="Re: What is coming up in December?",
        text="A gentle reminder.\n",
        html="<p>A gentle reminder.</p>",
        message_id=message_id(
            MessageKey("monthly-update", "2026-12", "ann@school.example.org", "reminder-1"),
            SCHOOL,
        ),
        in_reply_to=str(first["Message-ID"]),
        date=WHEN,
    )
    with mailer(project) as graph:
        sent = graph.send(first)
        again = graph.send(reminder, thread_id=sent.thread_id)
    assert sent.message_id == first["Message-ID"] == sent.thread_id
    assert again.thread_id == sent.thread_id
    [one, two] = ms.stored
    assert one.user == "/me"
    assert one.mime == first.as_bytes(policy=first.policy.clone(linesep="\r\n"))
    assert ms.sends[0].headers["content-type"] == "text/plain"
    parsed = two.parsed()
    assert parsed["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in parsed["References"]
    assert "From: the library" in one.parsed().get_body(("plain",)).get_content()


def test_429_with_retry_after_is_waited_for_then_sent_once(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.fail_next(429, code="ApplicationThrottled", headers={"Retry-After": "7"})
    ms.fail_next(429, code="MailboxConcurrency", headers={"Retry-After": "7"})  # a passing limit
    recorder = Recorder(attempts=3)
    with mailer(project, recorder) as graph:
        graph.send(message())
    assert recorder.sleeps == [7.0, 7.0]
    assert len(ms.sends) == 3 and len(ms.stored) == 1


def test_429_past_the_policy_is_definite_and_throttled(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.fail_next(429, code="ApplicationThrottled", headers={"Retry-After": "1"}, count=5)
    with mailer(project, Recorder(attempts=2)) as graph, pytest.raises(DeliveryError) as caught:
        graph.send(message())
    err = caught.value
    assert err.definite and err.transient == "throttled" and not err.stop
    assert "Microsoft Graph" in err.message and "429 ApplicationThrottled" in err.message
    assert "tried 2 times" in err.message and ms.stored == []


@pytest.mark.parametrize(
    ("status", "code", "retry_after"),
    [
        (429, "ApplicationThrottled", "3600"),  # longer than a run waits
        (403, "ErrorMessageSubmissionBlocked", ""),
        (400, "ErrorExceededMessageLimit", ""),
        (507, "ErrorQuotaExceeded", ""),
    ],
)
def test_exchanges_sending_limit_stops_the_run_cleanly(
    project: Project, ms: FakeMicrosoft, status: int, code: str, retry_after: str
) -> None:
    ms_config(project, ms)
    sign_in(project)
    headers = {"Retry-After": retry_after} if retry_after else {}
    ms.fail_next(status, code=code, headers=headers, count=10)
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code == 1, result.output
    assert len(ms.sends) == 1 and ms.stored == []  # the rest were not tried
    assert "Stopped:" in result.output and code in result.output
    assert "4 left for a later run" in result.output
    ms.faults.clear()
    rerun = run_cli(project, "send", today="2026-12-02")
    assert rerun.exit_code == 0, rerun.output
    assert sorted(m.to for m in ms.stored) == TEACHERS


@pytest.mark.parametrize(
    ("status", "code", "hint", "stop"),
    [
        (400, "ErrorInvalidRecipients", "address in the roster", False),
        (401, "InvalidAuthenticationToken", "pdmail auth --microsoft", True),
        (403, "ErrorAccessDenied", "Mail.Send", True),
        (403, "ErrorSendAsDenied", "Send As", True),
        (404, "ErrorInvalidUser", "microsoft.mailbox", True),
    ],
)
def test_a_refusal_is_definite_and_not_retried(
    project: Project, ms: FakeMicrosoft, status: int, code: str, hint: str, stop: bool
) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.fail_next(status, code=code)
    with mailer(project) as graph, pytest.raises(DeliveryError) as caught:
        graph.send(message())
    # A refusal about the sign-in or the mailbox stops the run: no later message would pass.
    assert caught.value.definite and caught.value.stop is stop
    assert f"{status} {code}" in caught.value.message
    assert hint in (caught.value.hint or "")
    assert len(ms.sends) == 1


@pytest.mark.parametrize(("status", "store_first"), [(500, True), (503, False), (504, True)])
def test_a_5xx_is_unknown_and_never_sent_again(
    project: Project, ms: FakeMicrosoft, status: int, store_first: bool
) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.fail_next(status, code="ServiceUnavailable", store_first=store_first)
    with mailer(project) as graph, pytest.raises(DeliveryError) as caught:
        graph.send(message())
    assert not caught.value.definite
    assert f"Graph answered {status}" in caught.value.cause
    assert len(ms.sends) == 1


def test_a_permission_refused_stops_the_month_and_holds_every_message(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.fail_next(403, code="ErrorAccessDenied", count=10)
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code == 1, result.output
    assert len(ms.sends) == 1 and "Stopped:" in result.output
    assert "4 left for a later run" in result.output
    assert all(e.state not in (State.SENT, State.FAILED) for e in ledger_entries(project))


def test_a_dropped_answer_is_unknown_in_the_ledger_and_never_resent(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.fail_next(store_first=True, drop=True)
    first = run_cli(project, "send", today="2026-12-01")
    assert first.exit_code == 1, first.output
    assert len(ms.sends) == 4 and len(ms.stored) == 4  # one request each, the lost one too
    lost = ms.stored[0].to
    entries = {(e.key.recipient, e.key.kind): e for e in ledger_entries(project)}
    assert entries[(lost, "request")].state is State.UNKNOWN
    assert "Microsoft Graph" in entries[(lost, "request")].error
    assert f"UNKNOWN {lost}" in first.output and "Sent Items" in first.output
    second = run_cli(project, "send", today="2026-12-02")
    assert len(ms.sends) == 4  # Graph was not called again for that teacher
    assert f"UNKNOWN {lost}" in second.output and "--resend" in second.output


def test_no_answer_within_the_time_limit_is_unknown(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.fail_next(202, store_first=True, delay=3)
    graph = mailer(project)
    graph.timeout = 0.5
    with graph, pytest.raises(DeliveryError) as caught:
        graph.send(message())
    assert not caught.value.definite and caught.value.transient == "timeout"
    assert "did not answer within 0.5 s" in caught.value.cause
    assert len(ms.sends) == 1


def test_a_refused_connection_is_definite(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    sign_in(project)
    config = project.config()
    graph = GraphMailer(TokenSource(config), base_url="https://127.0.0.1:9/v1.0", timeout=5)
    with graph, pytest.raises(DeliveryError) as caught:
        graph.send(message())
    assert caught.value.definite and caught.value.transient == "unreachable"


def test_send_outside_with_raises(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    with pytest.raises(BackendError, match="outside"):
        mailer(project).send(message())


# -- a whole month through pdmail's own commands ---------------------------------------------------


def test_a_whole_month_over_microsoft_graph(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    sign_in(project)
    [signed_in] = [r.path for r in ms.requests if r.path.endswith("/token")]
    assert isinstance(make_mailer(project.config()), GraphMailer)

    sent = run_cli(project, "run", today="2026-12-01")
    assert sent.exit_code == 0, sent.output
    requests = {m.to: m for m in ms.stored}
    assert sorted(requests) == TEACHERS
    entries = {(e.key.recipient, e.key.kind): e for e in ledger_entries(project)}
    for teacher, stored in requests.items():
        entry = entries[(teacher, "request")]
        assert entry.state is State.SENT
        assert entry.message_id == stored.parsed()["Message-ID"]

    project.write_responses([answer("ann@school.example.org", "12/2/2026 9:00:00")])
    reminded = run_cli(project, "run", today="2026-12-07")
    assert reminded.exit_code == 0, reminded.output
    reminders = ms.stored[4:]
    assert sorted(m.to for m in reminders) == [t for t in TEACHERS if not t.startswith("ann")]
    for stored in reminders:
        parsed = stored.parsed()
        first = requests[stored.to].parsed()
        assert parsed["In-Reply-To"] == first["Message-ID"]
        assert first["Message-ID"] in parsed["References"]
        assert str(parsed["Subject"]).startswith("Re: ")

    digest = run_cli(project, "digest", "--send", today="2026-12-11")
    assert digest.exit_code == 0, digest.output
    assert ms.stored[-1].to == "librarian@school.example.org"

    # Again, the same days: the ledger has it all; Graph is not asked to send again.
    count = len(ms.stored)
    for day in ("2026-12-01", "2026-12-07"):
        assert run_cli(project, "run", today=day).exit_code == 0
    assert run_cli(project, "digest", "--send", today="2026-12-11").exit_code == 0
    assert len(ms.stored) == count and len(ms.sends) == count
    assert all(r.headers["authorization"].startswith("Bearer ") for r in ms.sends)
    # The token of the sign-in served every run (MSAL's cache): no sign-in request since.
    assert [r.path for r in ms.requests if r.path.endswith("/token")] == [signed_in]


# -- an app with application permissions (client credentials) --------------------------------------


def test_an_app_sends_as_the_mailbox_with_client_credentials(
    project: Project, ms: FakeMicrosoft, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PDMAIL_MS_SECRET", ms.secret)
    path = ms_config(
        project, ms, microsoft={"client_secret_env": "PDMAIL_MS_SECRET", "mailbox": USER}
    )
    auth = run_cli(project, "auth", "--microsoft")
    assert auth.exit_code == 0, auth.output
    assert "Mail.Send" in auth.output and "nothing was saved" in auth.output
    assert ms.secret not in auth.output
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code == 0, result.output
    assert {m.user for m in ms.stored} == {f"/users/{USER}"} and len(ms.stored) == 4
    assert not path.exists()  # an app keeps nothing on disk

    monkeypatch.setenv("PDMAIL_MS_SECRET", "wrong")
    refused = run_cli(project, "send", "--cycle", "2027-01", today="2027-01-05")
    assert refused.exit_code != 0
    assert "invalid_client" in refused.output and "PDMAIL_MS_SECRET" in refused.output


def test_doctor_reads_an_apps_roles(
    project: Project, ms: FakeMicrosoft, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PDMAIL_MS_SECRET", ms.secret)
    ms_config(project, ms, microsoft={"client_secret_env": "PDMAIL_MS_SECRET"})
    checks = doctor(project)
    assert (
        checks["sign-in"]["status"] == "ok" and "client credentials" in checks["sign-in"]["detail"]
    )
    assert checks["permissions"] == {
        **checks["permissions"], "status": "ok",
        "detail": "granted by Microsoft (roles): Mail.Send",
    }  # fmt: skip
    assert checks["mailbox"]["status"] == "ok" and f"/users/{USER}" in checks["mailbox"]["detail"]
    ms.roles = ["User.Read.All"]
    checks = doctor(project)
    assert checks["permissions"]["status"] == "fail"
    assert "application permission(s) Mail.Send" in checks["permissions"]["fix"]


def test_a_missing_secret_variable_names_it(
    project: Project, ms: FakeMicrosoft, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PDMAIL_MS_SECRET", raising=False)
    ms_config(project, ms, microsoft={"client_secret_env": "PDMAIL_MS_SECRET"})
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code != 0
    assert "PDMAIL_MS_SECRET is not set" in result.output


# -- doctor ----------------------------------------------------------------------------------------


def doctor(project: Project) -> dict[str, dict[str, str]]:
    result = run_cli(project, "doctor", "--json", today="2026-12-01")
    found = json.loads(result.output)
    checks = found["checks"] if isinstance(found, dict) else found
    return {c["name"]: c for c in checks}


def test_doctor_checks_the_sign_in_permissions_and_mailbox(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    path = sign_in(project)
    refreshes = sum(1 for r in ms.requests if b"grant_type=refresh_token" in r.body)
    checks = doctor(project)
    assert checks["sign-in"]["status"] == "ok"
    assert str(path) in checks["sign-in"]["detail"] and "refreshed" in checks["sign-in"]["detail"]
    # The refresh really happened: doctor asked Microsoft, not the file.
    assert sum(1 for r in ms.requests if b"grant_type=refresh_token" in r.body) == refreshes + 1
    assert checks["permissions"]["status"] == "ok"
    assert "Mail.Send" in checks["permissions"]["detail"]
    assert checks["mailbox"]["status"] == "ok" and USER in checks["mailbox"]["detail"]
    assert checks["mail"]["status"] == "skip" and "--send-test" in checks["mail"]["detail"]
    assert ms.sends == []


def test_doctor_send_test_hands_one_message_to_graph(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    sign_in(project)
    result = run_cli(project, "doctor", "--send-test", today="2026-12-01")
    assert "Exchange Online (Microsoft Graph) accepted a test message" in result.output
    [stored] = ms.stored
    assert stored.to == "librarian@school.example.org"
    assert ledger_entries(project) == []  # not a cycle message


@pytest.mark.parametrize(
    ("granted", "status", "words"),
    [
        ("User.Read", "fail", "missing Mail.Send"),
        ("Mail.Send Mail.ReadWrite", "warn", "more than pdmail needs (Mail.ReadWrite)"),
    ],
)
def test_doctor_reads_the_permissions_from_the_token(
    project: Project, ms: FakeMicrosoft, granted: str, status: str, words: str
) -> None:
    ms.scopes = granted
    ms_config(project, ms)
    sign_in(project)
    checks = doctor(project)
    assert checks["permissions"]["status"] == status
    assert words in checks["permissions"]["detail"] or words in checks["permissions"]["fix"]


def test_doctor_says_what_it_could_not_check(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.me_forbidden = True
    checks = doctor(project)
    assert checks["mailbox"]["status"] == "skip"
    assert checks["mailbox"]["detail"].startswith("not checked")


def test_doctor_without_a_sign_in_fails_with_the_command(
    project: Project, ms: FakeMicrosoft
) -> None:
    ms_config(project, ms)
    checks = doctor(project)
    assert checks["sign-in"]["status"] == "fail"
    assert "pdmail auth --microsoft" in checks["sign-in"]["fix"]
    assert checks["mail"]["status"] == "skip"


def test_doctor_tells_an_outage_from_a_refusal(project: Project, ms: FakeMicrosoft) -> None:
    ms_config(project, ms)
    sign_in(project)
    ms.token_outage = 5
    checks = doctor(project)
    assert checks["sign-in"]["status"] == "warn"
    assert "answered 503; try again later" in checks["sign-in"]["detail"]
    assert "status.cloud.microsoft" in checks["sign-in"]["fix"]


# -- the Form's responses workbook -----------------------------------------------------------------

FORMS_HEADER = ["ID", "Start time", "Completion time", "Email", "Name",
                "What units of study are coming up?", "How can the library help?",
                "Preferred format"]  # fmt: skip
DATE_FORMAT = "m/d/yyyy h:mm:ss"


def workbook_project(project: Project, ms: FakeMicrosoft) -> None:
    ms.scopes = "Files.Read.All"
    ms_config(
        project,
        ms,
        mail={"kind": "outbox"},
        sources={"kind": "microsoft365", "roster": "roster.csv",
                 "workbook": {"share_url": ms.share_url}},
        form={"columns": {"timestamp": "Completion time", "email": "Email"}},
    )  # fmt: skip
    # 2026-12-02 09:00:00 as Excel keeps it (days since 1899-12-30).
    ms.workbook["Form1"] = [
        list(FORMS_HEADER),
        [1, 46358.375, 46358.375, "ann@school.example.org", "Ann Lee", "Ecosystems",
         "Help with citations", "Small group"],
    ]  # fmt: skip
    ms.formats["Form1"] = [["General"] * 8, ["General", DATE_FORMAT, DATE_FORMAT] + ["@"] * 5]


def test_answers_are_read_from_the_forms_workbook(project: Project, ms: FakeMicrosoft) -> None:
    workbook_project(project, ms)
    sign_in(project)
    source = make_source(project.config())
    table = source.read_responses()
    assert table is not None
    assert table.header[:3] == ("ID", "Start time", "Completion time")
    assert table.rows[0][1][2] == "2026-12-02 09:00:00"
    assert "Form1" in table.origin
    shares = [r for r in ms.requests if "/shares/u!" in r.path]
    assert len(shares) == 1

    sent = run_cli(project, "send", today="2026-12-01")
    assert sent.exit_code == 0, sent.output
    reminded = run_cli(project, "remind", today="2026-12-07")
    assert reminded.exit_code == 0, reminded.output
    assert "ann@school.example.org" not in project.sent_to("reminder-1")
    assert len(project.sent_to("reminder-1")) == 3


def test_a_whole_month_on_microsoft_365_alone(project: Project, ms: FakeMicrosoft) -> None:
    """Graph mail and the Form's workbook on one sign-in: answers arrive in the workbook
    between runs, and nobody downloads anything."""
    workbook_project(project, ms)
    ms.scopes = "Mail.Send Files.Read.All"
    header, answered = ms.workbook["Form1"]
    ms.workbook["Form1"] = [header]  # nobody has answered yet
    data = project.config_path.read_text().replace("kind: outbox", "kind: microsoft365")
    project.config_path.write_text(data)
    sign_in(project)
    [asked] = [r for r in ms.requests if r.path.endswith("/devicecode")]
    assert {"Mail.Send", "Files.Read.All"} <= set(
        dict(urllib.parse.parse_qsl(asked.body.decode()))["scope"].split()
    )

    assert run_cli(project, "run", today="2026-12-01").exit_code == 0
    assert sorted(m.to for m in ms.stored) == TEACHERS
    ms.workbook["Form1"].append(answered)  # Ann answers the Form on the 2nd
    reminded = run_cli(project, "run", today="2026-12-07")
    assert reminded.exit_code == 0, reminded.output
    assert sorted(m.to for m in ms.stored[4:]) == [t for t in TEACHERS if t != answered[3]]
    digest = run_cli(project, "digest", "--send", today="2026-12-11")
    assert digest.exit_code == 0, digest.output
    assert ms.stored[-1].to == "librarian@school.example.org"
    body = ms.stored[-1].parsed().get_body(("plain",))
    assert body is not None and "citations" in body.get_content().lower()  # Ann's need
    assert [r.path for r in ms.requests if r.path.endswith("/token")] == [
        f"/{TENANT}/oauth2/v2.0/token"
    ]  # the one sign-in served every run


def test_doctor_checks_the_workbook_and_its_columns(project: Project, ms: FakeMicrosoft) -> None:
    workbook_project(project, ms)
    sign_in(project)
    checks = doctor(project)
    assert checks["permissions"]["status"] == "ok"
    assert "Files.Read.All" in checks["permissions"]["detail"]
    assert checks["responses"]["status"] == "ok", checks["responses"]
    assert "every configured column found" in checks["responses"]["detail"]

    ms.workbook["Form1"][0][2] = "Finished"
    checks = doctor(project)
    assert checks["responses"]["status"] == "fail"
    assert "Completion time" in checks["responses"]["detail"]


def test_the_workbook_by_its_ids_with_the_roster_in_a_sheet(
    project: Project, ms: FakeMicrosoft
) -> None:
    workbook_project(project, ms)
    workbook = {"drive_id": "b!drive1", "item_id": "ITEM1", "roster_sheet": "staff",
                "responses_sheet": "form1"}  # fmt: skip
    ms_config(project, ms, mail={"kind": "outbox"},
              sources={"kind": "microsoft365", "roster": None, "workbook": workbook},
              form={"columns": {"timestamp": "Completion time", "email": "Email"}})  # fmt: skip
    ms.workbook["Staff"] = [
        ["Email", "First Name", "Last Name", "Team", "Active"],
        ["ann@school.example.org", "Ann", "Lee", "Grade 6", "yes"],
        ["raj@school.example.org", "Raj", "Patel", "Grade 6", True],
    ]
    sign_in(project)
    source = make_source(project.config())
    roster = source.read_roster()
    assert [row[0] for _, row in roster.rows] == [
        "ann@school.example.org",
        "raj@school.example.org",
    ]
    assert roster.rows[1][1][4] == "TRUE" and "sheet 'Staff'" in roster.origin
    responses = source.read_responses()
    assert responses is not None and "sheet 'Form1'" in responses.origin
    assert not any("/shares/" in r.path for r in ms.requests)  # no link to look up
    ms.workbook["Form1"] = ms.workbook["Form1"][:1]  # no answer yet: both are asked
    sent = run_cli(project, "send", today="2026-12-01")
    assert sent.exit_code == 0, sent.output
    assert sorted(project.sent_to("request")) == [
        "ann@school.example.org",
        "raj@school.example.org",
    ]


def test_a_missing_sheet_names_the_sheets_there_are(project: Project, ms: FakeMicrosoft) -> None:
    workbook_project(project, ms)
    sign_in(project)
    data = project.config_path.read_text().replace(
        "share_url:", "responses_sheet: Answers\n    share_url:"
    )
    project.config_path.write_text(data)
    result = run_cli(project, "collect", today="2026-12-07")
    assert result.exit_code != 0
    assert "no sheet named 'Answers'" in result.output and "'Form1'" in result.output


# -- the config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (
            {"microsoft": {"tenant": None}},
            "microsoft.tenant: is required when mail.kind is microsoft365",
        ),
        (
            {"microsoft": {"client_id": "my-app"}},
            "microsoft.client_id: 'my-app' is not an application (client) id",
        ),
        (
            {"microsoft": {"endpoints": {"login": "http://127.0.0.1:1"}}},
            "microsoft.endpoints.login",
        ),
        ({"microsoft": {"tennant": "x"}}, "did you mean 'microsoft.tenant'"),
        (
            {"microsoft": {"tenant": "https://login.microsoftonline.com/lincoln"}},
            "microsoft.tenant: 'https://login.microsoftonline.com/lincoln' is not a tenant id",
        ),
        ({"microsoft": {"mailbox": "library office"}}, "microsoft.mailbox: 'library office'"),
        (
            {
                "sources": {
                    "kind": "microsoft365",
                    "workbook": {"share_url": "https://x", "item_id": "1"},
                }
            },
            "not both",
        ),
        (
            {"sources": {"kind": "microsoft365", "workbook": {"drive_id": "b!1"}}},
            "needs share_url",
        ),
        (
            {
                "sources": {
                    "kind": "microsoft365",
                    "roster": None,
                    "workbook": {"share_url": "https://x"},
                }
            },
            "sources.roster: is required when sources.kind is microsoft365",
        ),
        ({"sources": {"kind": "microsoft365"}}, "sources.workbook"),
        (
            {"sources": {"kind": "microsoft365", "workbook": {"share_url": "www.x.com"}}},
            "not an https link",
        ),
    ],
)
def test_config_errors_name_the_key(
    project: Project, ms: FakeMicrosoft, extra: dict[str, Any], words: str
) -> None:
    ms_config(project, ms, **extra)
    with pytest.raises(ConfigError) as caught:
        project.config()
    assert words in str(caught.value)


def test_msal_is_not_loaded_for_a_month_without_microsoft() -> None:
    code = (
        "import sys, pdmail.cli.commands, pdmail.backends.registry, pdmail.config.load; "
        "print('msal' in sys.modules, 'requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    importtime = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pdmail", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "msal" not in importtime.stderr


def test_the_share_id_is_graphs_encoding() -> None:
    from pdmail.backends.microsoft.workbook import share_id

    url = "https://onedrive.live.com/redir?resid=1231244193912!12&authKey=1201919!12921!1"
    # Graph's own example of an encoded sharing URL.
    assert share_id(url) == (
        "u!aHR0cHM6Ly9vbmVkcml2ZS5saXZlLmNvbS9yZWRpcj9yZXNpZD0xMjMxMjQ0MTkzOTEyITEyJmF1dGhLZXk9MTIwMTkxOSExMjkyMSEx"
    )
    assert base64.urlsafe_b64decode(share_id(url)[2:] + "==").decode() == url


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (46358.375, "m/d/yyyy h:mm:ss", "2026-12-02 09:00:00"),
        (46358.375, "[$-en-US]m/d/yy h:mm AM/PM;@", "2026-12-02 09:00:00"),
        (46358.0, "yyyy-mm-dd", "2026-12-02"),
        (46358.0, "dd/mm/yyyy", "2026-12-02"),  # the cell, not its locale, says the day
        (46358.999999, "m/d/yyyy h:mm:ss", "2026-12-03 00:00:00"),  # Excel's hair short
        (0.375, "h:mm:ss", "09:00:00"),
        (46358.375, "General", "46358.375"),
        (42, "0", "42"),
        (0.25, "0%", "0.25"),
        (3.5, '0.0 "days"', "3.5"),
        ("12/2/2026 9:00", "@", "12/2/2026 9:00"),
        (True, "General", "TRUE"),
        (None, "General", ""),
        ("", "General", ""),
    ],
)
def test_a_workbook_cell_reads_as_the_xlsx_reader_gives_it(
    value: object, number_format: str, text: str
) -> None:
    from pdmail.backends.microsoft.workbook import _cell

    assert _cell(value, number_format) == text


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (
            b'{"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}',
            "403 ErrorAccessDenied: Access is denied.",
        ),
        (
            b'{"error": "invalid_grant", "error_description": "AADSTS70008: expired\\r\\nTrace"}',
            "403 invalid_grant: AADSTS70008: expired",  # the first line of the description
        ),
        (b"<html><body>Gateway</body></html>", "403"),
        (b"Service Unavailable", "403: Service Unavailable"),
        (b"[]", "403"),
    ],
)
def test_graph_error_bodies_are_read_in_either_dialect(body: bytes, shown: str) -> None:
    from pdmail.backends.microsoft.api import parse_failure

    assert str(parse_failure(403, body)) == shown


def test_a_token_that_is_not_a_jwt_has_no_claims() -> None:
    from pdmail.backends.microsoft.api import granted, token_claims

    assert token_claims("EwBwA8l6BAAU...opaque") == {}
    assert token_claims("a.!!!.c") == {}
    assert granted({"scp": "Mail.Send Files.Read.All", "roles": ["Sites.Read.All"]}) == [
        "Files.Read.All", "Mail.Send", "Sites.Read.All"]  # fmt: skip
