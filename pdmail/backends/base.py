"""The small protocols every backend implements, and the class that describes a backend.

A mailer hands over one message and returns its ids; a table source reads the roster and the
responses; a report sink writes rows where the librarian can read them. The rest of pdmail
speaks only to these.

A backend itself is a class (:class:`MailerBackend`, :class:`SourceBackend`) that carries its
``kind`` (the name the config picks it by), the config keys it owns and how it checks them, how
it is built from a checked config, its default pacing and its ``pdmail doctor`` checks; the
registry (:mod:`pdmail.backends.registry`) lists them. So a new footing (Microsoft 365, say) is
one module in this package: see docs/backends.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from ..errors import BackendError, DeliveryError
from ..mail.wire import WireMessage, handover_bytes, message_id_of
from ..models import SendResult, Table

if TYPE_CHECKING:
    from ..config.reader import Reader
    from ..config.records import Config
    from ..mail.wire import Sendable

# The kinds pdmail ships with; the registry may hold more (a script's own mailer).
BuiltinMailKind = Literal["outbox", "smtp", "gmail", "microsoft365"]
BuiltinSourceKind = Literal["local", "google", "microsoft365"]

CheckStatus = Literal["ok", "warn", "fail", "skip"]
OK: CheckStatus = "ok"
WARN: CheckStatus = "warn"
FAIL: CheckStatus = "fail"
SKIP: CheckStatus = "skip"

SEND_TEST = "run 'pdmail doctor --send-test' to send yourself a test message"


@dataclass(frozen=True)
class Check:
    """One line of ``pdmail doctor``'s report."""

    name: str
    status: CheckStatus
    detail: str
    fix: str = ""


class Mailer(Protocol):
    """Sends messages for one run.

    Used as a context manager: ``__enter__`` opens what the run needs (one SMTP connection, an
    API session) and ``__exit__`` closes it, so a whole run shares one connection.

    ``send`` raises :class:`pdmail.errors.DeliveryError` with ``definite=True`` when the message
    certainly did not leave, and ``definite=False`` when the outcome cannot be known (with
    ``cause`` saying what is known). It must never retry a send whose outcome is unknown.
    ``stop=True`` says the provider will take nothing more in this run (its sending limit;
    ``resume_after`` when it said), and ``transient`` names a passing condition ("timeout",
    "throttled", "unreachable") that ends the run when it repeats; either way a message that
    certainly did not leave is held for a later run. ``name`` ("smtp", "gmail", …) tells
    pdmail where to look for a message whose outcome is unknown.
    """

    name: str

    def __enter__(self) -> Mailer: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def send(self, message: Sendable, *, thread_id: str | None = None) -> SendResult:
        """Hand ``message`` over; ``thread_id`` is the first message's thread for a reply."""
        ...


class TableSource(Protocol):
    """Reads the roster and the form responses."""

    def read_roster(self) -> Table: ...

    def read_responses(self) -> Table | None:
        """The responses, or None when there are none yet (no export has been saved)."""
        ...


@runtime_checkable
class SavedExport(Protocol):
    """A source whose responses are an export saved at a known moment (a downloaded file),
    so pdmail can tell an export saved before a cycle's requests went out. A live source
    (a Sheet the Form writes to) has no such moment and does not implement this."""

    def responses_saved(self) -> datetime | None:
        """When the responses export was last saved, or None when there is none."""
        ...


@runtime_checkable
class ReportSink(Protocol):
    """Writes a table (status, needs, digest) where the librarian reads it, and reads back
    one the librarian edits (the needs, whose status and note they change)."""

    def write_table(self, name: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        """Replace the table ``name`` with ``rows``; return where it went, for messages."""
        ...

    def read_table(self, name: str) -> Table | None:
        """The table ``name`` as it is now (edits included), or None if it does not exist."""
        ...


# -- backends ------------------------------------------------------------------------------


class Account:
    """Credentials that several backends may share (one Google sign-in serves Sheets and
    Gmail): ``pdmail doctor`` checks them once, before the checks of the backends that use
    them."""

    name: ClassVar[str]  # "Google": says "needs working Google credentials"

    @classmethod
    def checks(cls, config: Config) -> tuple[list[Check], bool]:
        """The doctor's checks of these credentials, and whether they can be used (when not,
        the checks of the backends that need them are skipped)."""
        raise NotImplementedError


class Backend:
    """What every backend declares: its ``kind``, the keys it owns in its config section
    (``mail:`` for a mailer, ``sources:`` for a source) and how it checks them."""

    kind: ClassVar[str]
    keys: ClassVar[frozenset[str]] = frozenset()
    account: ClassVar[type[Account] | None] = None
    google_scopes: ClassVar[tuple[str, ...]] = ()  # the OAuth scopes it needs, if any
    microsoft_scopes: ClassVar[tuple[str, ...]] = ()  # the Microsoft permissions it needs

    @classmethod
    def account_for(cls, config: Config) -> type[Account] | None:
        """The credentials this backend uses with ``config`` (``account`` unless a setting
        brings others: SMTP with ``auth: oauth2`` signs in to Microsoft)."""
        return cls.account

    @classmethod
    def parse(cls, r: Reader, section: Mapping[str, Any], *, chosen: bool) -> dict[str, Any]:
        """Check this backend's own ``keys`` in ``section`` and return their values (what the
        config holds in ``options``). ``chosen`` says whether the config picks this backend:
        a key it needs may be required only then. Errors come from ``r.error``, naming the
        file and the key."""
        return {}

    @classmethod
    def check(cls, r: Reader, root: Mapping[str, Any]) -> None:
        """Requirements of the chosen backend on the rest of the config (``root`` is the
        whole file), checked after its sections are: e.g. a Google source needs
        ``google.spreadsheet_id``."""


class MailerBackend(Backend):
    """A way to send mail, picked by ``mail.kind``.

    ``per_minute`` and ``daily_cap`` are the pacing used when the config sets none (what the
    provider allows, with room to spare); ``delivers`` is False for a mailer that only writes
    files, which reaches nobody.
    """

    per_minute: ClassVar[int] = 0
    daily_cap: ClassVar[int] = 0
    delivers: ClassVar[bool] = True
    provider_id_label: ClassVar[str] = "id"  # how test_sent() names the provider's own id

    @classmethod
    def build(cls, config: Config) -> Mailer:
        """The mailer for one run (to be opened with ``with``)."""
        raise NotImplementedError

    @classmethod
    def where_to_look(cls, message_id: str) -> str:
        """Where the librarian finds a message whose outcome is unknown, and how."""
        return (
            f"search the sending mailbox's Sent folder (or the mail server's log) for the "
            f"Message-ID {message_id}"
        )

    @classmethod
    def doctor(cls, config: Config, *, connect: bool, new_mailer: Callable[[], Mailer]) -> Check:
        """The doctor's mail check when no test message is sent: ``connect`` allows opening
        a connection (never sending), with a mailer from ``new_mailer`` (the one
        :meth:`build` makes, or a script's own). By default: not tried."""
        if not connect:
            return Check("mail", SKIP, "connection not tried")
        return Check("mail", SKIP, f"{cls.kind} not checked: {SEND_TEST}")

    @classmethod
    def sender_note(cls, config: Config) -> str:
        """What to know about the From address with this mailer (shown by the doctor)."""
        return ""

    @classmethod
    def accepted_by(cls, config: Config) -> str:
        """Who took a message handed over: "Gmail", "the SMTP server host:port"."""
        return cls.kind

    @classmethod
    def test_sent(cls, config: Config, result: SendResult, message_id: str) -> Check:
        """The doctor's line for a test message this mailer accepted."""
        ids = f"{cls.provider_id_label} {result.provider_id}, " if result.provider_id else ""
        return Check(
            "mail",
            OK,
            f"{cls.kind}: {cls.accepted_by(config)} accepted a test message to "
            f"{config.librarian.email} ({ids}Message-ID {message_id})",
            "look for it in your inbox (and spam folder): accepted is not yet delivered",
        )


class SourceBackend(Backend):
    """Where the roster and the responses come from, picked by ``sources.kind``."""

    @classmethod
    def build(cls, config: Config) -> TableSource:
        """The roster and responses reader."""
        raise NotImplementedError

    @classmethod
    def report_place(cls, config: Config, name: str) -> str:
        """Where the librarian finds the report table ``name`` (the needs), in words."""
        raise NotImplementedError

    @classmethod
    def responses_place(cls, config: Config) -> tuple[str, str] | None:
        """How to name the responses in a message, and how to point pdmail at the right
        ones; None when the source itself says (a saved export names its file)."""
        return None

    #: What a campaign's own responses are in this source, in words ("a tab of the Sheet");
    #: None when the source keeps one responses table for every campaign.
    campaign_responses: ClassVar[str | None] = None

    @classmethod
    def parse_campaign_responses(cls, r: Reader, entry: Mapping[str, Any], key: str) -> str:
        """The campaign entry's ``responses`` (required), checked as this source reads it."""
        return r.text(entry, "responses", key, required=True)

    @classmethod
    def with_campaign_responses(cls, config: Config, responses: str) -> Config:
        """``config`` reading a campaign's own responses (what
        :meth:`parse_campaign_responses` returned) instead of the top-level ones."""
        raise NotImplementedError


def recipients_of(message: Sendable) -> str:
    """The addresses ``message`` goes to, as error messages show them."""
    if isinstance(message, WireMessage):
        return message.envelope_to
    fields = [str(v) for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])]
    return ", ".join(addr for _, addr in getaddresses(fields) if addr)


def api_handover(message: Sendable, api: str, mailer: str, *, opened: bool) -> tuple[bytes, str]:
    """What a mailer that posts raw MIME to an API (Gmail, Microsoft Graph) hands over: the
    message's checked bytes and its Message-ID. Both APIs take the recipients from the raw
    headers, so the bytes are the ones pdmail checked to name its recipient and nobody else.

    Raises :class:`BackendError` when the mailer is not open (``opened`` false: ``send()``
    outside its ``with``) and a definite :class:`DeliveryError` for a message with no
    Message-ID (the ledger could not find it again)."""
    if not opened:
        raise BackendError(
            f"{api}: send() was called outside 'with {mailer}(...)'",
            hint="open the mailer with a with-block first",
        )
    message_id = message_id_of(message)
    if not message_id:
        shown = recipients_of(message) or "(no recipient)"
        raise DeliveryError(f"{api}: message to {shown} has no Message-ID header", definite=True)
    data = message.data if isinstance(message, WireMessage) else handover_bytes(message, api)
    return data, message_id
