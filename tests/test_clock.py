"""Time arrives one way: a month rehearsed with ``--today`` writes its dates, never the
machine's. Every command of the month runs through the CLI on a real folder; then every file
it wrote and every row of the ledger is searched for the real date.

(The one exception by design: a responses export's modification time is the machine's, since
the file system sets it. The test sets it itself, to a time after the rehearsed month.)
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from conftest import ANN, RAJ, Project, answer, run_cli

from pdmail.digest.build import need_id

MONTH = "2030-12"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def real_dates() -> list[str]:
    """Today's date, as pdmail would write it (ISO, or in a Date header), in any time zone."""
    today = datetime.now(timezone.utc).date()
    days = [today + timedelta(days=n) for n in (-1, 0, 1)]
    return [d.isoformat() for d in days] + [
        f"{d.day} {_MONTHS[d.month - 1]} {d.year}" for d in days
    ]


def written_text(folder: Path, inputs: set[Path]) -> dict[str, str]:
    """Every file pdmail wrote under ``folder`` as text, the ledger's rows as one text each."""
    out: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p not in inputs):
        if path.suffix == ".sqlite3":
            with sqlite3.connect(path) as db:
                out[str(path)] = "\n".join(db.iterdump())
        elif not path.name.endswith(("-wal", "-shm", "-journal")):
            out[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return out


def test_a_month_rehearsed_with_today_writes_no_real_date(project: Project) -> None:
    def ok(*args: str, today: str) -> str:
        result = run_cli(project, *args, today=today)
        assert result.exit_code == 0, result.output
        return result.stdout

    ok("send", today="2030-12-02")
    project.write_responses(
        [
            answer(ANN, "12/3/2030 9:00:00", help_text="Show me Moodle quiz settings"),
            answer(RAJ, "12/4/2030 9:00:00", help_text="Show me MLA citations"),
        ],
        saved=datetime(2031, 1, 1, tzinfo=timezone.utc),
    )
    ok("remind", today="2030-12-09")
    ok("digest", "--send", today="2030-12-13")
    raj = need_id("monthly-update", MONTH, RAJ)
    ok("needs", "set", raj, "--status", "scheduled", "--kinds", "lesson", today="2030-12-16")
    listed = ok("needs", "list", today="2030-12-17")
    ok("run", today="2030-12-17")
    ok("status", today="2030-12-17")

    # The correction is dated by --today, in the table and in the list.
    with (project.folder / "needs.csv").open(encoding="utf-8-sig", newline="") as f:
        corrected = {r["Need id"]: r["Corrected"] for r in csv.DictReader(f)}
    assert corrected[raj] == "2030-12-16"
    assert "corrected 2030-12-16: kinds: lesson" in listed
    # Each needs row's last change is stamped by the clock too (the column no table shows).
    with sqlite3.connect(project.folder / ".pdmail" / "ledger.sqlite3") as db:
        updated = dict(db.execute("SELECT id, updated FROM needs").fetchall())
    assert updated[raj].startswith("2030-12-16T")
    assert {u[:10] for u in updated.values()} <= {"2030-12-13", "2030-12-16", "2030-12-17"}

    inputs = {project.config_path, project.folder / "roster.csv", project.responses_path}
    files = written_text(project.folder, inputs)
    assert any(name.endswith(".eml") for name in files)
    assert any(name.endswith("digest.md") for name in files)
    found = {(name, day) for name, text in files.items() for day in real_dates() if day in text}
    assert found == set()


def test_needs_list_and_set_take_today(project: Project) -> None:
    for command in (("needs", "list"), ("needs", "set")):
        result = run_cli(project, *command, "--help")
        assert "--today YYYY-MM-DD" in result.stdout
    assert json.loads(run_cli(project, "needs", "list", "--json", today="2030-12-01").stdout) == {
        "needs": [],
        "problems": [],
    }
    assert date(2030, 12, 1).isoformat() not in real_dates()
