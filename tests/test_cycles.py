"""Cycle dates: the send day and the days counted from it, moved past weekends and breaks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import Project

from pdmail import cycles
from pdmail.config.records import Calendar
from pdmail.errors import ConfigError, PdmailError

CHICAGO = ZoneInfo("America/Chicago")


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize(
    ("calendar", "name", "send"),
    [
        ({}, "2026-12", "2026-12-01"),  # a Tuesday: stays
        ({}, "2026-11", "2026-11-02"),  # Sunday -> Monday
        ({}, "2026-08", "2026-08-03"),  # Saturday -> Monday
        ({}, "2027-01", "2027-01-04"),  # Friday 1st is in the winter break -> Monday 4th
        ({"skip": ["2026-12-01"]}, "2026-12", "2026-12-02"),  # a single skipped date
        ({"skip": ["2026-11-30..2026-12-04"]}, "2026-12", "2026-12-07"),  # range, then weekend
        ({"skip": ["2027-05-03"]}, "2027-05", "2027-05-04"),  # weekend, then a skipped Monday
        ({"send_day": 15, "skip": ["2027-03-15..2027-03-19"]}, "2027-03", "2027-03-22"),
        ({"school_days_only": False}, "2026-11", "2026-11-01"),  # weekends allowed
        ({"school_days_only": False}, "2027-01", "2027-01-02"),  # skip ranges still apply
    ],
)
def test_send_day_moves_past_weekends_and_skipped_dates(
    project: Project, calendar: dict[str, Any], name: str, send: str
) -> None:
    project.write_config({"calendar": calendar})
    assert cycles.cycle(project.config(), name).send == d(send)


@pytest.mark.parametrize(
    ("calendar", "name", "send", "reminders", "due", "digest"),
    [
        # The test calendar: reminders 4 and 8 days on, due 7, digest 10; Saturday 12-05 moves.
        ({}, "2026-12", "2026-12-01", ("2026-12-07", "2026-12-09"), "2026-12-08", "2026-12-11"),
        ({}, "2027-01", "2027-01-04", ("2027-01-08", "2027-01-12"), "2027-01-11", "2027-01-14"),
        ({}, "2026-11", "2026-11-02", ("2026-11-06", "2026-11-10"), "2026-11-09", "2026-11-12"),
        # Days falling in the break all move to the first school day after it.
        (
            {"send_day": 15},
            "2026-12",
            "2026-12-15",
            ("2027-01-04", "2027-01-04"),
            "2027-01-04",
            "2027-01-04",
        ),
        (
            {"reminders_after_days": [2], "due_after_days": 3, "digest_after_days": 5},
            "2026-12",
            "2026-12-01",
            ("2026-12-03",),
            "2026-12-04",
            "2026-12-07",
        ),
        ({"reminders_after_days": []}, "2026-12", "2026-12-01", (), "2026-12-08", "2026-12-11"),
    ],
)
def test_reminder_due_and_digest_days(
    project: Project,
    calendar: dict[str, Any],
    name: str,
    send: str,
    reminders: tuple[str, ...],
    due: str,
    digest: str,
) -> None:
    project.write_config({"calendar": calendar})
    c = cycles.cycle(project.config(), name)
    assert (c.name, c.send, c.reminders, c.due, c.digest) == (
        name,
        d(send),
        tuple(d(r) for r in reminders),
        d(due),
        d(digest),
    )


@pytest.mark.parametrize(
    ("today", "due"),
    [
        ("2026-11-30", 0),
        ("2026-12-01", 0),
        ("2026-12-06", 0),
        ("2026-12-07", 1),
        ("2026-12-08", 1),
        ("2026-12-09", 2),
        ("2026-12-31", 2),
    ],
)
def test_reminders_due_counts_the_reminder_days_come(
    project: Project, today: str, due: int
) -> None:
    assert cycles.cycle(project.config(), "2026-12").reminders_due(d(today)) == due


@pytest.mark.parametrize(
    ("name", "opens", "closes"),
    [
        # A window runs from midnight of its send day to midnight of the next cycle's.
        ("2026-12", datetime(2026, 12, 1, tzinfo=CHICAGO), datetime(2027, 1, 4, tzinfo=CHICAGO)),
        ("2026-11", datetime(2026, 11, 2, tzinfo=CHICAGO), datetime(2026, 12, 1, tzinfo=CHICAGO)),
        ("2027-01", datetime(2027, 1, 4, tzinfo=CHICAGO), datetime(2027, 2, 1, tzinfo=CHICAGO)),
    ],
)
def test_windows_open_and_close_at_school_midnight(
    project: Project, name: str, opens: datetime, closes: datetime
) -> None:
    c = cycles.cycle(project.config(), name)
    assert (c.opens, c.closes) == (opens, closes)
    assert c.opens.utcoffset() == opens.utcoffset()
    assert c.opens.tzinfo == CHICAGO


def test_consecutive_windows_meet_without_gap_or_overlap(project: Project) -> None:
    config = project.config()
    name = "2026-01"
    for _ in range(24):
        nxt = cycles.shift(name, 1)
        assert cycles.cycle(config, name).closes == cycles.cycle(config, nxt).opens
        name = nxt


@pytest.mark.parametrize(
    ("today", "name"),
    [
        ("2026-11-01", "2026-10"),  # November's send day is Monday 11-02
        ("2026-11-02", "2026-11"),
        ("2026-11-30", "2026-11"),
        ("2026-12-01", "2026-12"),
        ("2026-12-31", "2026-12"),
        ("2027-01-01", "2026-12"),  # January's send day is after the break
        ("2027-01-03", "2026-12"),
        ("2027-01-04", "2027-01"),
    ],
)
def test_current_name_before_and_after_the_send_day(
    project: Project, today: str, name: str
) -> None:
    assert cycles.current_name(project.config(), d(today)) == name


@pytest.mark.parametrize(
    ("name", "months", "expected"),
    [
        ("2026-12", 1, "2027-01"),
        ("2027-01", -1, "2026-12"),
        ("2026-12", 0, "2026-12"),
        ("2026-05", -17, "2024-12"),
        ("2026-01", 24, "2028-01"),
        ("2026-12", 13, "2028-01"),
        ("2026-01", -1, "2025-12"),
    ],
)
def test_shift_across_years(name: str, months: int, expected: str) -> None:
    assert cycles.shift(name, months) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("2026-12", (2026, 12)), (" 2027-01 ", (2027, 1)), ("0999-09", (999, 9))]
)
def test_parse_cycle_name(text: str, expected: tuple[int, int]) -> None:
    assert cycles.parse_cycle_name(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-00", "2026-1", "26-12", "2026/12", "December", "2026-12-01"]
)
def test_parse_cycle_name_errors(text: str) -> None:
    with pytest.raises(PdmailError) as exc:
        cycles.parse_cycle_name(text)
    assert repr(text) in exc.value.message
    assert exc.value.hint is not None and "YYYY-MM" in exc.value.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12", True),
        ("0001-01", True),
        ("9998-12", True),
        ("9999-01", False),  # the cycle after it would have no name
        ("0000-05", False),
        ("2026-13", False),
        ("2026-1", False),
        ("2026-12-01", False),
        ("", False),
    ],
)
def test_is_cycle_name_agrees_with_parse_cycle_name(text: str, expected: bool) -> None:
    assert cycles.is_cycle_name(text) is expected


@pytest.mark.parametrize(
    ("later", "earlier", "months"),
    [("2026-12", "2026-12", 0), ("2027-01", "2026-12", 1), ("2026-09", "2027-03", -6),
     ("2030-02", "2026-02", 48)],
)  # fmt: skip
def test_months_between_is_the_inverse_of_shift(later: str, earlier: str, months: int) -> None:
    assert cycles.months_between(later, earlier) == months
    assert cycles.shift(earlier, months) == later


@pytest.mark.parametrize(
    ("name", "year_starts", "expected"),
    [("2027-03", 8, "2026-08"), ("2026-08", 8, "2026-08"), ("2026-07", 8, "2025-08"),
     ("2026-12", 1, "2026-01")],
)  # fmt: skip
def test_school_year_names_the_cycle_that_begins_it(
    name: str, year_starts: int, expected: str
) -> None:
    assert cycles.school_year(name, year_starts) == expected


@pytest.mark.parametrize(
    ("day", "name"), [(date(2026, 12, 31), "2026-12"), (date(2027, 1, 1), "2027-01"),
                      (date(999, 9, 9), "0999-09")],
)  # fmt: skip
def test_name_of_names_the_cycle_of_a_days_month(day: date, name: str) -> None:
    assert cycles.name_of(day) == name
    assert cycles.first_day(name) == day.replace(day=1)


@pytest.mark.parametrize("call", [cycles.first_day, lambda n: cycles.months_between(n, "2026-01"),
                                  lambda n: cycles.school_year(n, 8)])  # fmt: skip
def test_every_name_reader_refuses_a_bad_name_with_the_same_message(call: Any) -> None:
    with pytest.raises(PdmailError, match=r"--cycle: '2026-13' is not a cycle name"):
        call("2026-13")
    assert cycles.first_day("2026-12") == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("name", "today", "expected"),
    [
        (None, "2026-12-05", "2026-12"),
        (None, "2026-11-30", "2026-11"),
        ("2026-06", "2026-12-05", "2026-06"),
    ],
)
def test_resolve_a_running_month(
    project: Project, name: str | None, today: str, expected: str
) -> None:
    project.write_config({"calendar": {"months": [1, 2, 3, 4, 5, 6, 9, 10, 11, 12]}})
    assert cycles.resolve(project.config(), name, d(today)).name == expected


@pytest.mark.parametrize(
    ("name", "today", "named"),
    [
        ("2026-07", "2026-12-05", "2026-07"),
        (None, "2026-07-15", "2026-07"),
        (None, "2026-08-02", "2026-07"),  # August's send day (Monday 08-03) has not come yet
    ],
)
def test_resolve_a_month_not_in_calendar_months_raises(
    project: Project, name: str | None, today: str, named: str
) -> None:
    project.write_config({"calendar": {"months": [1, 2, 3, 4, 5, 6, 9, 10, 11, 12]}})
    config = project.config()
    assert not cycles.cycle(config, named).runs
    with pytest.raises(ConfigError) as exc:
        cycles.resolve(config, name, d(today))
    assert f"cycle {named}" in exc.value.message
    assert "calendar.months" in exc.value.message


@pytest.mark.parametrize(
    ("day", "school_day"),
    [
        ("2026-12-04", True),  # Friday
        ("2026-12-05", False),  # Saturday
        ("2026-12-06", False),  # Sunday
        ("2026-12-20", False),  # Sunday before the break
        ("2026-12-21", False),  # first day of the break
        ("2027-01-01", False),  # last day of the break
        ("2027-01-04", True),
    ],
)
def test_calendar_school_days(project: Project, day: str, school_day: bool) -> None:
    calendar: Calendar = project.config().calendar
    assert calendar.is_school_day(d(day)) is school_day
