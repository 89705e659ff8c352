"""The library side of ``pdmail journal``: add, list and remove the librarian's reflections.

Reading never creates a ledger: a project that has none yet simply has no entries.
"""

from __future__ import annotations

from datetime import date

from ..errors import UsageError
from ..state.journal import JournalEntry
from ..workspace import Workspace
from .year import SchoolYear


def add_entry(ws: Workspace, text: str, day: date | None = None) -> JournalEntry:
    """Keep ``text`` as a reflection about ``day`` (default: today, by the workspace's clock)."""
    now = ws.now()
    return ws.ledger.journal.add(day or now.date(), text, now)


def list_entries(ws: Workspace, year: SchoolYear | None = None) -> list[JournalEntry]:
    """Every entry (or those about days in ``year``), by day."""
    if not ws.ledger_path.exists():
        return []
    if year is None:
        return ws.ledger.journal.entries()
    return ws.ledger.journal.entries(year.first_day, year.last_day)


def remove_entry(ws: Workspace, entry_id: int) -> JournalEntry:
    """Remove entry ``entry_id`` and return it (an unknown id changes nothing and raises)."""
    if not ws.ledger_path.exists():
        raise UsageError(
            f"no journal entry has the id {entry_id} (there is no ledger yet)",
            hint="'pdmail journal list' shows each entry with its id",
        )
    return ws.ledger.journal.remove(entry_id)
