"""The needs table the librarian edits (needs.csv or the needs tab), kept in step with the
needs store: their edits are read back and kept first, then new needs are added and the table
is written again, so an edit is never lost.

It takes the pieces it works on (the store, the table's sink, the campaign, the topic names,
the time) rather than a whole workspace, so a script or a test can use it on its own.
:func:`pdmail.cycle.publish.sync_needs` and :mod:`pdmail.cli.needs_cli` call it with a workspace's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import PdmailError
from .needs import NeedEdit, NeedRecord, NeedStore, apply_edits, merge, needs_rows, read_changes

if TYPE_CHECKING:
    from ..backends import ReportSink

__all__ = ["TableRead", "keep_needs", "read_table_edits", "table_edits"]

TABLE = "needs"


@dataclass(frozen=True)
class TableRead:
    """What :func:`read_table_edits` read: the needs kept, the librarian's edits, the rows
    that could not be read, a stamp of the store and the table as they were read (None
    when the sink cannot tell whether its table changed since), and the store's version as
    it was read (:meth:`NeedStore.version`; None: not known)."""

    campaign: str
    topics: tuple[str, ...]
    stored: list[NeedRecord]
    edits: dict[str, NeedEdit]
    problems: list[str]
    stamp: tuple[object, object] | None
    version: tuple[int, int] | None = None


def table_edits(
    store: NeedStore, sink: ReportSink, campaign: str, topics: Sequence[str]
) -> tuple[list[NeedRecord], dict[str, NeedEdit], list[str]]:
    """The needs kept for ``campaign``, the librarian's edits in the table (none without a
    table), and the rows that could not be read (file, row and column, in words)."""
    read = read_table_edits(store, sink, campaign, topics)
    return read.stored, read.edits, read.problems


def read_table_edits(
    store: NeedStore, sink: ReportSink, campaign: str, topics: Sequence[str]
) -> TableRead:
    """:func:`table_edits` with the stamp that lets :func:`keep_needs` use it again."""
    # Stamped before reading: a change made while the table is read shows as a change.
    version = store.version()
    stamp = _stamp(store, sink)
    stored = store.all(campaign)
    table = sink.read_table(TABLE)
    if table is None:
        return TableRead(campaign, tuple(topics), stored, {}, [], stamp, version)
    edits, problems = read_changes(table, stored, topics)
    return TableRead(
        campaign, tuple(topics), stored, edits, [str(p) for p in problems], stamp, version
    )


def _stamp(store: NeedStore, sink: ReportSink) -> tuple[object, object] | None:
    """The store's and the table's versions, or None when the sink cannot say its own."""
    stamp = getattr(sink, "table_stamp", None)
    table = stamp(TABLE) if callable(stamp) else None
    return None if table is None else (store.version(), table)


def _still(read: TableRead | None, store: NeedStore, sink: ReportSink, campaign: str,
           topics: Sequence[str]) -> TableRead | None:  # fmt: skip
    """``read`` when it was read for the same campaign and topics and neither the store nor
    the table changed since, else None."""
    if read is None or read.stamp is None:
        return None
    if read.campaign != campaign or read.topics != tuple(topics):
        return None
    return read if _stamp(store, sink) == read.stamp else None


def keep_needs(
    store: NeedStore,
    sink: ReportSink,
    campaign: str,
    topics: Sequence[str],
    now: datetime,
    fresh: Sequence[NeedRecord] = (),
    *,
    persist: bool = True,
    write: bool = True,
    errors: list[PdmailError] | None = None,
    read: TableRead | None = None,
) -> tuple[list[NeedRecord], list[str]]:
    """Keep the librarian's edits in the table, add ``fresh`` needs as open, and (with
    ``write``) write the table back; return every need and the rows that could not be read.

    ``read`` is the table as :func:`read_table_edits` read it earlier in the run: it is used
    instead of reading the table again when neither the table nor the store has changed
    since (a change, or a sink that cannot tell, means the table is read again).

    ``now`` dates what changes (its day is a correction's day and a new need's first day).
    Without ``persist`` nothing is written: the result is what would be kept. With an
    ``errors`` list, a table that cannot be written back joins it instead of being raised
    (the needs are kept in the store all the same, and written on the next run).
    """
    today = now.date()
    read = _still(read, store, sink, campaign, topics) or read_table_edits(
        store, sink, campaign, topics
    )
    stored, edits, problems = read.stored, read.edits, list(read.problems)
    if not persist:
        edited = apply_edits(stored, edits, today)
        # The store's needs have an id each: merging nothing into them is a copy of them.
        return (merge(edited, fresh, today) if fresh else edited), problems
    written: list[str] = []
    if edits:
        # Nothing was written since the needs were read (the same data_version, and no row
        # changed by this connection): the edits are checked against them, not the file.
        same = read.version is not None and store.version() == read.version
        written = store.apply(edits, today, now=now, known=read.stored if same else ())
    if fresh:
        store.upsert(fresh, today, now=now)
        written.extend(r.id for r in fresh)
    if read.version is not None and store.version()[0] == read.version[0]:
        # No other connection wrote to the ledger since it was read (SQLite's data_version
        # is the same): the needs are those read, with the rows written here read again.
        records = store.all_after(read.stored, campaign, written)
    else:
        records = store.all(campaign)
    if write:
        try:
            sink.write_table(TABLE, *needs_rows(records))
        except PdmailError as exc:
            if errors is None:
                raise
            errors.append(exc)
    return records, problems
