"""The year's PD report: its arithmetic on a small fixed history, the school year's bounds,
an empty year, the journal beside its month, and files safe to open (HTML escaped, CSV
cells never formulas)."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime, time, timezone
from typing import Any, cast

import pytest
from conftest import ANN, MARIA, OLD, RAJ, SAM, Project, answer, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail.errors import UsageError
from pdmail.models import MessageKey, Response, SendResult, Teacher
from pdmail.report.build import (
    NO_FORMAT,
    NO_KIND,
    NO_TOPIC,
    MonthRow,
    YearReport,
    build_report,
)
from pdmail.report.gather import compile_report
from pdmail.report.year import SchoolYear, parse_year, year_of
from pdmail.state.ledger import Ledger
from pdmail.state.needs import NeedRecord

CAMPAIGN = "monthly-update"
GONE = "gone@school.example.org"  # helped in October, no longer on the roster
# The calendar runs every month but December and July; the year starts in August.
MONTHS = {"calendar": {"months": [1, 2, 3, 4, 5, 6, 8, 9, 10, 11]}}
TODAY = date(2027, 1, 15)
STAMP = datetime(2026, 9, 1, 13, 0, tzinfo=timezone.utc)


def _send(
    ledger: Ledger,
    cycle: str,
    kind: str,
    who: str,
    *,
    failed: bool = False,
    campaign: str = CAMPAIGN,
) -> None:
    # The kinds are named here in words; cast, as the ledger's type for them is narrower.
    key = MessageKey(campaign, cycle, who, cast(Any, kind))
    ledger.claim(key, f"<{cycle}.{kind}.{who}>", "subject", STAMP)
    if failed:
        ledger.mark_failed(key, "550 no such user", STAMP)
    else:
        ledger.mark_sent(key, SendResult(f"<{cycle}.{kind}.{who}>", "t"), STAMP)


def _need(id: str, cycle: str, email: str, team: str, kinds: tuple[str, ...],
          topics: tuple[str, ...], fmt: str) -> NeedRecord:  # fmt: skip
    return NeedRecord(id=id, campaign=CAMPAIGN, cycle=cycle, email=email, teacher=email,
                      team=team, text="help", topics=topics, format=fmt,
                      kinds=kinds)  # type: ignore[arg-type]  # fmt: skip


def history(project: Project) -> None:
    """September: 4 asked, Ann and Raj answer (Raj twice), a stranger too: 2 of 4.
    October: Maria's request failed (3 asked); Ann, Maria and Sam answer: Ann and Sam count,
    2 of 3. November runs but nothing went out; December and July do not run. A row of the
    year before and one of the year after are in the ledger too."""
    project.write_config(MONTHS)
    project.write_responses(
        [
            answer(ANN, "9/3/2026 10:00:00", "Persuasive essays"),
            answer(RAJ, "9/5/2026 10:00:00", "Energy"),
            answer(RAJ, "9/10/2026 10:00:00", "Energy v2"),
            answer("x@elsewhere.example.com", "9/11/2026 10:00:00"),
            answer(ANN, "10/2/2026 10:00:00", "Poetry"),
            answer(MARIA, "10/5/2026 10:00:00", "Rome"),
            answer(SAM, "10/20/2026 10:00:00", "n/a"),
        ]
    )
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        for who in (ANN, RAJ, MARIA, SAM):
            _send(ledger, "2026-09", "request", who)
            _send(ledger, "2026-10", "request", who, failed=who == MARIA)
        _send(ledger, "2026-09", "reminder-1", MARIA)
        _send(ledger, "2026-09", "reminder-1", SAM)
        _send(ledger, "2026-09", "reminder-2", SAM)
        _send(ledger, "2025-10", "request", ANN)
        _send(ledger, "2027-08", "request", ANN)
        needs = [
            _need("n1", "2026-09", ANN, "Grade 6", ("lesson",), ("Citation",), "small group"),
            _need(
                "n2",
                "2026-09",
                RAJ,
                "Grade 6",
                ("task", "learning"),
                ("LMS", "Citation"),
                "team meeting, written guide",
            ),
            _need("n3", "2026-10", ANN, "Grade 6", ("learning",), (), ""),
            _need("n4", "2026-10", SAM, "Related Arts", (), ("LMS",), "one-on-one"),
            _need("n5", "2025-10", RAJ, "Grade 6", ("task",), ("LMS",), "one-on-one"),
            _need("n6", "2026-10", GONE, "Grade 8", ("task",), (), ""),
        ]
        ledger.needs.upsert(needs, date(2026, 10, 12))
        ledger.needs.set_status(
            {"n1": ("done", ""), "n2": ("scheduled", ""), "n4": ("done", ""),
             "n5": ("done", ""), "n6": ("done", "")},
            date(2026, 10, 30),
        )  # fmt: skip
        ledger.journal.add(date(2026, 8, 1), "First day of the year", STAMP)
        ledger.journal.add(date(2027, 7, 31), "Last day of the year", STAMP)
        ledger.journal.add(date(2026, 7, 31), "The year before", STAMP)
        ledger.journal.add(date(2026, 10, 14), "Moodle session went well", STAMP)


def compiled(project: Project, year: str = "2026-27", today: date = TODAY) -> YearReport:
    with project.workspace(today) as ws:
        return compile_report(ws, parse_year(year, ws.config.calendar.year_starts))


def test_the_months_count_requests_answers_and_needs(project: Project) -> None:
    history(project)
    r = compiled(project)
    rows = {m.cycle: m for m in r.months}
    assert [m.cycle for m in r.months][0::11] == ["2026-08", "2027-07"]
    got = {
        n: (m.state, m.requests, m.reminders, m.answered, m.percent, m.needs, m.scheduled, m.done)
        for n, m in rows.items()
    }
    assert got["2026-09"] == ("sent", 4, 3, 2, 50, 2, 1, 1)
    assert got["2026-10"] == ("sent", 3, 0, 2, 67, 3, 0, 2)  # 2 of 3: 66.7, half up
    assert got["2026-08"][0] == "not sent"  # the calendar ran it, nothing went out
    assert got["2026-11"][0] == "not sent"
    assert got["2026-12"][0] == "no cycle"
    assert got["2027-07"][0] == "no cycle"
    assert got["2027-02"][0] == "not yet"
    for quiet in ("2026-08", "2026-11", "2026-12", "2027-02"):
        assert rows[quiet].rate is None and rows[quiet].percent is None  # never 0/0
    assert (r.requests, r.answered, r.percent, r.cycles_run) == (7, 4, 57, 2)
    assert (r.needs, r.done, r.scheduled) == (5, 3, 1)


@pytest.mark.parametrize(
    ("answered", "requests", "rate", "percent"),
    [
        (0, 0, None, None),  # nobody asked: no rate, never 0/0
        (0, 5, 0.0, 0),
        (2, 3, 2 / 3, 67),
        (1, 8, 0.125, 13),  # 12.5: half up
        (29, 200, 0.145, 15),  # 14.5 exactly, though 0.145 * 100 is a hair under it
        (7, 7, 1.0, 100),
    ],
)
def test_a_month_and_its_year_reckon_a_rate_alike(
    answered: int, requests: int, rate: float | None, percent: int | None
) -> None:
    month = MonthRow("2026-09", "September", "sent", requests=requests, answered=answered)
    year = YearReport(
        school="Test School", campaign=CAMPAIGN, year=SchoolYear(2026),
        generated=datetime(2027, 1, 15, tzinfo=timezone.utc), months=(month,), kinds=(),
        formats=(), topics=(), teams=(), teachers=(), units=(), journal=(),
    )  # fmt: skip
    for row in (month, year, year.summary):
        assert (row.rate, row.percent) == (rate, percent)


def test_needs_by_kind_format_and_topic(project: Project) -> None:
    history(project)
    r = compiled(project)
    assert [(k.kind, k.received, k.open, k.scheduled, k.done) for k in r.kinds] == [
        ("task", 2, 0, 1, 1),
        ("learning", 2, 1, 1, 0),
        ("lesson", 1, 0, 0, 1),
        (NO_KIND, 1, 0, 0, 1),
    ]
    assert {(t.name, t.done, t.scheduled) for t in r.formats} == {
        ("small group", 1, 0), ("team meeting", 0, 1), ("written guide", 0, 1),
        ("one-on-one", 1, 0), (NO_FORMAT, 1, 0),
    }  # fmt: skip
    assert [(t.name, t.done, t.scheduled) for t in r.topics] == [
        ("Citation", 1, 1), ("LMS", 1, 1), (NO_TOPIC, 1, 0),
    ]  # fmt: skip


def test_teachers_and_teams_reached(project: Project) -> None:
    history(project)
    r = compiled(project)
    assert (r.helped, r.helped_active, r.active, r.teams_reached) == (3, 2, 4, 3)
    assert [t.email for t in r.never_helped] == [RAJ, MARIA]
    teams = {t.team: (t.teachers, t.asked, t.helped, t.reached, t.done, t.percent)
             for t in r.teams}  # fmt: skip
    assert teams == {
        "Grade 6": (2, 2, 1, 1, 1, 50),
        "Grade 7": (1, 0, 0, 0, 0, 0),  # Old is inactive
        "Related Arts": (1, 1, 1, 1, 1, 100),
        "Grade 8": (0, 1, 1, 0, 1, None),  # only a teacher who has left
    }
    by = {t.email: t for t in r.teachers}
    assert (by[ANN].answered, by[RAJ].answered, by[MARIA].answered, by[SAM].answered) == (
        2, 1, 0, 1)  # fmt: skip
    assert not by[OLD].active and not by[GONE].on_roster and by[GONE].helped


def test_an_inactive_teacher_helped_counts_as_helped_but_not_in_the_teams_share(
    project: Project,
) -> None:
    history(project)
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        ledger.needs.upsert([_need("n7", "2026-10", OLD, "Grade 7", ("task",), (), "")],
                            date(2026, 10, 12))  # fmt: skip
        ledger.needs.set_status({"n7": ("done", "")}, date(2026, 10, 30))
    r = compiled(project)
    grade7 = next(t for t in r.teams if t.team == "Grade 7")
    assert (grade7.teachers, grade7.helped, grade7.reached, grade7.percent) == (1, 1, 0, 0)
    assert (r.helped, r.helped_active, r.active) == (4, 2, 4)


def test_units_supported_are_the_units_named_beside_needs_done_or_scheduled(
    project: Project,
) -> None:
    history(project)
    r = compiled(project)
    # Raj's later September answer supersedes his first; Sam's "n/a" names no unit.
    assert [(u.cycle, u.teacher, u.unit, u.status) for u in r.units] == [
        ("2026-09", ANN, "Persuasive essays", "done"),
        ("2026-09", RAJ, "Energy v2", "scheduled"),
    ]


def test_the_journal_sits_beside_its_month_within_the_year(project: Project) -> None:
    history(project)
    r = compiled(project)
    placed = {m.cycle: [j.text for j in m.journal] for m in r.months if m.journal}
    assert placed == {
        "2026-08": ["First day of the year"],
        "2026-10": ["Moodle session went well"],
        "2027-07": ["Last day of the year"],
    }
    assert [j.text for j in r.journal] == [
        "First day of the year", "Moodle session went well", "Last day of the year"]  # fmt: skip


def test_a_year_starting_in_september_moves_the_boundary(project: Project) -> None:
    history(project)
    project.write_config({**MONTHS, "calendar": {**MONTHS["calendar"], "year_starts": 9}})
    r = compiled(project)
    assert (r.months[0].cycle, r.months[-1].cycle) == ("2026-09", "2027-08")
    # The ledger row of August 2027 is in this year now; the August 2026 entry is not.
    assert (r.requests, r.cycles_run) == (8, 3)
    assert "First day of the year" not in [j.text for j in r.journal]
    earlier = compiled(project, "2025-26")
    assert [j.text for j in earlier.journal] == ["The year before", "First day of the year"]
    assert earlier.requests == 1  # October 2025


def test_the_needs_tables_edits_count_without_being_written(project: Project) -> None:
    history(project)
    run_cli(project, "needs", "list", "--all", today="2027-01-10")  # writes nothing
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        from pdmail.state.needs import needs_rows

        header, rows = needs_rows(ledger.needs.all(CAMPAIGN))
    for row in rows:
        if row[0] == "n3":
            row[1] = "done"
    with (project.folder / "needs.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    before = (project.folder / "needs.csv").read_bytes()
    r = compiled(project)
    assert (r.done, r.months[2].done) == (4, 3)
    assert (project.folder / "needs.csv").read_bytes() == before


def test_an_empty_year_has_months_and_no_division(project: Project) -> None:
    project.write_config(MONTHS)
    r = compiled(project, "2030-31", date(2030, 9, 15))
    assert not (project.folder / ".pdmail" / "ledger.sqlite3").exists()  # nothing created
    assert [m.state for m in r.months][:3] == ["not sent", "not sent", "not yet"]
    assert (r.requests, r.answered, r.rate, r.percent, r.needs, r.helped) == (
        0, 0, None, None, 0, 0)  # fmt: skip
    assert len(r.never_helped) == 4 and r.units == () and r.surveys == ()
    result = run_cli(project, "report", "--year", "2030-31", today="2030-09-15")
    assert result.exit_code == 0, result.output
    assert "The 2030-31 report for Test School: no requests sent; 0 needs" in result.output
    html = (project.folder / "report" / "2030-31" / "report.html").read_text(encoding="utf-8")
    assert "No survey this year." in html and "No needs this school year." in html
    assert "not yet" in html and "no cycle" in html


@pytest.mark.parametrize(
    ("text", "starts", "first"),
    [
        ("2026-27", 8, 2026),
        ("2026-2027", 8, 2026),
        (" 2026/27 ", 8, 2026),
        ("2026\u201327", 8, 2026),
        ("1999-00", 8, 1999),
        ("1999-2000", 9, 1999),
        ("2026", 1, 2026),
    ],
)
def test_school_year_names(text: str, starts: int, first: int) -> None:
    year = parse_year(text, starts)
    assert (year.start, year.starts) == (first, starts)


@pytest.mark.parametrize(
    ("text", "starts", "error"),
    [
        ("2026-28", 8, "the second year must be the one after the first"),
        ("2026-2028", 8, "the second year must be the one after the first"),
        ("2026", 8, "is not a school year"),
        ("26-27", 8, "is not a school year"),
        ("next year", 8, "is not a school year"),
        ("2026-27", 1, "is not a school year"),
        ("", 8, "is not a school year"),
        ("0999-00", 8, "out of range"),
    ],
)
def test_bad_school_years_are_refused(text: str, starts: int, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        parse_year(text, starts)


@pytest.mark.parametrize(
    ("day", "starts", "label", "first", "last"),
    [
        (date(2026, 8, 1), 8, "2026-27", date(2026, 8, 1), date(2027, 7, 31)),
        (date(2026, 7, 31), 8, "2025-26", date(2025, 8, 1), date(2026, 7, 31)),
        (date(2027, 2, 28), 9, "2026-27", date(2026, 9, 1), date(2027, 8, 31)),
        (date(2026, 12, 31), 1, "2026", date(2026, 1, 1), date(2026, 12, 31)),
        (date(2028, 3, 1), 3, "2028-29", date(2028, 3, 1), date(2029, 2, 28)),
    ],
)
def test_the_year_of_a_day(day: date, starts: int, label: str, first: date, last: date) -> None:
    year = year_of(day, starts)
    assert (year.label, year.first_day, year.last_day) == (label, first, last)
    assert year.holds(day) and len(year.cycles) == 12
    assert SchoolYear(year.start, starts) == parse_year(label, starts)


HOSTILE = '<script>alert("x")</script>'


def test_the_files_are_escaped_and_never_formulas(project: Project) -> None:
    history(project)
    project.write_config({**MONTHS, "school": "<script>s()</script> & Co"})
    project.write_roster(
        [
            [ANN, "+Ann", "@Lee", "-Grade 6", "yes"],
            [RAJ, HOSTILE, '=HYPERLINK("http://evil")', "Grade 6", "yes"],
            [MARIA, "María", "Gómez", "Grade 7", "yes"],
            [SAM, "Sam", "Haddad", "<b>Related Arts</b>", ""],
        ]
    )
    project.write_responses(
        [answer(ANN, "9/3/2026 10:00:00", '=cmd|"/c calc"!A1 <img src=x onerror=alert(1)>')]
    )
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        ledger.journal.add(date(2026, 9, 2), "</div><script>bad()</script> & more", STAMP)
    out = project.folder / "out"
    result = run_cli(project, "report", "--year", "2026-2027", "--out", str(out),
                     today="2027-01-15")  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    for raw in ("<script>", "<img", "<b>Related", "</div><script>"):
        assert raw not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;/div&gt;&lt;script&gt;bad()&lt;/script&gt; &amp; more" in html
    assert "<title>&lt;script&gt;s()&lt;/script&gt; &amp; Co:" in html
    # Nothing outside the page: no scripts, links, images or fonts fetched from anywhere.
    assert not re.search(
        r"<(script|link|img|iframe|object|embed)\b|<[a-z]+[^>]*\s(src|href)=", html
    )
    assert not re.search(r"url\(|@import|https?:", html.split("</style>")[0])

    def cells(name: str) -> list[list[str]]:
        with (out / f"{name}.csv").open(encoding="utf-8-sig", newline="") as f:
            return list(csv.reader(f))

    teachers = {row[0]: row for row in cells("teachers")[1:]}
    assert teachers[RAJ][1] == f'{HOSTILE} =HYPERLINK("http://evil")'
    assert teachers[ANN][1:3] == ["'+Ann @Lee", "'-Grade 6"]
    units = cells("units")
    assert units[1][3] == '\'=cmd|"/c calc"!A1 <img src=x onerror=alert(1)>'
    teams = [row[0] for row in cells("teams")[1:]]
    assert "'-Grade 6" in teams and "<b>Related Arts</b>" in teams
    for name in ("months", "needs_by_kind", "sessions_by_format", "sessions_by_topic",
                 "journal", "survey"):  # fmt: skip
        for row in cells(name)[1:]:
            assert not any(c[:1] in ("=", "+", "-", "@") for c in row), (name, row)


def test_the_command_writes_every_table_and_json_for_scripts(project: Project) -> None:
    history(project)
    result = run_cli(project, "report", "--year", "2026-27", "--json", today="2027-01-15")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    summary = data["report"]["summary"]
    assert (summary["year"], summary["requests"], summary["percent"]) == ("2026-27", 7, 57)
    assert (summary["helped"], summary["helped_active"], summary["never_helped"]) == (3, 2, 2)
    assert summary["open"] == 1
    assert data["report"]["months"][1]["rate"] == 0.5
    assert data["report"]["months"][0]["rate"] is None
    folder = project.folder / "report" / "2026-27"
    assert data["files"]["html"] == str(folder / "report.html")
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["report.html", "months.csv", "needs_by_kind.csv", "teams.csv",
                            "sessions_by_format.csv", "sessions_by_topic.csv", "units.csv",
                            "teachers.csv", "journal.csv", "survey.csv"])  # fmt: skip
    months = list(csv.reader((folder / "months.csv").open(encoding="utf-8-sig")))
    assert months[2][:7] == ["September 2026", "2026-09", "sent", "4", "3", "2", "50"]
    assert [row[2] for row in months[1:]] == [
        "not sent", "sent", "sent", "not sent", "no cycle", "not sent", "not yet", "not yet",
        "not yet", "not yet", "not yet", "no cycle"]  # fmt: skip
    assert months[5][6] == ""  # a rate that does not exist is blank, not 0
    text = run_cli(project, "report", "--year", "2026-27", today="2027-01-15").output
    assert "7 requests in 2 months, 57% answered; 5 needs, 3 done; 2 of 4 active" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year", "2026-28"], "the second year must be the one after the first"),
        (["--year", "soon"], "is not a school year"),
    ],
)
def test_bad_report_options_change_nothing(project: Project, args: list[str], message: str) -> None:
    history(project)
    result = run_cli(project, "report", *args)
    assert result.exit_code != 0 and message in result.output
    assert not (project.folder / "report").exists()


def test_an_out_path_that_is_a_file_is_refused(project: Project) -> None:
    history(project)
    (project.folder / "taken").write_text("mine")
    result = run_cli(project, "report", "--out", str(project.folder / "taken"))
    assert result.exit_code != 0 and "is a file, not a folder" in result.output
    assert (project.folder / "taken").read_text() == "mine"


def test_journal_commands(project: Project) -> None:
    project.write_config(MONTHS)
    assert "No journal entries yet." in run_cli(project, "journal", "list").output
    assert not (project.folder / ".pdmail").exists()
    ok = run_cli(project, "journal", "add", "Book fair  \nwent well", "--date", "2026-10-03")
    assert ok.exit_code == 0 and "Kept journal entry 1 for 2026-10-03" in ok.output
    run_cli(project, "journal", "add", "Spring planning", "--date", "2027-03-01")
    run_cli(project, "journal", "add", "Last year", "--date", "2026-07-30")
    listed = run_cli(project, "journal", "list", "--year", "2026-27").output
    assert "1  2026-10-03  Book fair went well" in listed and "Last year" not in listed
    data = json.loads(run_cli(project, "journal", "list", "--json").output)
    assert [e["id"] for e in data["entries"]] == [3, 1, 2]
    assert data["entries"][1]["text"] == "Book fair\nwent well"
    gone = run_cli(project, "journal", "remove", "2")
    assert gone.exit_code == 0 and "Removed journal entry 2 (2027-03-01)" in gone.output
    r = compiled(project)
    assert {m.cycle: len(m.journal) for m in r.months if m.journal} == {"2026-10": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", ""], "the journal entry is empty"),
        (["add", "   "], "the journal entry is empty"),
        (["add", "text", "--date", "2026-02-30"], "is not a date"),
        (["add", "text", "--date", "tomorrow"], "is not a date"),
        (["remove", "7"], "no journal entry has the id 7"),
        (["remove", "0"], "0 is not in the range"),
        (["remove", "one"], "'one' is not a valid integer"),
        (["list", "--year", "2026-2028"], "the second year must be the one after the first"),
    ],
)
def test_bad_journal_input_changes_nothing(project: Project, args: list[str], message: str) -> None:
    project.write_config(MONTHS)
    run_cli(project, "journal", "add", "kept", "--date", "2026-09-01")
    result = run_cli(project, "journal", *args)
    assert result.exit_code != 0 and message in result.output
    data = json.loads(run_cli(project, "journal", "list", "--json").output)
    assert [e["text"] for e in data["entries"]] == ["kept"]


def test_journal_text_from_standard_input(project: Project) -> None:
    from click.testing import CliRunner

    from pdmail.cli.commands import main

    result = CliRunner().invoke(
        main,
        ["journal", "add", "-", "--date", "2026-11-02", "--config", str(project.config_path)],
        input="Read-aloud week:\nevery Grade 6 class came.\n",
    )
    assert result.exit_code == 0, result.output
    with project.workspace(date(2026, 11, 2), time(9)) as ws:
        [entry] = ws.ledger.journal.entries()
    assert entry.text == "Read-aloud week:\nevery Grade 6 class came."


SURVEY_COLUMNS = [
    "Timestamp",
    "Email Address",
    "How would you like professional development to be offered?",
    "When does PD work best for you?",
    "Which areas interest you most?",
    "Anything else you would like the library to offer?",
]
SURVEY = {
    "campaigns": {
        "pd-survey": {
            "form": {
                "url": "https://docs.google.com/forms/d/e/SURVEYID/viewform",
                "prefill": {"email": "entry.900"},
                "date_order": "month-first",
            },
            "responses": "survey.csv",
            "calendar": {"opens": "2026-12-01", "due": "2026-12-09", "digest": "2026-12-11"},
        }
    }
}


def test_the_survey_section_counts_the_years_survey_rounds(project: Project) -> None:
    from conftest import deep_merge, write_csv

    from pdmail.mail.templates import Templates
    from pdmail.report.output import render_html, tables
    from pdmail.report.survey import year_surveys

    history(project)
    project.write_config(deep_merge(MONTHS, SURVEY))
    write_csv(project.folder / "survey.csv", SURVEY_COLUMNS, [
        ["12/2/2026 9:00:00", ANN, "Small group, After school", "Lunch", "AI tools", ""],
        ["12/3/2026 9:00:00", RAJ, "Small group", "Lunch", "AI tools, Coding and making", ""],
        ["12/4/2026 9:00:00", MARIA, "Online, Self-paced", "", "",
         "<b>More</b> book talks =1+1"],
    ])  # fmt: skip
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        for who in (ANN, RAJ, MARIA, SAM):
            _send(ledger, "2026-12", "request", who, campaign="pd-survey")
    with project.workspace(TODAY) as ws:
        r = compile_report(ws, parse_year("2026-27", 8), survey=year_surveys)
        html = render_html(r, Templates())
    [survey] = r.surveys
    assert (survey.name, survey.cycle, survey.asked, survey.responses, survey.percent) == (
        "pd-survey", "2026-12", 4, 3, 75)  # fmt: skip
    formats = dict(survey.questions[0].counts)  # every choice, the ones nobody chose too
    assert formats == {"Small group": 2, "After school": 1, "Online": 1, "Self-paced": 1,
                       "One-on-one": 0, "Team meeting": 0}  # fmt: skip
    assert survey.suggestions == ("<b>More</b> book talks =1+1",)
    # The monthly numbers are the update campaign's alone.
    assert (r.requests, r.months[4].state) == (7, "no cycle")
    assert "No survey this year" not in html and "pd-survey, December 2026" in html
    assert "&lt;b&gt;More&lt;/b&gt; book talks" in html and "<b>More" not in html
    _, rows = tables(r)["survey"]
    assert ["pd-survey", "2026-12", "Formats", "Small group", "2", "3"] in rows
    assert rows[-1] == ["pd-survey", "2026-12", "Suggestion", "<b>More</b> book talks =1+1", "",
                        ""]  # fmt: skip
    result = run_cli(project, "report", "--year", "2026-27", today="2027-01-15")
    assert result.exit_code == 0, result.output
    saved = (project.folder / "report" / "2026-27" / "survey.csv").read_text(encoding="utf-8-sig")
    assert "pd-survey,2026-12,Formats,Small group,2,3" in saved
    refused = run_cli(project, "report", "--campaign", "pd-survey", today="2027-01-15")
    assert refused.exit_code != 0 and "pd-survey is a survey" in refused.output


def test_a_survey_round_that_cannot_be_read_is_named_not_fatal(project: Project) -> None:
    from conftest import deep_merge

    from pdmail.report.survey import year_surveys

    history(project)
    project.write_config(deep_merge(MONTHS, SURVEY))
    (project.folder / "survey.csv").write_text(
        f"Timestamp,Email Address\n12/2/2026 9:00:00,{ANN}\n"
    )
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        _send(ledger, "2026-12", "request", ANN, campaign="pd-survey")
    with project.workspace(TODAY) as ws:
        r = compile_report(ws, parse_year("2026-27", 8), survey=year_surveys)
    assert r.surveys == () and r.requests == 7
    assert any(p.startswith("survey pd-survey 2026-12: ") for p in r.problems), r.problems


def test_long_lists_are_cut_on_the_page_and_whole_in_the_tables(project: Project) -> None:
    from pdmail.mail.templates import Templates
    from pdmail.report.output import render_html, write_report

    rows = [[f"t{i:04d}@school.example.org", f"T{i:04d}", "Doe", "Big", "yes"]
            for i in range(450)]  # fmt: skip
    project.write_roster(rows)
    project.write_config(MONTHS)
    with project.workspace(TODAY) as ws:
        r = compile_report(ws, parse_year("2026-27", 8))
        html = render_html(r, Templates())
    assert len(r.never_helped) == 450
    assert html.count("<li>") == 400
    assert "and 50 more teachers: every one is in teachers.csv" in html
    files = write_report(r, html, project.folder / "out")
    assert (project.folder / "out" / "teachers.csv").read_text(encoding="utf-8-sig").count(
        "@school.example.org") == 450  # fmt: skip
    assert files.html.stat().st_mode & 0o077 == 0  # owner-only, like every file pdmail writes


# -- the counting holds for any history ------------------------------------------------------

_PEOPLE = [f"p{i}@school.example.org" for i in range(6)]
_CYCLES = ["2026-07", "2026-08", "2026-09", "2026-10", "2027-07", "2027-08"]
_history = st.fixed_dictionaries(
    {
        "sent": st.lists(
            st.tuples(st.sampled_from(_CYCLES), st.sampled_from(_PEOPLE),
                      st.sampled_from(["request", "reminder-1", "reminder-2", "digest"])),
            max_size=40,
        ),
        "answers": st.lists(st.tuples(st.sampled_from(_CYCLES), st.sampled_from(_PEOPLE)),
                            max_size=20),
        "needs": st.lists(
            st.tuples(st.sampled_from(_CYCLES), st.sampled_from(_PEOPLE),
                      st.sampled_from(["open", "scheduled", "done"]),
                      st.lists(st.sampled_from(["task", "learning", "lesson"]), max_size=3,
                               unique=True),
                      st.sampled_from(["", "small group", "team meeting, written guide"])),
            max_size=20,
        ),
        "active": st.lists(st.booleans(), min_size=6, max_size=6),
        "teams": st.lists(st.sampled_from(["", "A", "B"]), min_size=6, max_size=6),
    }
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(_history)
def test_the_years_numbers_always_add_up(h: dict[str, list]) -> None:  # type: ignore[type-arg]
    at = datetime(2026, 9, 1, tzinfo=timezone.utc)
    roster = [Teacher(e, team=t, active=a) for e, t, a in zip(_PEOPLE, h["teams"], h["active"],
                                                             strict=True)]  # fmt: skip
    answers: dict[str, dict[str, Response]] = {}
    for cycle, who in h["answers"]:
        answers.setdefault(cycle, {})[who] = Response(who, at, "Unit", "help", "", {}, "x", 2)
    needs = [
        NeedRecord(id=f"n{i}", campaign=CAMPAIGN, cycle=c, email=e, teacher=e, team="A",
                   text="t", topics=(), format=f, status=s, kinds=tuple(k))
        for i, (c, e, s, k, f) in enumerate(h["needs"])
    ]  # fmt: skip
    year = SchoolYear(2026, 8)
    r = build_report(
        school="S", campaign=CAMPAIGN, year=year, generated=at,
        runs={n: True for n in year.cycles}, sends={n: date(2026, 9, 1) for n in year.cycles},
        sent=[MessageKey(CAMPAIGN, c, w, cast(Any, k)) for c, w, k in h["sent"]],
        answers=answers,
        needs=needs, roster=roster,
    )  # fmt: skip
    in_year = [n for n in needs if n.cycle in year.cycles]
    assert len(r.months) == 12 and r.needs == len(in_year)
    for m in r.months:
        assert 0 <= m.answered <= m.requests
        asked = {w for c, w, k in h["sent"] if c == m.cycle and k == "request"}
        assert m.requests == len(asked)
        assert (m.rate is None) == (m.requests == 0) == (m.percent is None)
        assert m.state == ("sent" if asked else "not sent")
        assert m.done + m.scheduled <= m.needs
    assert r.done == sum(n.status == "done" for n in in_year)
    assert 0 <= r.helped_active <= r.active == sum(h["active"])
    assert r.helped_active + len(r.never_helped) == r.active
    for t in r.teams:
        assert t.reached <= t.teachers and t.reached <= t.helped <= t.asked
        assert t.percent is None or 0 <= t.percent <= 100
    for k in r.kinds:
        assert k.open + k.scheduled + k.done == k.received
    assert sum(t.done for t in r.formats) >= r.done  # a need of two formats counts twice
    assert r.summary.open == r.needs - r.done - r.scheduled >= 0


def test_a_broken_report_template_stops_before_any_file_is_written(project: Project) -> None:
    history(project)
    (project.folder / "templates").mkdir()
    (project.folder / "templates" / "report.html.j2").write_text("{{ report.nothing_here }}\n")
    project.write_config({**MONTHS, "templates": "templates"})
    result = run_cli(project, "report", "--year", "2026-27", today="2027-01-15")
    assert result.exit_code != 0
    assert "report.html.j2, line 1" in result.output and "nothing_here" in result.output
    assert not (project.folder / "report").exists()


def _chromium() -> str | None:
    import shutil

    return next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)),
                None)  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed")
def test_chromium_prints_each_section_on_its_own_page(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import subprocess

    history(project)
    result = run_cli(project, "report", "--year", "2026-27", today="2027-01-15")
    assert result.exit_code == 0, result.output
    html = project.folder / "report" / "2026-27" / "report.html"
    pdf = project.folder / "report.pdf"
    profile = tmp_path_factory.mktemp("chromium-profile")
    subprocess.run(
        [str(_chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
         html.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    # The summary and the months on the first page; needs, sessions, reach, units and the
    # survey each start one (the fixed history is small: none runs over a page).
    assert pages == 6
