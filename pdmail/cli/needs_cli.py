"""The library side of ``pdmail needs``: list the needs, change their status, and correct
their topics or kinds."""

from __future__ import annotations

from collections.abc import Sequence

from ..digest.topics import Tagger
from ..errors import UsageError
from ..state.needs import (
    NeedEdit,
    NeedRecord,
    need_status,
    needs_rows,
    parse_kinds,
    parse_topics,
)
from ..state.needs_table import keep_needs
from ..workspace import Workspace


def _topic_names(ws: Workspace) -> list[str]:
    return [t.name for t in Tagger.from_taxonomy(ws.config.taxonomy).topics]


def list_needs(ws: Workspace) -> tuple[list[NeedRecord], list[str]]:
    """Every need, with the librarian's edits to the needs table (status, note, corrections
    of topics and kinds) applied first."""
    records, problems = keep_needs(
        ws.ledger.needs, ws.sink, ws.config.campaign, _topic_names(ws), ws.now(), write=False
    )
    order = {"open": 0, "scheduled": 1, "done": 2}
    records.sort(key=lambda r: (order.get(r.status, 3), r.cycle, r.team, r.teacher))
    return records, problems


def set_needs(
    ws: Workspace,
    ids: Sequence[str],
    status: str | None,
    note: str | None,
    *,
    topics: str | None = None,
    kinds: str | None = None,
    forget: bool = False,
) -> tuple[list[str], str]:
    """Set ``status`` and ``note`` (each if given) on the needs ``ids``, and correct their
    ``topics`` ("AI tools; Academic integrity") or ``kinds`` ("learning"; "task; lesson") if
    given; then rewrite the needs table so it shows the change. Return the ids changed and
    where the table is. With ``forget`` their corrections are dropped: pdmail's own reading
    again. A bad status, topic or kind, or an unknown id, changes nothing."""
    if status is None and topics is None and kinds is None and note is None and not forget:
        raise UsageError(
            "nothing to set",
            hint="give --status, --topics, --kinds, --note or --forget (or several)",
        )
    if forget and (topics is not None or kinds is not None):
        raise UsageError(
            "--forget drops a correction; it cannot make one too",
            hint="give --forget alone, or --topics/--kinds alone",
        )
    new_status = need_status(status) if status is not None else None
    if status is not None and new_status is None:
        raise UsageError(
            f"--status: {status!r} is not a need status", hint="open, scheduled or done"
        )
    names = _topic_names(ws)
    try:
        new_topics = parse_topics(topics, names) if topics is not None else None
    except ValueError as exc:
        raise UsageError(
            f"--topics: {exc}", hint=f"separate topics with ';'. The topics: {'; '.join(names)}"
        ) from None
    try:
        new_kinds = parse_kinds(kinds) if kinds is not None else None
    except ValueError as exc:
        raise UsageError(
            f"--kinds: {exc}", hint="task, learning or lesson; several with ';'"
        ) from None
    if new_kinds == ():
        raise UsageError(
            "--kinds: a need has at least one kind",
            hint="task, learning or lesson; several with ';'",
        )
    records, _ = list_needs(ws)
    by_id = {r.id: r for r in records}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise UsageError(
            f"no need with the id {', '.join(unknown)}",
            hint="'pdmail needs list --all' shows every id",
        )
    edits = {
        i: NeedEdit(
            new_status or by_id[i].status,
            by_id[i].note if note is None else note,
            # Setting what the librarian already set is no new correction.
            None if new_topics == by_id[i].corrected_topics else new_topics,
            None if new_kinds == by_id[i].corrected_kinds else new_kinds,
            forget,
        )
        for i in ids
    }
    now = ws.now()
    changed = ws.ledger.needs.apply(edits, now.date(), now=now)
    where = ws.sink.write_table("needs", *needs_rows(ws.ledger.needs.all(ws.config.campaign)))
    return changed, where
