"""A report that cannot be written after messages went out never hides what was sent.

The status, needs and digest tables (Sheets tabs or CSV files) and the digest files are views
of what pdmail did. When one cannot be written, the command still prints its send report,
then the error with its hint, and exits with the error's code; the tick goes on with what is
still due (the digest still goes out). Everything runs against real components: the loopback
Sheets and Gmail servers with the real clients, the outbox folder, CSV files on disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import (
    RESPONSE_HEADER,
    ROSTER_HEADER,
    ROSTER_ROWS,
    Project,
    answer,
    ledger_entries,
    run_cli,
)
from fakes.gmail_server import FakeGmail
from fakes.sheets_server import FakeSheets

from pdmail.backends import transport
from pdmail.backends.google.auth import GMAIL_SCOPE, SHEETS_SCOPE, write_private
from pdmail.config.load import GOOGLE_ENDPOINT_ENV
from pdmail.cycle.tick import tick
from pdmail.errors import BackendError, InternalError
from pdmail.models import State
from pdmail.workspace import Workspace

SID = "1pdmailReportSheet_0123456789abcdefghijklmnopq"
ACTIVE = sorted(row[0] for row in ROSTER_ROWS if row[4] != "no")
STATUS_WRITE = "POST /v4/spreadsheets/" + SID + "/values:batchUpdate"


@pytest.fixture(autouse=True)
def _no_endpoint_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GOOGLE_ENDPOINT_ENV, raising=False)
    # The commands build their own retry policy: its backoff waits no time here.
    monkeypatch.setattr(transport, "random", SimpleNamespace(uniform=lambda a, b: 0.0))


def _write_token(path: Path, scopes: list[str]) -> None:
    info = {
        "token": "t",
        "refresh_token": "r",
        "client_id": "c",
        "client_secret": "s",
        "token_uri": "https://oauth2.googleapis.com/token",
        "scopes": scopes,
        "expiry": "2999-01-01T00:00:00Z",
    }
    write_private(path, json.dumps(info))


@pytest.fixture
def sheets(project: Project) -> Iterator[FakeSheets]:
    """The roster in a Sheet, mail in the outbox folder."""
    with FakeSheets() as fake:
        fake.add_spreadsheet(
            SID,
            "Library",
            tabs={"Roster": [ROSTER_HEADER, *ROSTER_ROWS], "Form Responses 1": [RESPONSE_HEADER]},
        )
        _write_token(project.folder / "token.json", [SHEETS_SCOPE])
        project.write_config(
            {
                "sources": {"kind": "google", "roster": None, "responses": None},
                "google": {
                    "spreadsheet_id": SID,
                    "token_file": "token.json",
                    "endpoints": {"sheets": fake.base_url},
                },
            }
        )
        yield fake
        fake.clear_faults()
        assert fake.errors == []


def _answers_saved(project: Project, rows: list[list[str]], day: date) -> None:
    """Save the responses export as if downloaded on ``day`` (after the requests went out)."""
    project.write_responses(rows)
    stamp = datetime.combine(day, time(12, 0)).timestamp()
    os.utime(project.responses_path, (stamp, stamp))


def _after(output: str, first: str, then: str) -> bool:
    return first in output and then in output and output.index(first) < output.index(then)


# -- the status tab, after the requests went out -----------------------------------------------


@pytest.mark.parametrize(
    ("status", "says"),
    [(500, "500 INTERNAL"), (503, "503 UNAVAILABLE"), (403, "403 PERMISSION_DENIED")],
)
def test_a_status_tab_that_cannot_be_written_still_shows_what_was_sent(
    project: Project, sheets: FakeSheets, status: int, says: str
) -> None:
    # Every try fails (a 5xx is retried, a 403 is not): the requests are out all the same.
    sheets.fail_next(status, count=50, match=STATUS_WRITE)

    result = run_cli(project, "run", today="2026-12-01")

    assert result.exit_code == BackendError.exit_code, result.output
    assert sorted(project.sent_to("request")) == ACTIVE
    assert {e.state for e in ledger_entries(project)} == {State.SENT}
    assert "Sent 4 requests for 2026-12." in result.stdout
    assert "wrote sheet tab" not in result.output
    error = next(line for line in result.stderr.splitlines() if line.startswith("Error: "))
    assert "Google Sheets API" in error and says in error
    assert "writing the tab 'pdmail status'" in error
    # The report first, then the error: nothing scrolls the record of what was sent away.
    assert _after(result.output, "Sent 4 requests", "Error: Google Sheets API")


def test_the_tick_returns_the_report_with_the_write_error_attached(
    project: Project, sheets: FakeSheets
) -> None:
    sheets.fail_next(403, match=STATUS_WRITE)

    with project.workspace(date(2026, 12, 1)) as ws:
        report = tick(ws, date(2026, 12, 1))

    assert report.sent == 4 and not report.ok
    assert report.files == []
    (error,) = report.errors
    assert isinstance(error, BackendError) and "403" in error.message


def test_run_json_carries_the_error_with_its_exit_code(
    project: Project, sheets: FakeSheets
) -> None:
    sheets.fail_next(403, match=STATUS_WRITE)

    result = run_cli(project, "run", "--json", today="2026-12-01")

    assert result.exit_code == 5
    data = json.loads(result.stdout)
    assert sum(o["result"] == "sent" for _, step in data["steps"] for o in step["outcomes"]) == 4
    (error,) = data["errors"]
    assert error["exit_code"] == 5 and "403" in error["error"]
    assert "share the spreadsheet" in error["hint"]


def test_a_second_run_the_same_day_sends_nothing_and_writes_the_tab(
    project: Project, sheets: FakeSheets
) -> None:
    sheets.fail_next(500, count=50, match=STATUS_WRITE)
    assert run_cli(project, "run", today="2026-12-01").exit_code == 5
    sheets.clear_faults()

    again = run_cli(project, "run", today="2026-12-01")

    assert again.exit_code == 0, again.output
    assert sorted(project.sent_to("request")) == ACTIVE  # still one each
    assert [row[0] for row in sheets.values(SID, "pdmail status")[1:]] == [
        r[0] for r in ROSTER_ROWS
    ]


# -- Gmail and Sheets together -------------------------------------------------------------


def test_gmail_sends_then_the_status_tab_fails(project: Project, sheets: FakeSheets) -> None:
    with FakeGmail() as gmail:
        _write_token(project.folder / "token.json", [SHEETS_SCOPE, GMAIL_SCOPE])
        project.write_config(
            {
                "sources": {"kind": "google", "roster": None, "responses": None},
                "mail": {"kind": "gmail", "per_minute": 0},
                "google": {
                    "spreadsheet_id": SID,
                    "token_file": "token.json",
                    "endpoints": {"sheets": sheets.base_url, "gmail": gmail.base_url},
                },
            }
        )
        sheets.fail_next(503, count=50, match=STATUS_WRITE)

        result = run_cli(project, "run", today="2026-12-01")

        assert result.exit_code == 5, result.output
        assert len(gmail.stored) == 4
        assert "Sent 4 requests for 2026-12." in result.stdout
        assert "503" in result.stderr and "writing the tab 'pdmail status'" in result.stderr


# -- the digest day: needs and digest tabs ---------------------------------------------------


def _answered(project: Project, sheets: FakeSheets) -> None:
    assert run_cli(project, "run", today="2026-12-01").exit_code == 0
    sheets.set_values(
        SID,
        "Form Responses 1",
        [RESPONSE_HEADER, answer(ACTIVE[0], "12/2/2026 8:14:22")],
    )


@pytest.mark.parametrize("tab", ["pdmail needs", "pdmail digest"])
def test_a_failing_needs_or_digest_tab_does_not_stop_the_digest_mail(
    project: Project, sheets: FakeSheets, tab: str
) -> None:
    _answered(project, sheets)

    def write_to(line: str) -> bool:
        return line == STATUS_WRITE and tab in json.dumps(
            sheets.requests[-1].body, ensure_ascii=False
        )

    sheets.fail_next(403, match=write_to)

    result = run_cli(project, "run", today="2026-12-11")

    assert result.exit_code == 5, result.output
    assert project.sent_to("digest") == ["librarian@school.example.org"]
    assert "wrote sheet tab 'pdmail status'" in result.stdout  # the tick went on
    assert f"writing the tab '{tab}'" in result.stderr
    assert _after(result.output, "2026-12 digest", "Error: ")


def test_digest_send_mails_even_when_its_tab_cannot_be_written(
    project: Project, sheets: FakeSheets
) -> None:
    _answered(project, sheets)
    sheets.fail_next(
        500,
        count=50,
        match=lambda line: (
            line == STATUS_WRITE and "pdmail digest" in json.dumps(sheets.requests[-1].body)
        ),
    )

    result = run_cli(project, "digest", "--send", "--cycle", "2026-12", today="2026-12-11")

    assert result.exit_code == 5, result.output
    assert project.sent_to("digest") == ["librarian@school.example.org"]
    assert "Sent 1 digest for 2026-12." in result.stdout
    assert "digest.html" in result.stdout  # the files were written
    assert _after(result.output, "Sent 1 digest", "Error: Google Sheets API")


# -- local CSV reports -----------------------------------------------------------------------


def _block(path: Path) -> None:
    """Make ``path`` impossible to write as a file: a folder stands where it should be."""
    path.mkdir(parents=True)
    (path / "keep").write_text("x")


@pytest.mark.parametrize(
    ("day", "blocked", "sent_kind"),
    [
        ("2026-12-01", ".pdmail/status.csv", "request"),
        ("2026-12-11", ".pdmail/status.csv", "digest"),
        ("2026-12-11", ".pdmail/digest.csv", "digest"),
        ("2026-12-11", "digest/2026-12/digest.html", "digest"),
        ("2026-12-11", "blocker/needs.csv", "digest"),
    ],
)
def test_a_csv_report_that_cannot_be_written_is_reported_after_the_sends(
    project: Project, day: str, blocked: str, sent_kind: str
) -> None:
    target = project.folder / blocked
    if blocked.startswith("blocker/"):
        # A needs file whose folder is a file: nothing to read, and no way to write it.
        project.write_config({"digest": {"needs_file": blocked}})
        (project.folder / "blocker").write_text("a file where a folder should be")
    else:
        _block(target)
    if sent_kind == "digest":
        first = run_cli(project, "run", today="2026-12-01")
        assert first.exit_code == (5 if target.name == "status.csv" else 0), first.output
        _answers_saved(project, [answer(ACTIVE[0], "12/2/2026 8:14:22")], date(2026, 12, 10))

    result = run_cli(project, "run", today=day)

    assert result.exit_code == 5, result.output
    assert project.sent_to(sent_kind)
    assert "cannot write" in result.stderr and target.name in result.stderr
    first_sent = "Sent 4 requests" if sent_kind == "request" else "Sent 1 digest"
    assert _after(result.output, first_sent, "Error: ")


# -- a step that fails after an earlier one sent -------------------------------------------------


def test_a_later_step_that_fails_keeps_the_earlier_steps_report(project: Project) -> None:
    # January 4: December's digest is due, then January's requests, whose template is broken.
    assert run_cli(project, "run", today="2026-12-01").exit_code == 0
    _answers_saved(project, [answer(ACTIVE[0], "12/2/2026 8:14:22")], date(2027, 1, 3))
    folder = project.folder / "templates"
    folder.mkdir()
    (folder / "request.txt.j2").write_text("Hello {{ teacher.nickname }}\n", encoding="utf-8")
    project.write_config({"templates": "templates"})

    result = run_cli(project, "run", today="2027-01-04")

    assert project.sent_to("digest") == ["librarian@school.example.org"]
    assert result.exit_code == 4, result.output  # a template error's code
    assert "2026-12 digest" in result.stdout and "Sent 1 digest" in result.stdout
    assert "nickname" in result.stderr
    assert not list((project.outbox / "2027-01").glob("request-*.eml"))


def test_a_tick_that_fails_before_doing_anything_still_raises(project: Project) -> None:
    (project.folder / "roster.csv").unlink()
    result = run_cli(project, "run", today="2026-12-01")
    assert result.exit_code == 3 and "roster.csv" in result.stderr


class _BrokenSink:
    """A script's own report sink with a bug in it."""

    def write_table(self, name: str, header: object, rows: object) -> str:
        raise RuntimeError("the sink broke")

    def read_table(self, name: str) -> None:
        return None


def test_a_bug_after_the_sends_is_kept_on_the_report_as_an_internal_error(
    project: Project,
) -> None:
    config = project.config()
    clock = lambda: datetime.combine(date(2026, 12, 1), time(7, 30), config.timezone)  # noqa: E731
    with Workspace(config, sink=_BrokenSink(), clock=clock) as ws:  # type: ignore[arg-type]
        report = tick(ws, date(2026, 12, 1))

    assert report.sent == 4 and sorted(project.sent_to("request")) == ACTIVE
    (error,) = report.errors
    assert isinstance(error, InternalError) and error.exit_code == 70
    assert isinstance(error.__cause__, RuntimeError) and "the sink broke" in error.message
