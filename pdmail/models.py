"""Frozen records that flow through pdmail: teachers, responses, needs, messages, ledger rows."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, NewType, get_args

# What happened to one message in a run (a delivery report's outcome): sent; would-send (a
# dry run); already-sent; failed; unknown (this run); skipped-unknown (an earlier run's
# unknown outcome, not resent); held (over a limit, or the run stopped). A Literal, not an
# Enum: reports are JSON and the words are the API, and mypy catches a misspelt one.
OutcomeResult = Literal[
    "sent", "would-send", "already-sent", "failed", "unknown", "skipped-unknown", "held"
]
OUTCOME_RESULTS: tuple[OutcomeResult, ...] = get_args(OutcomeResult)

# The kinds of help a need asks for: something done for the teacher, learning for the teacher,
# a lesson for the class. A Literal, as the words are the table's and the JSON's.
NeedKind = Literal["task", "learning", "lesson"]
TASK: Final = "task"
LEARNING: Final = "learning"
LESSON: Final = "lesson"
KINDS: tuple[NeedKind, ...] = get_args(NeedKind)

# The kinds of message the ledger keys: a cycle's request, its numbered reminders (replies in
# the request's thread), and the digest. A reminder's kind is "reminder-<n>", made only by
# reminder_kind(); with the others a Literal, so mypy catches a misspelt one.
ReminderKind = NewType("ReminderKind", str)
MessageKind = Literal["request", "digest"] | ReminderKind
REQUEST: Final = "request"
DIGEST: Final = "digest"
_REMINDER = re.compile(r"reminder-([1-9][0-9]*)")


def reminder_kind(number: int) -> ReminderKind:
    """The kind of the ``number``-th reminder: ``reminder-1``, ``reminder-2``, ..."""
    if number < 1:
        raise ValueError(f"a reminder is numbered from 1, not {number}")
    return ReminderKind(f"reminder-{number}")


def message_kind(text: str) -> MessageKind:
    """``text`` as a message kind (``request``, ``reminder-<n>``, ``digest``); raises
    ``ValueError`` for anything else."""
    if text == REQUEST:
        return REQUEST
    if text == DIGEST:
        return DIGEST
    m = _REMINDER.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a message kind (request, reminder-1, ..., digest)")
    return reminder_kind(int(m.group(1)))


def reminder_number(kind: MessageKind) -> int:
    """The number of a reminder kind (0 for the request and the digest)."""
    m = _REMINDER.fullmatch(kind)
    return int(m.group(1)) if m else 0


# The one clock of a run: it returns the current time in the school's zone (a fixed day under
# ``--today``). Functions that write or compare a date take one, never read the machine's.
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Teacher:
    """One roster row. ``email`` is already trimmed and lower-cased (the roster's key).

    ``fields`` holds every column of the row under a normalised name (``"First Name"`` becomes
    ``first_name``), including any extra column the school adds; templates see all of them.
    """

    email: str
    first_name: str = ""
    last_name: str = ""
    team: str = ""
    active: bool = True
    fields: Mapping[str, str] = field(default_factory=dict)
    row: int = 0
    new: bool = False  # new to the district: offered a hand first in the digest

    @property
    def display_name(self) -> str:
        """ "First Last", or the address when the roster has no name."""
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email


@dataclass(frozen=True)
class Table:
    """Rows read from a file or a sheet tab, as text.

    ``origin`` names where they came from for messages (a path, or ``sheet 'Roster'``);
    ``rows`` pairs each row with the number a person sees in a spreadsheet (the header is row 1).
    """

    origin: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    locale: str = ""  # a Google Sheet's locale (en_GB, de_DE): how its dates are written


@dataclass(frozen=True)
class Problem:
    """Something wrong with one row that was reported and skipped, never guessed."""

    origin: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.origin}, row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Ambiguity:
    """A timestamp whose day and month could be either way round, with nothing to settle it:
    ``text`` (in column ``column``) was read ``order`` (``mdy``/``dmy``); read the other way
    it is ``other``."""

    text: str
    column: str
    order: str
    other: datetime


@dataclass(frozen=True)
class Response:
    """One form submission, with its answers by configured role and by original header.

    ``ambiguity`` is set when the submission time depends on a guessed date order.
    """

    email: str
    submitted: datetime
    units: str
    help: str
    format: str
    answers: Mapping[str, str]
    origin: str
    row: int
    cycle: str = ""
    ambiguity: Ambiguity | None = None


class State(str, enum.Enum):
    """Where a message stands in the ledger."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class MessageKey:
    """What makes a message unique: one campaign, cycle, recipient and kind."""

    campaign: str
    cycle: str
    recipient: str
    kind: MessageKind


@dataclass(frozen=True)
class SendResult:
    """What a mailer returns for a message it handed over."""

    message_id: str
    thread_id: str
    provider_id: str = ""


@dataclass(frozen=True)
class LedgerEntry:
    """One row of the ledger."""

    key: MessageKey
    state: State
    message_id: str
    thread_id: str
    provider_id: str
    subject: str
    error: str
    attempts: int
    created: datetime
    updated: datetime
    cause: str = ""  # for an unknown outcome: what is known, in words
    mailer: str = ""  # the mailer that handed it over (outbox, smtp, gmail)
