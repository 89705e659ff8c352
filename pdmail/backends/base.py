"""The small protocols every backend implements.

A mailer hands over one message and returns its ids; a table source reads the roster and the
responses; a report sink writes rows where the librarian can read them. The rest of pdmail
speaks only to these, so a new footing (Gmail, Sheets, SMTP) is one module in this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..models import SendResult, Table

if TYPE_CHECKING:
    from ..wire import Sendable


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


class ReportSink(Protocol):
    """Writes a table (status, needs, digest) where the librarian reads it, and reads back
    one the librarian edits (the needs, whose status and note they change)."""

    def write_table(self, name: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        """Replace the table ``name`` with ``rows``; return where it went, for messages."""
        ...

    def read_table(self, name: str) -> Table | None:
        """The table ``name`` as it is now (edits included), or None if it does not exist."""
        ...
