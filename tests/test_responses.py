"""Responses: a real export file matched to the roster and to December 2026's window.

December's window opens 2026-12-01 00:00 and closes 2027-01-04 00:00 (January's send day,
after the winter break), school time, America/Chicago.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from conftest import ANN, RAJ, RESPONSE_HEADER, Project, answer
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail import cycles
from pdmail.errors import InputError
from pdmail.models import Response
from pdmail.sources.answers import ResponseIndex
from pdmail.sources.responses import Collection, in_cycle, match, parse_responses

CHICAGO = ZoneInfo("America/Chicago")
ACTIVE = ["ann@school.example.org", "raj@school.example.org", "maria@school.example.org",
          "sam@school.example.org"]  # fmt: skip


def collect(
    project: Project,
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = RESPONSE_HEADER,
    cycle: str = "2026-12",
) -> Collection:
    project.write_responses(rows, header)
    with project.workspace(date(2026, 12, 15)) as ws:
        return ws.collect(cycles.cycle(ws.config, cycle))


def answered(collection: Collection) -> list[str]:
    return [t.email for t, _ in collection.answered]


def not_answered(collection: Collection) -> list[str]:
    return [t.email for t in collection.not_answered]


@pytest.mark.parametrize(
    ("when", "counts"),
    [
        ("12/1/2026 0:30:00", True),  # local midnight-thirty: just inside
        ("11/30/2026 23:59:00", False),  # a minute before the window opens
        ("12/1/2026 0:00:00", True),  # the window includes its opening moment
        ("12/1/2026 0:00", True),
        ("12/1/26 0:30:00", True),  # Microsoft Forms' two-digit year
        ("1/3/2027 23:59:59", True),  # the last second before January's send day
        ("1/4/2027 0:00:00", False),  # January's window
        ("2026-12-01T05:59:00Z", False),  # 23:59 in Chicago on 11-30
        ("2026-12-01T06:00:00Z", True),  # midnight in Chicago
        ("2026/12/01 12:30:00 AM GMT-6", True),
        ("2026/11/30 11:30:00 PM GMT-6", False),
        ("2026/12/01 1:30:00 AM GMT-5", True),  # 00:30 Chicago, given in Eastern time
        ("2026/12/01 12:30:00 AM GMT-5", False),  # 23:30 Chicago the day before
    ],
)
def test_timestamps_are_read_in_the_config_time_zone(
    project: Project, when: str, counts: bool
) -> None:
    c = collect(project, [answer(ANN, when)])
    assert (answered(c), c.outside) == (([ANN], 0) if counts else ([], 1))
    assert (ANN in not_answered(c)) is not counts


def test_a_local_timestamp_is_school_time(project: Project) -> None:
    c = collect(project, [answer(ANN, "12/1/2026 0:30:00")])
    assert c.answered[0][1].submitted == datetime(2026, 12, 1, 0, 30, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("fmt", "when", "counts"),
    [
        ("%d/%m/%Y %H:%M:%S", "01/12/2026 00:30:00", True),  # day first, as set in the config
        ("%d/%m/%Y %H:%M:%S", "30/11/2026 23:59:00", False),
        ("%d.%m.%Y %H:%M", "01.12.2026 00:30", True),
    ],
)
def test_a_configured_timestamp_format(project: Project, fmt: str, when: str, counts: bool) -> None:
    project.write_config({"form": {"timestamp_format": fmt}})
    c = collect(project, [answer(ANN, when)])
    assert (answered(c) == [ANN]) is counts
    assert c.problems == ()


@pytest.mark.parametrize(
    ("rows", "help_text", "superseded"),
    [
        pytest.param(
            [answer(" ANN@School.example.org ", "12/3/2026 9:00:00", help_text="first"),
             answer("ann@school.example.org", "12/5/2026 9:00:00", help_text="second")],
            "second", ["first"], id="later row, later time",
        ),
        pytest.param(
            [answer("ann@school.example.org", "12/5/2026 9:00:00", help_text="second"),
             answer("Ann@school.example.org", "12/3/2026 9:00:00", help_text="first")],
            "second", ["first"], id="rows out of order: the later time wins",
        ),
        pytest.param(
            [answer("ann@school.example.org", "12/2/2026 9:00:00", help_text="one"),
             answer("ANN@SCHOOL.EXAMPLE.ORG", "12/3/2026 9:00:00", help_text="two"),
             answer("  ann@school.example.org", "12/4/2026 9:00:00", help_text="three")],
            "three", ["one", "two"], id="three submissions",
        ),
        pytest.param(
            [answer("ann@school.example.org", "11/25/2026 9:00:00", help_text="november"),
             answer("ann@school.example.org", "12/3/2026 9:00:00", help_text="december")],
            "december", [], id="an answer for another cycle supersedes nothing",
        ),
    ],
)  # fmt: skip
def test_a_later_submission_supersedes_an_earlier_one(
    project: Project, rows: list[list[str]], help_text: str, superseded: list[str]
) -> None:
    c = collect(project, rows)
    assert answered(c) == [ANN]
    response = c.response_for(" Ann@School.Example.Org ")
    assert response is not None and response.help == help_text
    assert response.email == ANN
    assert [r.help for r in c.superseded] == superseded


def test_submissions_outside_the_window_are_counted_not_answered(project: Project) -> None:
    c = collect(
        project,
        [
            answer(RAJ, "11/20/2026 9:00:00"),
            answer(ANN, "12/3/2026 9:00:00"),
            answer(RAJ, "1/10/2027 9:00:00"),
            answer("stranger@else.example.org", "1/10/2027 9:00:00"),
        ],
    )
    assert c.outside == 3
    assert answered(c) == [ANN]
    assert RAJ in not_answered(c)
    assert c.strangers == ()


@pytest.mark.parametrize(
    ("when", "cycle_cell", "counts"),
    [
        ("12/3/2026 9:00:00", "2026-12", True),
        ("12/3/2026 9:00:00", "2026-11", False),  # a late answer to November's link
        ("1/5/2027 9:00:00", "2026-12", True),  # a late answer to December's link
        ("11/30/2026 9:00:00", "2026-12", True),  # an early one
        ("12/3/2026 9:00:00", "", True),  # no prefilled value: the timestamp decides
        ("12/3/2026 9:00:00", "next month", True),  # not a cycle name: the timestamp decides
        ("1/5/2027 9:00:00", "2026-13", False),
        ("1/5/2027 9:00:00", " 2026-12 ", True),
    ],
)
def test_a_prefilled_cycle_column_overrides_the_timestamp(
    project: Project, when: str, cycle_cell: str, counts: bool
) -> None:
    project.write_config({"form": {"columns": {"cycle": "Cycle (leave as is)"}}})
    c = collect(
        project,
        [[*answer(ANN, when), cycle_cell]],
        header=[*RESPONSE_HEADER, "cycle (LEAVE AS IS)"],
    )
    assert (answered(c), c.outside) == (([ANN], 0) if counts else ([], 1))


def test_strangers_are_listed(project: Project) -> None:
    c = collect(
        project,
        [
            answer("Visitor@Else.example.org", "12/2/2026 9:00:00", help_text="first"),
            answer(ANN, "12/3/2026 9:00:00"),
            answer("visitor@else.example.org", "12/4/2026 9:00:00", help_text="again"),
            answer("", "12/5/2026 9:00:00", help_text="no address"),
        ],
    )
    assert answered(c) == [ANN]
    assert [(r.email, r.help, r.row) for r in c.strangers] == [
        ("visitor@else.example.org", "again", 4),
        ("", "no address", 5),
    ]
    assert [r.help for r in c.superseded] == ["first"]
    assert not_answered(c) == ACTIVE[1:]


def test_headers_are_matched_trimmed_and_ignoring_case(project: Project) -> None:
    header = ["  timestamp ", "EMAIL ADDRESS", "what units of study are coming up? ",
              "How can the LIBRARY help?", "preferred   format", "Extra question"]  # fmt: skip
    c = collect(
        project,
        [["12/3/2026 9:00:00", ANN, "Poetry", "Podcasts", "Small group", "extra"]],
        header=header,
    )
    response = c.response_for(ANN)
    assert response is not None
    assert (response.units, response.help, response.format) == ("Poetry", "Podcasts", "Small group")
    assert response.answers["Extra question"] == "extra"
    assert response.row == 2


@pytest.mark.parametrize(
    ("header", "answers"),
    [
        pytest.param([*RESPONSE_HEADER, "Extra"], [*RESPONSE_HEADER, "Extra"], id="all-named"),
        pytest.param([*RESPONSE_HEADER[:2], "", *RESPONSE_HEADER[2:], "Extra"],
                     [*RESPONSE_HEADER, "Extra"], id="an-unnamed-column"),
    ],
)  # fmt: skip
def test_a_responses_answers_are_its_named_columns(
    project: Project, header: list[str], answers: list[str]
) -> None:
    cells = ["12/3/2026 9:00:00", ANN, "Poetry", "Podcasts", "Small group", "extra"]
    if "" in header:
        cells.insert(2, "stray")
    response = collect(project, [cells], header=header).response_for(ANN)
    assert response is not None
    assert list(response.answers) == answers
    assert response.answers["Extra"] == "extra"
    assert "stray" not in response.answers.values()


@pytest.mark.parametrize(
    ("role", "header"),
    [
        ("timestamp", "Timestamp"),
        ("email", "Email Address"),
        ("units", "What units of study are coming up?"),
        ("help", "How can the library help?"),
        ("format", "Preferred format"),
    ],
)
def test_a_missing_column_names_its_config_key(project: Project, role: str, header: str) -> None:
    index = RESPONSE_HEADER.index(header)
    kept = [h for h in RESPONSE_HEADER if h != header]
    row = answer(ANN, "12/3/2026 9:00:00")
    with pytest.raises(InputError) as exc:
        collect(project, [row[:index] + row[index + 1 :]], header=kept)
    assert f"no column '{header}'" in exc.value.message
    assert f"form.columns.{role}" in exc.value.message


def test_a_configured_cycle_column_that_is_missing_is_an_error(project: Project) -> None:
    project.write_config({"form": {"columns": {"cycle": "Cycle"}}})
    with pytest.raises(InputError) as exc:
        collect(project, [answer(ANN, "12/3/2026 9:00:00")])
    assert "form.columns.cycle" in exc.value.message


@pytest.mark.parametrize(
    "stamp", ["yesterday", "", "13/45/2026 8:00:00", "12/3/2026 25:00:00", "2/30/2027 8:00:00"]
)
def test_an_unparseable_timestamp_is_a_problem_and_the_row_is_skipped(
    project: Project, stamp: str
) -> None:
    c = collect(project, [answer(RAJ, "12/3/2026 9:00:00"), answer(ANN, stamp)])
    assert answered(c) == [RAJ]
    assert ANN in not_answered(c)
    [problem] = c.problems
    assert (problem.row, problem.column) == (3, "Timestamp")
    assert repr(stamp.strip()) in problem.message or "empty" in problem.message
    assert c.outside == 0


@pytest.mark.parametrize(
    ("rows", "not_answered_expected"),
    [
        ([], ACTIVE),
        ([answer("old@school.example.org", "12/3/2026 9:00:00")], ACTIVE),
        ([answer(ANN, "12/3/2026 9:00:00")], ACTIVE[1:]),
    ],
)
def test_inactive_teachers_are_never_counted_as_not_answered(
    project: Project, rows: list[list[str]], not_answered_expected: list[str]
) -> None:
    c = collect(project, rows)
    assert not_answered(c) == not_answered_expected
    assert "old@school.example.org" not in not_answered(c)


@pytest.mark.parametrize(
    ("rows", "rate"),
    [
        ([], 0.0),
        ([answer(ANN, "12/3/2026 9:00:00")], 0.25),
        ([answer(ANN, "12/3/2026 9:00:00"), answer(RAJ, "12/4/2026 9:00:00")], 0.5),
        ([answer(ANN, "12/3/2026 9:00:00"), answer(ANN, "12/4/2026 9:00:00")], 0.25),
        ([answer("stranger@else.example.org", "12/3/2026 9:00:00")], 0.0),
        # An inactive teacher was not asked: their answer neither raises nor dilutes the rate.
        ([answer("old@school.example.org", "12/3/2026 9:00:00")], 0.0),
        ([answer(ANN, "12/3/2026 9:00:00"), answer("old@school.example.org", "12/3/2026")], 0.25),
    ],
)
def test_rate_is_answered_over_active_teachers(
    project: Project, rows: list[list[str]], rate: float
) -> None:
    assert collect(project, rows).rate == rate


def test_no_export_yet_means_nobody_answered(project: Project) -> None:
    with project.workspace(date(2026, 12, 15)) as ws:
        c = ws.collect(cycles.cycle(ws.config, "2026-12"))
    assert (answered(c), not_answered(c), c.outside, c.problems) == ([], ACTIVE, 0, ())


# -- dates: day first or month first --------------------------------------------------------


def auto_order(project: Project) -> None:
    project.write_config({"form": {"date_order": "auto"}})


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # A UK export: 25/11 can only be day first, so 03/12 is 3 December.
        pytest.param(
            [answer(RAJ, "25/11/2026 10:00:00"), answer(ANN, "03/12/2026 08:14:22")],
            [ANN], id="slashes",
        ),
        pytest.param(
            [answer(ANN, "3.12.2026 08:14"), answer(RAJ, "28.11.2026 08:14")],
            [ANN], id="dots",
        ),
        pytest.param(
            [answer(ANN, "03-12-26 8:14 AM"), answer(RAJ, "30-11-26 8:14 PM")],
            [ANN], id="dashes and two-digit years",
        ),
        # A US export: 11/25 can only be month first, so 12/3 is 3 December.
        pytest.param(
            [answer(RAJ, "11/25/2026 10:00:00"), answer(ANN, "12/3/2026 8:14:22")],
            [ANN], id="month first",
        ),
        # Year-first dates never need the order, whatever else the column holds.
        pytest.param(
            [answer(ANN, "2026/12/03 8:14:22 AM GMT-6"), answer(RAJ, "2026-11-03 08:00")],
            [ANN], id="year first",
        ),
    ],
)  # fmt: skip
def test_the_column_settles_day_or_month_first(
    project: Project, rows: list[list[str]], expected: list[str]
) -> None:
    auto_order(project)
    c = collect(project, rows)
    assert answered(c) == expected
    assert c.problems == ()
    assert c.answered[0][1].submitted.date() == date(2026, 12, 3)


@pytest.mark.parametrize(
    ("order", "stamp", "counts"),
    [
        ("day-first", "03/12/2026 08:14:22", True),
        ("dmy", "1/12/2026 0:30", True),
        ("day-first", "12/11/2026 09:00", False),  # 12 November
        ("month-first", "03/12/2026 08:14:22", False),  # 12 March
        ("mdy", "12/1/2026 0:30", True),
        ("year-first", "26/12/03 08:14", True),
    ],
)
def test_a_configured_date_order(project: Project, order: str, stamp: str, counts: bool) -> None:
    project.write_config({"form": {"date_order": order}})
    c = collect(project, [answer(ANN, stamp)])
    assert (answered(c) == [ANN]) is counts
    assert c.problems == ()


def test_a_configured_order_skips_the_rows_that_do_not_fit_it(project: Project) -> None:
    project.write_config({"form": {"date_order": "day-first"}})
    rows = [answer(ANN, "03/12/2026 9:00"), answer(RAJ, "12/25/2026 9:00"),
            answer("maria@school.example.org", "14/12/2026 9:00")]  # fmt: skip
    c = collect(project, rows)
    assert answered(c) == [ANN, "maria@school.example.org"]
    [problem] = c.problems
    assert (problem.row, problem.column) == (3, "Timestamp")
    assert "'12/25/2026 9:00'" in problem.message
    assert "read day first" in problem.message


def test_a_column_with_both_orders_is_an_error_naming_a_row_of_each(project: Project) -> None:
    auto_order(project)
    rows = [answer(ANN, "03/12/2026 9:00"), answer(RAJ, "25/11/2026 9:00"),
            answer("maria@school.example.org", "11/30/2026 9:00")]  # fmt: skip
    with pytest.raises(InputError) as caught:
        collect(project, rows)
    message = caught.value.message
    assert "responses.csv, column 'Timestamp'" in message
    assert "row 3" in message and "'25/11/2026 9:00'" in message
    assert "row 4" in message and "'11/30/2026 9:00'" in message
    assert "form.date_order" in (caught.value.hint or "")


def test_a_configured_order_every_telling_date_contradicts_is_an_error(
    project: Project,
) -> None:
    # A config copied from a US school, on a UK export: 03/12 would quietly be 12 March.
    project.write_config({"form": {"date_order": "month-first"}})
    with pytest.raises(InputError) as caught:
        collect(project, [answer(ANN, "03/12/2026 9:00"), answer(RAJ, "25/11/2026 9:00")])
    assert "responses.csv, row 3, column 'Timestamp'" in caught.value.message
    assert "'25/11/2026 9:00' can only be day first" in caught.value.message
    assert "form.date_order to day-first" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("stamps", "rows"),
    [
        # 1-12 December read day first; 12 January to 12 December read month first.
        (["03/12/2026 9:00"], "2"),
        (["01/12/2026 9:00", "02/12/2026 9:00", "12/12/2026 9:00"], "2, 3"),
        (["12/3/2026 9:00"], "2"),
    ],
)
def test_a_guess_that_decides_the_cycle_is_an_error_naming_rows_and_key(
    project: Project, stamps: list[str], rows: str
) -> None:
    auto_order(project)
    with pytest.raises(InputError) as caught:
        collect(project, [answer(ANN, s) for s in stamps])
    message = caught.value.message
    assert "responses.csv, row 2, column 'Timestamp'" in message
    assert "read month first" in message and "read day first" in message
    assert "cycle 2026-12" in message
    assert f"rows that depend on it: {rows})" in message
    assert "form.date_order" in (caught.value.hint or "")


@pytest.mark.parametrize(
    "stamps",
    [
        ["12/12/2026 9:00"],  # the same both ways round
        ["05/06/2026 9:00"],  # 6 May or 5 June: outside December either way
        ["2026-12-03 09:00", "03/05/2026 9:00"],
    ],
)
def test_a_guess_that_cannot_change_the_cycle_is_no_error(
    project: Project, stamps: list[str]
) -> None:
    auto_order(project)
    collect(project, [answer(ANN, s) for s in stamps])


def test_a_prefilled_cycle_answer_makes_the_order_irrelevant(project: Project) -> None:
    project.write_config({"form": {"date_order": "auto", "columns": {"cycle": "Cycle"}}})
    c = collect(
        project, [[*answer(ANN, "03/12/2026 9:00"), "2026-12"]], header=[*RESPONSE_HEADER, "Cycle"]
    )
    assert answered(c) == [ANN]


# -- the email cell ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "ann@school.example.org",
        "  ANN@School.Example.org ",
        "Ann Lee <ann@school.example.org>",
        '"Lee, Ann" <ANN@School.example.org >',
        "mailto:ann@school.example.org",
        "MAILTO:Ann@school.example.org",
        "<ann@school.example.org>",
        "\u00a0ann@school.example.org\u00a0",
        "\u200bann@school.example.org\u200d",
        "ann@school.example.org.",
        "ann\uff20school.example.org",  # a full-width at sign
        "\u200eann@school.example.org\u200f",  # direction marks
        "\u202aAnn Lee\u202c <ann@school.example.org>",
    ],
)
def test_the_address_in_an_email_cell_matches(project: Project, cell: str) -> None:
    c = collect(project, [answer(cell, "12/3/2026 9:00")])
    assert answered(c) == [ANN]
    assert c.strangers == ()


@pytest.mark.parametrize(
    ("cell", "probably"),
    [
        ("Ann Lee", ANN),
        ("ann lee", ANN),
        ("lee, ann", ANN),
        ("Lee, Ann", ANN),
        ("Ms. Lee", ANN),
        ("Mrs Lee", ANN),
        ("A. Lee", ANN),
        ("Lee", ANN),
        ("Maria Gomez", "maria@school.example.org"),  # accents do not matter
        ("Gómez", "maria@school.example.org"),
        ("Raj", None),  # a first name alone is too little
        ("R. Patel", RAJ),
        ("ann.lee@gmail.com", ANN),  # a personal address with the name in it
        ("Ann Lee <ann.lee@home.example>", ANN),
        ("raj@other-school.example.org", RAJ),  # the same mailbox at another domain
        ("Someone Else", None),
        ("The library", None),
        ("ann@school.example.org, raj@school.example.org", None),  # two addresses: neither
    ],
)
def test_a_name_is_unmatched_and_names_the_teacher_it_probably_is(
    project: Project, cell: str, probably: str | None
) -> None:
    c = collect(project, [answer(cell, "12/3/2026 9:00")])
    assert answered(c) == []
    [stranger] = c.strangers
    teacher = c.probably(stranger)
    assert (teacher.email if teacher else None) == probably


@pytest.mark.parametrize(
    ("roster", "cell"),
    [
        # Two teachers called Lee: "Ms. Lee" could be either.
        ([["ann@school.example.org", "Ann", "Lee"], ["bo@school.example.org", "Bo", "Lee"]],
         "Ms. Lee"),
        # Two A. Lees.
        ([["ann@school.example.org", "Ann", "Lee"], ["al@school.example.org", "Al", "Lee"]],
         "A. Lee"),
        # "Lee" is one teacher's last name and another's first name.
        ([["ann@school.example.org", "Ann", "Lee"], ["lee@school.example.org", "Lee", "Park"]],
         "Lee"),
        # The same full name twice.
        ([["ann@school.example.org", "Ann", "Lee"], ["ann2@school.example.org", "Ann", "Lee"]],
         "Ann Lee"),
    ],
)  # fmt: skip
def test_a_name_that_fits_two_teachers_suggests_neither(
    project: Project, roster: list[list[str]], cell: str
) -> None:
    project.write_roster([[*row, "Grade 6", "yes"] for row in roster])
    c = collect(project, [answer(cell, "12/3/2026 9:00")])
    [stranger] = c.strangers
    assert c.probably(stranger) is None


# -- long answers -----------------------------------------------------------------------------


def test_a_200_kb_answer_is_read_and_the_rest_of_the_file_too(project: Project) -> None:
    essay = ("We need help with research skills and citations. " * 4200)[:204_800]
    c = collect(
        project,
        [answer(ANN, "12/3/2026 9:00", help_text=essay), answer(RAJ, "12/4/2026 9:00")],
    )
    assert answered(c) == [ANN, RAJ]
    response = c.response_for(ANN)
    assert response is not None and response.help == essay


def test_real_dates_in_a_workbook_never_depend_on_the_order(project: Project) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(RESPONSE_HEADER)
    sheet.append([datetime(2026, 12, 3, 8, 14, 22), ANN, "Unit", "Help", "Small group"])
    sheet.append([datetime(2026, 3, 12, 8, 14, 22), RAJ, "Unit", "Help", "Small group"])
    book.save(project.folder / "responses.xlsx")
    project.write_config(
        {"form": {"date_order": "auto"}, "sources": {"responses": "responses.xlsx"}}
    )
    with project.workspace(date(2026, 12, 15)) as ws:
        c = ws.collect(cycles.cycle(ws.config, "2026-12"))
    assert answered(c) == [ANN]
    assert c.outside == 1
    assert c.answered[0][1].submitted == datetime(2026, 12, 3, 8, 14, 22, tzinfo=CHICAGO)


def test_a_guess_that_decides_which_answer_is_the_latest_is_an_error(project: Project) -> None:
    # Sent on the 12th, November's cycle runs from 12 November to 14 December (the 12th is a
    # Saturday), so 11/12 and 12/11 are in it both ways round, but which of Ann's two answers
    # came last depends on the order.
    calendar = {"send_day": 12, "skip": []}
    project.write_config({"form": {"date_order": "auto"}, "calendar": calendar})
    rows = [answer(ANN, "11/12/2026 9:00", help_text="first"),
            answer(ANN, "12/11/2026 9:00", help_text="second")]  # fmt: skip
    with pytest.raises(InputError) as caught:
        collect(project, rows, cycle="2026-11")
    message = caught.value.message
    assert "responses.csv, rows 2 and 3, column 'Timestamp'" in message
    assert "the later one in cycle 2026-11" in message
    assert "form.date_order" in (caught.value.hint or "")

    project.write_config({"form": {"date_order": "day-first"}, "calendar": calendar})
    c = collect(project, rows, cycle="2026-11")
    response = c.response_for(ANN)
    assert response is not None and response.help == "first"  # 11 December, after 12 November


# The index finds a cycle's responses by bisection; they must be the ones in_cycle() picks,
# in the order match() always took them (time, then row, then the export's order), whatever
# the zones, the prefilled cycle answers and the ties.
_DECEMBER = cycles.Cycle(
    name="2026-12",
    send=date(2026, 12, 1),
    due=date(2026, 12, 8),
    reminders=(),
    digest=date(2026, 12, 11),
    opens=datetime(2026, 12, 1, tzinfo=CHICAGO),
    closes=datetime(2027, 1, 4, tzinfo=CHICAGO),
    runs=True,
)
_OCTOBER = replace(  # its window closes just after Chicago's clocks go back (1 November)
    _DECEMBER,
    name="2026-10",
    opens=datetime(2026, 10, 5, tzinfo=CHICAGO),
    closes=datetime(2026, 11, 1, 1, 20, tzinfo=CHICAGO),
)
_ZONES = [CHICAGO, CHICAGO, CHICAGO, timezone.utc, timezone(timedelta(hours=-6))]
_MOMENTS = [
    datetime(2026, 10, 5, 0, 0),
    datetime(2026, 11, 1, 1, 10),  # once in summer time, once more an hour later (fold=1)
    datetime(2026, 11, 1, 1, 30),
    datetime(2026, 11, 1, 6, 50),
    datetime(2026, 11, 30, 23, 59),
    datetime(2026, 12, 1, 0, 0),
    datetime(2026, 12, 1, 5, 30),
    datetime(2026, 12, 15, 9, 0),
    datetime(2027, 1, 3, 23, 59, 59),
    datetime(2027, 1, 4, 0, 0),
    datetime(2027, 1, 4, 5, 59),
]


@st.composite
def _some_response(draw: st.DrawFn) -> Response:
    moment = draw(st.sampled_from(_MOMENTS)).replace(
        tzinfo=draw(st.sampled_from(_ZONES)), fold=draw(st.integers(0, 1))
    )
    return Response(
        email=draw(st.sampled_from([ANN, RAJ, "x@elsewhere.org"])),
        submitted=moment,
        units="",
        help="",
        format="",
        answers={},
        origin="responses.csv",
        row=draw(st.integers(2, 6)),  # repeated rows make ties to keep in the export's order
        cycle=draw(st.sampled_from(["", "", "", "2026-12", "2026-10"])),
    )


def _at_its_offset(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    assert offset is not None
    return moment.astimezone(timezone(offset))


@settings(max_examples=300, deadline=None)
@given(
    responses=st.lists(_some_response(), max_size=12),
    zones=st.sampled_from(["as drawn", "school time", "fixed offsets"]),
    cycle=st.sampled_from([_OCTOBER, _DECEMBER]),
)
def test_the_index_finds_a_cycles_responses_as_in_cycle_does(
    responses: list[Response], zones: str, cycle: cycles.Cycle
) -> None:
    if zones == "school time":
        responses = [replace(r, submitted=r.submitted.replace(tzinfo=CHICAGO)) for r in responses]
    if zones == "fixed offsets":  # as a Forms download writes them: GMT-5, GMT-6
        responses = [replace(r, submitted=_at_its_offset(r.submitted)) for r in responses]
    expected = sorted(
        (r for r in responses if in_cycle(r, cycle)), key=lambda r: (r.submitted, r.row)
    )
    found = ResponseIndex(responses).inside(cycle)
    assert [id(r) for r in found] == [id(r) for r in expected]


# Three school years of answers, some unreadable, some from strangers, some with a prefilled
# cycle: what the workspace matches from the lazily made records is what match() makes of
# every record, cycle by cycle, and each record is the one Response() would make.
def _years_of_answers() -> list[list[str]]:
    rows = []
    for year in (2024, 2025, 2026):
        for month in (9, 10, 11, 12):
            for day, who in ((2, ANN), (9, RAJ), (16, "Stranger <x@elsewhere.org>"), (20, ANN)):
                rows.append([*answer(who, f"{month}/{day}/{year} 8:{day:02d}:00"), ""])
    rows.append([*answer(RAJ, "12/32/2026 8:00"), ""])  # not a real date: a problem
    rows.append([*answer(ANN, "someday"), ""])
    rows.append([*answer(RAJ, "1/5/2027 9:00:00"), "2026-12"])  # December's, answered late
    rows.append([*answer(ANN, "12/5/2026 9:00:00"), "2026-11"])  # November's link
    return rows


def test_the_cycles_match_as_every_record_matched_would(project: Project) -> None:
    project.write_config({"form": {"columns": {"cycle": "Cycle"}}})
    project.write_responses(_years_of_answers(), [*RESPONSE_HEADER, "Cycle"])
    with project.workspace(date(2026, 12, 15)) as ws:
        names = ["2024-09", "2025-12", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]
        found = {name: ws.collect(cycles.cycle(ws.config, name)) for name in names}
        table = ws.source.read_responses()
        assert table is not None
        records, problems = parse_responses(table, ws.config.form, ws.config.timezone)
        assert [(p.row, p.column) for p in problems] == [(50, "Timestamp"), (51, "Timestamp")]
        assert ws.responses == (records, problems)
        for name in names:
            assert found[name] == match(ws.roster, records, cycles.cycle(ws.config, name), problems)
        assert len(found["2026-12"].answered) == 2 and found["2026-12"].outside == 45
        for record in records:
            made = Response(**{f.name: getattr(record, f.name) for f in fields(Response)})
            assert made == record and vars(made) == vars(record)


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 0, 2), (2, 0, 1)])
def test_answers_in_the_hour_the_clocks_go_back_are_found_as_in_cycle_finds_them(
    order: tuple[int, int, int],
) -> None:
    # 1:30 summer time and 1:10 winter time compare by their clock readings (both Chicago),
    # 06:50 UTC with each by the instant: no one order agrees with every comparison.
    moments = [
        datetime(2026, 11, 1, 1, 30, tzinfo=CHICAGO),
        datetime(2026, 11, 1, 6, 50, tzinfo=timezone.utc),
        datetime(2026, 11, 1, 1, 10, fold=1, tzinfo=CHICAGO),
    ]
    responses = [
        Response(ANN, moments[i], "", "", "", {}, "responses.csv", row)
        for row, i in enumerate(order)
    ]
    expected = [r for r in responses if in_cycle(r, _OCTOBER)]
    assert [r.submitted for r in expected] == [moments[2]]
    assert ResponseIndex(responses).inside(_OCTOBER) == expected
