"""A month is never lost: requests that missed their due date go out late, on a calendar
counted from the day they really go out, on school days only; ``send`` asks for ``--late``.

The test calendar (conftest): December 2026 sends Tue 1, reminders Mon 7 and Wed 9, due Tue 8,
digest Fri 11; the winter break runs 12-21..01-01; January sends Mon 4. November sends Mon 2,
reminders Fri 6 and Tue 10, due Mon 9, digest Thu 12.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from conftest import ROSTER_ROWS, Project, answer, ledger_entries, run_cli
from test_tick import days, ledger_rows, requests, run, snapshot

from pdmail import cycles
from pdmail.cycle.opening import first_request_day, resolve

ALL = ("ann", "raj", "maria", "sam")
NOT_ANN = ("raj", "maria", "sam")


def d(text: str) -> date:
    return date.fromisoformat(text)


def kinds(cycle: str, kind: str, who: tuple[str, ...]) -> set[str]:
    return {f"{cycle}/{kind}-{w}" for w in who}


# (id, calendar changes, first day the machine is on, last day, answers written after a day's
#  tick, what goes out on each day)
SCENARIOS: list[Any] = [
    pytest.param(
        {},
        d("2026-12-10"),
        d("2027-01-08"),
        {d("2026-12-11"): [answer("ann@school.example.org", "12/11/2026 9:00:00")]},
        {
            # Off from the send day (12-01) past the due date (12-08): the requests go out on
            # Thursday 12-10, due 12-17, reminders 12-14 and 12-18; the digest (12-20, a Sunday,
            # then the break) comes on 01-04, with January's requests.
            d("2026-12-10"): requests("2026-12"),
            d("2026-12-14"): kinds("2026-12", "reminder-1", NOT_ANN),
            d("2026-12-18"): kinds("2026-12", "reminder-2", NOT_ANN),
            d("2027-01-04"): {"2026-12/digest-librarian"} | requests("2027-01"),
            d("2027-01-08"): kinds("2027-01", "reminder-1", ALL),
        },
        id="off a week, back on a Thursday",
    ),
    pytest.param(
        {},
        d("2026-11-14"),
        d("2026-12-01"),
        {},
        {
            # Back on a Saturday: nothing until Monday 11-16; due 11-23, reminders 11-20 and
            # 11-24, digest 11-26, all before December opens.
            d("2026-11-16"): requests("2026-11"),
            d("2026-11-20"): kinds("2026-11", "reminder-1", ALL),
            d("2026-11-24"): kinds("2026-11", "reminder-2", ALL),
            d("2026-11-26"): {"2026-11/digest-librarian"},
            d("2026-12-01"): requests("2026-12"),
        },
        id="back on a Saturday: waits for Monday",
    ),
    pytest.param(
        {"skip": ["2026-11-16..2026-11-20", "2026-12-21..2027-01-01"]},
        d("2026-11-14"),
        d("2026-12-04"),
        {},
        {
            # A week's break after the weekend: the requests wait for Monday 11-23 (due 11-30).
            # Reminder 2 (12-01) falls on December's send day: December's request goes instead.
            # November's digest (12-03) runs into December and still goes.
            d("2026-11-23"): requests("2026-11"),
            d("2026-11-27"): kinds("2026-11", "reminder-1", ALL),
            d("2026-12-01"): requests("2026-12"),
            d("2026-12-03"): {"2026-11/digest-librarian"},
        },
        id="across a school break into the next cycle",
    ),
    pytest.param(
        {},
        d("2026-12-14"),
        d("2027-01-05"),
        {},
        {
            # Back the week before the winter break: due 12-21 would move to 01-04, the day
            # January opens. Too late for December; January goes as planned.
            d("2027-01-04"): requests("2027-01"),
        },
        id="too late: the due date would reach the next cycle",
    ),
    pytest.param(
        {"school_days_only": False},
        d("2026-12-12"),
        d("2026-12-23"),
        {},
        {
            # Weekends are school days here: Saturday 12-12 sends, due 12-19, reminders 12-16
            # and 12-20 (a Sunday, allowed), the digest 12-22 is in the break: 01-04.
            d("2026-12-12"): requests("2026-12"),
            d("2026-12-16"): kinds("2026-12", "reminder-1", ALL),
            d("2026-12-20"): kinds("2026-12", "reminder-2", ALL),
        },
        id="weekends allowed: a Saturday sends",
    ),
]


@pytest.mark.parametrize(("calendar", "first", "last", "answers", "expected"), SCENARIOS)
def test_a_machine_off_past_the_due_date_loses_no_month(
    project: Project,
    calendar: dict[str, Any],
    first: date,
    last: date,
    answers: dict[date, list[list[str]]],
    expected: dict[date, set[str]],
) -> None:
    project.write_config({"calendar": calendar})
    rows: list[list[str]] = []
    project.write_responses(rows)
    went_out: dict[date, set[str]] = {}
    for day in days(first, last):
        report, sent = run(project, day)
        assert report.ok, (day, report.errors)
        went_out[day] = sent
        # Every day twice: a rerun sends nothing and changes no file and no ledger row.
        files, ledger = snapshot(project), ledger_rows(project)
        again, sent_again = run(project, day)
        assert (again.sent, sent_again) == (0, set()), day
        assert snapshot(project) == files, day
        assert ledger_rows(project) == ledger, day
        rows.extend(answers.get(day, []))
        project.write_responses(rows)
    assert {day: sent for day, sent in went_out.items() if sent} == expected


def _request_text(project: Project, cycle: str, who: str) -> str:
    path = next((project.outbox / cycle).glob(f"request-{who}@*.eml"))
    msg = project.sent()[sorted(project.outbox.rglob("*.eml")).index(path)]
    body = msg.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).split())


def test_late_requests_carry_the_real_due_date_and_the_tick_says_what_it_did(
    project: Project,
) -> None:
    project.write_responses([])
    report, sent = run(project, d("2026-12-10"))
    assert sent == requests("2026-12")
    note = next(n for n in report.notes if "late" in n)
    assert "2026-12-10" in note and "2026-12-01" in note  # sent on, and the calendar's day
    assert "Thursday, December 17" in note
    assert "2026-12-14, 2026-12-18" in note and "digest 2027-01-04" in note
    for who in ALL:
        assert "answer by Thursday, December 17" in _request_text(project, "2026-12", who)

    # Every later run works the same calendar out of the ledger.
    with project.workspace(d("2026-12-15")) as ws:
        assert first_request_day(ws.config, ws.ledger, "2026-12") == d("2026-12-10")
        c = resolve(ws, None, d("2026-12-15"))
    assert (c.send, c.due, c.reminders, c.digest, c.planned_send) == (
        d("2026-12-10"),
        d("2026-12-17"),
        (d("2026-12-14"), d("2026-12-18")),
        d("2027-01-04"),
        d("2026-12-01"),
    )
    status = run_cli(project, "status", today="2026-12-15")
    assert "2026-12-17" in status.stdout


def test_a_dry_run_late_opening_records_nothing(project: Project) -> None:
    project.write_responses([])
    report, sent = run(project, d("2026-12-10"), dry_run=True)
    assert sent == set() and ledger_rows(project) == []
    assert any("would go out late" in n for n in report.notes)
    assert [o.result for _, r in report.steps for o in r.outcomes] == ["would-send"] * 4
    # The next real run opens the cycle on its own day.
    run(project, d("2026-12-11"))
    with project.workspace(d("2026-12-11")) as ws:
        assert resolve(ws, None, d("2026-12-11")).due == d("2026-12-18")


def test_too_late_says_why(project: Project) -> None:
    project.write_responses([])
    report, sent = run(project, d("2026-12-14"))
    assert sent == set()
    assert any("too late" in n and "2027-01-04" in n for n in report.notes), report.notes


def test_a_weekend_tick_says_when_catching_up_resumes(project: Project) -> None:
    report, sent = run(project, d("2026-12-12"))
    assert sent == set()
    assert "2026-12-12 is not a school day (calendar): nothing is sent before 2026-12-14" in (
        report.notes
    )


# --- pdmail send by hand after the due date --------------------------------------------------


@pytest.mark.parametrize("today", ["2026-12-08", "2026-12-09", "2026-12-31", "2027-01-03"])
def test_send_after_the_due_date_asks_for_late(project: Project, today: str) -> None:
    result = run_cli(project, "send", "--cycle", "2026-12", today=today)
    assert result.exit_code == 2, result.output
    assert "due Tuesday, December 8 (2026-12-08)" in result.stderr
    assert "--late" in result.stderr and "nothing was sent" in result.stderr
    assert ledger_entries(project) == [] and not project.outbox.exists()
    dry = run_cli(project, "send", "--cycle", "2026-12", "--dry-run", today=today)
    assert dry.exit_code == 2


@pytest.mark.parametrize(
    ("today", "due_text"),
    [
        ("2026-12-01", "Tuesday, December 8"),  # on time
        ("2026-12-07", "Tuesday, December 8"),  # late, but before the due date: as planned
        ("2026-12-08", "Tuesday, December 15"),
        ("2026-12-10", "Thursday, December 17"),
        ("2026-12-16", "Monday, January 4"),  # 12-23 is in the break
    ],
)
def test_send_late_counts_the_due_date_from_today(
    project: Project, today: str, due_text: str
) -> None:
    result = run_cli(project, "send", "--late", today=today)
    assert result.exit_code == 0, result.output
    assert sorted(project.sent_to("request")) == sorted(r[0] for r in ROSTER_ROWS[:4])
    for who in ALL:
        assert f"answer by {due_text}" in _request_text(project, "2026-12", who)


def test_send_late_opens_the_cycle_and_the_tick_follows_it(project: Project) -> None:
    project.write_responses([])
    result = run_cli(project, "send", "--late", today="2026-12-10")
    assert result.exit_code == 0, result.output
    assert "went out late, on 2026-12-10" in result.stdout
    # The tick carries on from the late calendar: reminder 1 on 12-14, none on 12-11..12-13.
    for day in days(d("2026-12-11"), d("2026-12-13")):
        assert run(project, day)[1] == set()
    assert run(project, d("2026-12-14"))[1] == kinds("2026-12", "reminder-1", ALL)


def test_send_late_to_a_new_teacher_keeps_the_cycles_days(project: Project) -> None:
    project.write_responses([])
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    project.write_roster([*ROSTER_ROWS, ["new@school.example.org", "Nia", "New", "Grade 6", "y"]])
    refused = run_cli(project, "send", today="2026-12-10")
    assert refused.exit_code == 2
    assert "keep their days" in refused.stderr
    result = run_cli(project, "send", "--late", today="2026-12-10")
    assert result.exit_code == 0, result.output
    assert project.sent_to("request").count("new@school.example.org") == 1
    assert "answer by Thursday, December 17" in _request_text(project, "2026-12", "new")
    assert "answer by Tuesday, December 8" in _request_text(project, "2026-12", "ann")
    with project.workspace(d("2026-12-10")) as ws:
        c = resolve(ws, None, d("2026-12-10"))
    assert (c.due, c.digest, c.late) == (d("2026-12-08"), d("2026-12-11"), False)


def test_the_late_calendar_is_pure(project: Project) -> None:
    config = project.config()
    planned = cycles.cycle(config, "2026-12")
    assert cycles.as_opened(config, planned, None) == planned
    assert cycles.as_opened(config, planned, d("2026-12-07")) == planned  # before due: on time
    late = cycles.as_opened(config, planned, d("2026-12-08"))
    assert (late.send, late.due, late.planned_send, late.late) == (
        d("2026-12-08"),
        d("2026-12-15"),
        d("2026-12-01"),
        True,
    )
    # The window stays the planned one, so consecutive windows still meet.
    assert (late.opens, late.closes) == (planned.opens, planned.closes)
    # Counting a late cycle again keeps the calendar's own send day.
    again = cycles.counted_from(config, late, d("2026-12-10"))
    assert again.planned_send == d("2026-12-01")


def test_a_teacher_added_after_the_due_date_is_named_with_the_way_to_reach_them(
    project: Project,
) -> None:
    project.write_responses([])
    run(project, d("2026-12-01"))
    project.write_roster([*ROSTER_ROWS, ["new@school.example.org", "Nia", "New", "Grade 6", "y"]])
    report, sent = run(project, d("2026-12-10"))
    assert not any("request" in s for s in sent)
    assert any(
        "1 active teacher on the roster never got the request" in n and "--late" in n
        for n in report.notes
    ), report.notes


def test_templates_can_tell_a_late_request(project: Project) -> None:
    folder = project.folder / "templates"
    folder.mkdir()
    from pdmail.resources import builtin_templates

    for t in builtin_templates().glob("*.j2"):
        (folder / t.name).write_bytes(t.read_bytes())
    text = (folder / "request.txt.j2").read_text(encoding="utf-8")
    (folder / "request.txt.j2").write_text(
        "{% if cycle.late %}Sorry, this comes late (planned {{ cycle.planned_send }}).{% endif %}\n"
        + text,
        encoding="utf-8",
    )
    project.write_config({"templates": "templates"})
    project.write_responses([])
    run(project, d("2026-12-10"))
    assert "Sorry, this comes late (planned 2026-12-01)." in _request_text(
        project, "2026-12", "ann"
    )
    run(project, d("2027-01-04"))
    assert "Sorry" not in _request_text(project, "2027-01", "ann")


@pytest.mark.parametrize(
    ("ticked", "today", "status", "says"),
    [
        ([], "2026-12-10", "warn", "no request went out by the due date"),
        ([], "2026-12-14", "warn", "too late"),
        (["2026-12-10"], "2026-12-15", "ok", "sent late; the calendar said 2026-12-01"),
        (["2026-12-01"], "2026-12-10", "ok", "due 2026-12-08"),
    ],
)
def test_doctor_tells_of_a_late_month(
    project: Project, ticked: list[str], today: str, status: str, says: str
) -> None:
    from pdmail.doctor import diagnose

    project.write_responses([])
    for day in ticked:
        run(project, d(day))
    checks = [c for c in diagnose(project.config_path, today=d(today)) if c.name == "calendar"]
    assert [c.status for c in checks] == [status]
    assert says in checks[0].detail
    if status == "warn" and "due date" in says:
        assert "send --late" in checks[0].fix


def test_a_request_the_server_refused_before_the_machine_went_off_is_named(
    project: Project,
) -> None:
    from test_delivery import OutboxWrapper, workspace

    from pdmail.cycle.tick import tick
    from pdmail.errors import DeliveryError

    project.write_responses([])
    refusing = OutboxWrapper(
        project.outbox, fail={"raj@school.example.org": DeliveryError("550 no", definite=True)}
    )
    with workspace(project, d("2026-12-01"), refusing) as ws:
        tick(ws, d("2026-12-01"))
    report, sent = run(project, d("2026-12-10"))
    assert not any("request" in s for s in sent)
    assert any("1 active teacher on the roster never got the request" in n for n in report.notes)


def test_pdmail_run_after_a_week_off_on_the_command_line(project: Project) -> None:
    project.write_responses([])
    back = run_cli(project, "run", today="2026-12-10")
    assert back.exit_code == 0, back.output
    out = " ".join(back.stdout.split())
    assert "the requests went out late, on 2026-12-10 (the calendar said 2026-12-01)" in out
    assert "now due Thursday, December 17 (2026-12-17)" in out
    assert len(project.sent_to("request")) == 4
    sent_by_day = {}
    for day in days(d("2026-12-11"), d("2027-01-04")):
        result = run_cli(project, "run", today=day.isoformat())
        assert result.exit_code == 0, (day, result.output)
        sent_by_day[day] = len(project.sent())
    assert sent_by_day[d("2026-12-13")] == 4  # nothing before Monday's reminder
    assert sent_by_day[d("2026-12-14")] == 8
    assert sent_by_day[d("2026-12-18")] == 12
    assert sent_by_day[d("2027-01-01")] == 12  # the break
    assert sent_by_day[d("2027-01-04")] == 12 + 1 + 4  # December's digest, January's requests


@pytest.mark.parametrize(
    ("today", "due_text"),
    [("2026-12-07", "Tuesday, December 8"), ("2026-12-10", "Thursday, December 17")],
)
def test_preview_shows_the_request_as_it_would_go_today(
    project: Project, today: str, due_text: str
) -> None:
    result = run_cli(project, "preview", today=today)
    assert result.exit_code == 0, result.output
    assert f"answer by {due_text}" in " ".join(result.stdout.split())
    assert ledger_entries(project) == []
