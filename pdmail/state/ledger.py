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
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar, cast

from ..errors import BackendError
from ..models import LedgerEntry, MessageKey, MessageKind, SendResult, State
from .journal import SCHEMA as JOURNAL_SCHEMA
from .journal import JournalStore
from .needs import MIGRATIONS as NEEDS_MIGRATIONS
from .needs import SCHEMA as NEEDS_SCHEMA
from .needs import NeedStore, file_version

T = TypeVar("T")

# 2: the needs table; 3: messages.cause and messages.mailer; 4: the needs' kinds and the
# librarian's corrections; 5: the librarian's journal (a table of its own, made by the
# CREATE TABLE IF NOT EXISTS below, so it needs no step of its own); 6: messages keyed by
# campaign in every file (pdmail's own always were; a file that was not is rebuilt, its rows
# the monthly update's: _key_by_campaign)
SCHEMA_VERSION = 6

# The campaign of a row written before messages were keyed by campaign.
MAIN_CAMPAIGN = "monthly-update"

# How long a connection waits for another one's write lock before giving up (seconds).
BUSY_TIMEOUT = 30.0

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
    cause       TEXT NOT NULL DEFAULT '',
    mailer      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (campaign, cycle, recipient, kind)
);
"""

# Columns added after the first release, and how to add them to an older file.
_MIGRATIONS = {
    3: (
        "ALTER TABLE messages ADD COLUMN cause TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE messages ADD COLUMN mailer TEXT NOT NULL DEFAULT ''",
    ),
}

_COLUMNS = (
    "campaign, cycle, recipient, kind, state, message_id, thread_id, provider_id, subject,"
    " error, attempts, created, updated, cause, mailer"
)

INTERRUPTED = "pdmail stopped before it could record whether the server accepted it"

# The cause of a pending row claimed ahead in a batch (:meth:`Ledger.claim_new`), until it is
# recorded: ``queued:<boot id>:<batch>:<place>``.
QUEUED = "queued:"


def boot_id() -> str:
    """This boot of the machine ("" where the system does not say): a row queued in the same
    boot was written to the operating system before the run went on, so a run that was
    killed left it as it was; after a reboot (a power cut, a crash) it may not have."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


_LOCKED_HINT = (
    "another pdmail process (or a program that opened the ledger file) is writing to it; "
    "wait for it to finish and run again. Nothing was changed by this one"
)


@dataclass(frozen=True)
class Claim:
    """The answer to :meth:`Ledger.claim`: ``granted`` means hand the message over now."""

    granted: bool
    existing: LedgerEntry | None


class Ledger:
    """A ledger in one SQLite file. Every write is committed before the method returns.

    ``busy_timeout`` is how long (seconds) an operation waits while another process holds the
    file's write lock (default :data:`BUSY_TIMEOUT`); past it,
    :class:`~pdmail.errors.BackendError` says the ledger is busy.
    """

    def __init__(self, path: Path, *, busy_timeout: float | None = None) -> None:
        self.path = path
        self.busy_timeout = busy_timeout = BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise self._error("cannot open the ledger", exc) from None
        try:
            # The connect timeout already sets SQLite's busy handler; said again so that it
            # holds whatever the sqlite3 module's default becomes.
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise BackendError(
                    f"{path}: the ledger was written by a newer pdmail (schema {version})",
                    hint="upgrade pdmail; the ledger is never downgraded",
                )
            if str(self._db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            if version < SCHEMA_VERSION:
                self._upgrade()
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise self._error("cannot open the ledger", exc) from None
            raise

    def _upgrade(self) -> None:
        # Only a file older than this pdmail is written to on open, so opening an up-to-date
        # ledger never needs the write lock another run may be holding.
        tables = _SCHEMA + NEEDS_SCHEMA + JOURNAL_SCHEMA
        statements = [s for s in tables.split(";") if s.strip()]
        with closing(self._db.cursor()) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                _key_by_campaign(cur)
                for statement in statements:
                    cur.execute(statement)
                have = {str(r[1]) for r in cur.execute("PRAGMA table_info(messages)")}
                for version in sorted(_MIGRATIONS):
                    for statement in _MIGRATIONS[version]:
                        column = statement.split("ADD COLUMN ", 1)[1].split()[0]
                        if column not in have:
                            cur.execute(statement)
                have = {str(r[1]) for r in cur.execute("PRAGMA table_info(needs)")}
                for statement in NEEDS_MIGRATIONS:
                    if statement.split("ADD COLUMN ", 1)[1].split()[0] not in have:
                        cur.execute(statement)
                cur.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def _error(self, action: str, exc: BaseException) -> BackendError:
        """``exc`` as pdmail's error: a busy ledger says who to wait for, never "permissions"."""
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and (
            "locked" in text.lower() or "busy" in text.lower()
        ):
            return BackendError(
                f"{self.path}: {action}: the ledger is busy; another process has held it for "
                f"more than {self.busy_timeout:g} s ({text})",
                hint=_LOCKED_HINT,
            )
        if action == "cannot open the ledger":
            return BackendError(
                f"{self.path}: {action} ({text})",
                hint="check the state folder's permissions and that the file is a pdmail ledger",
            )
        return BackendError(f"{self.path}: {action} ({text})")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._db
        except sqlite3.Error as exc:
            raise self._error("ledger read failed", exc) from None

    def close(self) -> None:
        self._db.close()

    @property
    def needs(self) -> NeedStore:
        """The needs that carry over, kept in the same file."""
        return NeedStore(self._db, str(self.path))

    @property
    def journal(self) -> JournalStore:
        """The librarian's dated reflections, kept in the same file."""
        return JournalStore(self._db, str(self.path))

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self, *, flush: bool = True) -> Iterator[sqlite3.Cursor]:
        # BEGIN IMMEDIATE takes the write lock up front, so two processes claiming the same
        # message cannot both read "no row" and both insert. Without ``flush`` the commit
        # reaches the operating system but waits for the next flushed one to reach the disk:
        # only for a record whose loss in a power cut leaves the message unknown, never sent
        # again (a sent message's row stays pending, settled as unknown).
        try:
            with closing(self._db.cursor()) as cur:
                if not flush:
                    cur.execute("PRAGMA synchronous=NORMAL")
                try:
                    cur.execute("BEGIN IMMEDIATE")
                    try:
                        yield cur
                    except BaseException:
                        cur.execute("ROLLBACK")
                        raise
                    cur.execute("COMMIT")
                finally:
                    if not flush:
                        cur.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise self._error("ledger write failed", exc) from None

    def get(self, key: MessageKey) -> LedgerEntry | None:
        """The entry for ``key``, if any."""
        with self._read() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE campaign=? AND cycle=? AND recipient=?"
                " AND kind=?",
                _key(key),
            ).fetchone()
        return _entry(row) if row else None

    def entries(self, campaign: str, cycle: str | None = None) -> list[LedgerEntry]:
        """Every entry of ``campaign`` (and ``cycle``), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM messages WHERE campaign=?"
        args: tuple[str, ...] = (campaign,)
        if cycle is not None:
            sql += " AND cycle=?"
            args += (cycle,)
        sql += " ORDER BY created, recipient, kind"

        def read(db: sqlite3.Connection) -> tuple[LedgerEntry, ...]:
            return tuple(_entry(r) for r in db.execute(sql, args).fetchall())

        # A send reads the cycle's entries to count what is due and again under the run
        # lock: one answer is kept, the cycle a step works on.
        return list(self._until_changed("_entries", args, read, keep_one=True))

    def _until_changed(
        self,
        memo_name: str,
        key: tuple[str, ...],
        read: Callable[[sqlite3.Connection], T],
        *,
        keep_one: bool = False,
    ) -> T:
        """``read``'s answer for ``key``, kept until the file changes (:func:`file_version`)."""
        with self._read() as db:
            version = file_version(db)
            memo: dict[tuple[str, ...], tuple[tuple[int, int], T]]
            memo = self.__dict__.setdefault(memo_name, {})
            kept = memo.get(key)
            if kept is not None and kept[0] == version:
                return kept[1]
            value = read(db)
        if keep_one:
            memo.clear()
        memo[key] = (version, value)
        return value

    def unsettled(self, campaign: str) -> list[LedgerEntry]:
        """The entries of ``campaign`` (every cycle and kind) whose outcome is not known yet:
        unknown, or pending (in flight, or left by a run that stopped), oldest first."""
        with self._read() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE campaign=? AND state IN (?, ?)"
                " ORDER BY created, recipient, kind",
                (campaign, State.UNKNOWN.value, State.PENDING.value),
            ).fetchall()
        return [_entry(r) for r in rows]

    def first_created(
        self, campaign: str, kind: str, *, cycle: str | None = None, state: State | None = None
    ) -> datetime | None:
        """When the first message of ``kind`` in ``campaign`` (and ``cycle``, in ``state``) was
        claimed, or None if none was. (Times are stored as UTC text of one width, so the
        smallest text is the earliest time.)"""
        sql = "SELECT MIN(created) FROM messages WHERE campaign=? AND kind=?"
        args: tuple[str, ...] = (campaign, kind)
        if cycle is not None:
            sql, args = sql + " AND cycle=?", (*args, cycle)
        if state is not None:
            sql, args = sql + " AND state=?", (*args, state.value)

        def read(db: sqlite3.Connection) -> datetime | None:
            row = db.execute(sql, args).fetchone()
            return datetime.fromisoformat(str(row[0])) if row and row[0] else None

        # The query reads every message; a digest asks it once for each cycle it matches.
        return self._until_changed("_first_created", (sql, *args), read)

    def count_sent(self, campaign: str, kind: str) -> dict[str, int]:
        """How many messages of ``kind`` were sent in each cycle of ``campaign``."""
        with self._read() as db:
            rows = db.execute(
                "SELECT cycle, COUNT(*) FROM messages WHERE campaign=? AND kind=? AND state=?"
                " GROUP BY cycle",
                (campaign, kind, State.SENT.value),
            ).fetchall()
        return {str(cycle): int(n) for cycle, n in rows}

    def sent_keys(self, campaign: str) -> list[MessageKey]:
        """The key of every message of ``campaign`` that was sent (any cycle and kind): what a
        year's report counts, without reading whole rows."""
        with self._read() as db:
            rows = db.execute(
                "SELECT campaign, cycle, recipient, kind FROM messages WHERE campaign=? AND state=?"
                " ORDER BY cycle, recipient, kind",
                (campaign, State.SENT.value),
            ).fetchall()
        return [MessageKey(str(c), str(y), str(r), _kind(k)) for c, y, r, k in rows]

    def sent_since(self, since: datetime) -> list[datetime]:
        """When each message that may have left since ``since`` was recorded (sent, unknown or
        pending, every campaign), oldest first: what counts against a daily sending cap."""
        with self._read() as db:
            rows = db.execute(
                "SELECT updated FROM messages WHERE state IN (?, ?, ?) AND updated >= ?"
                " ORDER BY updated",
                (State.SENT.value, State.UNKNOWN.value, State.PENDING.value, _stamp(since)),
            ).fetchall()
        return [datetime.fromisoformat(str(r[0])) for r in rows]

    def claim(
        self,
        key: MessageKey,
        message_id: str,
        subject: str,
        now: datetime,
        *,
        resend: bool = False,
        mailer: str = "",
    ) -> Claim:
        """Record ``key`` as pending if it may be sent now; say whether it may.

        Sent: never granted. Unknown or pending: granted only with ``resend``. Failed: granted.
        ``mailer`` names the mailer that will hand it over (for finding it later).
        """
        stamp = _stamp(now)
        with self._write() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE campaign=? AND cycle=? AND recipient=?"
                " AND kind=?",
                _key(key),
            ).fetchone()
            if row is None:
                cur.execute(
                    "INSERT INTO messages (campaign, cycle, recipient, kind, state, message_id,"
                    " subject, created, updated, mailer) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (*_key(key), State.PENDING.value, message_id, subject, stamp, stamp, mailer),
                )
                return Claim(True, None)
            existing = _entry(row)
            retry = existing.state is State.FAILED or (
                resend and existing.state in (State.UNKNOWN, State.PENDING)
            )
            if not retry:
                return Claim(False, existing)
            cur.execute(
                "UPDATE messages SET state=?, message_id=?, subject=?, error='', cause='',"
                " mailer=?, attempts=attempts+1, updated=? WHERE campaign=? AND cycle=?"
                " AND recipient=? AND kind=?",
                (State.PENDING.value, message_id, subject, mailer, stamp, *_key(key)),
            )
            return Claim(True, existing)

    def claim_new(
        self,
        claims: Sequence[tuple[MessageKey, str, str]],
        now: datetime,
        *,
        batch: str,
        mailer: str = "",
    ) -> list[bool]:
        """Claim, in one committed transaction, each of ``claims`` (key, Message-ID, subject)
        that has no entry yet; say which were granted (a key with an entry is left as it is).

        The rows are pending like any claim, marked as queued in ``batch`` (which starts
        with :func:`boot_id`) in their order, until the message is recorded; a run that hands
        over none of them calls :meth:`release_queued`.
        """
        stamp = _stamp(now)
        granted = []
        with self._write() as cur:
            for place, (key, message_id, subject) in enumerate(claims):
                cur.execute(
                    "INSERT OR IGNORE INTO messages (campaign, cycle, recipient, kind, state,"
                    " message_id, subject, created, updated, mailer, cause)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (*_key(key), State.PENDING.value, message_id, subject, stamp, stamp, mailer,
                     f"{QUEUED}{batch}:{place}"),
                )  # fmt: skip
                granted.append(cur.rowcount == 1)
        return granted

    def release_queued(self, keys: Sequence[MessageKey], batch: str) -> None:
        """Drop the rows of ``keys`` still queued in ``batch``: claimed, never handed over."""
        with self._write() as cur:
            for key in keys:
                cur.execute(
                    "DELETE FROM messages WHERE campaign=? AND cycle=? AND recipient=? AND kind=?"
                    " AND state=? AND cause LIKE ?",
                    (*_key(key), State.PENDING.value, f"{QUEUED}{batch}:%"),
                )

    def release(self, key: MessageKey, claim: Claim) -> None:
        """Undo a granted ``claim`` whose message certainly did not leave and was not refused
        either (the run stopped first): the entry is as it was before, or gone if it is new.

        Such a message is neither failed (tried again run after run for a reason of its own)
        nor unknown: it simply goes on a later run.
        """
        before = claim.existing
        with self._write() as cur:
            if before is None:
                cur.execute(
                    "DELETE FROM messages WHERE campaign=? AND cycle=? AND recipient=? AND kind=?"
                    " AND state=?",
                    (*_key(key), State.PENDING.value),
                )
                return
            cur.execute(
                "UPDATE messages SET state=?, message_id=?, subject=?, error=?, cause=?,"
                " mailer=?, attempts=?, updated=? WHERE campaign=? AND cycle=? AND recipient=?"
                " AND kind=? AND state=?",
                (
                    before.state.value,
                    before.message_id,
                    before.subject,
                    before.error,
                    before.cause,
                    before.mailer,
                    before.attempts,
                    _stamp(before.updated),
                    *_key(key),
                    State.PENDING.value,
                ),
            )

    def mark_sent(self, key: MessageKey, result: SendResult, now: datetime) -> None:
        """Record that the mailer took the message, with the ids it returned.

        Flushed to disk with the next write that is (the next claim): should a power cut
        lose it, the row is pending again and settles as unknown, never as something to send.
        """
        self._update(
            key,
            "state=?, message_id=?, thread_id=?, provider_id=?, error='', cause='', updated=?",
            (State.SENT.value, result.message_id, result.thread_id, result.provider_id),
            now,
            flush=False,
        )

    def mark_failed(self, key: MessageKey, error: str, now: datetime) -> None:
        """Record that the message certainly did not leave; it may be tried again."""
        self._update(key, "state=?, error=?, cause='', updated=?", (State.FAILED.value, error), now)

    def mark_unknown(self, key: MessageKey, error: str, now: datetime, *, cause: str = "") -> None:
        """Record that the message may or may not have left; it is not resent on its own.

        ``error`` is what the mailer reported; ``cause`` says in words what is known (for
        example that the connection dropped after the message was handed over).
        """
        self._update(
            key, "state=?, error=?, cause=?, updated=?", (State.UNKNOWN.value, error, cause), now
        )

    def resolve(
        self, key: MessageKey, *, sent: bool, note: str, now: datetime
    ) -> tuple[LedgerEntry | None, LedgerEntry | None]:
        """Settle an unknown (or interrupted) outcome that the librarian has checked: ``sent``
        records it as sent (never resent); otherwise as failed, so the next run sends it.

        Returns the entry before and after; ``after`` is None (and nothing changes) when the
        entry is missing or its outcome is known.
        """
        state = State.SENT if sent else State.FAILED
        with self._write() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE campaign=? AND cycle=? AND recipient=?"
                " AND kind=?",
                _key(key),
            ).fetchone()
            entry = _entry(row) if row else None
            if entry is None or entry.state not in (State.UNKNOWN, State.PENDING):
                return entry, None
            cur.execute(
                "UPDATE messages SET state=?, error=?, cause='', updated=? WHERE campaign=?"
                " AND cycle=? AND recipient=? AND kind=?",
                (state.value, note, _stamp(now), *_key(key)),
            )
        return entry, replace(entry, state=state, error=note, cause="", updated=now)

    def settle_interrupted(self, campaign: str, now: datetime) -> list[LedgerEntry]:
        """Turn pending rows left by a run that stopped into unknown ones; return them.

        Of the rows a run killed in this boot queued in one batch, only the first still
        pending may have been handed over (a batch goes in order, each recorded before the
        next); the later ones certainly were not, and are dropped, to go on the next run.
        """
        with self._write() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE campaign=? AND state=?",
                (campaign, State.PENDING.value),
            ).fetchall()
            for key in never_handed_over([_entry(r) for r in rows], boot_id()):
                cur.execute(
                    "DELETE FROM messages WHERE campaign=? AND cycle=? AND recipient=? AND kind=?"
                    " AND state=?",
                    (*_key(key), State.PENDING.value),
                )
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE campaign=? AND state=?",
                (campaign, State.PENDING.value),
            ).fetchall()
            cur.execute(
                "UPDATE messages SET state=?, error=?, cause=?, updated=? WHERE campaign=?"
                " AND state=?",
                (
                    State.UNKNOWN.value,
                    INTERRUPTED,
                    INTERRUPTED,
                    _stamp(now),
                    campaign,
                    State.PENDING.value,
                ),
            )
        return [_entry(r) for r in rows]

    def _update(
        self,
        key: MessageKey,
        assignments: str,
        values: tuple[str, ...],
        now: datetime,
        *,
        flush: bool = True,
    ) -> None:
        with self._write(flush=flush) as cur:
            cur.execute(
                f"UPDATE messages SET {assignments} WHERE campaign=? AND cycle=? AND recipient=?"
                " AND kind=?",
                (*values, _stamp(now), *_key(key)),
            )


def _key_by_campaign(cur: sqlite3.Cursor) -> None:
    """Give a messages table keyed without a campaign one, its rows the monthly update's.

    pdmail's own ledgers have keyed messages by campaign from the first release; this reads a
    file kept by a script or an older tool that did not, inside the upgrade's transaction, so
    a run stopped part-way leaves the file as it was.
    """
    have = [str(r[1]) for r in cur.execute("PRAGMA table_info(messages)")]
    if not have or "campaign" in have:
        return
    cur.execute("ALTER TABLE messages RENAME TO messages_without_campaign")
    cur.execute(_SCHEMA)
    ours = {c.strip() for c in _COLUMNS.split(",")}
    kept = ", ".join(c for c in have if c in ours)
    cur.execute(
        f"INSERT INTO messages (campaign, {kept}) SELECT ?, {kept} FROM messages_without_campaign",
        (MAIN_CAMPAIGN,),
    )
    cur.execute("DROP TABLE messages_without_campaign")


def never_handed_over(pending: Sequence[LedgerEntry], boot: str | None = None) -> list[MessageKey]:
    """The keys of ``pending`` rows queued in a batch of this boot (``boot``, default
    :func:`boot_id`) behind the batch's first pending row: certainly never handed over."""
    boot = boot_id() if boot is None else boot
    batches: dict[str, list[tuple[int, MessageKey]]] = {}
    for entry in pending:
        batch, _, place = entry.cause.removeprefix(QUEUED).rpartition(":")
        if boot and entry.cause.startswith(f"{QUEUED}{boot}:") and place.isdigit():
            batches.setdefault(batch, []).append((int(place), entry.key))
    return [key for rows in batches.values() for _, key in sorted(rows)[1:]]


def _key(key: MessageKey) -> tuple[str, str, str, str]:
    return (key.campaign, key.cycle, key.recipient, key.kind)


def _stamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).isoformat(timespec="seconds")


def _kind(value: object) -> MessageKind:
    # The file holds the kinds pdmail wrote; read as they are, so that a kind a later pdmail
    # adds never makes this one fail to read the ledger.
    return cast("MessageKind", str(value))


def _entry(row: tuple[object, ...]) -> LedgerEntry:
    (campaign, cycle, recipient, kind, state, mid, tid, pid, subject, error, attempts, c, u,
     cause, mailer) = row  # fmt: skip
    return LedgerEntry(
        key=MessageKey(str(campaign), str(cycle), str(recipient), _kind(kind)),
        state=State(state),
        message_id=str(mid),
        thread_id=str(tid),
        provider_id=str(pid),
        subject=str(subject),
        error=str(error),
        attempts=int(str(attempts)),
        created=datetime.fromisoformat(str(c)),
        updated=datetime.fromisoformat(str(u)),
        cause=str(cause),
        mailer=str(mailer),
    )
