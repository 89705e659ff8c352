"""The librarian's journal: kept in the ledger file, checked before anything is written."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from pdmail.errors import UsageError
from pdmail.state.journal import MAX_CHARS, clean_text
from pdmail.state.ledger import SCHEMA_VERSION, Ledger

NOW = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)


def test_entries_are_kept_by_day_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as ledger:
        late = ledger.journal.add(date(2026, 12, 3), "Second", NOW)
        early = ledger.journal.add(date(2026, 9, 14), "  First\r\nline two  \n", NOW)
        same_day = ledger.journal.add(date(2026, 12, 3), "Third", NOW)
    assert early.text == "First\nline two"
    assert (late.id, early.id, same_day.id) == (1, 2, 3)
    with Ledger(path) as again:
        got = again.journal.entries()
        assert [(e.id, e.day, e.text) for e in got] == [
            (2, date(2026, 9, 14), "First\nline two"),
            (1, date(2026, 12, 3), "Second"),
            (3, date(2026, 12, 3), "Third"),
        ]
        assert [e.id for e in again.journal.entries(date(2026, 10, 1), date(2026, 12, 3))] == [1, 3]
        assert again.journal.entries(date(2027, 1, 1)) == []


def test_a_removed_id_is_never_given_again(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        ledger.journal.add(date(2026, 9, 1), "a", NOW)
        second = ledger.journal.add(date(2026, 9, 2), "b", NOW)
        assert ledger.journal.remove(second.id).text == "b"
        assert ledger.journal.add(date(2026, 9, 3), "c", NOW).id == 3
        with pytest.raises(UsageError, match="no journal entry has the id 2"):
            ledger.journal.remove(2)
        assert [e.text for e in ledger.journal.entries()] == ["a", "c"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("x" * (MAX_CHARS + 1), "limit is 10,000"),
        ("bell\x07here", r"control character \(0x07\) at position 5"),
        ("nul\x00", "control character"),
    ],
)
def test_bad_text_is_refused_and_nothing_is_kept(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        clean_text(text)
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        with pytest.raises(UsageError):
            ledger.journal.add(date(2026, 9, 1), text, NOW)
        assert ledger.journal.entries() == []


def test_tabs_line_breaks_and_any_script_are_kept() -> None:
    assert clean_text("Zoë\tcafé\n  ✓ 図書館") == "Zoë\tcafé\n  ✓ 図書館"


def test_an_older_ledger_gains_the_journal_and_keeps_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE messages (campaign TEXT NOT NULL, cycle TEXT NOT NULL,
                recipient TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
                message_id TEXT NOT NULL, thread_id TEXT NOT NULL DEFAULT '',
                provider_id TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
                error TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 1,
                created TEXT NOT NULL, updated TEXT NOT NULL,
                PRIMARY KEY (campaign, cycle, recipient, kind));
            INSERT INTO messages (campaign, cycle, recipient, kind, state, message_id, created,
                updated) VALUES ('monthly-update', '2026-09', 'a@x.org', 'request', 'sent',
                '<m@x>', '2026-09-01T12:00:00+00:00', '2026-09-01T12:00:00+00:00');
            PRAGMA user_version = 2;
            """
        )
    db.close()
    with Ledger(path) as ledger:
        assert ledger.count_sent("monthly-update", "request") == {"2026-09": 1}
        assert ledger.journal.add(date(2026, 9, 5), "kept", NOW).id == 1
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.close()
