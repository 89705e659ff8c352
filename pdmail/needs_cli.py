"""The library side of ``pdmail needs``: list the needs and change their status."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import UsageError
from .needs import NeedRecord, needs_rows, read_edits
from .workspace import Workspace


def list_needs(ws: Workspace) -> tuple[list[NeedRecord], list[str]]:
    """Every need, with the librarian's edits to the needs table applied first."""
    store = ws.ledger.needs
    table = ws.sink.read_table("needs")
    problems: list[str] = []
    if table is not None:
        edits, bad = read_edits(table)
        store.set_status(edits)
        problems = [str(p) for p in bad]
    records = store.all(ws.config.campaign)
    order = {"open": 0, "scheduled": 1, "done": 2}
    records.sort(key=lambda r: (order.get(r.status, 3), r.cycle, r.team, r.teacher))
    return records, problems


def set_needs(
    ws: Workspace, ids: Sequence[str], status: str, note: str | None
) -> tuple[list[str], str]:
    """Set ``status`` (and ``note``, if given) on the needs ``ids``, then rewrite the needs
    table so it shows the change; return the ids changed and where the table is."""
    records, _ = list_needs(ws)
    by_id = {r.id: r for r in records}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise UsageError(
            f"no need with the id {', '.join(unknown)}",
            hint="'pdmail needs list --all' shows every id",
        )
    edits = {i: (status, by_id[i].note if note is None else note) for i in ids}
    changed = ws.ledger.needs.set_status(edits)
    where = ws.sink.write_table("needs", *needs_rows(ws.ledger.needs.all(ws.config.campaign)))
    return changed, where
