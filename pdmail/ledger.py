"""The ledger: a SQLite record of every message pdmail has sent or tried to send.

The exactly-once rule lives here. A message is *claimed* (recorded as pending, in its own
committed transaction) before it is handed to the mailer, and recorded as sent with its ids
after. A claim is refused for a message already sent, and for one whose outcome is unknown
(a pending row left by a run that stopped, or an ambiguous mailer failure) unless the caller
asks to resend. A failure the mailer knows was a refusal is recorded as failed and may be
claimed again. The primary key makes a claim atomic across processes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import BackendError
from .models import LedgerEntry, MessageKey, SendResult, State
from .needs import SCHEMA as NEEDS_SCHEMA
from .needs import NeedStore

SCHEMA_VERSION = 2  # 2: the needs table

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    campaign    TEXT NOT NULL,
    cycle       TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    thread_id   TEXT NOT NULL DEFAULT '',
    provider_id TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 1,
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL,
    PRIMARY KEY (campaign, cycle, recipient, kind)
);
"""

INTERRUPTED = "interrupted: the run stopped after handing the message over and before recording"


@dataclass(frozen=True)
class Claim:
    """The answer to :meth:`Ledger.claim`: ``granted`` means hand the message over now."""

    granted: bool
    existing: LedgerEntry | None


class Ledger:
    """A ledger in one SQLite file. Every write is committed before the method returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                self._db.close()
                raise BackendError(
                    f"{path}: the ledger was written by a newer pdmail (schema {version})",
                    hint="upgrade pdmail; the ledger is never downgraded",
                )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA + NEEDS_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as exc:
            raise BackendError(
                f"{path}: cannot open the ledger ({exc})",
                hint="check the state folder's permissions and that the file is a pdmail ledger",
            ) from None

    def close(self) -> None:
        self._db.close()

    @property
    def needs(self) -> NeedStore:
        """The needs that carry over, kept in the same file."""
        return NeedStore(self._db, str(self.path))

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        # BEGIN IMMEDIATE takes the write lock up front, so two processes claiming the same
        # message cannot both read "no row" and both insert.
        try:
            with closing(self._db.cursor()) as cur:
                cur.execute("BEGIN IMMEDIATE")
                try:
                    yield cur
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
        except sqlite3.Error as exc:
            raise BackendError(f"{self.path}: ledger write failed ({exc})") from None

    def get(self, key: MessageKey) -> LedgerEntry | None:
        """The entry for ``key``, if any."""
        row = self._db.execute(
            "SELECT * FROM messages WHERE campaign=? AND cycle=? AND recipient=? AND kind=?",
            (key.campaign, key.cycle, key.recipient, key.kind),
        ).fetchone()
        return _entry(row) if row else None

    def entries(self, campaign: str, cycle: str | None = None) -> list[LedgerEntry]:
        """Every entry of ``campaign`` (and ``cycle``), oldest first."""
        sql = "SELECT * FROM messages WHERE campaign=?"
        args: tuple[str, ...] = (campaign,)
        if cycle is not None:
            sql += " AND cycle=?"
            args += (cycle,)
        rows = self._db.execute(sql + " ORDER BY created, recipient, kind", args).fetchall()
        return [_entry(r) for r in rows]

    def count_sent(self, campaign: str, kind: str) -> dict[str, int]:
        """How many messages of ``kind`` were sent in each cycle of ``campaign``."""
        rows = self._db.execute(
            "SELECT cycle, COUNT(*) FROM messages WHERE campaign=? AND kind=? AND state=?"
            " GROUP BY cycle",
            (campaign, kind, State.SENT.value),
        ).fetchall()
        return {str(cycle): int(n) for cycle, n in rows}

    def sent_since(self, since: datetime) -> list[datetime]:
        """When each message that may have left since ``since`` was recorded (sent, unknown or
        pending, every campaign), oldest first: what counts against a daily sending cap."""
        rows = self._db.execute(
            "SELECT updated FROM messages WHERE state IN (?, ?, ?) AND updated >= ?"
            " ORDER BY updated",
            (State.SENT.value, State.UNKNOWN.value, State.PENDING.value, _stamp(since)),
        ).fetchall()
        return [datetime.fromisoformat(str(r[0])) for r in rows]

    def claim(
        self, key: MessageKey, message_id: str, subject: str, now: datetime, *, resend: bool = False
    ) -> Claim:
        """Record ``key`` as pending if it may be sent now; say whether it may.

        Sent: never granted. Unknown or pending: granted only with ``resend``. Failed: granted.
        """
        stamp = _stamp(now)
        with self._write() as cur:
            row = cur.execute(
                "SELECT * FROM messages WHERE campaign=? AND cycle=? AND recipient=? AND kind=?",
                (key.campaign, key.cycle, key.recipient, key.kind),
            ).fetchone()
            if row is None:
                cur.execute(
                    "INSERT INTO messages (campaign, cycle, recipient, kind, state, message_id,"
                    " subject, created, updated) VALUES (?,?,?,?,?,?,?,?,?)",
                    (*_key(key), State.PENDING.value, message_id, subject, stamp, stamp),
                )
                return Claim(True, None)
            existing = _entry(row)
            retry = existing.state is State.FAILED or (
                resend and existing.state in (State.UNKNOWN, State.PENDING)
            )
            if not retry:
                return Claim(False, existing)
            cur.execute(
                "UPDATE messages SET state=?, message_id=?, subject=?, error='',"
                " attempts=attempts+1, updated=? WHERE campaign=? AND cycle=? AND recipient=?"
                " AND kind=?",
                (State.PENDING.value, message_id, subject, stamp, *_key(key)),
            )
            return Claim(True, existing)

    def mark_sent(self, key: MessageKey, result: SendResult, now: datetime) -> None:
        """Record that the mailer took the message, with the ids it returned."""
        self._update(
            key,
            "state=?, message_id=?, thread_id=?, provider_id=?, error='', updated=?",
            (State.SENT.value, result.message_id, result.thread_id, result.provider_id),
            now,
        )

    def mark_failed(self, key: MessageKey, error: str, now: datetime) -> None:
        """Record that the message certainly did not leave; it may be tried again."""
        self._update(key, "state=?, error=?, updated=?", (State.FAILED.value, error), now)

    def mark_unknown(self, key: MessageKey, error: str, now: datetime) -> None:
        """Record that the message may or may not have left; it is not resent on its own."""
        self._update(key, "state=?, error=?, updated=?", (State.UNKNOWN.value, error), now)

    def settle_interrupted(self, campaign: str, now: datetime) -> list[LedgerEntry]:
        """Turn pending rows left by a run that stopped into unknown ones; return them."""
        with self._write() as cur:
            rows = cur.execute(
                "SELECT * FROM messages WHERE campaign=? AND state=?",
                (campaign, State.PENDING.value),
            ).fetchall()
            cur.execute(
                "UPDATE messages SET state=?, error=?, updated=? WHERE campaign=? AND state=?",
                (State.UNKNOWN.value, INTERRUPTED, _stamp(now), campaign, State.PENDING.value),
            )
        return [_entry(r) for r in rows]

    def _update(
        self, key: MessageKey, assignments: str, values: tuple[str, ...], now: datetime
    ) -> None:
        with self._write() as cur:
            cur.execute(
                f"UPDATE messages SET {assignments} WHERE campaign=? AND cycle=? AND recipient=?"
                " AND kind=?",
                (*values, _stamp(now), *_key(key)),
            )


def _key(key: MessageKey) -> tuple[str, str, str, str]:
    return (key.campaign, key.cycle, key.recipient, key.kind)


def _stamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).isoformat(timespec="seconds")


def _entry(row: tuple[object, ...]) -> LedgerEntry:
    (campaign, cycle, recipient, kind, state, mid, tid, pid, subject, error, attempts, c, u) = row
    return LedgerEntry(
        key=MessageKey(str(campaign), str(cycle), str(recipient), str(kind)),
        state=State(state),
        message_id=str(mid),
        thread_id=str(tid),
        provider_id=str(pid),
        subject=str(subject),
        error=str(error),
        attempts=int(str(attempts)),
        created=datetime.fromisoformat(str(c)),
        updated=datetime.fromisoformat(str(u)),
    )
