"""`pdmail doctor` says only what it checked.

The scopes come from Google's tokeninfo endpoint, not from the token file; Gmail is reached
only by `doctor --send-test` (one test message to the librarian, not recorded in the ledger);
an SMTP login is "logged in", not "can send"; an outage of Google's sign-in service is
reported as one, never as "run pdmail auth again". Everything runs against loopback servers:
the OAuth and Gmail fakes, a real aiosmtpd server, the outbox folder.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Project, ledger_entries, read_eml
from fakes.gmail_server import FakeGmail
from fakes.oauth_server import FakeOAuth
from test_smtp import HOST, PASSWORD, USER, StartServer, auth_handler, start_server

from pdmail.backends.google import auth as google_auth
from pdmail.backends.google.auth import (
    FORMS_SCOPE,
    GMAIL_SCOPE,
    SHEETS_SCOPE,
    SignInOutage,
    granted_scopes,
    load_credentials,
    refresh,
    write_private,
)
from pdmail.cli.commands import main
from pdmail.config.load import GOOGLE_ENDPOINT_ENV
from pdmail.doctor import FAIL, OK, WARN, Check, diagnose
from pdmail.errors import BackendError

__all__ = ["start_server"]  # the aiosmtpd fixture, shared with test_smtp

TODAY = date(2026, 12, 2)
LIBRARIAN = "librarian@school.example.org"


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GOOGLE_ENDPOINT_ENV, raising=False)
    # google-auth waits between its own tries at a failing token endpoint: no time here.
    from google.auth import _exponential_backoff

    monkeypatch.setattr(_exponential_backoff, "time", SimpleNamespace(sleep=lambda s: None))


def _one(checks: list[Check], name: str) -> Check:
    (found,) = [c for c in checks if c.name == name]
    return found


def _doctor(project: Project, *args: str) -> Any:
    result = CliRunner().invoke(
        main, ["doctor", "--config", str(project.config_path), "--today", "2026-12-02", *args]
    )
    assert "Traceback" not in result.output
    return result


def _token(project: Project, scopes: list[str], *, refresh_token: str = "refresh-secret") -> None:
    info = {
        "token": "saved-access-token",
        "refresh_token": refresh_token,
        "client_id": "c",
        "client_secret": "s",
        "token_uri": "https://oauth2.googleapis.com/token",
        "scopes": scopes,
        "expiry": "2999-01-01T00:00:00Z",
        "pdmail_authorized": (datetime.now(timezone.utc) - timedelta(days=30)).isoformat(),
    }
    write_private(project.folder / "token.json", json.dumps(info))


def _gmail_project(project: Project, oauth: FakeOAuth, gmail: FakeGmail | None = None) -> None:
    """Roster from files, mail through Gmail with the token file claiming gmail.send."""
    endpoints = {"oauth": oauth.base_url}
    if gmail is not None:
        endpoints["gmail"] = gmail.base_url
    project.write_config(
        {
            "mail": {"kind": "gmail", "per_minute": 0},
            "google": {"token_file": "token.json", "endpoints": endpoints},
        }
    )
    _token(project, [GMAIL_SCOPE])


@pytest.fixture
def oauth() -> Iterator[FakeOAuth]:
    with FakeOAuth(scope=GMAIL_SCOPE) as server:
        yield server


@pytest.fixture
def gmail() -> Iterator[FakeGmail]:
    with FakeGmail() as server:
        yield server
        assert server.errors == []


# -- scopes: what Google says ----------------------------------------------------------------


def test_scopes_are_what_google_granted_not_what_the_token_file_says(
    project: Project, oauth: FakeOAuth
) -> None:
    # The file claims gmail.send; Google granted only the spreadsheets scope (the box for
    # Gmail was unticked on the consent screen).
    oauth.scope = SHEETS_SCOPE
    _gmail_project(project, oauth)

    checks = diagnose(project.config_path, today=TODAY)

    scopes = _one(checks, "scopes")
    assert scopes.status == FAIL
    assert f"granted by Google: {SHEETS_SCOPE}" in scopes.detail
    assert f"missing {GMAIL_SCOPE}" in scopes.detail
    assert "consent screen" in scopes.fix
    # Google was asked about the token it had just issued.
    assert [q["access_token"] for q in oauth.tokeninfo_requests] == ["access-1"]


@pytest.mark.parametrize(
    ("granted", "status"),
    [
        (GMAIL_SCOPE, OK),
        (f"{GMAIL_SCOPE} {FORMS_SCOPE}", OK),  # form-fields' scope is expected, not extra
        (f"{GMAIL_SCOPE} https://mail.google.com/", WARN),
        ("", FAIL),
    ],
)
def test_the_scopes_check_compares_googles_answer_with_what_the_config_needs(
    project: Project, oauth: FakeOAuth, granted: str, status: str
) -> None:
    oauth.scope = granted
    _gmail_project(project, oauth)

    scopes = _one(diagnose(project.config_path, today=TODAY), "scopes")

    assert scopes.status == status, scopes
    assert scopes.detail.startswith("granted by Google: ")


@pytest.mark.parametrize("status", [500, 503])
def test_tokeninfo_down_leaves_the_scopes_unchecked_and_says_so(
    project: Project, oauth: FakeOAuth, status: int
) -> None:
    oauth.tokeninfo_status = status
    _gmail_project(project, oauth)

    scopes = _one(diagnose(project.config_path, today=TODAY), "scopes")

    assert scopes.status == WARN
    assert scopes.detail.startswith("not checked: ") and f"answered {status}" in scopes.detail
    assert "pdmail auth" not in scopes.fix


def test_a_token_google_does_not_know_fails_the_scopes_check(
    project: Project, oauth: FakeOAuth
) -> None:
    oauth.revoke_at_once = True  # revoked in the console between the refresh and the question
    _gmail_project(project, oauth)

    scopes = _one(diagnose(project.config_path, today=TODAY), "scopes")

    assert scopes.status == FAIL and "Invalid Value" in scopes.detail
    assert "pdmail auth" in scopes.fix


def test_tokeninfo_honours_PDMAIL_GOOGLE_ENDPOINT(
    project: Project, oauth: FakeOAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write_config({"google": {"endpoints": {"oauth": "https://nowhere.invalid"}}})
    monkeypatch.setenv(GOOGLE_ENDPOINT_ENV, oauth.base_url)
    oauth.tokens["known"] = f"{GMAIL_SCOPE} {SHEETS_SCOPE}"

    assert granted_scopes(project.config(), "known") == sorted([GMAIL_SCOPE, SHEETS_SCOPE])
    assert oauth.tokeninfo_requests == [{"access_token": "known"}]


# -- a sign-in outage is an outage -----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_sign_in_outage_is_reported_as_an_outage_not_as_a_dead_authorization(
    project: Project, oauth: FakeOAuth, status: int
) -> None:
    oauth.token_status = status
    _gmail_project(project, oauth)

    result = _doctor(project)

    assert result.exit_code == 1
    token = next(line for line in result.output.splitlines() if line.startswith("[FAIL] token:"))
    assert f"Google's sign-in service answered {status}" in token and "try again later" in token
    assert "pdmail auth" not in result.output
    assert "refresh-secret" not in result.output


def test_a_sign_in_service_that_does_not_answer_is_an_outage(project: Project) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: connecting is refused
        port = sock.getsockname()[1]
        with FakeOAuth() as unused:
            _gmail_project(project, unused)
        project.write_config(
            {
                "mail": {"kind": "gmail"},
                "google": {
                    "token_file": "token.json",
                    "endpoints": {"oauth": f"http://127.0.0.1:{port}"},
                },
            }
        )

        result = _doctor(project)

    assert result.exit_code == 1
    assert "Google's sign-in service did not answer" in result.output
    assert "pdmail auth" not in result.output


@pytest.mark.parametrize("refusal", ["invalid_grant", 400, 401])
def test_only_a_refusal_says_to_run_pdmail_auth_again(
    project: Project, oauth: FakeOAuth, refusal: str | int
) -> None:
    if refusal == "invalid_grant":
        oauth.refuse_refresh = True
    else:
        oauth.token_status = int(refusal)
    _gmail_project(project, oauth)

    result = _doctor(project)

    assert result.exit_code == 1
    assert "[FAIL] token:" in result.output and "could not be refreshed" in result.output
    assert "pdmail auth" in result.output and "try again later" not in result.output


def test_refresh_raises_a_sign_in_outage_a_script_can_tell_apart(
    project: Project, oauth: FakeOAuth
) -> None:
    _gmail_project(project, oauth)
    config = project.config()
    creds = load_credentials(config, [GMAIL_SCOPE])
    oauth.token_status = 503

    with pytest.raises(SignInOutage) as outage:
        refresh(creds, project.folder / "token.json", config)
    assert "answered 503" in outage.value.message

    oauth.token_status = None
    oauth.refuse_refresh = True
    with pytest.raises(BackendError) as refused:
        refresh(creds, project.folder / "token.json", config)
    assert not isinstance(refused.value, SignInOutage)
    assert "pdmail auth" in (refused.value.hint or "")


# -- Gmail: checked only by a test message ----------------------------------------------------


def test_without_send_test_gmail_is_not_checked_and_says_how(
    project: Project, oauth: FakeOAuth, gmail: FakeGmail
) -> None:
    _gmail_project(project, oauth, gmail)

    result = _doctor(project)

    assert result.exit_code == 0, result.output
    mail = next(line for line in result.output.splitlines() if " mail:" in line)
    assert mail.startswith("[skip]") and "not checked" in mail
    assert "pdmail doctor --send-test" in mail
    sender = next(line for line in result.output.splitlines() if " sender:" in line)
    assert sender.startswith("[skip]") and "not checked" in sender
    assert "[ok  ]" not in "\n".join(
        line for line in result.output.splitlines() if " mail:" in line or " sender:" in line
    )
    assert gmail.requests == []


def test_send_test_sends_one_message_to_the_librarian_and_records_nothing(
    project: Project, oauth: FakeOAuth, gmail: FakeGmail
) -> None:
    _gmail_project(project, oauth, gmail)

    result = _doctor(project, "--send-test")

    assert result.exit_code == 0, result.output
    (stored,) = gmail.stored
    message = stored.parsed()
    assert [a.addr_spec for a in message["To"].addresses] == [LIBRARIAN]
    assert message["Subject"].startswith("pdmail test message")
    assert "[ok  ] mail: gmail: Gmail accepted a test message to " + LIBRARIAN in result.output
    assert message["Message-ID"] in result.output
    assert f"[ok  ] sender: messages go out as {LIBRARIAN}" in result.output
    assert ledger_entries(project) == []
    # A second test is a second message, not a resend of the first.
    assert _doctor(project, "--send-test").exit_code == 0
    assert len({m.parsed()["Message-ID"] for m in gmail.stored}) == 2


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ({"status": 500, "store_first": True}, "may or may not have been accepted"),
        ({"drop": True}, "may or may not have been accepted"),
        ({"status": 400}, "was not sent"),
        ({"status": 403}, "was not sent"),
    ],
)
def test_a_failed_send_test_fails_and_is_never_sent_twice(
    project: Project, oauth: FakeOAuth, gmail: FakeGmail, fault: dict[str, Any], says: str
) -> None:
    _gmail_project(project, oauth, gmail)
    gmail.fail_next(**fault)

    checks = diagnose(project.config_path, today=TODAY, send_test=True)

    mail = _one(checks, "mail")
    assert mail.status == FAIL and says in mail.detail, mail
    assert gmail.count("POST", "messages/send") == 1
    assert ledger_entries(project) == []


def test_send_test_and_no_connect_exclude_each_other(project: Project) -> None:
    result = _doctor(project, "--send-test", "--no-connect")
    assert result.exit_code == 2 and "--no-connect" in result.output


# -- SMTP: logged in is not "can send" ---------------------------------------------------------


def _smtp_project(project: Project, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDMAIL_TEST_SMTP_PASSWORD", PASSWORD)
    project.write_config(
        {
            "mail": {
                "kind": "smtp",
                "smtp": {
                    "host": HOST,
                    "port": port,
                    "security": "none",
                    "username": USER,
                    "password_env": "PDMAIL_TEST_SMTP_PASSWORD",
                    "timeout": 5,
                },
            }
        }
    )


def test_an_smtp_login_is_reported_as_a_login_not_as_sending(
    project: Project, start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []
    server = start_server(authenticator=auth_handler(USER, PASSWORD, used), auth_require_tls=False)
    _smtp_project(project, server.port, monkeypatch)

    mail = _one(diagnose(project.config_path, today=TODAY), "mail")

    assert mail.status == OK
    assert mail.detail.startswith(f"smtp: logged in to {HOST}:{server.port} as {USER}")
    assert "sending not checked" in mail.detail and "--send-test" in mail.detail
    assert used and server.handler.received == []


def test_smtp_send_test_delivers_one_message(
    project: Project, start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(authenticator=auth_handler(USER, PASSWORD, []), auth_require_tls=False)
    _smtp_project(project, server.port, monkeypatch)

    mail = _one(diagnose(project.config_path, today=TODAY, send_test=True), "mail")

    assert mail.status == OK and "accepted a test message" in mail.detail, mail
    (received,) = server.handler.received
    assert received.rcpt_tos == [LIBRARIAN]
    assert ledger_entries(project) == []


def test_smtp_send_test_refused_fails(
    project: Project, start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(authenticator=auth_handler(USER, PASSWORD, []), auth_require_tls=False)
    server.handler.refuse_rcpt.add(LIBRARIAN)
    _smtp_project(project, server.port, monkeypatch)

    mail = _one(diagnose(project.config_path, today=TODAY, send_test=True), "mail")

    assert mail.status == FAIL and "was not sent" in mail.detail and "550" in mail.detail


def test_smtp_wrong_password_fails_with_the_login_named(
    project: Project, start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(
        authenticator=auth_handler(USER, "another password", []), auth_require_tls=False
    )
    _smtp_project(project, server.port, monkeypatch)

    for send_test in (False, True):
        mail = _one(diagnose(project.config_path, today=TODAY, send_test=send_test), "mail")
        assert mail.status == FAIL and "authentication failed" in mail.detail
        assert PASSWORD not in mail.detail
    assert server.handler.received == []


# -- the outbox ---------------------------------------------------------------------------------


def test_outbox_send_test_writes_one_test_file_outside_any_cycle(project: Project) -> None:
    result = _doctor(project, "--send-test")

    assert result.exit_code == 0, result.output
    (written,) = (project.folder / "outbox").rglob("*.eml")
    assert written.parent.name == "doctor" and written.name.startswith("test-")
    assert read_eml(written)["To"].addresses[0].addr_spec == LIBRARIAN
    assert "outbox: wrote a test message to" in result.output
    assert ledger_entries(project) == []
    assert project.sent_to("request") == []


# -- service accounts ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _service_account(project: Project, oauth: FakeOAuth, pem: str) -> Path:
    key = project.folder / "service-account.json"
    info = {
        "type": "service_account",
        "project_id": "pdmail-test",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "pdmail@pdmail-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    write_private(key, json.dumps(info))
    project.write_config(
        {
            "mail": {"kind": "gmail"},
            "google": {"service_account_file": str(key), "endpoints": {"oauth": oauth.base_url}},
        }
    )
    return key


def test_a_service_account_is_ok_only_once_google_issued_a_token(
    project: Project, oauth: FakeOAuth, private_key_pem: str
) -> None:
    _service_account(project, oauth, private_key_pem)

    checks = diagnose(project.config_path, today=TODAY)

    creds = _one(checks, "credentials")
    assert creds.status == OK and "Google issued a token acting as" in creds.detail
    assert [r["grant_type"] for r in oauth.token_requests] == [
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    ]
    assert _one(checks, "scopes").status == OK


def test_a_service_account_whose_delegation_is_refused_points_to_the_admin_console(
    project: Project, oauth: FakeOAuth, private_key_pem: str
) -> None:
    _service_account(project, oauth, private_key_pem)
    oauth.refuse_refresh = True  # Google refuses the grant (delegation not allowed)

    checks = diagnose(project.config_path, today=TODAY)

    creds = _one(checks, "credentials")
    assert creds.status == FAIL and "Domain-wide delegation" in creds.fix
    assert GMAIL_SCOPE in creds.fix


def test_google_auth_module_exports_the_outage_hint() -> None:
    assert "pdmail auth" not in google_auth.HINT_SIGN_IN_LATER
    assert "pdmail auth" in google_auth.HINT_SIGN_IN_AGAIN
