"""`pdmail doctor` on a good setup and on broken ones: each problem is named with its fix."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import RESPONSE_HEADER, ROSTER_HEADER, ROSTER_ROWS, Project, write_csv
from fakes.oauth_server import FakeOAuth
from fakes.sheets_server import FakeSheets

from pdmail.backends.google import auth as google_auth
from pdmail.backends.local import LocalSource
from pdmail.cli.commands import main
from pdmail.config.records import Config
from pdmail.doctor import FAIL, OK, SKIP, WARN, Check, diagnose
from pdmail.models import MessageKey
from pdmail.state.ledger import Ledger
from pdmail.workspace import Workspace

TODAY = date(2026, 12, 2)
SHEET = "1doctorSheetIdForTests0123456789abcdefghij"


def _by_name(checks: list[Check]) -> dict[str, list[Check]]:
    out: dict[str, list[Check]] = {}
    for c in checks:
        out.setdefault(c.name, []).append(c)
    return out


def _status(checks: list[Check], name: str) -> set[str]:
    return {c.status for c in _by_name(checks).get(name, [])}


def test_a_good_local_setup_passes_every_check(project: Project) -> None:
    checks = diagnose(project.config_path, today=TODAY)
    assert {c.status for c in checks} == {OK}, [c for c in checks if c.status != OK]
    names = [c.name for c in checks]
    for expected in ("config", "roster", "responses", "calendar", "templates", "mail", "ledger"):
        assert expected in names
    result = CliRunner().invoke(
        main, ["doctor", "--config", str(project.config_path), "--today", "2026-12-02"]
    )
    assert result.exit_code == 0, result.output
    assert "[ok  ] roster:" in result.output and "4 active" in result.output


def test_a_missing_config_is_one_failing_check(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["doctor", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "[FAIL] config:" in result.output and "pdmail init" in result.output


@pytest.mark.parametrize(
    ("change", "name", "says"),
    [
        ("roster-column", "roster", "no column 'Email'"),
        ("template", "templates", "the roster has no field 'nickname'"),
        ("responses-column", "responses", "form.columns.help"),
        # A file where the outbox folder goes is refused with the config, before any check.
        ("outbox", "config", "mail.outbox: "),
    ],
)
def test_broken_local_setups_fail_with_the_place_named(
    project: Project, change: str, name: str, says: str
) -> None:
    if change == "roster-column":
        project.write_roster(header=["Mail", *ROSTER_HEADER[1:]])
    elif change == "template":
        (project.folder / "templates").mkdir()
        (project.folder / "templates" / "request.txt.j2").write_text("Hi {{ teacher.nickname }}")
        project.write_config({"templates": "templates"})
    elif change == "responses-column":
        project.write_responses(
            [["12/2/2026 9:00:00", "ann@school.example.org", "u", "f"]],
            header=[
                "Timestamp",
                "Email Address",
                "What units of study are coming up?",
                "Preferred format",
            ],
        )
    elif change == "outbox":
        (project.folder / "outbox").write_text("a file where the folder should be")
    checks = diagnose(project.config_path, today=TODAY)
    failing = [c for c in checks if c.status == FAIL]
    assert [c.name for c in failing] == [name], failing
    assert says in failing[0].detail
    result = CliRunner().invoke(
        main, ["doctor", "--config", str(project.config_path), "--today", "2026-12-02"]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_skipped_roster_rows_are_warnings_with_a_fix(project: Project) -> None:
    project.write_roster([*ROSTER_ROWS, ["not-an-address", "X", "Y", "Grade 6", "yes"]])
    checks = diagnose(project.config_path, today=TODAY)
    warns = [c for c in checks if c.status == WARN]
    assert [c.name for c in warns] == ["roster"]
    assert "row 7" in warns[0].detail and "skipped" in warns[0].fix


def test_smtp_without_its_password_variable_fails_before_connecting(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PDMAIL_DOCTOR_PW", raising=False)
    project.write_config(
        {
            "mail": {
                "kind": "smtp",
                "smtp": {
                    "host": "127.0.0.1",
                    "port": 1,
                    "username": "lib",
                    "password_env": "PDMAIL_DOCTOR_PW",
                },
            }
        }
    )
    checks = diagnose(project.config_path, today=TODAY)
    (mail,) = _by_name(checks)["mail"]
    assert mail.status == FAIL and "PDMAIL_DOCTOR_PW" in mail.detail
    no_connect = diagnose(project.config_path, today=TODAY, connect=False)
    assert _status(no_connect, "mail") == {SKIP}


def test_unknown_messages_and_a_spent_budget_are_warnings(project: Project) -> None:
    project.write_config({"mail": {"daily_cap": 1}})
    now = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        key = MessageKey("monthly-update", "2026-12", "ann@school.example.org", "request")
        ledger.claim(key, "<id@x>", "subject", now)
        ledger.mark_unknown(key, "connection lost", now)
    checks = diagnose(project.config_path, today=TODAY)
    (ledger_check,) = _by_name(checks)["ledger"]
    assert ledger_check.status == WARN and "1 needs attention" in ledger_check.detail
    (budget,) = _by_name(checks)["daily budget"]
    assert "0 of 1" in budget.detail or budget.status == OK  # the clock decides the window


# -- the Google footing ---------------------------------------------------------------------


@pytest.fixture
def sheets() -> Iterator[FakeSheets]:
    with FakeSheets() as fake:
        responses = [RESPONSE_HEADER]
        fake.add_spreadsheet(
            SHEET,
            "Library",
            tabs={"Roster": [ROSTER_HEADER, *ROSTER_ROWS], "Form Responses 1": responses},
        )
        yield fake


def _google(
    project: Project, sheets: FakeSheets, oauth: FakeOAuth, *, age_days: int, **google: str
) -> Path:
    project.write_config(
        {
            "sources": {"kind": "google"},
            "google": {
                "spreadsheet_id": SHEET,
                "token_file": "token.json",
                "endpoints": {"sheets": sheets.base_url, "oauth": oauth.base_url},
                **google,
            },
        }
    )
    token = project.folder / "token.json"
    authorized = datetime.now(timezone.utc) - timedelta(days=age_days)
    google_auth.write_private(
        token,
        json.dumps(
            {
                "token": "old",
                "refresh_token": "refresh-secret",
                "client_id": "c",
                "client_secret": "s",
                "token_uri": "https://oauth2.googleapis.com/token",
                "scopes": [google_auth.SHEETS_SCOPE],
                "expiry": "2999-01-01T00:00:00Z",
                "pdmail_authorized": authorized.isoformat(),
            }
        ),
    )
    return token


@pytest.fixture
def oauth() -> Iterator[FakeOAuth]:
    with FakeOAuth(scope=google_auth.SHEETS_SCOPE) as server:
        yield server


def test_a_good_google_setup_refreshes_the_token_and_reads_the_sheet(
    project: Project, sheets: FakeSheets, oauth: FakeOAuth
) -> None:
    _google(project, sheets, oauth, age_days=30)
    checks = diagnose(project.config_path, today=TODAY)
    assert {c.status for c in checks} == {OK}, [c for c in checks if c.status != OK]
    token = next(c for c in checks if c.name == "token")
    assert "not in 'Testing' status" in token.detail
    assert [r["grant_type"] for r in oauth.token_requests] == ["refresh_token"]
    roster = _by_name(checks)["roster"][0]
    assert roster.detail.startswith("sheet 'Roster': 5 teachers")


def test_a_young_token_warns_about_testing_apps(
    project: Project, sheets: FakeSheets, oauth: FakeOAuth
) -> None:
    _google(project, sheets, oauth, age_days=2)
    checks = diagnose(project.config_path, today=TODAY)
    token = next(c for c in checks if c.name == "token")
    assert token.status == WARN
    assert "7 days" in token.fix and "In production" in token.fix


def test_a_dead_refresh_token_fails_and_nothing_secret_is_printed(
    project: Project, sheets: FakeSheets, oauth: FakeOAuth
) -> None:
    _google(project, sheets, oauth, age_days=9)
    oauth.refuse_refresh = True
    result = CliRunner().invoke(
        main, ["doctor", "--config", str(project.config_path), "--today", "2026-12-02"]
    )
    assert result.exit_code == 1
    assert "[FAIL] token:" in result.output and "pdmail auth" in result.output
    assert "refresh-secret" not in result.output and '"token"' not in result.output
    assert "[skip] roster:" in result.output  # no second failure for the same cause
    assert sheets.requests == []


def test_a_token_readable_by_others_fails(
    project: Project, sheets: FakeSheets, oauth: FakeOAuth
) -> None:
    if os.name != "posix":
        pytest.skip("file modes are POSIX")
    token = _google(project, sheets, oauth, age_days=30)
    token.chmod(0o644)
    checks = diagnose(project.config_path, today=TODAY)
    creds = _by_name(checks)["credentials"]
    assert creds[0].status == FAIL and "chmod 600" in creds[0].detail


def test_a_missing_responses_tab_and_column_are_named(
    project: Project, sheets: FakeSheets, oauth: FakeOAuth
) -> None:
    _google(project, sheets, oauth, age_days=30, responses_tab="Form Responses 2")
    checks = diagnose(project.config_path, today=TODAY)
    (roster,) = _by_name(checks)["roster"]
    assert roster.status == FAIL
    assert "no tab named 'Form Responses 2'" in roster.detail and "google.responses_tab" in (
        roster.detail
    )
    assert "Link to Sheets" in roster.fix


def test_no_token_at_all_says_run_pdmail_auth(project: Project, sheets: FakeSheets) -> None:
    project.write_config(
        {
            "sources": {"kind": "google"},
            "google": {"spreadsheet_id": SHEET, "token_file": "none.json"},
        }
    )
    checks = diagnose(project.config_path, today=TODAY)
    (creds,) = _by_name(checks)["credentials"]
    assert creds.status == FAIL and "pdmail auth" in creds.fix


def test_a_scripts_workspace_factory_is_what_every_check_sees(project: Project) -> None:
    # A script hands the doctor its own factory (here: a roster of its own, of two teachers,
    # and a fixed clock): the second campaign's check opens its workspace through it too, so
    # it counts the same teachers as the roster check rather than the config's roster.
    project.write_config(
        {
            "campaigns": {
                "pd-survey": {
                    "form": {
                        "url": "https://docs.google.com/forms/d/e/SURVEYID/viewform",
                        "prefill": {"email": "entry.900"},
                    },
                    "responses": "survey.csv",
                    "calendar": {"opens": "2026-12-01", "due": "2026-12-09"},
                }
            }
        }
    )
    project.write_responses([])
    own_roster = project.folder / "script-roster.csv"
    write_csv(own_roster, ROSTER_HEADER, ROSTER_ROWS[:2])
    opened: list[str] = []

    def factory(config: Config) -> Workspace:
        opened.append(config.campaign)
        source = LocalSource(own_roster, config.sources.responses or project.responses_path)
        return Workspace(
            config, source=source, clock=lambda: datetime(2026, 12, 2, 8, tzinfo=timezone.utc)
        )

    checks = _by_name(diagnose(project.config_path, today=TODAY, workspace=factory))
    assert opened == ["monthly-update", "pd-survey"]
    (roster,) = checks["roster"]
    (survey,) = checks["campaign pd-survey"]
    assert roster.status == OK and "2 teachers, 2 active" in roster.detail
    assert survey.status == OK, survey
    assert survey.detail.startswith("survey, 2 active teachers"), survey.detail
