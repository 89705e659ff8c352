"""A date order no date in the column settles, settled by when answers can exist.

With ``form.date_order: auto`` a US export from the first days of a month (``12/3/2026``) or a
UK one (``03/12/2026``) holds no date that can only be read one way. An answer cannot come
from the future, nor from before the campaign's first request: when one reading puts some
answer there and the other reading puts none there, the other reading is the export's, and
pdmail says how it decided. When the rows point both ways, or nowhere, it still refuses.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime, time

import pytest
from conftest import ANN, RAJ, Project, answer, run_cli

from pdmail import cycles
from pdmail.cycle.steps import send_requests
from pdmail.errors import InputError
from pdmail.sources.responses import Collection


def send_on(project: Project, day: date) -> None:
    with project.workspace(day) as ws:
        cycle = cycles.cycle(ws.config, cycles.current_name(ws.config, day))
        assert send_requests(ws, cycle).count("sent") == 4


def saved(project: Project, rows: Sequence[list[str]], day: date) -> None:
    """The export with ``rows``, saved at noon on ``day``, school time."""
    project.write_responses(rows)
    stamp = datetime.combine(day, time(12), project.config().timezone).timestamp()
    os.utime(project.responses_path, (stamp, stamp))


def collect(project: Project, today: date) -> Collection:
    with project.workspace(today) as ws:
        return ws.collect(cycles.cycle(ws.config, cycles.current_name(ws.config, today)))


@pytest.mark.parametrize(
    ("sent", "stamps", "today", "read", "order"),
    [
        # The first month: read day first, 12/3 would be 12 March, before any request.
        pytest.param([date(2026, 12, 1)], ["12/2/2026 9:00", "12/3/2026 16:40"],
                     date(2026, 12, 7), [date(2026, 12, 2), date(2026, 12, 3)],
                     "month first", id="US, first month"),
        pytest.param([date(2026, 12, 1)], ["02/12/2026 9:00", "03/12/2026 16:40"],
                     date(2026, 12, 7), [date(2026, 12, 2), date(2026, 12, 3)],
                     "day first", id="UK, first month"),
        pytest.param([date(2026, 12, 1)], ["3.12.26 9:00"], date(2026, 12, 7),
                     [date(2026, 12, 3)], "day first", id="dots, two-digit year"),
        # A later month: the other reading would be in the future.
        pytest.param([date(2026, 12, 1), date(2027, 1, 4)], ["1/5/2027 9:00"],
                     date(2027, 1, 8), [date(2027, 1, 5)], "month first", id="US, future"),
        pytest.param([date(2026, 12, 1), date(2027, 1, 4)], ["05/01/2027 9:00"],
                     date(2027, 1, 8), [date(2027, 1, 5)], "day first", id="UK, future"),
    ],
)  # fmt: skip
def test_when_answers_can_exist_settles_the_order(
    project: Project,
    sent: list[date],
    stamps: list[str],
    today: date,
    read: list[date],
    order: str,
) -> None:
    project.write_config({"form": {"date_order": "auto"}})
    for day in sent:
        send_on(project, day)
    saved(project, [answer(who, s) for who, s in zip((ANN, RAJ), stamps, strict=False)], today)
    c = collect(project, today)
    assert sorted(r.submitted.date() for _, r in c.answered) == read
    [note] = c.notes
    assert f"column 'Timestamp' read {order}" in note
    assert "form.date_order" in note


@pytest.mark.parametrize(
    ("sent", "stamps", "today"),
    [
        # No request went out yet: nothing says when answers could start.
        pytest.param([], ["12/3/2026 9:00"], date(2026, 12, 7), id="no requests yet"),
        # One row rules out each reading (an answer typed in before pdmail ran, 12 November,
        # would be 11 December read day first): the rows point both ways.
        pytest.param([date(2026, 12, 1)], ["11/12/2026 9:00", "12/3/2026 9:00"],
                     date(2026, 12, 15), id="rows point both ways"),
    ],
)  # fmt: skip
def test_without_one_clear_answer_it_still_refuses(
    project: Project, sent: list[date], stamps: list[str], today: date
) -> None:
    project.write_config({"form": {"date_order": "auto"}})
    for day in sent:
        send_on(project, day)
    saved(project, [answer(who, s) for who, s in zip((ANN, RAJ), stamps, strict=False)], today)
    with pytest.raises(InputError) as caught:
        collect(project, today)
    assert "form.date_order" in (caught.value.hint or "")


def test_a_configured_order_is_never_second_guessed(project: Project) -> None:
    # Read month first as configured, 03/12/2026 is 12 March: outside the cycle, no note.
    project.write_config({"form": {"date_order": "month-first"}})
    send_on(project, date(2026, 12, 1))
    saved(project, [answer(ANN, "03/12/2026 9:00")], date(2026, 12, 7))
    c = collect(project, date(2026, 12, 7))
    assert (c.answered, c.notes) == ((), ())


def test_a_month_on_the_default_config_reminds_only_who_has_not_answered(
    project: Project,
) -> None:
    project.write_config({"form": {"date_order": "auto"}})
    assert run_cli(project, "run", today="2026-12-01").exit_code == 0
    saved(project, [answer(ANN, "12/2/2026 9:00"), answer(RAJ, "12/4/2026 9:00")],
          date(2026, 12, 6))  # fmt: skip
    result = run_cli(project, "run", today="2026-12-07")
    assert result.exit_code == 0, result.output
    assert project.sent_to("reminder-1") == ["maria@school.example.org", "sam@school.example.org"]
    collected = run_cli(project, "collect", today="2026-12-07")
    assert "note: " in collected.output and "read month first" in collected.output


def test_an_undecided_answer_from_someone_not_on_the_roster_is_set_aside_not_a_stop(
    project: Project,
) -> None:
    project.write_config({"form": {"date_order": "auto"}})
    # Before any request, a teacher's answer that the order moves in or out of the month
    # decides who is asked: it stops the command.
    saved(project, [answer(ANN, "12/1/2026 7:05")], date(2026, 12, 1))
    with pytest.raises(InputError) as caught:
        collect(project, date(2026, 12, 1))
    assert "form.date_order" in (caught.value.hint or "")
    # The librarian's own try of the form on the send day's morning is set aside and listed.
    saved(project, [answer("librarian@school.example.org", "12/1/2026 7:05")], date(2026, 12, 1))
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code == 0, result.output
    assert len(project.sent_to("request")) == 4
    assert "row 2, column 'Timestamp'" in result.output
    assert "left out until form.date_order says which" in result.output


def test_a_long_lived_workspace_settles_the_order_of_an_export_read_again(
    project: Project,
) -> None:
    # The schedule loop keeps one workspace and reads the inputs again each day: whether an
    # order is in doubt is a property of the export read, not of the first one.
    project.write_config({"form": {"date_order": "auto"}})
    send_on(project, date(2026, 12, 1))
    saved(project, [answer(ANN, "12/14/2026 9:00")], date(2026, 12, 15))  # month first only
    with project.workspace(date(2026, 12, 15)) as ws:
        cycle = cycles.cycle(ws.config, "2026-12")
        assert ws.collect(cycle).notes == ()
        saved(project, [answer(ANN, "12/3/2026 9:00")], date(2026, 12, 15))
        ws.forget_inputs()
        c = ws.collect(cycle)
    assert [r.submitted.date() for _, r in c.answered] == [date(2026, 12, 3)]
    [note] = c.notes
    assert "column 'Timestamp' read month first" in note
