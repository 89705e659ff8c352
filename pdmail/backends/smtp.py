"""Send mail through an SMTP server, one connection per run.

:class:`SmtpMailer` opens one connection in ``__enter__`` (implicit TLS, STARTTLS or plain, then
an optional login), hands every message of the run over on it, and says QUIT in ``__exit__``.
A refusal becomes a :class:`~pdmail.errors.DeliveryError` with ``definite=True``; a connection
lost once the message data may have gone out becomes ``definite=False`` and is never retried.
A server that stops answering (no reply within ``timeout``) is a ``transient="timeout"``
error: definite before the data went out, unknown after; the run stops after two in a row.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTPUTF8, EmailPolicy
from email.utils import getaddresses
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from ..errors import BackendError, ConfigError, DeliveryError
from ..mail.wire import Sendable, WireMessage, message_id_of
from ..models import SendResult
from .base import OK, SEND_TEST, Account, BuiltinMailKind, Check, MailerBackend

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

    from ..config.reader import Reader
    from ..config.records import Config
    from .base import Mailer

__all__ = ["SECURITY_MODES", "SmtpBackend", "SmtpMailer", "SmtpSettings"]

log = logging.getLogger(__name__)

SECURITY_MODES = ("ssl", "starttls", "none")

# A refusal that is about the account's sending rate or quota, not this message: the words
# Gmail ("550 5.4.5 Daily user sending limit exceeded"), Microsoft 365
# ("554 5.2.0 ... SubmissionQuotaExceededException", "421 4.7.0 ... too many messages") and
# others use. No later message of the run would fare better.
_SENDING_LIMIT = re.compile(
    r"quota|sending limit|limit exceeded|rate ?limit|too many messages|message limit", re.I
)

# 421 means "service not available, closing the channel": a server that timed out an idle
# connection often says it to the next command, so at MAIL FROM it means "reconnect".
_CLOSING = 421

_HINT_CONNECT = (
    "check mail.smtp.host, mail.smtp.port and mail.smtp.security "
    "(port 465 usually takes security: ssl, port 587 security: starttls)"
)
_HINT_TLS = (
    "check mail.smtp.security and mail.smtp.port (port 465 usually takes security: ssl, "
    "port 587 security: starttls), and that mail.smtp.host is the name on the server's "
    "certificate"
)
_HINT_AUTH = (
    "check mail.smtp.username and the password in the environment variable that "
    "mail.smtp.password_env names"
)
# Exchange Online refusing a password: Basic authentication for SMTP client submission is
# being retired (MC786329), and a tenant or mailbox may have turned it off already. The words:
# "550 5.7.30 Basic authentication is not supported for Client Submission", "535 5.7.139
# Authentication unsuccessful, basic authentication is disabled", "535 5.7.3 Authentication
# unsuccessful, ... basic authentication is disabled" ("SmtpClientAuthentication is disabled
# for the Tenant" is 5.7.139 too, for SMTP AUTH as a whole).
_BASIC_AUTH_RETIRED = re.compile(
    r"\b5\.7\.(?:30|139)\b|basic auth\w* (?:is )?(?:disabled|not supported)", re.I
)
_HINT_BASIC_AUTH = (
    "Exchange Online no longer takes a password for SMTP (Basic authentication is retired): "
    "switch to 'mail.kind: microsoft365' (Microsoft Graph, no SMTP at all), or keep SMTP with "
    "'mail.smtp.auth: oauth2' if the admin allows SMTP AUTH; both sign in once with 'pdmail "
    "auth --microsoft' (see the README, Microsoft 365)"
)
_HINT_SMTP_AUTH_OFF = (
    "Exchange Online refused the OAuth login: SMTP AUTH is turned off for the tenant or the "
    "mailbox (an admin enables 'Authenticated SMTP' for it in the Microsoft 365 admin center), "
    "or use 'mail.kind: microsoft365', which needs no SMTP AUTH"
)
_HINT_OAUTH = (
    "the server refused the OAuth token: check that mail.smtp.username is the mailbox that "
    "signed in, that the app has the SMTP.Send permission ('pdmail doctor' shows it), or run "
    "'pdmail auth --microsoft' again"
)
_HINT_UNKNOWN = (
    "the server may or may not have accepted it; pdmail records it as unknown and will not "
    "resend it on its own. Check the recipient's mailbox or the server's log first"
)


class _Connection(smtplib.SMTP):
    """An ``smtplib.SMTP`` that remembers whether DATA was issued for the current message.

    That flag is the line between "certainly not sent, safe to retry" and "may have been sent".
    """

    data_started = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)


class _SslConnection(_Connection, smtplib.SMTP_SSL):
    """:class:`_Connection` over implicit TLS (``smtplib.SMTP_SSL``)."""


class SmtpMailer:
    """A :class:`~pdmail.backends.base.Mailer` that speaks SMTP to ``host:port``.

    ``security`` is ``"ssl"`` (implicit TLS, usually port 465), ``"starttls"`` (plain connect,
    then STARTTLS, usually port 587; refused if the server does not offer it, never downgraded
    to plaintext) or ``"none"`` (plaintext, for a relay on localhost). ``username`` (with
    ``password``) logs in after TLS is up. ``ssl_context`` replaces the default context, which
    verifies the certificate against the system's trusted roots and the host name.

    Raises :class:`~pdmail.errors.ConfigError` for an unknown ``security`` or a bad port.
    """

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        oauth_token: Callable[[], str] | None = None,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ConfigError(
                f"mail.smtp.security must be one of {', '.join(SECURITY_MODES)}; got {security!r}",
                hint="use ssl for port 465, starttls for port 587, none only for a local relay",
            )
        if not 0 < port < 65536:
            raise ConfigError(f"mail.smtp.port must be between 1 and 65535; got {port}")
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self._ssl_context = ssl_context
        self.local_hostname = local_hostname
        # XOAUTH2 instead of a password: called for a fresh token at each login.
        self._oauth_token = oauth_token
        self._token = ""
        self._conn: _Connection | None = None
        self._entered = False

    @property
    def where(self) -> str:
        """``SMTP host:port``, the prefix of every message this mailer raises."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"SMTP {host}:{self.port}"

    def __repr__(self) -> str:
        # Spelled out so that the password never shows up in a log or a traceback.
        return (
            f"SmtpMailer(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r})"
        )

    # -- the run ---------------------------------------------------------------------------

    def __enter__(self) -> SmtpMailer:
        """Open the run's connection (connect, EHLO, STARTTLS, login) and return self.

        Raises :class:`~pdmail.errors.BackendError` naming ``SMTP host:port`` and what failed
        (could not connect, TLS, STARTTLS not offered, authentication failed) with a hint.
        """
        if self._entered:
            raise BackendError(f"{self.where}: the connection is already open")
        self._conn = self._open()
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Say QUIT and close the connection; a server that is already gone is not an error."""
        self._entered = False
        self._drop(polite=True)

    def send(
        self,
        message: Sendable,
        *,
        thread_id: str | None = None,
        meanwhile: Callable[[], None] | None = None,
        before_data: Callable[[], None] | None = None,
    ) -> SendResult:
        """Hand ``message`` to the server on the run's connection.

        ``meanwhile``, if given, is called at most once, while the server takes in a message
        pdmail wrote (after its data went out, before the reply is read): the caller's own
        work (rendering the next message) then costs no time of its own. It must not raise.

        ``before_data``, if given, is called once before any of the message's data go out
        (for a message pdmail wrote, while the server answers the envelope's first command):
        the caller's bookkeeping of the message before (its record) then costs no time of
        its own either. What it raises is raised as it is, the message not sent.

        For a message pdmail composed (:class:`~pdmail.mail.wire.WireMessage`) the envelope is
        the sender and recipient pdmail chose, never addresses read back from its headers, and
        the data are its bytes, checked when they were written. For any
        other message the envelope sender comes from its Sender or From header, the recipients
        from To, Cc and Bcc (Bcc is not transmitted). Returns the message's Message-ID as
        ``message_id`` and ``thread_id`` (or the Message-ID when None) as ``thread_id``.

        A connection the server dropped since the last message is reopened once, before any
        of this message went out. Raises :class:`~pdmail.errors.DeliveryError` with
        ``definite=True`` when the server refused the sender, a recipient or the data (nothing
        was delivered; the connection stays usable), and ``definite=False`` when the connection
        was lost or timed out once the data may have been sent. Raises
        :class:`~pdmail.errors.BackendError` when called outside ``with``.
        """
        if not self._entered:
            raise BackendError(
                f"{self.where}: send() was called outside 'with SmtpMailer(...)'",
                hint="open the connection with a with-block first",
            )
        sender, recipients = _envelope(message)
        shown = ", ".join(recipients) or "(no recipient)"
        message_id = message_id_of(message)
        problem = ""
        if not message_id:
            problem = "has no Message-ID header"
        elif not sender:
            problem = "has no From address"
        elif not recipients:
            problem = "has no To, Cc or Bcc recipient"
        if problem:
            raise DeliveryError(f"{self.where}: message to {shown} {problem}", definite=True)
        checked = message.data if isinstance(message, WireMessage) else None

        # Called once, even when the message is tried on a second connection.
        owed = [before_data] if before_data is not None else []

        def bookkeeping() -> None:
            while owed:
                owed.pop()()

        for attempt in (1, 2):
            conn = self._conn or self._reopen(shown)
            conn.data_started = False
            try:
                if checked is not None:
                    refused = _transact(
                        conn, sender, recipients[0], checked, meanwhile, bookkeeping
                    )
                else:
                    assert isinstance(message, EmailMessage)  # WireMessage has its bytes
                    bookkeeping()
                    data, options = _flatten(conn, message, [sender, *recipients])
                    refused = conn.sendmail(sender, recipients, data, options)
            except (smtplib.SMTPException, OSError) as exc:
                # A server that stopped answering is not one that dropped an idle connection:
                # connecting again would only wait out another timeout.
                if (
                    attempt == 1
                    and not conn.data_started
                    and _connection_gone(exc)
                    and not _timed_out(exc)
                ):
                    log.info(
                        "%s: connection lost before sending (%s); reconnecting", self.where, exc
                    )
                    self._drop()
                    continue
                raise self._delivery_error(exc, conn.data_started, shown) from exc
            if refused:
                # The server took the message for the other recipients, so raising would invite
                # a resend to them; the refused ones are only worth a warning.
                log.warning(
                    "%s: message %s accepted, but these recipients were refused: %s",
                    self.where,
                    message_id,
                    self._scrub(_refusals(refused)),
                )
            return SendResult(message_id=message_id, thread_id=thread_id or message_id)
        # Unreachable: the second attempt either returns or raises.
        raise AssertionError("SmtpMailer.send fell through its retry loop")

    def _reopen(self, shown: str) -> _Connection:
        """A new connection after the server dropped the last one, or a definite DeliveryError."""
        try:
            self._conn = self._open()
        except BackendError as exc:
            raise DeliveryError(
                f"{self.where}: message to {shown} not sent: reconnecting failed: "
                f"{exc.message.removeprefix(self.where + ': ')}",
                definite=True,
                hint=exc.hint,
                # The server that took the last message cannot be reached now: neither would
                # it be for the next one.
                transient="timeout" if _timed_out(exc) else "unreachable",
            ) from exc
        return self._conn

    def _delivery_error(self, exc: OSError, data_started: bool, shown: str) -> DeliveryError:
        """Classify a failed send, leaving the connection reset for the next message or closed."""
        timed_out = _timed_out(exc)
        if data_started and not isinstance(exc, smtplib.SMTPDataError):
            # The data may have reached the server and been accepted before the line went dead.
            self._drop()
            if timed_out:
                what = f"no answer within {self.timeout:g} s after sending the message to {shown}"
                cause = "the server stopped answering after the message was handed over"
            else:
                what = f"connection lost while sending the message to {shown}"
                cause = "the connection dropped after the message was handed over"
            return DeliveryError(
                self._scrub(f"{self.where}: {what} ({_describe(exc)})"),
                definite=False,
                hint=_HINT_UNKNOWN,
                cause=cause,
                transient="timeout" if timed_out else "",
            )
        if timed_out:
            # Nothing of the message went out; the server is slow or hung, so the connection
            # is not worth keeping.
            self._drop()
            return DeliveryError(
                self._scrub(
                    f"{self.where}: message to {shown} not sent: no answer within "
                    f"{self.timeout:g} s ({_describe(exc)})"
                ),
                definite=True,
                hint="the server stopped answering before the message went out; it goes on "
                "the next run",
                transient="timeout",
            )
        if _sending_limit(exc):
            if _connection_gone(exc):
                self._drop()
            else:
                self._reset()
            return DeliveryError(
                self._scrub(
                    f"{self.where}: message to {shown} not sent: the server's sending limit is "
                    f"reached ({_describe(exc)})"
                ),
                definite=True,
                stop=True,
                hint="the mail server will take no more messages from this account for now; "
                "the rest go on the next run (lower mail.daily_cap or mail.per_minute to stay "
                "under its limit)",
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            text = f"recipient refused: {_refusals(exc.recipients) or shown}"
        elif isinstance(exc, smtplib.SMTPSenderRefused):
            text = f"sender {_text(exc.sender)} refused for message to {shown} ({_describe(exc)})"
        elif isinstance(exc, smtplib.SMTPDataError):
            # An error reply to DATA or to the end of the data: the server did not take it.
            text = f"message to {shown} rejected ({_describe(exc)})"
        else:
            text = f"message to {shown} not sent ({_describe(exc)})"
        if _connection_gone(exc):
            self._drop()
        else:
            self._reset()
        return DeliveryError(self._scrub(f"{self.where}: {text}"), definite=True)

    # -- connection ------------------------------------------------------------------------

    def _open(self) -> _Connection:
        """A connected, greeted, secured and logged-in connection, or BackendError."""
        step = "could not connect"
        with contextlib.ExitStack() as cleanup:
            try:
                # Host and port go to the constructor because smtplib checks the certificate
                # against the host it was constructed with, not the one given to connect().
                conn: _Connection
                if self.security == "ssl":
                    conn = _SslConnection(
                        self.host,
                        self.port,
                        local_hostname=self.local_hostname,
                        timeout=self.timeout,
                        context=self._context(),
                    )
                else:
                    conn = _Connection(
                        self.host,
                        self.port,
                        local_hostname=self.local_hostname,
                        timeout=self.timeout,
                    )
                cleanup.callback(_close, conn)
                step = "EHLO failed"
                conn.ehlo_or_helo_if_needed()
                if self.security == "starttls":
                    if not conn.has_extn("starttls"):
                        raise BackendError(
                            f"{self.where}: the server does not offer STARTTLS; "
                            "refusing to send in plaintext",
                            hint=_HINT_TLS,
                        )
                    step = "STARTTLS failed"
                    conn.starttls(context=self._context())
                    step = "EHLO after STARTTLS failed"
                    conn.ehlo_or_helo_if_needed()
                if self.username:
                    step = "authentication failed"
                    if not conn.has_extn("auth"):
                        raise BackendError(
                            f"{self.where}: the server does not offer AUTH, so pdmail cannot "
                            f"log in as {self.username}",
                            hint="many servers offer AUTH only over TLS: check "
                            "mail.smtp.security; leave mail.smtp.username empty for a relay "
                            "that needs no login",
                        )
                    if self._oauth_token is not None:
                        self._xoauth2(conn)
                    else:
                        conn.login(self.username, self._password)
            except ssl.SSLCertVerificationError as exc:
                raise self._failure("TLS certificate not trusted", exc, _HINT_TLS) from exc
            except ssl.SSLError as exc:
                raise self._failure(f"{step}: TLS error", exc, _HINT_TLS) from exc
            except (smtplib.SMTPException, OSError) as exc:
                if _timed_out(exc):
                    # A server that does not answer is not a wrong host or port: do not
                    # send the librarian to check the config.
                    raise self._failure(
                        f"{step}: no answer within {self.timeout:g} s",
                        exc,
                        "the server is hung or overloaded; nothing was sent. Run again later "
                        "(mail.smtp.timeout sets how long pdmail waits)",
                    ) from exc
                hint = _HINT_AUTH if step == "authentication failed" else _HINT_CONNECT
                if step == "authentication failed":
                    refused = self._auth_refused(exc)
                    if refused is not None:
                        raise self._failure(refused[0], exc, refused[1]) from exc
                    if self._oauth_token is not None:
                        hint = _HINT_OAUTH
                raise self._failure(step, exc, hint) from exc
            cleanup.pop_all()
            return conn

    def _xoauth2(self, conn: _Connection) -> None:
        """Log in with SASL XOAUTH2: the user and a bearer token instead of a password."""
        assert self._oauth_token is not None
        self._token = self._oauth_token()
        initial = f"user={self.username}\x01auth=Bearer {self._token}\x01\x01"

        def answer(challenge: bytes | None = None) -> str:
            # After a refusal the server sends its reasons as a challenge; an empty answer
            # ends the exchange, and the server then says 535.
            return initial if challenge is None else ""

        conn.auth("XOAUTH2", answer, initial_response_ok=True)

    def _auth_refused(self, exc: BaseException) -> tuple[str, str] | None:
        """What a refused login from Exchange Online means, when it says: Basic
        authentication retired (for a password), SMTP AUTH off (for OAuth)."""
        if not isinstance(exc, smtplib.SMTPResponseException):
            return None
        if not _BASIC_AUTH_RETIRED.search(_text(exc.smtp_error)):
            return None
        if self._oauth_token is not None:
            return "Exchange Online refused the OAuth login", _HINT_SMTP_AUTH_OFF
        return (
            f"Exchange Online refused the password login of {self.username}: Basic "
            "authentication for SMTP is disabled",
            _HINT_BASIC_AUTH,
        )

    def _context(self) -> ssl.SSLContext:
        # smtplib's own default context checks neither the certificate nor the host name.
        return self._ssl_context or ssl.create_default_context()

    def _failure(self, step: str, exc: BaseException, hint: str) -> BackendError:
        return BackendError(self._scrub(f"{self.where}: {step} ({_describe(exc)})"), hint=hint)

    def _reset(self) -> None:
        """Clear a failed transaction so the next message starts clean; drop if that fails."""
        conn = self._conn
        if conn is None:
            return
        try:
            code, _ = conn.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self._drop()

    def _drop(self, *, polite: bool = False) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if polite:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
        _close(conn)

    def _scrub(self, text: str) -> str:
        # A server may echo what it was sent; the password (or the token) must not reach a log
        # or a screen.
        for secret in (self._password, self._token):
            text = text.replace(secret, "***") if secret else text
        return text


def _close(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        conn.close()


def _transact(
    conn: _Connection,
    sender: str,
    recipient: str,
    data: bytes,
    meanwhile: Callable[[], None] | None,
    before_data: Callable[[], None] | None = None,
) -> dict[str, tuple[int, bytes]]:
    """``conn.sendmail(sender, [recipient], data)`` for the checked bytes of a message pdmail
    wrote, with the same commands, replies and errors, but none of its per-message parsing:
    both addresses are plain ``local@domain`` (checked when the message was written), so they
    need no quoting, and the bytes end every line with CRLF, so only leading dots need
    doubling. ``before_data`` runs while the server answers MAIL FROM, ``meanwhile`` while
    it takes the data in."""
    conn.ehlo_or_helo_if_needed()
    options = f" size={len(data)}" if conn.does_esmtp and conn.has_extn("size") else ""
    conn.putcmd("mail", f"FROM:<{sender}>{options}")
    if before_data is not None:
        before_data()
    code, reply = conn.getreply()
    if code != 250:
        if code == _CLOSING:
            conn.close()
        else:
            conn._rset()  # type: ignore[attr-defined]
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    conn.putcmd("rcpt", f"TO:<{recipient}>")
    code, reply = conn.getreply()
    if code not in (250, 251):
        if code == _CLOSING:
            conn.close()
        else:
            conn._rset()  # type: ignore[attr-defined]
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    # From here on the message may reach the server: the line sendmail() draws at data().
    conn.data_started = True
    conn.putcmd("data")
    code, reply = conn.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)  # as data() raises it, the session as it is
    body = data.replace(b"\n.", b"\n..")
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    conn.send(body + b".\r\n")
    if meanwhile is not None:
        meanwhile()
    code, reply = conn.getreply()
    if code != 250:
        if code == _CLOSING:
            conn.close()
        else:
            conn._rset()  # type: ignore[attr-defined]
        raise smtplib.SMTPDataError(code, reply)
    return {}


def _envelope(message: Sendable) -> tuple[str, list[str]]:
    """The envelope sender and recipients: for a composed message the ones pdmail chose;
    otherwise Sender (else From) and To, Cc, Bcc, as ``send_message`` reads them."""
    if isinstance(message, WireMessage):
        return message.envelope_from, [message.envelope_to]
    field = "Sender" if "Sender" in message else "From"
    senders = [addr for _, addr in getaddresses([str(v) for v in message.get_all(field, [])])]
    fields = [str(v) for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])]
    return (senders[0] if senders else ""), [addr for _, addr in getaddresses(fields) if addr]


def _flatten(
    conn: smtplib.SMTP, message: EmailMessage, addresses: list[str]
) -> tuple[bytes, list[str]]:
    """The bytes to send (CRLF, no Bcc) and the MAIL FROM options they need.

    This is ``SMTP.send_message`` without its one flaw: it serialises with ``mangle_from_``
    on, so a body line starting with "From " would reach the teacher as ">From "
    (CPython issue 89462).
    """
    policy = message.policy
    options: list[str] = []
    if not all(addr.isascii() for addr in addresses):
        if not conn.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError(
                "an address is not ASCII and the server does not offer SMTPUTF8"
            )
        policy = policy.clone(utf8=True) if isinstance(policy, EmailPolicy) else SMTPUTF8
        options = ["SMTPUTF8", "BODY=8BITMIME"]
    visible = copy.copy(message)
    del visible["Bcc"]
    with io.BytesIO() as buffer:
        BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(visible, linesep="\r\n")
        return buffer.getvalue(), options


def _sending_limit(exc: BaseException) -> bool:
    """True when the server's reply says the account's sending limit is reached."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        texts = [_text(text) for _, text in exc.recipients.values()]
    elif isinstance(exc, smtplib.SMTPResponseException):
        texts = [_text(exc.smtp_error)]
    else:
        return False
    return bool(texts) and all(_SENDING_LIMIT.search(t) for t in texts)


def _timed_out(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps: smtplib turns a read timeout into
    SMTPServerDisconnected) is a socket timeout."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TimeoutError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _connection_gone(exc: OSError) -> bool:
    """True when ``exc`` says the connection itself is gone rather than a command refused."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == _CLOSING
    return isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(
        exc, smtplib.SMTPException
    )


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{addr} ({_reply(code, text)})" for addr, (code, text) in refused.items())


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {' '.join(_text(text).split())}".strip()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    return str(exc) or type(exc).__name__


# -- the backend: mail.kind smtp -------------------------------------------------------------

Security = Literal["starttls", "ssl", "none"]
_DEFAULT_PORT: dict[Security, int] = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    """``mail.smtp``: the server, how to secure the connection, and who logs in."""

    host: str
    port: int
    security: Security
    username: str
    password_env: str
    timeout: float
    auth: Literal["password", "oauth2"] = "password"

    def password(self) -> str:
        """The password from the environment variable the config names ("" if none is named)."""
        if not self.password_env:
            return ""
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"mail.smtp.password_env: the environment variable {self.password_env} is not set",
                hint=f"export {self.password_env}=... in the environment that runs pdmail "
                "(for cron, in the crontab or a file it sources)",
            )
        return value


class SmtpBackend(MailerBackend):
    """``mail.kind: smtp``: any SMTP server (Microsoft 365, the district's relay), set in
    ``mail.smtp``. Paced below Microsoft 365's limits (30 messages a minute, 10,000
    recipients a day)."""

    kind: ClassVar[BuiltinMailKind] = "smtp"
    keys = frozenset({"smtp"})
    per_minute = 30
    daily_cap = 1500

    @classmethod
    def parse(cls, r: Reader, section: Mapping[str, Any], *, chosen: bool) -> dict[str, Any]:
        if not chosen and "smtp" not in section:
            return {"smtp": None}
        s = r.mapping(section.get("smtp"), "mail.smtp", required=chosen)
        r.known(
            s,
            "mail.smtp",
            {"host", "port", "security", "username", "password_env", "timeout", "auth"},
        )
        security = cast(
            Security,
            r.choice(s, "security", "mail.smtp", ("starttls", "ssl", "none"), "starttls"),
        )
        smtp = SmtpSettings(
            host=r.text(s, "host", "mail.smtp", required=chosen),
            port=r.integer(s, "port", "mail.smtp", _DEFAULT_PORT[security], 1, 65535),
            security=security,
            username=r.text(s, "username", "mail.smtp"),
            password_env=r.text(s, "password_env", "mail.smtp"),
            timeout=float(r.integer(s, "timeout", "mail.smtp", 30, 1, 600)),
            auth=cast(
                Literal["password", "oauth2"],
                r.choice(s, "auth", "mail.smtp", ("password", "oauth2"), "password"),
            ),
        )
        if smtp.auth == "oauth2":
            # XOAUTH2 (Exchange Online): the token of 'pdmail auth --microsoft', no password.
            if not smtp.username:
                raise r.error(
                    "mail.smtp.username",
                    "is required with auth: oauth2 (the mailbox that signs in)",
                    "e.g. username: librarian@school.org",
                )
            if smtp.security == "none":
                raise r.error(
                    "mail.smtp.security",
                    "must be starttls or ssl with auth: oauth2 (a token never goes in plaintext)",
                )
        elif smtp.username and not smtp.password_env:
            raise r.error(
                "mail.smtp.password_env",
                "is required with a username (the password itself never goes in the file)",
                "e.g. password_env: PDMAIL_SMTP_PASSWORD",
            )
        return {"smtp": smtp}

    @classmethod
    def account_for(cls, config: Config) -> type[Account] | None:
        smtp = config.mail.smtp
        if smtp is not None and smtp.auth == "oauth2":
            from .microsoft.doctor import MicrosoftAccount

            return MicrosoftAccount
        return None

    @classmethod
    def check(cls, r: Reader, root: Mapping[str, Any]) -> None:
        mail = root.get("mail")
        smtp = mail.get("smtp") if isinstance(mail, Mapping) else None
        if isinstance(smtp, Mapping) and smtp.get("auth") == "oauth2":
            from .microsoft.api import require

            require(r, root, "mail.smtp.auth is oauth2")

    @classmethod
    def settings(cls, config: Config) -> SmtpSettings:
        """The checked ``mail.smtp``."""
        smtp = config.mail.options.get("smtp")
        assert isinstance(smtp, SmtpSettings)  # parse() requires mail.smtp when kind is smtp
        return smtp

    @classmethod
    def build(cls, config: Config) -> SmtpMailer:
        smtp = cls.settings(config)
        oauth_token: Callable[[], str] | None = None
        if smtp.auth == "oauth2":
            from .microsoft.api import SMTP_SEND
            from .microsoft.auth import TokenSource

            tokens = TokenSource(config)

            def oauth_token() -> str:
                return tokens.token([SMTP_SEND])

        return SmtpMailer(
            smtp.host,
            smtp.port,
            security=smtp.security,
            username=smtp.username,
            password="" if smtp.auth == "oauth2" else smtp.password(),
            timeout=smtp.timeout,
            oauth_token=oauth_token,
        )

    @classmethod
    def doctor(cls, config: Config, *, connect: bool, new_mailer: Callable[[], Mailer]) -> Check:
        """A login (or, with no username, a connection), never a message."""
        if not connect:
            return super().doctor(config, connect=connect, new_mailer=new_mailer)
        smtp = cls.settings(config)
        with new_mailer():
            pass
        how = " with XOAUTH2 (a token from the Microsoft sign-in)" if smtp.auth == "oauth2" else ""
        done = (
            f"logged in to {smtp.host}:{smtp.port} as {smtp.username}{how}"
            if smtp.username
            else f"connected to {smtp.host}:{smtp.port} (no login configured)"
        )
        return Check("mail", OK, f"smtp: {done}; sending not checked: {SEND_TEST}")

    @classmethod
    def accepted_by(cls, config: Config) -> str:
        smtp = config.mail.options.get("smtp")
        where = f"{smtp.host}:{smtp.port}" if isinstance(smtp, SmtpSettings) else ""
        return f"the SMTP server {where}"
