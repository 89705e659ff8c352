"""SmtpMailer against a real aiosmtpd server on 127.0.0.1, started and stopped by each test."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from pdmail.backends.smtp import SmtpMailer
from pdmail.errors import BackendError, ConfigError, DeliveryError

HOST = "127.0.0.1"
CLIENT_NAME = "pdmail-test.example"
USER = "librarian"
PASSWORD = "Corr3ct-Horse-Battery"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    content: bytes
    tls: bool


class Handler:
    """Records what arrives and misbehaves on request."""

    def __init__(self) -> None:
        self.connections = 0
        self.ehlos: list[str] = []
        self.mails = 0
        self.data_calls = 0
        self.quits = 0
        self.received: list[Received] = []
        self.servers: list[SMTP] = []
        self.refuse_rcpt: set[str] = set()
        self.mail_replies: list[str] = []  # replies to the next MAIL FROMs, one each
        self.data_reply = ""
        self.drop_on_data = False

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        self.ehlos.append(hostname)
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mails += 1
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        if self.drop_on_data:
            # The whole message arrived; the line dies before any reply goes back.
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "250 never seen by the client"
        if self.data_reply:
            return self.data_reply
        assert server.transport is not None
        self.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                mail_options=list(envelope.mail_options),
                content=bytes(envelope.original_content or b""),
                tls=server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 Ok: queued"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.quits += 1
        return "221 Bye"


class _Controller(Controller):
    """Listens on port 0 and counts the connections it serves."""

    def factory(self) -> SMTP:
        self.handler.connections += 1
        smtpd = SMTP(self.handler, **self.SMTP_kwargs)
        self.handler.servers.append(smtpd)
        return smtpd

    def _trigger_server(self) -> None:
        # Learn the port the OS picked before aiosmtpd pokes the server on it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@dataclass
class Server:
    handler: Handler
    controller: _Controller

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def where(self) -> str:
        return f"SMTP {HOST}:{self.port}"

    def mailer(self, **kwargs: Any) -> SmtpMailer:
        kwargs.setdefault("security", "none")
        kwargs.setdefault("timeout", 5.0)
        kwargs.setdefault("local_hostname", CLIENT_NAME)
        return SmtpMailer(HOST, self.port, **kwargs)

    def drop_connections(self) -> None:
        """Close every open connection from the server side, as an idle timeout would."""
        live = [s for s in self.handler.servers if s.transport is not None]
        for smtpd in live:
            assert smtpd.transport is not None
            self.controller.loop.call_soon_threadsafe(smtpd.transport.close)
        deadline = time.monotonic() + 5
        while any(s.transport is not None for s in live):
            assert time.monotonic() < deadline, "the server did not close the connection"
            time.sleep(0.01)


StartServer = Callable[..., Server]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start an aiosmtpd server with the given SMTP options; every one is stopped after."""
    started: list[_Controller] = []

    def start(**smtp_kwargs: Any) -> Server:
        handler = Handler()
        controller = _Controller(handler, hostname=HOST, port=0, **smtp_kwargs)
        controller.start()
        started.append(controller)
        # aiosmtpd's own start-up probe is not the mailer's connection.
        handler.connections = 0
        handler.servers.clear()
        return Server(handler, controller)

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def server(start_server: StartServer) -> Server:
    return start_server()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed, so no test certificate can be made")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    return context


def client_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    # Hostname checking stays on: the certificate names 127.0.0.1.
    return ssl.create_default_context(cafile=str(cert[0]))


def make_message(
    to: str = "Ada Teacher <ada@school.example>",
    subject: str = "PD request for March",
    text: str = "Hello Ada,\n\nPlease tell us what you need.\n",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "School Library <library@school.example>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="school.example")
    message.set_content(text)
    return message


def parse(received: Received) -> EmailMessage:
    # What a mailbox would store: the wire's CRLF line ends become local ones.
    content = received.content.replace(b"\r\n", b"\n")
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def auth_handler(expected_user: str, expected_password: str, used: list[str]) -> Any:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        used.append(mechanism)
        ok = (
            isinstance(data, LoginPassword)
            and data.login == expected_user.encode()
            and data.password == expected_password.encode()
        )
        # handled=False: aiosmtpd sends the 235/535 reply itself.
        return AuthResult(success=ok, handled=False)

    return authenticate


# -- what arrives -------------------------------------------------------------------------


def test_multipart_alternative_arrives_intact(server: Server) -> None:
    first_id = make_msgid(domain="school.example")
    # A leading dot must survive dot-stuffing, "From " must not become ">From ", and the long
    # line forces a transfer encoding.
    text = "Hello Ada,\n.a line that starts with a dot\nFrom the library\n" + "x" * 120 + "\n"
    html = "<p>Hello Ada,</p>\n<p>.a line that starts with a dot</p>\n"
    message = make_message(subject="Re: PD request for March", text=text)
    message["In-Reply-To"] = first_id
    message["References"] = first_id
    message.add_alternative(html, subtype="html")

    with server.mailer() as mailer:
        result = mailer.send(message, thread_id=first_id)

    assert result.message_id == message["Message-ID"]
    assert result.thread_id == first_id
    assert result.provider_id == ""
    [got] = server.handler.received
    assert got.mail_from == "library@school.example"
    assert got.rcpt_tos == ["ada@school.example"]
    parsed = parse(got)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    plain = parsed.get_body(preferencelist=("plain",))
    rich = parsed.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    assert plain.get_content() == text
    assert rich.get_content() == html
    assert parsed["Subject"] == "Re: PD request for March"
    assert parsed["Message-ID"] == message["Message-ID"]
    assert parsed["In-Reply-To"] == first_id
    assert parsed["References"] == first_id


def test_send_without_thread_id_threads_on_its_own_message_id(server: Server) -> None:
    message = make_message()
    with server.mailer() as mailer:
        result = mailer.send(message)
    assert result.message_id == result.thread_id == message["Message-ID"]


def test_non_ascii_names_and_subject_round_trip(server: Server) -> None:
    message = make_message(
        to="Zoë Ångström <zoe@school.example>",
        subject="Café – réunion",
        text="Bonjour Zoë, à bientôt au café.\n",
    )
    del message["From"]
    message["From"] = "Bibliothèque Médiathèque <library@school.example>"

    with server.mailer() as mailer:
        mailer.send(message)

    [got] = server.handler.received
    header_block = got.content.split(b"\r\n\r\n", 1)[0]
    header_block.decode("ascii")  # encoded-words on the wire, no raw UTF-8
    assert b"=?utf-8?" in header_block.lower()
    assert "SMTPUTF8" not in got.mail_options
    parsed = parse(got)
    assert parsed["Subject"] == "Café – réunion"
    assert parsed["To"].addresses[0].display_name == "Zoë Ångström"
    assert parsed["To"].addresses[0].addr_spec == "zoe@school.example"
    assert parsed["From"].addresses[0].display_name == "Bibliothèque Médiathèque"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content() == "Bonjour Zoë, à bientôt au café.\n"


def test_cc_and_bcc_are_envelope_recipients_and_bcc_is_not_transmitted(server: Server) -> None:
    message = make_message()
    message["Cc"] = "Head <head@school.example>"
    message["Bcc"] = "archive@school.example"
    with server.mailer() as mailer:
        mailer.send(message)
    [got] = server.handler.received
    assert sorted(got.rcpt_tos) == [
        "ada@school.example",
        "archive@school.example",
        "head@school.example",
    ]
    assert parse(got)["Bcc"] is None


def test_non_ascii_address_uses_smtputf8(server: Server) -> None:
    message = make_message(to="Zoë <zoë@école.example>", subject="Café – réunion")
    with server.mailer() as mailer:
        mailer.send(message)
    [got] = server.handler.received
    assert got.rcpt_tos == ["zoë@école.example"]
    assert "SMTPUTF8" in got.mail_options
    # With SMTPUTF8 the header carries the address as raw UTF-8, not an encoded-word.
    assert "To: Zoë <zoë@école.example>\r\n".encode() in got.content


# -- one connection per run -----------------------------------------------------------------


def test_one_connection_for_a_whole_run(server: Server) -> None:
    with server.mailer() as mailer:
        for n in range(5):
            mailer.send(make_message(to=f"t{n}@school.example"))
    assert server.handler.connections == 1
    assert server.handler.ehlos == [CLIENT_NAME]
    assert server.handler.quits == 1
    assert [r.rcpt_tos for r in server.handler.received] == [
        [f"t{n}@school.example"] for n in range(5)
    ]


def test_reconnects_once_when_the_server_dropped_an_idle_connection(server: Server) -> None:
    first, second = make_message(), make_message(to="bob@school.example")
    with server.mailer() as mailer:
        mailer.send(first)
        server.drop_connections()
        mailer.send(second)
    assert server.handler.connections == 2
    ids = [parse(r)["Message-ID"] for r in server.handler.received]
    assert ids == [first["Message-ID"], second["Message-ID"]]


def test_reconnects_when_mail_from_gets_421_closing(server: Server) -> None:
    server.handler.mail_replies = ["421 4.4.2 idle timeout exceeded, closing connection"]
    message = make_message()
    with server.mailer() as mailer:
        mailer.send(message)
    assert server.handler.connections == 2
    assert [parse(r)["Message-ID"] for r in server.handler.received] == [message["Message-ID"]]


# -- refusals: definite ------------------------------------------------------------------


def test_refused_recipient_is_definite_and_the_connection_keeps_working(server: Server) -> None:
    server.handler.refuse_rcpt = {"gone@school.example"}
    with server.mailer() as mailer:
        with pytest.raises(DeliveryError) as caught:
            mailer.send(make_message(to="Gone <gone@school.example>"))
        mailer.send(make_message(to="ada@school.example"))
    error = caught.value
    assert error.definite is True
    text = str(error)
    assert server.where in text
    assert "gone@school.example" in text
    assert "550 5.1.1" in text and "User unknown" in text
    assert server.handler.connections == 1
    assert [r.rcpt_tos for r in server.handler.received] == [["ada@school.example"]]


def test_refused_sender_is_definite(server: Server) -> None:
    server.handler.mail_replies = ["550 5.7.1 Sender not allowed to relay"]
    with server.mailer() as mailer:
        with pytest.raises(DeliveryError) as caught:
            mailer.send(make_message())
        mailer.send(make_message())
    assert caught.value.definite is True
    text = str(caught.value)
    assert server.where in text
    assert "library@school.example" in text and "ada@school.example" in text
    assert "550 5.7.1 Sender not allowed" in text
    assert server.handler.connections == 1
    assert len(server.handler.received) == 1


def test_data_rejected_is_definite(server: Server) -> None:
    server.handler.data_reply = "554 5.6.0 Message rejected as spam"
    with server.mailer() as mailer:
        with pytest.raises(DeliveryError) as caught:
            mailer.send(make_message())
        server.handler.data_reply = ""
        mailer.send(make_message(to="bob@school.example"))
    assert caught.value.definite is True
    text = str(caught.value)
    assert server.where in text
    assert "ada@school.example" in text
    assert "554 5.6.0 Message rejected as spam" in text
    assert server.handler.connections == 1
    assert [r.rcpt_tos for r in server.handler.received] == [["bob@school.example"]]


def test_message_without_message_id_is_refused_before_sending(server: Server) -> None:
    message = make_message()
    del message["Message-ID"]
    with server.mailer() as mailer, pytest.raises(DeliveryError) as caught:
        mailer.send(message)
    assert caught.value.definite is True
    assert "Message-ID" in str(caught.value)
    assert server.handler.mails == 0


# -- lost after DATA: unknown, never resent -------------------------------------------------


def test_connection_lost_after_data_is_unknown_and_not_resent(server: Server) -> None:
    server.handler.drop_on_data = True
    lost, after = make_message(), make_message(to="bob@school.example")
    with server.mailer() as mailer:
        with pytest.raises(DeliveryError) as caught:
            mailer.send(lost)
        server.handler.drop_on_data = False
        mailer.send(after)
    error = caught.value
    assert error.definite is False
    assert server.where in str(error)
    assert "ada@school.example" in str(error)
    # One DATA for the lost message, one for the next: the lost one was not tried again.
    assert server.handler.data_calls == 2
    assert [parse(r)["Message-ID"] for r in server.handler.received] == [after["Message-ID"]]


# -- login ------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_auth_works_over_plain_connection(start_server: StartServer, mechanism: str) -> None:
    used: list[str] = []
    other = "PLAIN" if mechanism == "LOGIN" else "LOGIN"
    server = start_server(
        authenticator=auth_handler(USER, PASSWORD, used),
        auth_require_tls=False,
        auth_required=True,
        auth_exclude_mechanism=[other],
    )
    with server.mailer(username=USER, password=PASSWORD) as mailer:
        mailer.send(make_message())
    assert used == [mechanism]
    assert len(server.handler.received) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_wrong_password_raises_backend_error_without_the_password(
    start_server: StartServer,
) -> None:
    used: list[str] = []
    server = start_server(
        authenticator=auth_handler(USER, PASSWORD, used),
        auth_require_tls=False,
        auth_required=True,
    )
    wrong = "Wr0ng-Secret-Passw0rd"
    mailer = server.mailer(username=USER, password=wrong)
    with pytest.raises(BackendError) as caught:
        mailer.__enter__()
    error = caught.value
    assert not isinstance(error, DeliveryError)
    assert used  # the server was asked
    assert f"{server.where}: authentication failed (535" in str(error)
    assert error.hint and "password" in error.hint
    everything = "".join(traceback.format_exception(error)) + repr(mailer)
    assert wrong not in everything
    assert server.handler.mails == 0


def test_send_outside_with_raises_backend_error(server: Server) -> None:
    with pytest.raises(BackendError, match="outside"):
        server.mailer().send(make_message())
    assert server.handler.connections == 0


def test_unknown_security_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"mail\.smtp\.security"):
        SmtpMailer(HOST, 25, security="tls")


# -- TLS ----------------------------------------------------------------------------------


def test_starttls_with_login(start_server: StartServer, cert: tuple[Path, Path]) -> None:
    used: list[str] = []
    # aiosmtpd offers AUTH only once TLS is up, so a login here proves STARTTLS happened.
    server = start_server(
        tls_context=server_context(cert),
        require_starttls=True,
        authenticator=auth_handler(USER, PASSWORD, used),
        auth_required=True,
    )
    mailer = server.mailer(
        security="starttls", username=USER, password=PASSWORD, ssl_context=client_context(cert)
    )
    with mailer:
        mailer.send(make_message())
        mailer.send(make_message())
    assert used == ["PLAIN"]
    assert [r.tls for r in server.handler.received] == [True, True]
    assert server.handler.connections == 1
    assert server.handler.ehlos == [CLIENT_NAME, CLIENT_NAME]  # before and after STARTTLS


def test_implicit_tls(start_server: StartServer, cert: tuple[Path, Path]) -> None:
    server = start_server(ssl_context=server_context(cert))
    with server.mailer(security="ssl", ssl_context=client_context(cert)) as mailer:
        mailer.send(make_message())
    assert [r.tls for r in server.handler.received] == [True]


def test_untrusted_certificate_is_refused_by_default(
    start_server: StartServer, cert: tuple[Path, Path]
) -> None:
    server = start_server(tls_context=server_context(cert))
    with pytest.raises(BackendError, match="certificate") as caught:
        server.mailer(security="starttls").__enter__()
    assert server.where in str(caught.value)
    assert server.handler.mails == 0


def test_starttls_not_offered_never_falls_back_to_plaintext(server: Server) -> None:
    with pytest.raises(BackendError, match="does not offer STARTTLS") as caught:
        server.mailer(security="starttls", username=USER, password=PASSWORD).__enter__()
    assert server.where in str(caught.value)
    assert caught.value.hint and "mail.smtp.security" in caught.value.hint
    assert server.handler.mails == 0


def test_ssl_against_a_plain_server_fails_clearly(server: Server) -> None:
    with pytest.raises(BackendError) as caught:
        server.mailer(security="ssl").__enter__()
    assert server.where in str(caught.value)
    assert "TLS" in str(caught.value)


# -- nobody there ---------------------------------------------------------------------------


def test_closed_port_raises_backend_error_naming_host_and_port() -> None:
    # Bound but not listening: connecting is refused, and no other process can take the port.
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
        with pytest.raises(BackendError) as caught:
            SmtpMailer(HOST, port, security="none", timeout=5).__enter__()
    text = str(caught.value)
    assert f"SMTP {HOST}:{port}: could not connect" in text
    assert "mail.smtp.host" in text  # the hint


# -- the monthly cycle through the command line, over SMTP ---------------------------------


def _smtp_project(tmp_path: Path, server: Server) -> Path:
    from conftest import Project

    project = Project(tmp_path)
    project.write_config(
        {
            "mail": {
                "kind": "smtp",
                "smtp": {
                    "host": HOST,
                    "port": server.port,
                    "security": "none",
                    "username": USER,
                    "password_env": "PDMAIL_TEST_SMTP_PASSWORD",
                    "timeout": 5,
                },
            }
        }
    )
    project.write_roster()
    return project.config_path


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_send_and_remind_over_smtp_use_one_connection_and_never_resend(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner
    from conftest import Project

    from pdmail.cli.commands import main

    server = start_server(
        authenticator=auth_handler(USER, PASSWORD, []),
        auth_require_tls=False,
        auth_required=True,
    )
    config = _smtp_project(tmp_path, server)
    monkeypatch.setenv("PDMAIL_TEST_SMTP_PASSWORD", PASSWORD)
    server.handler.refuse_rcpt.add("raj@school.example.org")
    run = CliRunner().invoke

    first = run(main, ["send", "--config", str(config), "--today", "2026-12-01"])
    assert first.exit_code == 1, first.output  # one recipient was refused
    assert "raj@school.example.org" in first.output and "550" in first.output
    assert PASSWORD not in first.output
    assert server.handler.connections == 1
    got = sorted(r.rcpt_tos[0] for r in server.handler.received)
    assert got == ["ann@school.example.org", "maria@school.example.org", "sam@school.example.org"]

    # The refusal is final for that run only: the next run retries raj and nobody else.
    server.handler.refuse_rcpt.clear()
    second = run(main, ["send", "--config", str(config), "--today", "2026-12-01"])
    assert second.exit_code == 0, second.output
    assert [r.rcpt_tos[0] for r in server.handler.received[3:]] == ["raj@school.example.org"]

    third = run(main, ["send", "--config", str(config), "--today", "2026-12-02"])
    assert third.exit_code == 0 and len(server.handler.received) == 4
    assert server.handler.connections == 2  # the third run had nothing to send: no connection

    Project(tmp_path).write_responses([])  # downloaded: nobody has answered
    reminders = run(main, ["remind", "--config", str(config), "--today", "2026-12-07"])
    assert reminders.exit_code == 0, reminders.output
    replies = [
        email.message_from_bytes(r.content, policy=email.policy.default)
        for r in server.handler.received[4:]
    ]
    assert len(replies) == 4
    assert all(str(m["Subject"]).startswith("Re: ") for m in replies)
    assert all(str(m["In-Reply-To"]).startswith("<pdmail.") for m in replies)


def test_a_missing_password_variable_stops_before_any_connection(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from pdmail.cli.commands import main

    config = _smtp_project(tmp_path, server)
    monkeypatch.delenv("PDMAIL_TEST_SMTP_PASSWORD", raising=False)
    result = CliRunner().invoke(main, ["send", "--config", str(config), "--today", "2026-12-01"])
    assert result.exit_code == 2
    assert "PDMAIL_TEST_SMTP_PASSWORD" in result.output and "Traceback" not in result.output
    assert server.handler.connections == 0
    assert not (tmp_path / ".pdmail" / "ledger.sqlite3").exists() or _ledger_rows(tmp_path) == 0


def _ledger_rows(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / ".pdmail" / "ledger.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])


# -- messages pdmail wrote: the transaction without smtplib's per-message parsing ----------


def written(to: str = "ada@school.example", text: str = "Hello Ada,\n") -> Any:
    from datetime import datetime, timezone

    from pdmail.mail.compose import address
    from pdmail.mail.wire import compose_wire

    return compose_wire(
        sender=address("School Library", "library@school.example"),
        to=address("Ada Teacher", to),
        subject="PD request for March",
        text=text,
        html=None,
        message_id=make_msgid(domain="school.example"),
        date=datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc),
    )


def test_a_written_message_arrives_as_its_bytes_and_meanwhile_runs_once(server: Server) -> None:
    calls: list[int] = []
    message = written(text=".a line that starts with a dot\n..two\nlast line without end")
    with server.mailer() as mailer:
        mailer.send(message, meanwhile=lambda: calls.append(1))
    assert calls == [1]
    (got,) = server.handler.received
    assert got.rcpt_tos == ["ada@school.example"]
    # Dot-stuffing undone by the server: the bytes are the ones pdmail checked.
    assert got.content.rstrip(b"\r\n") == message.data.rstrip(b"\r\n")


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (lambda h: setattr(h, "refuse_rcpt", {"ada@school.example"}), "recipient refused"),
        (lambda h: setattr(h, "mail_replies", ["550 5.7.1 Sender not allowed"]), "sender"),
        (lambda h: setattr(h, "data_reply", "554 5.6.0 Message rejected as spam"), "rejected"),
    ],
)
def test_a_written_message_refused_is_definite_and_the_connection_goes_on(
    server: Server, setup: Callable[[Any], None], says: str
) -> None:
    calls: list[int] = []
    setup(server.handler)
    with server.mailer() as mailer:
        with pytest.raises(DeliveryError) as caught:
            mailer.send(written(), meanwhile=lambda: calls.append(1))
        server.handler.refuse_rcpt = set()
        server.handler.data_reply = ""
        mailer.send(written(to="bob@school.example"))
    assert caught.value.definite is True
    assert says in str(caught.value)
    # Refused before its data went out (the data's own refusal comes after it did).
    assert calls == ([1] if says == "rejected" else [])
    assert server.handler.connections == 1
    assert [r.rcpt_tos for r in server.handler.received] == [["bob@school.example"]]


# -- each message's record, written while the next one's envelope goes out ------------------


class _LedgerWatch(Handler):
    """At each RCPT TO (after MAIL FROM was answered, before DATA), reads the ledger from
    its own connection: what it says about the messages the server already took."""

    def __init__(self, ledger: Path) -> None:
        super().__init__()
        self.ledger = ledger
        self.seen: list[tuple[int, int]] = []  # (messages taken, of them recorded as sent)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        import sqlite3

        taken = [r.rcpt_tos[0] for r in self.received]
        with contextlib.closing(sqlite3.connect(self.ledger)) as db:
            sent = {r[0] for r in db.execute("SELECT recipient FROM messages WHERE state='sent'")}
        self.seen.append((len(taken), sum(1 for t in taken if t in sent)))
        return await super().handle_RCPT(server, session, envelope, address, options)


def test_each_message_is_recorded_before_the_next_ones_data_go_out(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pdmail.cli.commands import main

    handler = _LedgerWatch(tmp_path / ".pdmail" / "ledger.sqlite3")
    controller = _Controller(handler, hostname=HOST, port=0)
    controller.start()
    try:
        config = _without_login(_smtp_project(tmp_path, Server(handler, controller)))
        args = ["send", "--config", str(config), "--today", "2026-12-01"]
        result = CliRunner().invoke(main, args)
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert len(handler.received) == 4
    # Before each message's data, every message the server had taken was in the ledger as sent.
    assert handler.seen == [(n, n) for n in range(4)]
    assert _ledger_rows(tmp_path) == 4


def test_a_record_that_cannot_be_written_stops_the_next_message_before_its_data(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from pdmail.cli.commands import main
    from pdmail.state.ledger import Ledger

    config = _without_login(_smtp_project(tmp_path, server))
    real = Ledger.mark_sent
    calls: list[int] = []

    def failing(self: Ledger, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise BackendError("the ledger write failed (disk I/O error)")
        real(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "mark_sent", failing)
    run = CliRunner().invoke
    first = run(main, ["send", "--config", str(config), "--today", "2026-12-01"])
    assert first.exit_code != 0
    assert "disk I/O error" in first.output and "Traceback" not in first.output
    # The first message went; its record failed while the second's envelope went out, so the
    # second's data never did.
    assert [r.rcpt_tos for r in server.handler.received] == [["ann@school.example.org"]]
    assert server.handler.data_calls == 1

    second = run(main, ["send", "--config", str(config), "--today", "2026-12-01"])
    # The first is in doubt (handed over, not recorded): never resent on its own; the rest go.
    got = [r.rcpt_tos[0] for r in server.handler.received]
    assert got.count("ann@school.example.org") == 1
    assert sorted(got) == sorted(set(got)) and len(got) == 4, second.output
    from conftest import ledger_entries

    states = {e.key.recipient: e.state.value for e in ledger_entries(_project_of(tmp_path))}
    assert states["ann@school.example.org"] == "unknown"
    assert sorted(v for k, v in states.items() if k != "ann@school.example.org") == ["sent"] * 3


def _without_login(config: Path) -> Path:
    """The project's config with no login, and unpaced, as a relay on the school's own
    network is used: claims are then made a batch ahead, and records written late."""
    import yaml

    data = yaml.safe_load(config.read_text())
    data["mail"].update(per_minute=0, daily_cap=0)
    data["mail"]["smtp"].update(username="", password_env="")
    config.write_text(yaml.safe_dump(data))
    return config


def _project_of(folder: Path) -> Any:
    from conftest import Project

    return Project(folder)


def test_a_paced_run_records_each_message_before_it_pauses(server: Server, tmp_path: Path) -> None:
    """Paced, the next message does not follow at once: its record is not left pending
    over the pause (a run stopped during it would leave the message in doubt)."""
    import sqlite3
    from datetime import date

    import yaml
    from conftest import Project

    from pdmail import cycles
    from pdmail.cycle.steps import send_requests

    config = _without_login(_smtp_project(tmp_path, server))
    data = yaml.safe_load(config.read_text())
    data["mail"]["per_minute"] = 2  # the third and fourth wait (the pause returns at once)
    config.write_text(yaml.safe_dump(data))
    seen: list[tuple[int, int]] = []

    def pause(seconds: float) -> None:
        with contextlib.closing(sqlite3.connect(tmp_path / ".pdmail" / "ledger.sqlite3")) as db:
            sent = db.execute("SELECT count(*) FROM messages WHERE state='sent'").fetchone()[0]
        seen.append((len(server.handler.received), int(sent)))

    project = Project(tmp_path)
    with project.workspace(date(2026, 12, 1)) as ws:
        ws.sleep = pause
        report = send_requests(ws, cycles.cycle(ws.config, "2026-12"))
    assert report.count("sent") == 4
    # (messages the server took, of them recorded as sent) at each pause
    assert seen == [(2, 2), (3, 3)]
