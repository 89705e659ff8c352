"""SMTP to Exchange Online: XOAUTH2 with an MSAL token (``mail.smtp.auth: oauth2``), and the
refusals Exchange gives a password once Basic authentication is off (5.7.30, 5.7.139).

aiosmtpd on loopback plays Exchange: STARTTLS with a ``trustme`` certificate (trusted through
``SSL_CERT_FILE``, as pdmail's default TLS context reads the system's trust store), an XOAUTH2
mechanism that checks the bearer token against the loopback Microsoft sign-in of
``tests/fakes/microsoft_server.py``, and a password login answered with Exchange's words.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from conftest import Project, ledger_entries, run_cli
from fakes.microsoft_server import CLIENT_ID, TENANT, USER, FakeMicrosoft

from pdmail.backends.microsoft.api import token_claims
from pdmail.models import State

HOST = "127.0.0.1"
PASSWORD = "s3cret-Pa55"
RETIRED = [
    "550 5.7.30 Basic authentication is not supported for Client Submission",
    "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [BN0PR04CA0]",
    "535 5.7.3 Authentication unsuccessful, basic authentication is disabled",
]


class Exchange:
    """The handler: takes mail, and logs in by XOAUTH2 (a token the fake sign-in issued,
    carrying SMTP.Send) or by password (refused with ``password_reply``)."""

    def __init__(self, ms: FakeMicrosoft | None = None) -> None:
        self.ms = ms
        self.messages: list[Envelope] = []
        self.logins: list[str] = []
        self.password_reply = "235 2.7.0 Authentication successful"
        self.oauth_reply = ""  # refuse every token with this reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not session.authenticated:
            return "530 5.7.57 Client not authenticated to send mail"
        self.messages.append(envelope)
        return "250 2.0.0 OK"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        # args: the mechanism, then the initial response (base64).
        raw = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        fields = dict(f.split("=", 1) for f in raw.split("\x01") if "=" in f)
        token = fields.get("auth", "").removeprefix("Bearer ")
        self.logins.append(f"XOAUTH2 {fields.get('user')}")
        claims = token_claims(token)
        ok = (
            not self.oauth_reply
            and self.ms is not None
            and token in self.ms.valid_tokens
            and "SMTP.Send" in str(claims.get("scp", "")).split()
            and fields.get("user") == USER
        )
        if ok:
            return AuthResult(success=True, auth_data=fields.get("user"))
        return AuthResult(
            success=False,
            handled=False,
            message=self.oauth_reply or "535 5.7.3 Authentication unsuccessful",
        )

    def authenticator(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.logins.append(mechanism)
        if self.password_reply.startswith("235"):
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False, message=self.password_reply)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    bundle = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))  # what ssl.create_default_context trusts
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    return context


@pytest.fixture
def ms(trusted: ssl.SSLContext) -> Iterator[FakeMicrosoft]:
    with FakeMicrosoft(trusted, scopes="SMTP.Send") as server:
        yield server
        assert server.errors == []


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # Port 0: learn the port the OS picked before aiosmtpd pokes the server on it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


def start(handler: Exchange, context: ssl.SSLContext) -> Controller:
    controller = _Controller(
        handler,
        hostname=HOST,
        port=0,
        tls_context=context,
        require_starttls=True,
        authenticator=handler.authenticator,
        auth_required=True,
    )
    controller.start()
    return controller


def port(controller: Controller) -> int:
    return int(controller.port)


def smtp_config(project: Project, controller: Controller, **smtp: Any) -> None:
    project.write_config(
        {
            "mail": {
                "kind": "smtp",
                "smtp": {
                    "host": HOST,
                    "port": port(controller),
                    "security": "starttls",
                    "username": USER,
                    **smtp,
                },
            }
        }
    )


@pytest.fixture
def exchange(trusted: ssl.SSLContext) -> Iterator[tuple[Exchange, Controller]]:
    handler = Exchange()
    controller = start(handler, trusted)
    yield handler, controller
    controller.stop()


# -- XOAUTH2 -------------------------------------------------------------------------------------


def oauth_project(project: Project, ms: FakeMicrosoft, controller: Controller) -> None:
    smtp_config(project, controller, auth="oauth2")
    data = project.config_path.read_text()
    project.config_path.write_text(
        data
        + f"microsoft:\n  tenant: {TENANT}\n  client_id: {CLIENT_ID}\n"
        + "  token_file: secrets/ms.json\n"
        + f"  endpoints: {{login: '{ms.base_url}', graph: '{ms.base_url}/v1.0'}}\n"
    )


def test_smtp_logs_in_with_xoauth2_and_a_month_goes_out(
    project: Project, ms: FakeMicrosoft, trusted: ssl.SSLContext
) -> None:
    handler = Exchange(ms)
    controller = start(handler, trusted)
    try:
        oauth_project(project, ms, controller)
        auth = run_cli(project, "auth", "--microsoft")
        assert auth.exit_code == 0, auth.output
        [asked] = [r for r in ms.requests if r.path.endswith("/devicecode")]
        assert b"SMTP.Send" in asked.body and b"Mail.Send" not in asked.body
        result = run_cli(project, "send", today="2026-12-01")
        assert result.exit_code == 0, result.output
        assert len(handler.messages) == 4
        assert handler.logins == [f"XOAUTH2 {USER}"]  # one login for the run, no password
        tokens = [t for t in ms.valid_tokens]
        assert not any(t in result.output for t in tokens)
        checks = run_cli(project, "doctor", today="2026-12-01")
        assert f"logged in to {HOST}:{port(controller)} as {USER}" in checks.output
        assert "with XOAUTH2" in checks.output, checks.output
        # The sign-in and its permissions are checked as for Graph mail.
        assert "[ok  ] sign-in:" in checks.output and "refreshed" in checks.output
        assert "granted by Microsoft (scp): SMTP.Send" in checks.output
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("reply", "hint"),
    [
        (
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
            "for the Tenant.",
            "Authenticated SMTP",
        ),
        ("535 5.7.3 Authentication unsuccessful", "SMTP.Send permission"),
    ],
)
def test_a_refused_token_says_what_to_do(
    project: Project, ms: FakeMicrosoft, trusted: ssl.SSLContext, reply: str, hint: str
) -> None:
    handler = Exchange(ms)
    handler.oauth_reply = reply
    controller = start(handler, trusted)
    try:
        oauth_project(project, ms, controller)
        assert run_cli(project, "auth", "--microsoft").exit_code == 0
        result = run_cli(project, "send", today="2026-12-01")
        assert result.exit_code != 0
        assert reply.split(",")[0] in result.output
        assert hint in result.output
        assert handler.messages == []
        assert all(e.state is not State.SENT for e in ledger_entries(project))
    finally:
        controller.stop()


def test_oauth2_without_a_sign_in_names_the_command(
    project: Project, ms: FakeMicrosoft, trusted: ssl.SSLContext
) -> None:
    handler = Exchange(ms)
    controller = start(handler, trusted)
    try:
        oauth_project(project, ms, controller)
        result = run_cli(project, "send", today="2026-12-01")
        assert result.exit_code != 0
        assert "pdmail auth --microsoft" in result.output
        assert handler.logins == []
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("smtp", "words"),
    [
        ({"auth": "oauth2", "username": None}, "mail.smtp.username: is required with auth: oauth2"),
        ({"auth": "oauth2", "security": "none"}, "mail.smtp.security: must be starttls or ssl"),
        ({"auth": "oauth2"}, "microsoft.tenant: is required when mail.smtp.auth is oauth2"),
        ({"auth": "xoauth"}, "mail.smtp.auth: 'xoauth' is not one of: password, oauth2"),
    ],
)
def test_oauth2_config_errors_name_the_key(
    project: Project, exchange: tuple[Exchange, Controller], smtp: dict[str, Any], words: str
) -> None:
    _, controller = exchange
    smtp_config(project, controller, **smtp)
    result = run_cli(project, "doctor")
    assert words in result.output


# -- passwords Exchange no longer takes ---------------------------------------------------------


@pytest.mark.parametrize("reply", RETIRED)
def test_a_retired_password_login_says_how_to_switch(
    project: Project,
    exchange: tuple[Exchange, Controller],
    monkeypatch: pytest.MonkeyPatch,
    reply: str,
) -> None:
    handler, controller = exchange
    handler.password_reply = reply
    monkeypatch.setenv("PDMAIL_SMTP_PASSWORD", PASSWORD)
    smtp_config(project, controller, password_env="PDMAIL_SMTP_PASSWORD")
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code != 0
    assert f"refused the password login of {USER}" in result.output
    assert "Basic authentication for SMTP is disabled" in result.output
    assert reply.split(" ", 2)[1] in result.output  # Exchange's own code, e.g. 5.7.30
    assert "mail.kind: microsoft365" in result.output
    assert "mail.smtp.auth: oauth2" in result.output
    assert "pdmail auth --microsoft" in result.output
    assert PASSWORD not in result.output
    assert handler.messages == []
    assert all(e.state is not State.SENT for e in ledger_entries(project))


def test_a_plain_wrong_password_keeps_the_password_hint(
    project: Project, exchange: tuple[Exchange, Controller], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, controller = exchange
    handler.password_reply = "535 5.7.3 Authentication unsuccessful [BN0PR04CA0]"
    monkeypatch.setenv("PDMAIL_SMTP_PASSWORD", PASSWORD)
    smtp_config(project, controller, password_env="PDMAIL_SMTP_PASSWORD")
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code != 0
    assert "authentication failed" in result.output
    assert "mail.smtp.password_env" in result.output
    assert "microsoft365" not in result.output
