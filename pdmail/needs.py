"""Needs that carry over: every need keeps a stable id and a status the librarian changes.

The needs live in the ledger's SQLite file. The librarian edits their status and note wherever
is handiest: ``needs.csv`` beside the config (or the needs tab of the Sheet), or
``pdmail needs set``. Before each digest pdmail reads that table back, applies the edits, adds
the new month's needs as open, and writes the table again, so an edit is never lost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone

from .errors import BackendError, InputError
from .models import Problem, Table
from .tables import column_index

STATUSES = ("open", "scheduled", "done")
SCHEMA = """
CREATE TABLE IF NOT EXISTS needs (
    id         TEXT PRIMARY KEY,
    campaign   TEXT NOT NULL,
    cycle      TEXT NOT NULL,
    email      TEXT NOT NULL,
    teacher    TEXT NOT NULL,
    team       TEXT NOT NULL,
    text       TEXT NOT NULL,
    topics     TEXT NOT NULL,
    format     TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'open',
    note       TEXT NOT NULL DEFAULT '',
    first_seen TEXT NOT NULL,
    updated    TEXT NOT NULL
);
"""
HEADER = [
    "Need id",
    "Status",
    "Note",
    "Cycle",
    "Teacher",
    "Email",
    "Team",
    "Topics",
    "Preferred format",
    "Request",
    "First seen",
]
_TOPIC_SEP = "; "


@dataclass(frozen=True)
class NeedRecord:
    """A need as the ledger keeps it, with its status and note."""

    id: str
    campaign: str
    cycle: str
    email: str
    teacher: str
    team: str
    text: str
    topics: tuple[str, ...]
    format: str
    status: str = "open"
    note: str = ""
    first_seen: date | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "done"


def needs_rows(records: Sequence[NeedRecord]) -> tuple[list[str], list[list[str]]]:
    """The needs as the table the librarian edits: newest cycle first, open before done."""
    order = {"open": 0, "scheduled": 1, "done": 2}
    ranked = sorted(records, key=lambda r: (r.team, r.teacher))
    ranked.sort(key=lambda r: r.cycle, reverse=True)  # stable: ties keep team, teacher
    ranked.sort(key=lambda r: order.get(r.status, 3))
    rows = [
        [
            r.id,
            r.status,
            r.note,
            r.cycle,
            r.teacher,
            r.email,
            r.team,
            _TOPIC_SEP.join(r.topics),
            r.format,
            r.text,
            r.first_seen.isoformat() if r.first_seen else "",
        ]
        for r in ranked
    ]
    return list(HEADER), rows


def read_edits(table: Table) -> tuple[dict[str, tuple[str, str]], list[Problem]]:
    """Status and note per need id from the librarian's table; a row with an unknown status
    is reported and left as it was."""
    id_col = column_index(table, "Need id")
    status_col = column_index(table, "Status")
    note_col = column_index(table, "Note")
    if id_col is None or status_col is None:
        missing = "Need id" if id_col is None else "Status"
        raise InputError(
            f"{table.origin}: no column '{missing}'; the needs table must keep its header",
            hint="restore the header row (pdmail writes it: Need id, Status, Note, ...)",
        )
    edits: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    for row, cells in table.rows:
        need_id = cells[id_col].strip().lstrip("'")
        if not need_id:
            continue
        status = cells[status_col].strip().lower()
        if status not in STATUSES:
            problems.append(
                Problem(
                    table.origin,
                    row,
                    table.header[status_col],
                    f"{cells[status_col]!r} is not open, scheduled or done",
                )
            )
            continue
        note = cells[note_col].strip() if note_col is not None else ""
        if note[:1] == "'" and note[1:2] in ("=", "+", "-", "@"):
            note = note[1:]  # the guard pdmail adds against formulas, not the librarian's text
        edits[need_id] = (status, note)
    return edits, problems


class NeedStore:
    """The needs table of the ledger file."""

    def __init__(self, db: sqlite3.Connection, path: str) -> None:
        self._db = db
        self._path = path

    def _run(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        try:
            with self._db:  # one transaction
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            raise BackendError(
                f"{self._path}: needs write failed ({exc})",
                hint="another pdmail process (or a program that opened the ledger file) is "
                "writing to it; wait for it to finish and run again"
                if busy
                else None,
            ) from None

    def all(self, campaign: str) -> list[NeedRecord]:
        try:
            rows = self._db.execute(
                "SELECT id, campaign, cycle, email, teacher, team, text, topics, format, status,"
                " note, first_seen FROM needs WHERE campaign=? ORDER BY cycle, team, teacher",
                (campaign,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(
                f"{self._path}: needs read failed ({exc})",
                hint="another pdmail process (or a program that opened the ledger file) may "
                "be writing to it; wait for it to finish and run again",
            ) from None
        return [
            NeedRecord(
                id=r[0],
                campaign=r[1],
                cycle=r[2],
                email=r[3],
                teacher=r[4],
                team=r[5],
                text=r[6],
                topics=tuple(t for t in r[7].split(_TOPIC_SEP) if t),
                format=r[8],
                status=r[9],
                note=r[10],
                first_seen=date.fromisoformat(r[11]),
            )
            for r in rows
        ]

    def upsert(self, records: Sequence[NeedRecord], today: date) -> None:
        """Add new needs as open; refresh the text of known ones, keeping status and note
        (a teacher's later answer in the same cycle supersedes the earlier text)."""
        stamp = _now()
        self._run(
            "INSERT INTO needs (id, campaign, cycle, email, teacher, team, text, topics, format,"
            " status, note, first_seen, updated) VALUES (?,?,?,?,?,?,?,?,?,'open','',?,?)"
            " ON CONFLICT(id) DO UPDATE SET teacher=excluded.teacher, team=excluded.team,"
            " text=excluded.text, topics=excluded.topics, format=excluded.format,"
            " updated=excluded.updated"
            " WHERE needs.text != excluded.text OR needs.topics != excluded.topics"
            " OR needs.format != excluded.format OR needs.team != excluded.team",
            [
                (
                    r.id,
                    r.campaign,
                    r.cycle,
                    r.email,
                    r.teacher,
                    r.team,
                    r.text,
                    _TOPIC_SEP.join(r.topics),
                    r.format,
                    today.isoformat(),
                    stamp,
                )
                for r in records
            ],
        )

    def set_status(self, edits: dict[str, tuple[str, str]]) -> list[str]:
        """Apply ``{id: (status, note)}``; return the ids that changed."""
        known = {
            r[0]: (r[1], r[2])
            for r in self._db.execute("SELECT id, status, note FROM needs").fetchall()
        }
        changed = [i for i, v in edits.items() if i in known and known[i] != v]
        stamp = _now()
        self._run(
            "UPDATE needs SET status=?, note=?, updated=? WHERE id=?",
            [(edits[i][0], edits[i][1], stamp, i) for i in changed],
        )
        return changed

    def unknown_ids(self, ids: Iterable[str]) -> list[str]:
        known = {r[0] for r in self._db.execute("SELECT id FROM needs").fetchall()}
        return sorted(set(ids) - known)


def merge(
    stored: Sequence[NeedRecord], current: Sequence[NeedRecord], today: date
) -> list[NeedRecord]:
    """What the store would hold after ``upsert(current)``, without writing (a dry run)."""
    by_id = {r.id: r for r in stored}
    for r in current:
        old = by_id.get(r.id)
        by_id[r.id] = (
            replace(r, status=old.status, note=old.note, first_seen=old.first_seen)
            if old
            else replace(r, first_seen=today)
        )
    return list(by_id.values())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
