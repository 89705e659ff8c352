"""Backends, picked by name from the config.

Only the modules in this package import third-party transports (smtplib, gspread,
googleapiclient); the rest of pdmail sees the protocols in :mod:`pdmail.backends.base`.
"""

from __future__ import annotations

from ..config import Config
from ..errors import ConfigError
from .base import Mailer, ReportSink, TableSource

__all__ = ["Mailer", "ReportSink", "TableSource", "make_mailer", "make_sink", "make_source"]


def make_mailer(config: Config) -> Mailer:
    """The mailer ``mail.kind`` names, ready to be opened with ``with``."""
    kind = config.mail.kind
    if kind == "outbox":
        from .outbox import OutboxMailer

        return OutboxMailer(config.mail.outbox)
    if kind == "smtp":
        from .smtp import SmtpMailer

        smtp = config.mail.smtp
        assert smtp is not None  # load_config requires mail.smtp when kind is smtp
        return SmtpMailer(
            smtp.host,
            smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=smtp.password(),
            timeout=smtp.timeout,
        )
    if kind == "gmail":
        from .gmail import GmailMailer
        from .google_auth import load_credentials, scopes_for

        return GmailMailer(
            load_credentials(config, scopes_for(config)), base_url=config.google.endpoints.gmail
        )
    raise ConfigError(
        f"mail.kind: {kind!r} is not available in this version of pdmail",
        hint="use mail.kind: outbox or smtp",
    )


def make_source(config: Config) -> TableSource:
    """The roster and responses reader ``sources.kind`` names."""
    if config.sources.kind == "local":
        from .local import LocalSource

        src = config.sources
        assert src.roster is not None and src.responses is not None  # required for local
        return LocalSource(
            src.roster,
            src.responses,
            roster_sheet=src.roster_sheet,
            responses_sheet=src.responses_sheet,
        )
    from .google_auth import load_credentials, scopes_for
    from .sheets import open_book

    return open_book(config, load_credentials(config, scopes_for(config)))


def make_sink(config: Config, source: TableSource) -> ReportSink:
    """Where status and digest tables go: the spreadsheet's tabs when the roster lives in a
    Sheet (the same object, so its one metadata read serves both), else CSV files in the
    state folder."""
    from .sheets import SheetsBook

    if isinstance(source, SheetsBook):
        return source
    from .local import CsvSink

    return CsvSink(config.state, {"needs": config.digest.needs_file})
