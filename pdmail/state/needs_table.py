"""The needs table the librarian edits (needs.csv or the needs tab), kept in step with the
needs store: their edits are read back and kept first, then new needs are added and the table
is written again, so an edit is never lost.

It takes the pieces it works on (the store, the table's sink, the campaign, the topic names,
the time) rather than a whole workspace, so a script or a test can use it on its own.
:func:`pdmail.cycle.publish.sync_needs` and :mod:`pdmail.cli.needs_cli` call it with a workspace's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import PdmailError
from .needs import NeedEdit, NeedRecord, NeedStore, apply_edits, merge, needs_rows, read_changes

if TYPE_CHECKING:
    from ..backends import ReportSink

__all__ = ["keep_needs", "table_edits"]

TABLE = "needs"


def table_edits(
    store: NeedStore, sink: ReportSink, campaign: str, topics: Sequence[str]
) -> tuple[list[NeedRecord], dict[str, NeedEdit], list[str]]:
    """The needs kept for ``campaign``, the librarian's edits in the table (none without a
    table), and the rows that could not be read (file, row and column, in words)."""
    stored = store.all(campaign)
    table = sink.read_table(TABLE)
    if table is None:
        return stored, {}, []
    edits, problems = read_changes(table, stored, topics)
    return stored, edits, [str(p) for p in problems]


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
) -> tuple[list[NeedRecord], list[str]]:
    """Keep the librarian's edits in the table, add ``fresh`` needs as open, and (with
    ``write``) write the table back; return every need and the rows that could not be read.

    ``now`` dates what changes (its day is a correction's day and a new need's first day).
    Without ``persist`` nothing is written: the result is what would be kept. With an
    ``errors`` list, a table that cannot be written back joins it instead of being raised
    (the needs are kept in the store all the same, and written on the next run).
    """
    today = now.date()
    stored, edits, problems = table_edits(store, sink, campaign, topics)
    if not persist:
        return merge(apply_edits(stored, edits, today), fresh, today), problems
    if edits:
        store.apply(edits, today, now=now)
    if fresh:
        store.upsert(fresh, today, now=now)
    records = store.all(campaign)
    if write:
        try:
            sink.write_table(TABLE, *needs_rows(records))
        except PdmailError as exc:
            if errors is None:
                raise
            errors.append(exc)
    return records, problems
