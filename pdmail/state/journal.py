"""The librarian's journal: dated reflections kept in the ledger's SQLite file.

Entries live beside the messages and the needs, so one file (owner-only like the rest of the
state folder) holds the year's whole record, is backed up in one piece, and gets SQLite's
durability: an entry is on disk when ``add`` returns. Ids are never reused, so removing
entry 3 can never later remove an entry written after it.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from ..errors import BackendError, UsageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    day     TEXT NOT NULL,
    text    TEXT NOT NULL,
    created TEXT NOT NULL
);
"""

# A reflection is a paragraph or a page, not a book: past this it is most likely a file
# pasted by mistake.
MAX_CHARS = 10_000


@dataclass(frozen=True)
class JournalEntry:
    """One reflection: its id, the day it is about, its text, and when it was written."""

    id: int
    day: date
    text: str
    created: datetime


def clean_text(text: str) -> str:
    """``text`` as it is kept: line ends made ``\\n``, spaces at their ends and blank lines
    around the text dropped.

    Raises :class:`~pdmail.errors.UsageError` for text that is empty (or only spaces), too
    long, or holds control characters other than line breaks and tabs.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cleaned = "\n".join(line.rstrip() for line in lines).strip()
    if not cleaned:
        raise UsageError(
            "the journal entry is empty",
            hint='write the reflection in quotes: pdmail journal add "What went well today"',
        )
    if len(cleaned) > MAX_CHARS:
        raise UsageError(
            f"the journal entry is {len(cleaned):,} characters long; the limit is {MAX_CHARS:,}",
            hint="split it into several entries",
        )
    bad = next(
        (c for c in cleaned if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cs")),
        None,
    )
    if bad is not None:
        raise UsageError(
            f"the journal entry holds a control character ({ord(bad):#04x}) at position "
            f"{cleaned.index(bad) + 1}",
            hint="type or paste the text again as plain text",
        )
    return cleaned


class JournalStore:
    """The journal table of the ledger file."""

    def __init__(self, db: sqlite3.Connection, path: str) -> None:
        self._db = db
        self._path = path

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            raise BackendError(
                f"{self._path}: journal {action} failed ({exc})",
                hint="another pdmail process (or a program that opened the ledger file) is "
                "writing to it; wait for it to finish and run again"
                if busy
                else None,
            ) from None

    def add(self, day: date, text: str, now: datetime) -> JournalEntry:
        """Keep a reflection about ``day`` (written ``now``); return it with its new id.
        The text is checked by :func:`clean_text` first: a bad one changes nothing."""
        cleaned = clean_text(text)
        stamp = now.isoformat(timespec="seconds")
        with self._guard("write"), self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute(
                "INSERT INTO journal (day, text, created) VALUES (?, ?, ?)",
                (day.isoformat(), cleaned, stamp),
            )
            new_id = int(cur.lastrowid or 0)
        return JournalEntry(new_id, day, cleaned, datetime.fromisoformat(stamp))

    def entries(self, first: date | None = None, last: date | None = None) -> list[JournalEntry]:
        """The entries about days from ``first`` to ``last`` (both included; None: no
        bound), by day, then in the order they were written."""
        sql = "SELECT id, day, text, created FROM journal WHERE 1=1"
        args: list[str] = []
        if first is not None:
            sql, args = sql + " AND day >= ?", [*args, first.isoformat()]
        if last is not None:
            sql, args = sql + " AND day <= ?", [*args, last.isoformat()]
        with self._guard("read"):
            rows = self._db.execute(sql + " ORDER BY day, id", args).fetchall()
        return [
            JournalEntry(int(i), date.fromisoformat(d), str(t), datetime.fromisoformat(c))
            for i, d, t, c in rows
        ]

    def remove(self, entry_id: int) -> JournalEntry:
        """Remove entry ``entry_id`` and return it; an unknown id changes nothing and raises
        :class:`~pdmail.errors.UsageError`."""
        with self._guard("write"), self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "SELECT id, day, text, created FROM journal WHERE id=?", (entry_id,)
            ).fetchone()
            if row is None:
                raise UsageError(
                    f"no journal entry has the id {entry_id}",
                    hint="'pdmail journal list' shows each entry with its id",
                )
            self._db.execute("DELETE FROM journal WHERE id=?", (entry_id,))
        i, d, t, c = row
        return JournalEntry(int(i), date.fromisoformat(d), str(t), datetime.fromisoformat(c))
