"""Needs that carry over: every need keeps a stable id and a status the librarian changes.

The needs live in the ledger's SQLite file. The librarian edits their status and note wherever
is handiest: ``needs.csv`` beside the config (or the needs tab of the Sheet), or
``pdmail needs set``. Before each digest pdmail reads that table back, applies the edits, adds
the new month's needs as open, and writes the table again, so an edit is never lost.

The librarian may also correct a need's topics or kinds there. A correction is kept apart from
pdmail's own reading (``corrected_topics``, ``corrected_kinds``, ``corrected``): pdmail never
overwrites it, and :mod:`pdmail.digest.corrections` learns from it for later answers.
"""

from __future__ import annotations

import difflib
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from typing import Literal, TypeVar, get_args

from ..errors import BackendError, InputError
from ..models import KINDS, NeedKind, Problem, Table
from ..sources.tables import column_index
from ..wording import shorten

# Where a need stands, as the librarian sets it (a Literal: the words are the table's and the
# ledger's, and mypy catches a misspelt one).
NeedStatus = Literal["open", "scheduled", "done"]
STATUSES: tuple[NeedStatus, ...] = get_args(NeedStatus)
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
    updated    TEXT NOT NULL,
    kinds            TEXT NOT NULL DEFAULT '',
    corrected_topics TEXT,
    corrected_kinds  TEXT,
    corrected        TEXT NOT NULL DEFAULT ''
);
"""
# Columns added to the needs table after it first shipped (ledger schema 4), and how to add
# them to an older file. ``topics`` and ``kinds`` are pdmail's reading, refreshed by every
# digest; ``corrected_topics`` and ``corrected_kinds`` are the librarian's (NULL: not
# corrected) and win over it; ``corrected`` is the day of the last correction.
MIGRATIONS = (
    "ALTER TABLE needs ADD COLUMN kinds TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE needs ADD COLUMN corrected_topics TEXT",
    "ALTER TABLE needs ADD COLUMN corrected_kinds TEXT",
    "ALTER TABLE needs ADD COLUMN corrected TEXT NOT NULL DEFAULT ''",
)
# How a kept need's text splits into kinds of help and their topics, as the digest read it,
# by a hash of everything that reading depends on (the text, its topics and kinds, the
# taxonomy and the reading rules): a need carried over month after month is read once. A
# cache, made on first use: a ledger without it is read as if it were empty.
READINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS need_readings (
    key     TEXT PRIMARY KEY,
    by_kind TEXT NOT NULL
)
"""
ByKind = tuple[tuple[NeedKind, tuple[str, ...]], ...]
_K = TypeVar("_K")
_V = TypeVar("_V")
HEADER = [
    "Need id",
    "Status",
    "Note",
    "Cycle",
    "Teacher",
    "Email",
    "Team",
    "Topics",
    "Kinds",
    "Corrected",
    "Preferred format",
    "Request",
    "First seen",
]
_TOPIC_SEP = "; "
# What the librarian may write in the Corrected column to take a correction back.
FORGET = ("forget", "undo", "no")


@dataclass(frozen=True)
class NeedRecord:
    """A need as the ledger keeps it, with its status and note.

    ``topics`` and ``kinds`` are what the digest goes by: the librarian's correction where
    there is one, else pdmail's reading. ``corrected_topics`` and ``corrected_kinds`` are the
    correction itself (None: that part was not corrected) and ``corrected`` its day;
    ``read_topics`` and ``read_kinds`` pdmail's own reading of a corrected need (None: the
    same as ``topics`` and ``kinds``), which it goes back to if the correction is forgotten.
    """

    id: str
    campaign: str
    cycle: str
    email: str
    teacher: str
    team: str
    text: str
    topics: tuple[str, ...]
    format: str
    status: NeedStatus = "open"
    note: str = ""
    first_seen: date | None = None
    kinds: tuple[NeedKind, ...] = ()  # () in a need kept before kinds were (read again)
    corrected_topics: tuple[str, ...] | None = None
    corrected_kinds: tuple[NeedKind, ...] | None = None
    corrected: date | None = None
    read_topics: tuple[str, ...] | None = None
    read_kinds: tuple[NeedKind, ...] | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "done"

    @property
    def is_corrected(self) -> bool:
        """True when the librarian corrected its topics or kinds."""
        return self.corrected_topics is not None or self.corrected_kinds is not None


@dataclass(frozen=True)
class NeedEdit:
    """What the librarian set on one need: its status and note, and, when they corrected
    them, its topics or kinds (None: left as they were); ``forget``: drop the correction and
    go back to pdmail's reading."""

    status: NeedStatus
    note: str
    topics: tuple[str, ...] | None = None
    kinds: tuple[NeedKind, ...] | None = None
    forget: bool = False


def needs_rows(records: Sequence[NeedRecord]) -> tuple[list[str], list[list[str]]]:
    """The needs as the table the librarian edits: open before scheduled before done, then
    the newest cycle first, then by team and teacher (needs alike in all of these keep the
    order of ``records``)."""
    order = {"open": 0, "scheduled": 1, "done": 2}
    newest = {c: i for i, c in enumerate(sorted({r.cycle for r in records}, reverse=True))}
    ranked = sorted(records, key=lambda r: (order.get(r.status, 3), newest[r.cycle], r.team,
                                            r.teacher))  # fmt: skip
    # A year of needs shares a few topic and kind lists and days: each is written out once.
    cells: dict[object, str] = {}
    rows = []
    for r in ranked:
        topics, kinds, day = cells.get(r.topics), cells.get(r.kinds), cells.get(r.first_seen)
        if topics is None:
            topics = cells[r.topics] = _TOPIC_SEP.join(r.topics)
        if kinds is None:
            kinds = cells[r.kinds] = _TOPIC_SEP.join(r.kinds)
        if day is None:
            day = cells[r.first_seen] = r.first_seen.isoformat() if r.first_seen else ""
        corrected = r.corrected.isoformat() if r.corrected and r.is_corrected else ""
        rows.append([r.id, r.status, r.note, r.cycle, r.teacher, r.email, r.team, topics, kinds,
                     corrected, r.format, r.text, day])  # fmt: skip
    return list(HEADER), rows


def need_status(text: str) -> NeedStatus | None:
    """The status ``text`` names (any case, spaces around), or None when it names none."""
    return _STATUS_OF.get(text.strip().lower())


_STATUS_OF: dict[str, NeedStatus] = {s: s for s in STATUSES}


def read_edits(table: Table) -> tuple[dict[str, tuple[str, str]], list[Problem]]:
    """Status and note per need id from the librarian's table; a row with an unknown status
    is reported and left as it was."""
    edits, problems = read_changes(table)
    return {i: (e.status, e.note) for i, e in edits.items()}, problems


def read_changes(
    table: Table, records: Sequence[NeedRecord] = (), topics: Sequence[str] = ()
) -> tuple[dict[str, NeedEdit], list[Problem]]:
    """Every row's edit of the librarian's table: status and note, and a correction where the
    Topics or Kinds cell differs from ``records`` (the needs as the table was written from).

    ``topics`` are the taxonomy's topic names; without them the Topics column is not read.
    A row with an unknown status, topic or kind is reported (file, row, column and the
    nearest name) and left as it was, its status included. A table without the Kinds or
    Topics column (written by an older pdmail) is read for what it has.
    """
    id_col = column_index(table, "Need id")
    status_col = column_index(table, "Status")
    note_col = column_index(table, "Note")
    if id_col is None or status_col is None:
        missing = "Need id" if id_col is None else "Status"
        raise InputError(
            f"{table.origin}: no column '{missing}'; the needs table must keep its header",
            hint="restore the header row (pdmail writes it: Need id, Status, Note, ...)",
        )
    topics_col = column_index(table, "Topics") if topics else None
    kinds_col = column_index(table, "Kinds") if records else None
    corrected_col = column_index(table, "Corrected") if records else None
    known = {r.id: r for r in records}
    # A table of a year's needs repeats the same few Topics and Kinds cells: each distinct
    # cell is read once (a cell that is refused is read, and refused, every time).
    names = tuple(topics)
    read_topics = functools.lru_cache(maxsize=4096)(lambda cell: parse_topics(cell, names))
    read_kinds = functools.lru_cache(maxsize=256)(parse_kinds)
    edits: dict[str, NeedEdit] = {}
    # Most rows say what the store says: their edits (a status and a note, nothing
    # corrected) are alike, and one of each is made (an edit is frozen, so it is shared).
    plain: dict[tuple[str, str], NeedEdit] = {}
    problems: list[Problem] = []
    for row, cells in table.rows:
        need_id = cells[id_col].strip().lstrip("'")
        if not need_id:
            continue
        status = _STATUS_OF.get(cells[status_col]) or need_status(cells[status_col])
        if status is None:
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
        record = known.get(need_id)
        new_topics: tuple[str, ...] | None = None
        new_kinds: tuple[NeedKind, ...] | None = None
        try:
            if record is not None and topics_col is not None:
                new_topics = read_topics(cells[topics_col])
                if new_topics == record.topics or set(new_topics) == set(record.topics):
                    new_topics = None
            if record is not None and kinds_col is not None:
                new_kinds = read_kinds(cells[kinds_col])
                if (
                    new_kinds == record.kinds
                    or set(new_kinds) == set(record.kinds)
                    or (not record.kinds and not new_kinds)
                ):
                    new_kinds = None  # unchanged (or a need kept before kinds were, untouched)
                elif not new_kinds:
                    raise _CellError("Kinds", "a need has at least one kind: task, learning "
                                     "or lesson")  # fmt: skip
        except _CellError as exc:
            col = topics_col if exc.column == "Topics" else kinds_col
            header = table.header[col] if col is not None else exc.column
            problems.append(
                Problem(table.origin, row, header, f"{exc.message} (the row was left as it was)")
            )
            continue
        # "forget" in the Corrected cell takes the correction back. A blank cell does not: it
        # is also how a correction made since the table was last written looks.
        forget = (
            record is not None
            and record.is_corrected
            and corrected_col is not None
            and _key(cells[corrected_col]) in FORGET
            and new_topics is None
            and new_kinds is None
        )
        if forget or new_topics is not None or new_kinds is not None:
            edits[need_id] = NeedEdit(status, note, new_topics, new_kinds, forget)
        else:
            edit = plain.get((status, note))
            if edit is None:
                edit = plain[status, note] = NeedEdit(status, note)
            edits[need_id] = edit
    return edits, problems


class _CellError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _quoted(cell: str) -> str:
    """A cell's text for a message: quoted, on one line, and not a page long."""
    return repr(shorten(cell.strip(), 60))


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _nearest(word: str, names: Sequence[str]) -> str:
    """ "; did you mean 'X'?" for the name closest to ``word``, or ""."""
    by_key = {_key(n): n for n in names}
    close = difflib.get_close_matches(_key(word), list(by_key), n=1, cutoff=0.6)
    if not close:  # "AI" for "AI tools": a shorter or longer form of a name
        close = [k for k in by_key if _key(word) and (_key(word) in k or k in _key(word))][:1]
    return f"; did you mean {by_key[close[0]]!r}?" if close else ""


@functools.lru_cache(maxsize=64)  # a table of 50,000 needs asks for the same names each row
def _by_key(names: tuple[str, ...]) -> dict[str, str]:
    return {_key(n): n for n in names}


def parse_topics(cell: str, names: Sequence[str]) -> tuple[str, ...]:
    """The topics named in ``cell`` ("AI tools; Academic integrity"), spelled and ordered as
    in ``names`` (the taxonomy's), any case. Topics are separated by ";" (a "," between two
    whole names is read as one too). Raises ValueError naming an unknown topic and the
    nearest one."""
    by_key = _by_key(tuple(names))
    found: set[str] = set()
    for part in cell.lstrip("'").split(";"):
        if not part.strip():
            continue
        name = by_key.get(_key(part))
        if name is not None:
            found.add(name)
            continue
        pieces = [by_key.get(_key(p)) for p in part.split(",") if p.strip()]
        if len(pieces) > 1 and all(pieces):
            found.update(p for p in pieces if p)
            continue
        raise _CellError("Topics", f"{_quoted(part)} is not a topic{_nearest(part, names)}")
    return tuple(n for n in names if n in found)


_KIND_WORDS = {k: k for k in KINDS} | {"tasks": "task", "lessons": "lesson"}


def parse_kinds(cell: str) -> tuple[NeedKind, ...]:
    """The kinds named in ``cell`` ("task; lesson"), in pdmail's order (task, learning,
    lesson); separated by ";" or ",". Raises ValueError naming an unknown kind."""
    found: set[str] = set()
    for part in cell.replace(",", ";").split(";"):
        word = _key(part)
        if not word:
            continue
        kind = _KIND_WORDS.get(word)
        if kind is None:
            raise _CellError(
                "Kinds", f"{_quoted(part)} is not a kind (task, learning or lesson)"
                f"{_nearest(word, KINDS)}"
            )  # fmt: skip
        found.add(kind)
    return tuple(k for k in KINDS if k in found)


def apply_edits(
    records: Sequence[NeedRecord], edits: Mapping[str, NeedEdit], today: date
) -> list[NeedRecord]:
    """``records`` with ``edits`` applied, as :meth:`NeedStore.apply` would keep them (a dry
    run, and what the digest learns from before anything is written)."""
    out = []
    for r in records:
        e = edits.get(r.id)
        if e is not None:
            if e.status != r.status or e.note != r.note:  # most rows come back as they went
                r = replace(r, status=e.status, note=e.note)
            if e.forget and r.is_corrected:
                r = replace(
                    r,
                    topics=r.topics if r.read_topics is None else r.read_topics,
                    kinds=r.kinds if r.read_kinds is None else r.read_kinds,
                    corrected_topics=None,
                    corrected_kinds=None,
                    corrected=None,
                    read_topics=None,
                    read_kinds=None,
                )
            if e.topics is not None:
                read = r.topics if r.corrected_topics is None else r.read_topics
                r = replace(r, topics=e.topics, corrected_topics=e.topics, corrected=today,
                            read_topics=read)  # fmt: skip
            if e.kinds is not None:
                read = r.kinds if r.corrected_kinds is None else r.read_kinds
                r = replace(r, kinds=e.kinds, corrected_kinds=e.kinds, corrected=today,
                            read_kinds=read)  # fmt: skip
        out.append(r)
    return out


def file_version(db: sqlite3.Connection) -> tuple[int, int]:
    """A value that changes whenever the file behind ``db`` changes: SQLite's
    ``data_version`` (a commit by another connection) and this connection's own count of
    changed rows (``total_changes``). Raises :class:`sqlite3.Error`."""
    return int(db.execute("PRAGMA data_version").fetchone()[0]), db.total_changes


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

    def readings(self, keys: Iterable[str]) -> dict[str, ByKind]:
        """The kept readings (see :data:`READINGS_SCHEMA`) of those of ``keys`` that have one;
        a row that does not decode is left out (read again)."""
        wanted = list(dict.fromkeys(keys))
        out: dict[str, ByKind] = {}
        # Thousands of needs are read alike ("learning" about one topic): each cell once.
        decoded: dict[str, ByKind | None] = {}
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = self._db.execute(
                    "SELECT key, by_kind FROM need_readings WHERE key IN "
                    f"({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                for key, cell in rows:
                    if cell in decoded:
                        reading = decoded[cell]
                    else:
                        reading = decoded[cell] = _decode_reading(cell)
                    if reading is not None:
                        out[key] = reading
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return {}
            raise BackendError(f"{self._path}: needs read failed ({exc})") from None
        except sqlite3.Error as exc:
            raise BackendError(f"{self._path}: needs read failed ({exc})") from None
        return out

    def keep_readings(self, readings: Mapping[str, ByKind]) -> None:
        """Keep ``readings`` (by key) for the next digests."""
        if not readings:
            return
        # Thousands of needs are read alike: each distinct reading is encoded once.
        cells: _Memo[ByKind, str] = _Memo(_encode_reading)
        rows = [(key, cells[by_kind]) for key, by_kind in readings.items()]
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute(READINGS_SCHEMA)
                self._db.executemany(
                    "INSERT OR REPLACE INTO need_readings (key, by_kind) VALUES (?, ?)", rows
                )
        except sqlite3.Error as exc:
            raise BackendError(f"{self._path}: needs write failed ({exc})") from None

    def version(self) -> tuple[int, int]:
        """A value that changes whenever the ledger file changes: SQLite's ``data_version``
        (a commit by another connection) and this connection's own count of changed rows."""
        try:
            return file_version(self._db)
        except sqlite3.Error as exc:
            raise BackendError(f"{self._path}: needs read failed ({exc})") from None

    def all(self, campaign: str) -> list[NeedRecord]:
        """Every need of ``campaign``, by cycle, team and teacher (then in the order they
        were first kept)."""
        return self._select(f" WHERE campaign=? ORDER BY {_ORDER}", (campaign,))

    def all_after(
        self, before: Sequence[NeedRecord], campaign: str, written: Iterable[str]
    ) -> list[NeedRecord]:
        """What :meth:`all` returns now, when ``before`` is what it returned earlier and
        ``written`` holds every id whose row was written since (by this connection alone:
        the caller makes sure no other did). Only those rows are read again, with the ids in
        order: a digest writes a month's needs into a year of them."""
        by_id = {r.id: r for r in before}
        for r in self._by_ids(written):
            if r.campaign == campaign:
                by_id[r.id] = r
            else:
                by_id.pop(r.id, None)
        try:
            rows = self._db.execute(
                f"SELECT id FROM needs WHERE campaign=? ORDER BY {_ORDER}", (campaign,)
            ).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(f"{self._path}: needs read failed ({exc})") from None
        try:
            return [by_id[row[0]] for row in rows]
        except KeyError:  # a need kept otherwise: read them all
            return self.all(campaign)

    def _by_ids(self, ids: Iterable[str]) -> list[NeedRecord]:
        """The needs of ``ids`` that are kept (any campaign's), in no particular order."""
        out: list[NeedRecord] = []
        for chunk in _chunks(list(dict.fromkeys(ids))):
            out.extend(self._select(f" WHERE id IN ({_marks(chunk)})", chunk))
        return out

    def _select(self, where: str, args: Sequence[object]) -> list[NeedRecord]:
        """The needs ``where`` picks, as records."""
        try:
            rows = self._db.execute(
                "SELECT id, campaign, cycle, email, teacher, team, text, topics, format, status,"
                " note, first_seen, kinds, corrected_topics, corrected_kinds, corrected"
                " FROM needs" + where,
                args,
            ).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(
                f"{self._path}: needs read failed ({exc})",
                hint="another pdmail process (or a program that opened the ledger file) may "
                "be writing to it; wait for it to finish and run again",
            ) from None
        # Topic and kind cells and days repeat across thousands of needs: each distinct one
        # is split or parsed once (a year's needs are read more than once a digest).
        split = _Memo(_split)
        kinds = _Memo(_kinds)
        day = _Memo(date.fromisoformat)
        make = NeedRecord.__new__
        out = []
        for r in rows:
            # Made without the frozen __init__'s one guarded assignment per field (a year of
            # needs is tens of thousands of records, read several times a digest): the values
            # are the store's, already typed.
            record = make(NeedRecord)
            fixed_topics = None if r[13] is None else split[r[13]]
            fixed_kinds = None if r[14] is None else kinds[r[14]]
            record.__dict__.update(zip(_RECORD_FIELDS, (
                r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                split[r[7]] if fixed_topics is None else fixed_topics,
                r[8], r[9], r[10], day[r[11]],
                kinds[r[12]] if fixed_kinds is None else fixed_kinds,
                fixed_topics, fixed_kinds, day[r[15]] if r[15] else None,
                None if fixed_topics is None else split[r[7]],
                None if fixed_kinds is None else kinds[r[12]],
            ), strict=True))  # fmt: skip
            out.append(record)
        return out

    def upsert(
        self, records: Sequence[NeedRecord], today: date, *, now: datetime | None = None
    ) -> None:
        """Add new needs as open (first seen ``today``); refresh the text and pdmail's reading
        of known ones, keeping status, note and the librarian's corrections (a teacher's later
        answer in the same cycle supersedes the earlier text). A row written is stamped
        ``now`` (default: ``today``)."""
        stamp = _stamp(now or today)
        self._run(
            "INSERT INTO needs (id, campaign, cycle, email, teacher, team, text, topics, format,"
            " status, note, first_seen, updated, kinds) VALUES (?,?,?,?,?,?,?,?,?,'open','',?,?,?)"
            " ON CONFLICT(id) DO UPDATE SET teacher=excluded.teacher, team=excluded.team,"
            " text=excluded.text, topics=excluded.topics, format=excluded.format,"
            " kinds=excluded.kinds, updated=excluded.updated"
            " WHERE needs.text != excluded.text OR needs.topics != excluded.topics"
            " OR needs.format != excluded.format OR needs.team != excluded.team"
            " OR needs.kinds != excluded.kinds",
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
                    _TOPIC_SEP.join(r.kinds),
                )
                for r in records
            ],
        )

    def apply(
        self,
        edits: Mapping[str, NeedEdit],
        today: date,
        *,
        now: datetime | None = None,
        known: Sequence[NeedRecord] = (),
    ) -> list[str]:
        """Apply the librarian's edits: status and note, and each correction of topics or
        kinds (kept apart from pdmail's reading, dated ``today``); return the ids that
        changed. A row changed is stamped ``now`` (default: ``today``).

        ``known`` are needs as the store holds them now (as :meth:`all` returned them, with
        nothing written since): an edit of one of them is checked against it, and the ledger
        is read only for an edit of another id (another campaign's need, or none)."""
        # A table read back mostly says what the store says: such an edit (same status and
        # note, no correction, nothing to forget) changes nothing, and its need is not read.
        known_by_id = {r.id: r for r in known}
        before: dict[str, NeedRecord] = {}
        live: set[str] = set()
        for i, e in edits.items():
            r = known_by_id.get(i)
            if r is not None and (
                r.status != e.status or r.note != e.note or e.topics is not None
                or e.kinds is not None or e.forget
            ):  # fmt: skip
                before[i] = r
        others = [i for i in edits if i not in known_by_id]
        if others:
            try:
                stored = self._db.execute("SELECT id, status, note FROM needs").fetchall()
                kept = {i: (status, note) for i, status, note in stored}
            except sqlite3.Error as exc:
                raise BackendError(f"{self._path}: needs read failed ({exc})") from None
            live = {
                i
                for i in others
                if i in kept
                and (kept[i] != (edits[i].status, edits[i].note) or edits[i].topics is not None
                     or edits[i].kinds is not None or edits[i].forget)
            }  # fmt: skip
        # Every campaign's, as an id is unique in the file.
        before.update((r.id, r) for r in self._by_ids(live))
        after = {r.id: r for r in apply_edits(list(before.values()), edits, today)}
        changed = [i for i in edits if i in before and after[i] != before[i]]
        stamp = _stamp(now or today)
        rows = []
        for i in changed:
            r = after[i]
            day = r.corrected.isoformat() if r.corrected is not None else ""
            rows.append(
                (r.status, r.note, _join_or_none(r.corrected_topics),
                 _join_or_none(r.corrected_kinds), day, stamp, i)
            )  # fmt: skip
        self._run(
            "UPDATE needs SET status=?, note=?, corrected_topics=?, corrected_kinds=?,"
            " corrected=?, updated=? WHERE id=?",
            rows,
        )
        return changed

    def set_status(self, edits: dict[str, tuple[str, str]], now: datetime | date) -> list[str]:
        """Apply ``{id: (status, note)}``, stamping the rows changed ``now``; return the ids
        that changed."""
        known = {
            r[0]: (r[1], r[2])
            for r in self._db.execute("SELECT id, status, note FROM needs").fetchall()
        }
        changed = [i for i, v in edits.items() if i in known and known[i] != v]
        stamp = _stamp(now)
        self._run(
            "UPDATE needs SET status=?, note=?, updated=? WHERE id=?",
            [(edits[i][0], edits[i][1], stamp, i) for i in changed],
        )
        return changed

    def unknown_ids(self, ids: Iterable[str]) -> list[str]:
        known = {r[0] for r in self._db.execute("SELECT id FROM needs").fetchall()}
        return sorted(set(ids) - known)


class _Memo(dict[_K, _V]):
    """``make(key)`` for each key asked for, made the first time it is asked for (a lookup
    in C after that)."""

    def __init__(self, make: Callable[[_K], _V]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: _K) -> _V:
        made = self[key] = self.make(key)
        return made


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    """``ids`` in pieces of 500, as many as one SQLite statement takes as parameters."""
    return [ids[start : start + 500] for start in range(0, len(ids), 500)]


def _marks(chunk: Sequence[str]) -> str:
    return ",".join("?" * len(chunk))


_RECORD_FIELDS = tuple(f.name for f in fields(NeedRecord))
# The order of NeedStore.all: the rowid last, so that needs alike in all three (two teachers
# of one name in one team) keep the order they were first kept in, whatever the query.
_ORDER = "cycle, team, teacher, rowid"


def merge(
    stored: Sequence[NeedRecord], current: Sequence[NeedRecord], today: date
) -> list[NeedRecord]:
    """What the store would hold after ``upsert(current)``, without writing (a dry run)."""
    by_id = {r.id: r for r in stored}
    for r in current:
        old = by_id.get(r.id)
        by_id[r.id] = (
            _replaced(
                r,
                status=old.status,
                note=old.note,
                first_seen=old.first_seen,
                topics=r.topics if old.corrected_topics is None else old.corrected_topics,
                kinds=r.kinds if old.corrected_kinds is None else old.corrected_kinds,
                corrected_topics=old.corrected_topics,
                corrected_kinds=old.corrected_kinds,
                corrected=old.corrected,
                read_topics=None if old.corrected_topics is None else r.topics,
                read_kinds=None if old.corrected_kinds is None else r.kinds,
            )
            if old
            else _replaced(r, first_seen=today)
        )
    return list(by_id.values())


def _replaced(record: NeedRecord, **changes: object) -> NeedRecord:
    """``dataclasses.replace(record, **changes)`` without the frozen ``__init__`` (see
    :meth:`NeedStore._select`): a digest merges a month's needs, thousands, into the year's."""
    made = NeedRecord.__new__(NeedRecord)
    made.__dict__.update(record.__dict__)
    for name in changes:
        if name not in _RECORD_FIELDS:
            raise TypeError(f"NeedRecord has no field {name!r}")
    made.__dict__.update(changes)
    return made


def _encode_reading(by_kind: ByKind) -> str:
    return json.dumps([[kind, list(topics)] for kind, topics in by_kind])


def _decode_reading(cell: str) -> ByKind | None:
    try:
        data = json.loads(cell)
        out = tuple((kind, tuple(str(t) for t in topics)) for kind, topics in data)
    except (ValueError, TypeError):
        return None
    if not all(kind in KINDS for kind, _ in out):
        return None
    return out


def _split(cell: str) -> tuple[str, ...]:
    return tuple(t for t in cell.split(_TOPIC_SEP) if t)


def _split_or_none(cell: str | None) -> tuple[str, ...] | None:
    return None if cell is None else _split(cell)


def _kinds(cell: str) -> tuple[NeedKind, ...]:
    """The kinds a cell of the store holds (written in :data:`KINDS` order, so kept in it)."""
    found = set(_split(cell))
    return tuple(k for k in KINDS if k in found)


def _kinds_or_none(cell: str | None) -> tuple[NeedKind, ...] | None:
    return None if cell is None else _kinds(cell)


def _join_or_none(items: tuple[str, ...] | None) -> str | None:
    return None if items is None else _TOPIC_SEP.join(items)


def _stamp(now: datetime | date) -> str:
    """The ``updated`` column's text. The time comes from the caller's clock (``--today``
    included), never from the machine's: a rehearsed month writes no real date."""
    return now.isoformat(timespec="seconds") if isinstance(now, datetime) else now.isoformat()
