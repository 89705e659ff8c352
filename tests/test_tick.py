"""The tick over whole months: what goes out on which day, caught-up days, idempotence.

Each tick gets a fresh workspace whose clock reads that day, as cron would run it. What a day
sent is read from the outbox: the files a tick wrote or changed, named ``cycle/kind-who``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import Project, answer

from pdmail.cycle.tick import TickReport, tick

CAMPAIGN = "monthly-update"
ACTIVE = ("ann", "raj", "maria", "sam")  # old@ is inactive on the test roster
_OUTBOX_FILE = re.compile(r"^(?P<kind>request|reminder-\d+|digest)-(?P<who>[^@]+)@.*\.eml$")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def d(text: str) -> date:
    return date.fromisoformat(text)


def requests(cycle: str, who: Sequence[str] = ACTIVE) -> set[str]:
    return {f"{cycle}/request-{w}" for w in who}


def snapshot(p: Project) -> dict[str, bytes]:
    """Every file pdmail wrote (outbox, digest, status), by path; the SQLite files aside."""
    out = {}
    for path in p.folder.rglob("*"):
        if path.is_file() and not path.name.startswith("ledger.sqlite3"):
            out[str(path.relative_to(p.folder))] = path.read_bytes()
    return out


def outbox_names(changed: Iterable[str]) -> set[str]:
    """``outbox/2026-12/reminder-1-raj@...eml`` -> ``2026-12/reminder-1-raj``."""
    names = set()
    for rel in changed:
        parts = Path(rel).parts
        if parts[0] != "outbox":
            continue
        m = _OUTBOX_FILE.match(parts[-1])
        assert m, rel
        names.add(f"{parts[1]}/{m['kind']}-{m['who']}")
    return names


def ledger_rows(p: Project) -> list[tuple[str, str, str, str, str]]:
    with p.workspace(date(2026, 12, 1)) as ws:
        return [
            (e.key.cycle, e.key.kind, e.key.recipient, e.state.value, e.updated.isoformat())
            for e in ws.ledger.entries(CAMPAIGN)
        ]


def run(p: Project, day: date, *, dry_run: bool = False) -> tuple[TickReport, set[str]]:
    """Tick ``day``; return the report and what landed in the outbox (new or rewritten)."""
    before = snapshot(p)
    with p.workspace(day) as ws:
        report = tick(ws, day, dry_run=dry_run)
    after = snapshot(p)
    changed = {k for k, v in after.items() if before.get(k) != v}
    sent_by_report = {
        f"{rep.cycle}/{o.kind}-{o.recipient.split('@')[0]}"
        for _, rep in report.steps
        for o in rep.outcomes
        if o.result == "sent"
    }
    sent = outbox_names(changed)
    assert sent == sent_by_report, "the report and the outbox disagree"
    return report, sent


# --- a whole month, day by day --------------------------------------------------------------

# Answers submitted during the month, added to the export after the tick of that day.
ANSWERS_AFTER = {
    d("2026-12-03"): [answer("ann@school.example.org", "12/3/2026 10:00:00")],
    # Raj answers after his first reminder, with his address typed differently.
    d("2026-12-07"): [answer(" Raj@School.Example.org ", "12/7/2026 15:00:00")],
    # Sam answers after the second reminder; Maria never does.
    d("2026-12-09"): [answer("sam@school.example.org", "12/9/2026 16:00:00")],
}

MONTH = {
    d("2026-12-01"): requests("2026-12"),
    d("2026-12-07"): {"2026-12/reminder-1-raj", "2026-12/reminder-1-maria",
                      "2026-12/reminder-1-sam"},
    d("2026-12-09"): {"2026-12/reminder-2-maria", "2026-12/reminder-2-sam"},
    d("2026-12-11"): {"2026-12/digest-librarian"},
}  # fmt: skip


def test_a_month_day_by_day_each_day_twice(project: Project) -> None:
    rows: list[list[str]] = []
    project.write_responses(rows)
    went_out: dict[date, set[str]] = {}
    for day in days(d("2026-12-01"), d("2026-12-31")):
        report, sent = run(project, day)
        assert report.ok
        went_out[day] = sent
        # The same day again (cron fired twice, or a person ran it by hand): nothing new,
        # no file rewritten, the ledger untouched.
        files, ledger = snapshot(project), ledger_rows(project)
        again, sent_again = run(project, day)
        assert (again.sent, sent_again) == (0, set()), day
        assert snapshot(project) == files, day
        assert ledger_rows(project) == ledger, day
        rows.extend(ANSWERS_AFTER.get(day, []))
        project.write_responses(rows)
    assert {day: sent for day, sent in went_out.items() if sent} == MONTH
    assert project.sent_to("request") == sorted(f"{w}@school.example.org" for w in ACTIVE)
    digest_md = (project.folder / "digest" / "2026-12" / "digest.md").read_text(encoding="utf-8")
    assert "**Answered:** 3 of 4 teachers (75%)" in digest_md


def test_status_csv_in_the_state_folder(project: Project) -> None:
    for day in days(d("2026-12-01"), d("2026-12-03")):
        run(project, day)
    project.write_responses([answer("ann@school.example.org", "12/3/2026 10:00:00")])
    for day in days(d("2026-12-04"), d("2026-12-09")):
        report, _ = run(project, day)
    status = project.folder / ".pdmail" / "status.csv"
    assert str(status) in report.files
    with status.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.DictReader(f))
    got = [(r["Email"], r["Active"], r["Request"], r["Reminders"]) for r in table]
    assert got == [
        ("ann@school.example.org", "yes", "sent", "0"),
        ("raj@school.example.org", "yes", "sent", "2"),
        ("maria@school.example.org", "yes", "sent", "2"),
        ("sam@school.example.org", "yes", "sent", "2"),
        ("old@school.example.org", "no", "-", "0"),
    ]
    assert table[0]["Answered"] == "2026-12-03 10:00"
    assert [r["Answered"] for r in table[1:]] == ["-"] * 4


# --- missed days are caught up ----------------------------------------------------------------

UP_TO_6 = days(d("2026-12-01"), d("2026-12-06"))
UP_TO_10 = days(d("2026-12-01"), d("2026-12-10"))


@pytest.mark.parametrize(
    ("ticked_before", "today", "sends"),
    [
        pytest.param([], d("2026-12-01"), requests("2026-12"), id="send day"),
        pytest.param([d("2026-12-01")], d("2026-12-02"), set(), id="day after: nothing"),
        pytest.param([], d("2026-12-03"), requests("2026-12"), id="send day missed"),
        # Requests go out until the day before the due date. A reminder never goes the same
        # day as the request it follows up, so 12-07 sends the requests only.
        pytest.param([], d("2026-12-07"), requests("2026-12"), id="first tick on reminder day"),
        pytest.param(
            UP_TO_6, d("2026-12-08"), {f"2026-12/reminder-1-{w}" for w in ACTIVE},
            id="12-07 missed: reminder-1 the next day",
        ),
        pytest.param(
            UP_TO_6, d("2026-12-10"), {f"2026-12/reminder-2-{w}" for w in ACTIVE},
            id="12-07..12-09 missed: only reminder-2",
        ),
        pytest.param(
            UP_TO_10, d("2026-12-14"), {"2026-12/digest-librarian"}, id="digest day missed"
        ),
        pytest.param(
            UP_TO_10, d("2027-01-05"), {"2026-12/digest-librarian"} | requests("2027-01"),
            id="rest of december missed: its digest and january's requests",
        ),
    ],
)  # fmt: skip
def test_a_missed_day_is_caught_up(
    project: Project, ticked_before: list[date], today: date, sends: set[str]
) -> None:
    project.write_responses([])  # downloaded, nobody has answered
    for day in ticked_before:
        run(project, day)
    _, sent = run(project, today)
    assert sent == sends


def test_a_caught_up_reminder_2_is_never_followed_by_reminder_1(project: Project) -> None:
    project.write_responses([])
    for day in [*UP_TO_6, *days(d("2026-12-10"), d("2026-12-31"))]:
        run(project, day)
    assert project.sent_to("reminder-1") == []
    assert project.sent_to("reminder-2") == sorted(f"{w}@school.example.org" for w in ACTIVE)


# Requests never sent by their due date go out late: see test_catch_up.py.


# --- months the campaign does not run; dry runs -----------------------------------------------


def test_a_month_not_in_calendar_months_does_nothing(project: Project) -> None:
    project.write_config({"calendar": {"months": [1, 2, 3, 4, 5, 6, 9, 10, 11]}})
    for day in days(d("2026-12-01"), d("2026-12-31")):
        report, sent = run(project, day)
        assert sent == set(), day
        assert "2026-12: the campaign does not run this month" in report.notes
        assert report.steps == []
    assert not project.outbox.exists()
    # January runs again: its requests go, and no December digest is made up.
    _, sent = run(project, d("2027-01-05"))
    assert sent == requests("2027-01")


def test_dry_run_sends_and_records_nothing(project: Project) -> None:
    project.write_responses([])
    report, sent = run(project, d("2026-12-01"), dry_run=True)
    assert sent == set()
    outcomes = [(o.recipient.split("@")[0], o.result) for _, r in report.steps for o in r.outcomes]
    assert outcomes == [(w, "would-send") for w in ACTIVE]
    assert report.files == []
    assert ledger_rows(project) == []
    assert not project.outbox.exists()
    assert not (project.folder / ".pdmail" / "status.csv").exists()

    # The real run still owes everything; a dry run on the digest day writes no digest.
    for day in UP_TO_10:
        run(project, day)
    ledger = ledger_rows(project)
    report, sent = run(project, d("2026-12-11"), dry_run=True)
    assert sent == set()
    assert [(n, [o.result for o in r.outcomes]) for n, r in report.steps] == [
        ("2026-12 digest", ["would-send"])
    ]
    assert not (project.folder / "digest").exists()
    assert ledger_rows(project) == ledger
    _, sent = run(project, d("2026-12-11"))
    assert sent == {"2026-12/digest-librarian"}


def test_a_month_pdmail_never_sent_in_is_not_news_every_day(project: Project) -> None:
    project.write_responses([])
    for day in days(d("2026-12-01"), d("2026-12-03")):
        report, _ = run(project, day)
        assert not any(n.startswith("2026-11") for n in report.notes), (day, report.notes)
