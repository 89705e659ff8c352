"""The roster: a real roster.csv read through the workspace, row by row into teachers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from conftest import Project

from pdmail.errors import InputError
from pdmail.sources.roster import Roster, field_name, is_valid_email, normalize_email

HEADER = ["Email", "First Name", "Last Name", "Team", "Active"]


def load(project: Project, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Roster:
    project.write_roster(rows, header)
    with project.workspace(date(2026, 12, 1)) as ws:
        return ws.roster


def problems(roster: Roster) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.message) for p in roster.problems]


@pytest.mark.parametrize(
    ("cell", "email"),
    [
        ("ann@school.example.org", "ann@school.example.org"),
        ("  Ann@School.Example.ORG  ", "ann@school.example.org"),
        ("ANN.LEE+lib@school.example.org", "ann.lee+lib@school.example.org"),
        ("o'neil@school.example.org", "o'neil@school.example.org"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(project: Project, cell: str, email: str) -> None:
    roster = load(project, [[cell, "Ann", "Lee", "Grade 6", "yes"]])
    assert [t.email for t in roster] == [email]
    assert roster.get(cell) is roster.teachers[0]
    assert roster.get(email.upper()) is roster.teachers[0]
    assert roster.teachers[0].fields["email"] == email


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("", "no email address"),
        ("not-an-address", "'not-an-address' is not a valid email address"),
        ("ann@", "'ann@' is not a valid email address"),
        ("ann@school", "'ann@school' is not a valid email address"),
        ("ann lee@school.example.org", "'ann lee@school.example.org' is not a valid"),
        ("Ann Lee <ann@school.example.org>", "is not a valid email address"),
        ("ann@@school.example.org", "is not a valid email address"),
        ("ann@school..example.org", "is not a valid email address"),
        ("ann@-school.example.org", "is not a valid email address"),
        ("ann@school.example.org;raj@school.example.org", "is not a valid email address"),
    ],
)
def test_invalid_addresses_are_skipped_with_a_problem_naming_row_and_column(
    project: Project, cell: str, message: str
) -> None:
    roster = load(
        project,
        [
            ["raj@school.example.org", "Raj", "Patel", "Grade 6", "yes"],
            [cell, "Ann", "Lee", "Grade 6", "yes"],  # spreadsheet row 3
            ["maria@school.example.org", "María", "Gómez", "Grade 7", "yes"],
        ],
    )
    assert [t.email for t in roster] == ["raj@school.example.org", "maria@school.example.org"]
    [(row, column, text)] = problems(roster)
    assert (row, column) == (3, "Email")
    assert message in text
    assert "row 3, column 'Email'" in str(roster.problems[0])
    assert str(project.folder / "roster.csv") in str(roster.problems[0])


@pytest.mark.parametrize(
    ("cells", "rows"),
    [
        (["ann@school.example.org", "x@school.example.org", "ANN@school.example.org"], "2 and 4"),
        (["ann@school.example.org", " Ann@School.Example.Org "], "2 and 3"),
        (["raj@school.example.org", "ann@school.example.org", "ann@school.example.org"], "3 and 4"),
    ],
)
def test_a_duplicated_address_is_an_error_naming_both_rows(
    project: Project, cells: list[str], rows: str
) -> None:
    with pytest.raises(InputError) as exc:
        load(project, [[c, "A", "B", "T", "yes"] for c in cells])
    assert f"ann@school.example.org (rows {rows})" in exc.value.message
    assert str(project.folder / "roster.csv") in exc.value.message


def test_every_duplicate_is_named(project: Project) -> None:
    cells = ["ann@x.org", "raj@x.org", "ann@x.org", "RAJ@x.org", "ann@x.org"]
    with pytest.raises(InputError) as exc:
        load(project, [[c, "A", "B", "T", "yes"] for c in cells])
    assert "ann@x.org (rows 2 and 4)" in exc.value.message
    assert "raj@x.org (rows 3 and 5)" in exc.value.message
    assert "ann@x.org (rows 2 and 6)" in exc.value.message


@pytest.mark.parametrize(
    ("flag", "active"),
    [
        ("yes", True),
        ("Yes", True),
        ("YES", True),
        ("y", True),
        ("true", True),
        ("1", True),
        ("x", True),
        ("X", True),
        ("active", True),
        ("✓", True),
        ("", True),  # blank means active
        ("no", False),
        ("No", False),
        ("n", False),
        ("false", False),
        ("0", False),
        ("inactive", False),
        ("left", False),
        ("on leave", False),
        ("On Leave", False),
    ],
)
def test_active_values(project: Project, flag: str, active: bool) -> None:
    roster = load(project, [["ann@school.example.org", "Ann", "Lee", "Grade 6", flag]])
    assert [(t.email, t.active) for t in roster] == [("ann@school.example.org", active)]
    assert roster.problems == ()
    assert [t.email for t in roster.active] == (["ann@school.example.org"] if active else [])


@pytest.mark.parametrize("flag", ["maybe", "2", "yes!", "nope", "-"])
def test_an_unreadable_active_value_skips_the_row(project: Project, flag: str) -> None:
    roster = load(
        project,
        [
            ["ann@school.example.org", "Ann", "Lee", "Grade 6", flag],
            ["raj@school.example.org", "Raj", "Patel", "Grade 6", "yes"],
        ],
    )
    assert [t.email for t in roster] == ["raj@school.example.org"]
    [(row, column, message)] = problems(roster)
    assert (row, column) == (2, "Active")
    assert repr(flag) in message and "not yes or no" in message


def test_no_active_column_means_everyone_is_active(project: Project) -> None:
    roster = load(project, [["ann@school.example.org", "Ann"]], header=["Email", "First Name"])
    [ann] = roster.teachers
    assert (ann.active, ann.first_name, ann.last_name, ann.team) == (True, "Ann", "", "")
    assert ann.display_name == "Ann"


def test_a_teacher_without_a_name_is_shown_by_address(project: Project) -> None:
    roster = load(project, [["ann@school.example.org", "", "", "", ""]])
    assert roster.teachers[0].display_name == "ann@school.example.org"


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("First Name", "first_name"),
        ("Room #", "room"),
        ("2nd Language", "col_2nd_language"),
        ("  Homeroom / Advisory  ", "homeroom_advisory"),
        ("E-mail", "e_mail"),
        ("TEAM", "team"),
        ("Years at school (2026)", "years_at_school_2026"),
        ("###", ""),
    ],
)
def test_field_name(header: str, name: str) -> None:
    assert field_name(header) == name


def test_extra_columns_become_fields(project: Project) -> None:
    roster = load(
        project,
        [["ann@school.example.org", "Ann", "Lee", "Grade 6", "yes", "B12", "Spanish"]],
        header=[*HEADER, "Room #", "2nd Language"],
    )
    [ann] = roster.teachers
    assert dict(ann.fields) == {
        "email": "ann@school.example.org",
        "first_name": "Ann",
        "last_name": "Lee",
        "team": "Grade 6",
        "active": "yes",
        "room": "B12",
        "col_2nd_language": "Spanish",
    }
    assert ann.row == 2


def test_custom_column_names_from_the_config(project: Project) -> None:
    columns = {"email": "E-mail", "first_name": "Given", "last_name": "Surname",
               "team": "Department", "active": "On staff?"}  # fmt: skip
    project.write_config({"roster": {"columns": columns}})
    roster = load(
        project,
        [
            ["  ann@School.example.org", "Ann", "Lee", "Science", "yes"],
            ["raj@school.example.org", "Raj", "Patel", "Math", "no"],
        ],
        # Headers are matched trimmed and ignoring case.
        header=["e-mail ", "GIVEN", "Surname", "Department", "On Staff?"],
    )
    got = [(t.email, t.first_name, t.last_name, t.team, t.active) for t in roster]
    assert got == [
        ("ann@school.example.org", "Ann", "Lee", "Science", True),
        ("raj@school.example.org", "Raj", "Patel", "Math", False),
    ]
    assert roster.teachers[0].fields["given"] == "Ann"


@pytest.mark.parametrize(
    ("config", "header", "missing"),
    [
        ({}, ["E-mail", "First Name"], "Email"),
        ({"roster": {"columns": {"email": "School Email"}}}, HEADER, "School Email"),
    ],
)
def test_a_missing_email_column_is_an_error(
    project: Project, config: dict[str, Any], header: list[str], missing: str
) -> None:
    project.write_config(config)
    with pytest.raises(InputError) as exc:
        load(project, [["ann@school.example.org", *[""] * (len(header) - 1)]], header=header)
    assert f"no column '{missing}'" in exc.value.message
    assert "roster.columns.email" in exc.value.message


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("ann@school.example.org", True),
        ("a.b-c_d+e@sub.school-district.k12.us", True),
        ("ann@school", False),
        (" ann@school.example.org", False),  # callers normalise first
        ("ann@school.example.org.", False),
        ("", False),
    ],
)
def test_is_valid_email(text: str, valid: bool) -> None:
    assert is_valid_email(text) is valid


@pytest.mark.parametrize(
    ("text", "key"), [(" Ann@X.org ", "ann@x.org"), ("\tRAJ@x.ORG\n", "raj@x.org"), ("", "")]
)
def test_normalize_email(text: str, key: str) -> None:
    assert normalize_email(text) == key


# -- a roster with nobody to write to is an error, never "Sent 0 requests" -------------------


def test_a_header_only_roster_is_an_error(project: Project) -> None:
    with pytest.raises(InputError) as exc:
        load(project, [])
    assert exc.value.message == (
        f"{project.folder / 'roster.csv'}: the roster has a header row but no teachers"
    )


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        pytest.param(
            [["", "Ann", "Lee", "Grade 6", "yes"], ["raj", "Raj", "Patel", "Grade 6", "yes"]],
            ["row 2, column 'Email': no email address",
             "row 3, column 'Email': 'raj' is not a valid email address"],
            id="no-valid-address",
        ),
        pytest.param(
            [["ann@school.example.org", "Ann", "Lee", "Grade 6", "TRUE?"]],
            ["row 2, column 'Active': 'TRUE?' is not yes or no"],
            id="no-readable-active",
        ),
        pytest.param(
            [[f"t{i}", "T", "L", "G", "yes"] for i in range(5)],
            ["row 2, column 'Email'", "row 4, column 'Email'", "; and 2 more"],
            id="many-bad-rows",
        ),
    ],
)  # fmt: skip
def test_a_roster_whose_every_row_is_bad_is_an_error_naming_the_rows(
    project: Project, rows: list[list[str]], named: list[str]
) -> None:
    with pytest.raises(InputError) as exc:
        load(project, rows)
    message = exc.value.message
    which = "the one row is not" if len(rows) == 1 else f"none of the {len(rows)} rows is"
    assert message.startswith(f"{project.folder / 'roster.csv'}: {which} a usable teacher: ")
    for part in named:
        assert part in message
    assert "row 5," not in message  # three are named, the rest counted


def test_a_roster_with_no_active_teacher_reads_but_cannot_be_written_to(project: Project) -> None:
    roster = load(project, [["ann@school.example.org", "Ann", "Lee", "Grade 6", "no"]])
    assert [t.email for t in roster] == ["ann@school.example.org"]
    with pytest.raises(InputError, match="the one teacher on the roster is not active"):
        roster.require_active()
