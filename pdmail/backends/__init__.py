"""Backends, picked by name from the config.

Each backend is one module of this package holding its transport and the class that describes
it (kind, config keys, pacing, doctor checks); :mod:`pdmail.backends.registry` lists them.
Only the modules in this package import third-party transports (smtplib, gspread,
googleapiclient), and only when a backend that needs them is built; the rest of pdmail sees
the protocols in :mod:`pdmail.backends.base`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Mailer, MailerBackend, ReportSink, SourceBackend, TableSource

if TYPE_CHECKING:
    from ..config.records import Config

__all__ = [
    "Mailer",
    "MailerBackend",
    "ReportSink",
    "SourceBackend",
    "TableSource",
    "make_mailer",
    "make_sink",
    "make_source",
]

# The registry is loaded on first use: it imports every backend module, and the config
# (which this package's Google constants serve) must be importable before it.


def make_mailer(config: Config) -> Mailer:
    """The mailer ``mail.kind`` names, ready to be opened with ``with``."""
    from .registry import make_mailer

    return make_mailer(config)


def make_source(config: Config) -> TableSource:
    """The roster and responses reader ``sources.kind`` names."""
    from .registry import make_source

    return make_source(config)


def make_sink(config: Config, source: TableSource) -> ReportSink:
    """Where status and digest tables go (see :func:`pdmail.backends.registry.make_sink`)."""
    from .registry import make_sink

    return make_sink(config, source)
