"""A missing or stale export is not "nobody answered": once a cycle's requests went out, the
steps that act on who has not answered refuse, name the file and say what to do; requests never
need an export.

An export is stale when its modification time is before the cycle's first sent request (both
absolute instants: the file system's clock against the ledger's, whatever the time zone).
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import Project, answer, ledger_entries, run_cli

from pdmail import cycles
from pdmail.cli.commands import main
from pdmail.cycle.freshness import answers_problem, requests_went_out
from pdmail.cycle.steps import send_reminders, send_requests
from pdmail.doctor import FAIL, diagnose
from pdmail.errors import InputError
from pdmail.models import Table
from pdmail.workspace import Workspace

CHICAGO = ZoneInfo("America/Chicago")
SEND = date(2026, 12, 1)
BEFORE_SEND = datetime(2026, 11, 30, 16, 0, tzinfo=CHICAGO)
AFTER_SEND = datetime(2026, 12, 2, 0, 0, tzinfo=CHICAGO)  # after any time of day on 12-01


def save_export(
    project: Project, saved: datetime | None, rows: list[list[str]] | None = None
) -> None:
    """The export with ``rows``, its modification time ``saved`` (None: no export at all)."""
    if saved is None:
        project.responses_path.unlink(missing_ok=True)
        return
    project.write_responses(rows or [], saved=saved)


def outbox_kinds(project: Project) -> list[str]:
    return sorted({p.name.split("-")[0] for p in project.outbox.rglob("*.eml")})


def kinds_recorded(project: Project) -> set[str]:
    return {e.key.kind for e in ledger_entries(project)}


# --- the commands refuse, name the file, send nothing ----------------------------------------

EXPORTS = [
    pytest.param(None, "the responses export is not there", id="missing"),
    pytest.param(BEFORE_SEND, "saved 2026-11-30 at 16:00", id="saved the day before"),
]

COMMANDS = [
    # (command line, day, what the refusal adds)
    pytest.param(("remind",), "2026-12-07", "no reminder was sent", id="remind"),
    pytest.param(("run",), "2026-12-07", "no reminder was sent", id="run on a reminder day"),
    pytest.param(("run",), "2026-12-11", "no digest was made", id="run on the digest day"),
    pytest.param(("digest", "--send"), "2026-12-11", "no digest was made", id="digest --send"),
    pytest.param(("digest",), "2026-12-11", "no digest was made", id="digest"),
    pytest.param(("collect",), "2026-12-07", "nothing is listed", id="collect"),
]


@pytest.mark.parametrize(("saved", "says"), EXPORTS)
@pytest.mark.parametrize(("argv", "today", "refused"), COMMANDS)
def test_a_missing_or_stale_export_is_refused(
    project: Project,
    saved: datetime | None,
    says: str,
    argv: tuple[str, ...],
    today: str,
    refused: str,
) -> None:
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0  # no export needed
    save_export(project, saved)
    before = sorted((e.key.kind, e.key.recipient, e.state.value) for e in ledger_entries(project))
    files = sorted(p.relative_to(project.folder) for p in project.folder.rglob("*") if p.is_file())

    result = run_cli(project, *argv, today=today)

    assert result.exit_code == 3, result.output
    err = " ".join(result.stderr.split())
    assert f"{project.responses_path}: {says}" in err
    assert "the 2026-12 requests went out on 2026-12-01" in err
    assert refused in err
    assert "Download responses" in err and "sources.responses" in err
    after = sorted((e.key.kind, e.key.recipient, e.state.value) for e in ledger_entries(project))
    assert after == before
    assert outbox_kinds(project) == ["request"]
    assert not (project.folder / "digest").exists()
    now = sorted(p.relative_to(project.folder) for p in project.folder.rglob("*") if p.is_file())
    assert [p for p in now if p not in files and "ledger" not in str(p)] == []


def test_a_misnamed_export_reminds_nobody(project: Project) -> None:
    """The case that started it: the export saved under another name than the config says."""
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    project.write_responses([answer("ann@school.example.org", "12/2/2026 9:00:00")])
    project.responses_path.rename(project.folder / "Monthly check-in (Responses).csv")
    result = run_cli(project, "remind", today="2026-12-07")
    assert result.exit_code == 3
    assert "responses.csv: the responses export is not there" in result.stderr
    assert project.sent_to("reminder-1") == []


@pytest.mark.parametrize(
    ("saved", "reminded"),
    [
        pytest.param(AFTER_SEND, ["maria", "raj", "sam"], id="fresh: the three who did not answer"),
        pytest.param(datetime(2031, 5, 1, tzinfo=timezone.utc), ["maria", "raj", "sam"],
                     id="saved later than the rehearsed day"),
    ],
)  # fmt: skip
def test_a_fresh_export_lets_the_reminders_go(
    project: Project, saved: datetime, reminded: list[str]
) -> None:
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    save_export(project, saved, [answer("ann@school.example.org", "12/2/2026 9:00:00")])
    result = run_cli(project, "remind", today="2026-12-07")
    assert result.exit_code == 0, result.output
    assert sorted(a.split("@")[0] for a in project.sent_to("reminder-1")) == reminded


def test_a_header_only_export_saved_after_the_requests_means_nobody_answered(
    project: Project,
) -> None:
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    save_export(project, AFTER_SEND, [])
    result = run_cli(project, "remind", today="2026-12-07")
    assert result.exit_code == 0, result.output
    assert len(project.sent_to("reminder-1")) == 4


@pytest.mark.parametrize("command", ["send", "run"])
@pytest.mark.parametrize("saved", [None, BEFORE_SEND], ids=["missing", "stale"])
def test_requests_never_need_an_export(
    project: Project, saved: datetime | None, command: str
) -> None:
    """The first month has no export; an old one is last month's: requests go all the same."""
    save_export(project, saved)
    result = run_cli(project, command, today="2026-12-01")
    assert result.exit_code == 0, result.output
    assert len(project.sent_to("request")) == 4


def test_before_any_request_nothing_is_checked(project: Project) -> None:
    # No request sent: collect, remind and doctor have nothing to refuse.
    assert run_cli(project, "collect", today="2026-12-07").exit_code == 0
    remind = run_cli(project, "remind", today="2026-12-07")
    assert remind.exit_code == 0, remind.output
    assert project.sent_to("reminder-1") == []


# --- the exact moment, in any time zone -----------------------------------------------------


@pytest.mark.parametrize("zone", ["America/Chicago", "Pacific/Auckland", "Asia/Kolkata", "UTC"])
@pytest.mark.parametrize(
    ("offset", "stale"),
    [
        (timedelta(seconds=-60), True),
        (timedelta(days=-3), True),
        (timedelta(0), False),  # saved the moment the first request was recorded
        (timedelta(seconds=60), False),
        (timedelta(days=5), False),
    ],
)
def test_stale_means_saved_before_the_first_sent_request(
    project: Project, zone: str, offset: timedelta, stale: bool
) -> None:
    project.write_config({"timezone": zone})
    tz = ZoneInfo(zone)
    cycle = cycles.cycle(project.config(), "2026-12")
    with project.workspace(SEND, time(9, 15)) as ws:
        send_requests(ws, cycle)
        went_out = requests_went_out(ws.config, ws.ledger, cycle)
    assert went_out == datetime(2026, 12, 1, 9, 15, tzinfo=tz)
    project.write_responses([], saved=went_out + offset)
    with project.workspace(date(2026, 12, 7)) as ws:
        problem = answers_problem(ws.config, ws.ledger, ws.source, cycle)
        assert (problem is not None) is stale
        if stale:
            with pytest.raises(InputError):
                send_reminders(ws, cycle, date(2026, 12, 7))
        else:
            assert send_reminders(ws, cycle, date(2026, 12, 7)).count("sent") == 4


def test_the_first_sent_request_counts_not_a_failed_one(project: Project) -> None:
    """A request claimed but refused by the server is not one that went out."""
    cycle = cycles.cycle(project.config(), "2026-12")
    with project.workspace(SEND, time(8, 0)) as ws:
        send_requests(ws, cycle, only=["ann@school.example.org"])
    with project.workspace(SEND, time(10, 0)) as ws:
        send_requests(ws, cycle)
        went_out = requests_went_out(ws.config, ws.ledger, cycle)
        assert went_out == datetime(2026, 12, 1, 8, 0, tzinfo=CHICAGO)


# --- doctor; a live source (a Sheet) has no file time -----------------------------------------


@pytest.mark.parametrize(("saved", "says"), EXPORTS)
def test_doctor_fails_the_responses_check(
    project: Project, saved: datetime | None, says: str
) -> None:
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    save_export(project, saved)
    checks = [c for c in diagnose(project.config_path, today=date(2026, 12, 7)) if
              c.name == "responses"]  # fmt: skip
    assert [c.status for c in checks] == [FAIL]
    assert says in checks[0].detail and "Download responses" in checks[0].fix
    result = CliRunner().invoke(
        main, ["doctor", "--no-connect", "--config", str(project.config_path), "--today",
               "2026-12-07"]
    )  # fmt: skip
    assert result.exit_code == 1
    assert "[FAIL] responses:" in result.output


class LiveSource:
    """A source without a file time, as a Sheet the Form writes to (or a script's own)."""

    def __init__(self, roster: Table, responses: Table | None) -> None:
        self.roster, self.responses = roster, responses

    def read_roster(self) -> Table:
        return self.roster

    def read_responses(self) -> Table | None:
        return self.responses


@pytest.mark.parametrize("empty", [True, False])
def test_a_live_source_is_only_checked_for_being_there(project: Project, empty: bool) -> None:
    from pdmail.sources.tables import read_table

    roster = read_table(project.folder / "roster.csv")
    project.write_responses([], saved=BEFORE_SEND)  # a file time a live source never has
    responses = None if empty else read_table(project.responses_path)
    config = project.config()
    cycle = cycles.cycle(config, "2026-12")

    def workspace(day: date) -> Workspace:
        clock = datetime.combine(day, time(7, 30), CHICAGO)
        return Workspace(config, source=LiveSource(roster, responses), clock=lambda: clock)

    with workspace(SEND) as ws:
        send_requests(ws, cycle)
    with workspace(date(2026, 12, 7)) as ws:
        if empty:
            with pytest.raises(InputError) as exc:
                send_reminders(ws, cycle, date(2026, 12, 7))
            assert "the responses source: no responses there" in exc.value.message
        else:
            assert send_reminders(ws, cycle, date(2026, 12, 7)).count("sent") == 4


# --- the demo's export is fresh whatever --today says ------------------------------------------


@pytest.mark.parametrize("today", ["2031-03-02", "2026-12-01"])
def test_the_demo_plays_a_whole_month_in_the_future_too(tmp_path: Path, today: str) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", str(folder), "--today", today])
    assert result.exit_code == 0, result.output
    name = today[:7]
    assert (folder / "digest" / name / "digest.html").exists()
    assert f"{name} reminder-1:" in result.output and f"{name} digest:" in result.output
    saved = os.stat(folder / "responses.csv").st_mtime
    assert datetime.fromtimestamp(saved, timezone.utc).date() > date.fromisoformat(today)


@pytest.mark.parametrize(("saved", "says"), EXPORTS)
def test_status_shows_but_warns(project: Project, saved: datetime | None, says: str) -> None:
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    save_export(project, saved)
    result = run_cli(project, "status", today="2026-12-07")
    assert result.exit_code == 0, result.output
    assert says in result.stderr and "cannot be trusted" in result.stderr
    save_export(project, AFTER_SEND)
    assert "Warning" not in run_cli(project, "status", today="2026-12-07").stderr


def test_a_folder_in_place_of_the_export_is_named_as_such(project: Project) -> None:
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    project.responses_path.mkdir()
    result = run_cli(project, "remind", today="2026-12-07")
    assert result.exit_code == 3
    assert f"{project.responses_path}: a folder, not a responses export" in result.stderr
    assert project.sent_to("reminder-1") == []


def test_a_future_rehearsal_is_told_how_to_date_the_export(project: Project) -> None:
    """Requests rehearsed in the future, an export saved now: the hint gives the touch line."""
    assert run_cli(project, "send", today="2040-12-03").exit_code == 0
    project.write_responses([], saved=datetime.now(timezone.utc))
    result = run_cli(project, "remind", today="2040-12-10")
    assert result.exit_code == 3
    hint = " ".join(result.stderr.split())
    assert "rehearsing with --today" in hint and "touch -d '2040-12-03T" in hint
    line = hint[hint.index("touch -d '") + len("touch -d '") :].split("'")[0]
    os.utime(project.responses_path, (datetime.fromisoformat(line).timestamp(),) * 2)
    again = run_cli(project, "remind", today="2040-12-10")
    assert again.exit_code == 0, again.output
    assert len(project.sent_to("reminder-1")) == 4
