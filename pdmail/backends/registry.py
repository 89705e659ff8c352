"""The backends pdmail knows, each picked by its ``kind`` from the config.

:data:`MAILERS` and :data:`SOURCES` are tuples of backend classes (see
:class:`~pdmail.backends.base.MailerBackend` and :class:`~pdmail.backends.base.SourceBackend`);
a kind the config names is looked up in them, and one that is not there is a config error that
lists the kinds there are. :func:`register` adds a backend of a script's own. Nothing outside
this package asks which kind a config uses: it asks the backend.

Importing this module loads no Google library and opens no connection: the backends import
their transports when they are built.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, TypeVar

from ..errors import ConfigError
from .base import Backend, Mailer, MailerBackend, ReportSink, SourceBackend, TableSource
from .google.gmail import GmailBackend
from .google.sheets import SheetsBackend
from .local import LocalBackend
from .microsoft.graph import Microsoft365Backend
from .microsoft.workbook import Microsoft365Source
from .outbox import OutboxBackend
from .smtp import SmtpBackend

if TYPE_CHECKING:
    from ..config.records import Config

__all__ = [
    "DEFAULT_MAILER",
    "DEFAULT_SOURCE",
    "MAILERS",
    "SOURCES",
    "chosen",
    "delivering_kinds",
    "mailer_backend",
    "make_mailer",
    "make_sink",
    "make_source",
    "register",
    "source_backend",
    "where_to_look",
]

MAILERS: tuple[type[MailerBackend], ...] = (
    OutboxBackend,
    SmtpBackend,
    GmailBackend,
    Microsoft365Backend,
)
SOURCES: tuple[type[SourceBackend], ...] = (LocalBackend, SheetsBackend, Microsoft365Source)

# Safe defaults: nothing leaves the machine, no account is needed.
DEFAULT_MAILER = OutboxBackend.kind
DEFAULT_SOURCE = LocalBackend.kind

B = TypeVar("B", bound=type[Backend])


def register(backend: B) -> B:
    """Add ``backend`` (a :class:`MailerBackend` or :class:`SourceBackend` subclass) to the
    registry, so a config can pick it by its ``kind``; returns it, so it can decorate the
    class. Raises :class:`ConfigError` when the kind is taken."""
    global MAILERS, SOURCES
    if issubclass(backend, MailerBackend):
        _free(backend.kind, MAILERS, "mail.kind")
        MAILERS = (*MAILERS, backend)
    elif issubclass(backend, SourceBackend):
        _free(backend.kind, SOURCES, "sources.kind")
        SOURCES = (*SOURCES, backend)
    else:
        raise TypeError(f"{backend!r} is neither a MailerBackend nor a SourceBackend")
    return backend


def _free(kind: str, known: tuple[type[Backend], ...], key: str) -> None:
    if any(b.kind == kind for b in known):
        raise ConfigError(f"{key}: {kind!r} is already a backend's kind")


def mailer_backend(kind: str) -> type[MailerBackend]:
    """The mailer backend named ``kind``; an unknown kind is a :class:`ConfigError`."""
    return _lookup(kind, MAILERS, "mail.kind")


def source_backend(kind: str) -> type[SourceBackend]:
    """The source backend named ``kind``; an unknown kind is a :class:`ConfigError`."""
    return _lookup(kind, SOURCES, "sources.kind")


BT = TypeVar("BT", bound=Backend)


def _lookup(kind: str, known: tuple[type[BT], ...], key: str) -> type[BT]:
    for backend in known:
        if backend.kind == kind:
            return backend
    raise ConfigError(f"{key}: {kind!r} is not one of: {kinds(known)}", hint=suggest(kind, known))


def kinds(known: tuple[type[Backend], ...]) -> str:
    """``outbox, smtp, gmail``: the kinds, in the registry's order."""
    return ", ".join(b.kind for b in known)


def suggest(kind: str, known: tuple[type[Backend], ...]) -> str | None:
    """``did you mean 'gmail'?`` for a kind close to a known one, else None."""
    close = difflib.get_close_matches(kind, [b.kind for b in known], n=1)
    return f"did you mean {close[0]!r}?" if close else None


def chosen(config: Config) -> tuple[type[SourceBackend], type[MailerBackend]]:
    """The source and the mailer ``config`` picks."""
    return source_backend(config.sources.kind), mailer_backend(config.mail.kind)


def delivering_kinds() -> list[str]:
    """The kinds of the mailers that reach people (not an outbox folder)."""
    return [b.kind for b in MAILERS if b.delivers]


def make_mailer(config: Config) -> Mailer:
    """The mailer ``mail.kind`` names, ready to be opened with ``with``."""
    return mailer_backend(config.mail.kind).build(config)


def make_source(config: Config) -> TableSource:
    """The roster and responses reader ``sources.kind`` names."""
    return source_backend(config.sources.kind).build(config)


def make_sink(config: Config, source: TableSource) -> ReportSink:
    """Where status and digest tables go: the source itself when it can write tables (a
    spreadsheet's tabs: the same object, so its one metadata read serves both), else CSV
    files in the state folder."""
    if isinstance(source, ReportSink):
        return source
    from .local import CsvSink

    return CsvSink(config.state, {"needs": config.digest.needs_file})


def where_to_look(mailer: str, message_id: str) -> str:
    """Where to look for a message whose outcome is unknown, handed to the mailer named
    ``mailer`` (the ledger keeps it): that mailer's advice, or a mail server's Sent folder
    and log for a mailer pdmail no longer knows."""
    backend = next((b for b in MAILERS if b.kind == mailer), MailerBackend)
    return backend.where_to_look(message_id)
