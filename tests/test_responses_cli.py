"""The commands on hard responses: dates that could be read two ways, a name where the address
belongs, a 200 KB answer. Each bad case exits non-zero with the file, row, column and the key
to set; each good one is read, and shown in a form a person can read."""

from __future__ import annotations

import os
from datetime import datetime

import pytest
from conftest import ANN, RAJ, Project, answer, run_cli


def responses(project: Project, rows: list[list[str]]) -> None:
    """Save ``rows`` as the export, as if downloaded on 10 December (after the requests)."""
    project.write_responses(rows)
    saved = datetime(2026, 12, 10, 16, 0).timestamp()
    os.utime(project.responses_path, (saved, saved))


def auto_order(project: Project) -> None:
    project.write_config({"form": {"date_order": "auto"}})


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("european", "form.date_order: 'european' is not one of"),
        ("dd/yyyy", "form.date_order: 'dd/yyyy' is not one of"),
        (3, "form.date_order: '3' is not one of"),
        (["dmy"], "form.date_order: expected text"),
    ],
)
@pytest.mark.parametrize("command", ["collect", "status"])
def test_an_unknown_date_order_is_a_config_error(
    project: Project, value: object, fragment: str, command: str
) -> None:
    project.write_config({"form": {"date_order": value}})
    result = run_cli(project, command, "--cycle", "2026-12", today="2026-12-15")
    assert result.exit_code != 0
    assert fragment in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["collect", "status", "remind", "digest"])
def test_a_guess_that_decides_the_cycle_stops_every_command(project: Project, command: str) -> None:
    auto_order(project)
    responses(project, [answer(ANN, "03/12/2026 9:00:00"), answer(RAJ, "04/12/2026 9:00:00")])
    result = run_cli(project, command, "--cycle", "2026-12", today="2026-12-09")
    assert result.exit_code != 0
    assert "responses.csv, row 2, column 'Timestamp'" in result.output
    assert "'03/12/2026 9:00:00' is 12 March 2026 read month first" in result.output
    assert "3 December 2026 read day first" in result.output
    assert "rows that depend on it: 2, 3" in result.output
    assert "form.date_order" in result.output
    assert project.sent() == []


def test_setting_the_key_the_error_names_settles_it(project: Project) -> None:
    project.write_config({"form": {"date_order": "day-first"}})
    responses(project, [answer(ANN, "03/12/2026 9:00:00"), answer(RAJ, "04/12/2026 9:00:00")])
    result = run_cli(project, "collect", "--cycle", "2026-12", today="2026-12-09")
    assert result.exit_code == 0, result.output
    assert "2 of 4 teachers answered" in result.output or "2 of 4" in result.output


def test_a_column_with_both_orders_stops_collect_naming_both_rows(project: Project) -> None:
    auto_order(project)
    responses(project, [answer(ANN, "25/11/2026 9:00:00"), answer(RAJ, "11/30/2026 9:00:00")])
    result = run_cli(project, "collect", "--cycle", "2026-12", today="2026-12-09")
    assert result.exit_code != 0
    assert "column 'Timestamp': row 2" in result.output
    assert "'25/11/2026 9:00:00'" in result.output and "row 3" in result.output
    assert "Traceback" not in result.output


def test_a_name_in_the_email_column_is_listed_with_who_it_probably_is(project: Project) -> None:
    responses(
        project,
        [answer("Lee, Ann", "12/3/2026 9:00:00"), answer("Raj Patel <RAJ@school.example.org>",
                                                          "12/3/2026 9:05:00")],
    )  # fmt: skip
    collect = run_cli(project, "collect", "--cycle", "2026-12", today="2026-12-09")
    assert collect.exit_code == 0, collect.output
    assert "Raj Patel <raj@school.example.org>" in collect.output  # matched through the name
    unmatched = [line for line in collect.output.splitlines() if "Lee, Ann" in line]
    assert len(unmatched) == 1
    assert "probably Ann Lee <ann@school.example.org>" in unmatched[0]
    assert "waiting   Ann Lee" in collect.output  # never counted as Ann's answer

    status = run_cli(project, "status", "--cycle", "2026-12", today="2026-12-09")
    assert "probably Ann Lee <ann@school.example.org>" in status.output

    digest = run_cli(project, "digest", "--cycle", "2026-12", today="2026-12-11")
    assert digest.exit_code == 0, digest.output
    folder = project.folder / "digest" / "2026-12"
    assert "probably Ann Lee &lt;ann@school.example.org&gt;" in (folder / "digest.html").read_text()
    assert "probably Ann Lee" in (folder / "digest.md").read_text()


def test_a_200_kb_answer_is_read_and_shown_shortened(project: Project) -> None:
    essay = ("Please help with <b>research</b> & citations. " * 5000)[:204_800]
    responses(
        project,
        [answer(ANN, "12/3/2026 9:00:00", units=essay, help_text=essay),
         answer(RAJ, "12/3/2026 9:30:00", help_text="Help with podcasts")],
    )  # fmt: skip
    collect = run_cli(project, "collect", "--cycle", "2026-12", today="2026-12-09")
    assert collect.exit_code == 0, collect.output
    assert "answered  Ann Lee" in collect.output and "answered  Raj Patel" in collect.output
    assert len(collect.output) < 5_000

    digest = run_cli(project, "digest", "--cycle", "2026-12", "--send", today="2026-12-11")
    assert digest.exit_code == 0, digest.output
    folder = project.folder / "digest" / "2026-12"
    html = (folder / "digest.html").read_text()
    markdown = (folder / "digest.md").read_text()
    for text in (html, markdown):
        assert "shortened from 204,800 characters" in text  # Markdown escapes the bracket
        assert len(text) < 60_000
        assert "Help with podcasts" in text
    assert "<b>research</b>" not in html  # still escaped
    [message] = project.sent()
    plain = message.get_body(("plain",))
    assert plain is not None
    body = plain.get_content()
    assert "[shortened from 204,800 characters]" in body
    assert len(body) < 60_000


def test_doctor_fails_the_responses_check_on_an_order_that_decides_the_cycle(
    project: Project,
) -> None:
    auto_order(project)
    responses(project, [answer(ANN, "03/12/2026 9:00:00")])
    result = run_cli(project, "doctor", "--no-connect", today="2026-12-09")
    assert result.exit_code != 0
    assert "'03/12/2026 9:00:00' is 12 March 2026 read month first" in result.output
    assert "form.date_order" in result.output
