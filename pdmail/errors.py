"""The one error root of pdmail.

Every failure a user can cause or meet (a bad config, a malformed roster, a broken template, a
mail server or API that says no) is raised as a :class:`PdmailError` with a message that names
the place (file, row, column; config key; API and status) and, where there is one, a hint for
what to do next. The command line turns these into a clean message and a non-zero exit.
"""

from __future__ import annotations

from datetime import datetime


class PdmailError(Exception):
    """Base class for every error pdmail raises on purpose.

    ``exit_code`` is what the command line exits with; ``hint`` is an optional next step.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class ConfigError(PdmailError):
    """The config file is missing, unreadable, or has a key of the wrong type or value."""

    exit_code = 2


class UsageError(PdmailError):
    """A command-line value or a folder the command cannot use as given."""

    exit_code = 2


class InputError(PdmailError):
    """A roster or responses file (or tab) cannot be used as it is."""

    exit_code = 3


class TemplateError(PdmailError):
    """A template is missing, does not parse, or uses an undefined field."""

    exit_code = 4


class BackendError(PdmailError):
    """A mail server, API or state store failed; the message names which and how."""

    exit_code = 5


class DeliveryError(BackendError):
    """One message could not be handed over.

    ``definite`` is True when the message certainly did not leave (the server refused it before
    accepting it), so trying again later is safe. When False the outcome cannot be known (the
    connection dropped after the data went out, a 5xx after the fact): the ledger records it as
    unknown and pdmail never resends it on its own. ``cause`` then says in words what is known
    ("the connection dropped after the message was handed over").

    ``stop`` says no further message can go in this run either, as when a provider's sending
    limit is reached: a message that certainly did not leave is held for a later run (neither
    failed nor unknown), and the run ends. ``resume_after`` is when the provider said sending
    may resume, when it said. ``transient`` names a passing condition ("timeout",
    "throttled", "unreachable"): several in a row (one, for a server that cannot be reached)
    stop the run too, and a message that certainly did not leave is held, not failed.
    """

    def __init__(
        self,
        message: str,
        *,
        definite: bool,
        stop: bool = False,
        hint: str | None = None,
        cause: str = "",
        transient: str = "",
        resume_after: datetime | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.definite = definite
        self.stop = stop
        self.cause = cause
        self.transient = transient
        self.resume_after = resume_after


class InternalError(PdmailError):
    """A bug in pdmail met after a run had already acted (sent or written): kept on the run's
    report with the original exception as ``__cause__``, so what was sent is still shown."""

    exit_code = 70
