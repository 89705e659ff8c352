"""pdmail on the Google footing: the roster and responses in a Sheet, status and digest tabs
written back, every call going through the real gspread client to a loopback Sheets server.

What is checked here is what a school notices: a whole month works; the number of Sheets
calls does not grow with the roster (Google's per-minute quota is per request); answers and
names are written as text, never formulas; a shrinking or growing table leaves the tab right;
a wrong header, tab or id says what to fix; quota errors are retried a bounded number of
times, and a write that may already have happened is not repeated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml
from click.testing import CliRunner
from conftest import (
    ANN,
    MARIA,
    OLD,
    RAJ,
    RESPONSE_HEADER,
    ROSTER_HEADER,
    ROSTER_ROWS,
    SAM,
    Project,
    answer,
)
from fakes.sheets_server import FakeSheets

from pdmail import cycles
from pdmail.backends.google.auth import SHEETS_SCOPE, load_credentials, scopes_for, write_private
from pdmail.backends.google.http import RetryPolicy
from pdmail.backends.google.sheets import SheetsBook, open_book
from pdmail.cli.commands import main
from pdmail.config.load import GOOGLE_ENDPOINT_ENV
from pdmail.config.records import Config
from pdmail.cycle.tick import TickReport, tick
from pdmail.cycles import Cycle
from pdmail.errors import BackendError, InputError
from pdmail.workspace import Workspace

SID = "1pdmailTestSheet_0123456789abcdefghijklmnopqrs"
ROSTER_TAB = "Roster"
RESPONSES_TAB = "Form Responses 1"
STATUS_TAB = "pdmail status"
DIGEST_TAB = "pdmail digest"
NEEDS_TAB = "pdmail needs"
SHEET = f"/v4/spreadsheets/{SID}"
# The request lines of one reading: the metadata, then both tabs in one batchGet.
READ = [f"GET {SHEET}", f"GET {SHEET}/values:batchGet"]
ADD_TAB = f"POST {SHEET}:batchUpdate"  # addSheet (and updateSheetProperties)
WRITE = f"POST {SHEET}/values:batchUpdate"

ACTIVE = sorted([ANN, RAJ, MARIA, SAM])
LIBRARIAN = "librarian@school.example.org"
HYPERLINK = '=HYPERLINK("http://x","click")'


# -- setup ---------------------------------------------------------------------------------


class Sleeps(list[float]):
    """A RetryPolicy sleep that records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def _no_endpoint_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A PDMAIL_GOOGLE_ENDPOINT left in the environment would send the tests elsewhere.
    monkeypatch.delenv(GOOGLE_ENDPOINT_ENV, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    """The spreadsheet of the test school: the five-teacher roster, no answers yet."""
    with FakeSheets() as server:
        server.add_spreadsheet(
            SID,
            "PD check-ins",
            {ROSTER_TAB: [ROSTER_HEADER, *ROSTER_ROWS], RESPONSES_TAB: [RESPONSE_HEADER]},
        )
        yield server
        assert server.errors == []


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def write_token(path: Path) -> None:
    """An authorized-user token, valid for decades, as 'pdmail auth' would save it."""
    info = {
        "token": "test-access-token",
        "refresh_token": "test-refresh-token",
        "client_id": "client.apps.googleusercontent.com",
        "client_secret": "client-secret",
        "token_uri": "https://oauth2.googleapis.com/token",
        "scopes": [SHEETS_SCOPE],
        "expiry": "2099-01-01T00:00:00Z",
    }
    write_private(path, json.dumps(info))


def google_config(p: Project, base_url: str | None, **google: Any) -> Config:
    """Switch ``p`` to the Google footing: roster and responses from the sheet ``SID``.

    ``base_url`` is the Sheets endpoint (None: Google's default, so that only
    PDMAIL_GOOGLE_ENDPOINT can lead to the fake). Mail stays in the outbox folder."""
    token = p.folder / "token.json"
    write_token(token)
    settings: dict[str, Any] = {"spreadsheet_id": SID, "token_file": str(token), **google}
    if base_url is not None:
        settings.setdefault("endpoints", {"sheets": base_url})
    # deep_merge keeps the base keys: the local file paths are blanked, not left behind.
    p.write_config(
        {"sources": {"kind": "google", "roster": None, "responses": None}, "google": settings}
    )
    return p.config()


def book_for(config: Config, sleeps: Sleeps, attempts: int = 5) -> SheetsBook:
    creds = load_credentials(config, scopes_for(config))
    return open_book(config, creds, policy=RetryPolicy(attempts=attempts, sleep=sleeps))


def workspace(config: Config, day: date, sleeps: Sleeps) -> Workspace:
    """A workspace on ``day`` at 07:30 school time, reading a fresh SheetsBook (as each cron
    run would), whose sink is that same book."""
    clock = lambda: datetime.combine(day, time(7, 30), config.timezone)  # noqa: E731
    return Workspace(config, source=book_for(config, sleeps), clock=clock)


def run_tick(config: Config, day: date, sleeps: Sleeps) -> TickReport:
    with workspace(config, day, sleeps) as ws:
        return tick(ws, day)


def lines(fake: FakeSheets) -> list[str]:
    return [r.line for r in fake.requests]


def by_email(rows: Sequence[Sequence[str]], column: str, header: Sequence[str]) -> dict:
    index = list(header).index(column)
    return {row[index]: dict(zip(header, row, strict=False)) for row in rows}


def responses(*rows: list[str]) -> list[list[str]]:
    return [RESPONSE_HEADER, *rows]


# -- a whole month -------------------------------------------------------------------------


def test_a_month_on_the_google_footing_sends_reminds_digests_and_reports_in_tabs(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)

    first = run_tick(config, date(2026, 12, 1), sleeps)

    assert sorted(project.sent_to("request")) == ACTIVE  # old@ is inactive
    assert first.ok and first.files == [f"sheet tab '{STATUS_TAB}'"]
    assert lines(fake) == [*READ, ADD_TAB, WRITE]

    # Teachers answer between the runs; Forms appends their rows to the linked tab.
    fake.set_values(SID, RESPONSES_TAB, responses(
        answer(ANN, "12/2/2026 8:14:22"),
        answer(MARIA, "12/3/2026 15:02:10", help_text="Research skills for the science fair"),
    ))  # fmt: skip
    fake.reset_requests()
    run_tick(config, date(2026, 12, 7), sleeps)

    assert sorted(project.sent_to("reminder-1")) == sorted([RAJ, SAM])
    assert lines(fake) == [*READ, WRITE]  # the status tab exists now: no second addSheet

    fake.set_values(SID, RESPONSES_TAB, responses(
        answer(ANN, "12/2/2026 8:14:22"),
        answer(MARIA, "12/3/2026 15:02:10", help_text="Research skills for the science fair"),
        answer(RAJ, "12/8/2026 7:05:00", help_text="Citation help for the history essays"),
    ))  # fmt: skip
    fake.reset_requests()
    last = run_tick(config, date(2026, 12, 11), sleeps)

    assert project.sent_to("digest") == [LIBRARIAN]
    assert f"sheet tab '{DIGEST_TAB}'" in last.files
    # The needs and digest tabs are new (addSheet + one write each); status is one write.
    assert lines(fake) == [*READ, ADD_TAB, WRITE, ADD_TAB, WRITE, WRITE]
    assert sleeps == []

    status = fake.values(SID, STATUS_TAB)
    assert status[0] == [
        "Email", "Name", "Team", "Active", "Request", "Reminders", "Answered", "Last update",
    ]  # fmt: skip
    rows = by_email(status[1:], "Email", status[0])
    assert sorted(rows) == sorted([*ACTIVE, OLD]) and len(status) == 6
    assert rows[ANN]["Request"] == "sent" and rows[ANN]["Reminders"] == "0"
    assert rows[ANN]["Answered"] == "2026-12-02 08:14"
    assert rows[ANN]["Last update"] == "2026-12-01 07:30"
    assert rows[RAJ]["Reminders"] == "1" and rows[RAJ]["Answered"] == "2026-12-08 07:05"
    assert rows[RAJ]["Last update"] == "2026-12-07 07:30"
    assert (rows[SAM]["Reminders"], rows[SAM]["Answered"]) == ("1", "-")
    assert (rows[OLD]["Active"], rows[OLD]["Request"], rows[OLD]["Last update"]) == ("no", "-", "-")
    assert rows[MARIA]["Name"] == "María Gómez"

    digest = fake.values(SID, DIGEST_TAB)
    assert digest[0][:3] == ["Cycle", "Session", "Kind"] and len(digest) > 1
    assert all(row[0] == "2026-12" for row in digest[1:])
    table = fake.values(SID, NEEDS_TAB)
    assert table[0][:3] == ["Need id", "Status", "Note"]
    needs = by_email(table[1:], "Email", table[0])
    assert sorted(needs) == sorted([ANN, MARIA, RAJ])
    assert {n["Status"] for n in needs.values()} == {"open"}
    assert {n["Cycle"] for n in needs.values()} == {"2026-12"}
    assert needs[MARIA]["Request"] == "Research skills for the science fair"
    assert needs[RAJ]["Teacher"] == "Raj Patel"


def test_pdmail_run_reaches_the_sheet_through_PDMAIL_GOOGLE_ENDPOINT(
    project: Project, fake: FakeSheets
) -> None:
    # No endpoint in the config: only the environment variable leads to the loopback server.
    google_config(project, None)

    result = CliRunner().invoke(
        main,
        ["run", "--config", str(project.config_path), "--today", "2026-12-01"],
        env={GOOGLE_ENDPOINT_ENV: fake.base_url},
    )

    assert result.exit_code == 0, result.output
    assert f"wrote sheet tab '{STATUS_TAB}'" in result.output
    assert sorted(project.sent_to("request")) == ACTIVE
    assert lines(fake) == [*READ, ADD_TAB, WRITE]
    assert [row[0] for row in fake.values(SID, STATUS_TAB)[1:]] == [r[0] for r in ROSTER_ROWS]


# -- a constant number of calls --------------------------------------------------------------


def generated_roster(size: int, active: int) -> list[list[str]]:
    return [
        [f"teacher{i:04d}@school.example.org", f"First{i}", f"Last{i}", f"Team {i % 12}",
         "yes" if i < active else "no"]
        for i in range(size)
    ]  # fmt: skip


def send_day(folder: Path, size: int, active: int) -> tuple[list[str], list[str], int]:
    """Two ticks on the send day against a roster of ``size`` rows (``active`` of them
    active, three of whom already answered): the request lines of each, and the number of
    status rows written."""
    folder.mkdir()
    p = Project(folder)
    with FakeSheets() as server:
        early = [
            answer(f"teacher{i:04d}@school.example.org", "12/1/2026 6:45:00") for i in (0, 1, 2)
        ]
        server.add_spreadsheet(SID, "PD", {
            ROSTER_TAB: [ROSTER_HEADER, *generated_roster(size, active)],
            RESPONSES_TAB: responses(*early),
        })  # fmt: skip
        config = google_config(p, server.base_url)
        report = run_tick(config, date(2026, 12, 1), Sleeps())
        assert report.sent == active - 3
        first = lines(server)
        batch_get = next(r for r in server.requests if "values:batchGet" in r.path)
        assert batch_get.query["ranges"] == [f"'{ROSTER_TAB}'", f"'{RESPONSES_TAB}'"]
        server.reset_requests()
        run_tick(config, date(2026, 12, 1), Sleeps())
        second = lines(server)
        written = len(server.values(SID, STATUS_TAB)) - 1
        assert server.errors == []
    return first, second, written


@pytest.mark.slow
def test_a_tick_makes_the_same_sheets_calls_for_10_teachers_and_for_2000(tmp_path: Path) -> None:
    # Composing 2,000 MIME messages takes ~10 s and says nothing about Sheets calls, so the big
    # roster has 200 active teachers: still 20 times the sends of the small one, while all
    # 2,000 rows are read and written to the status tab.
    small = send_day(tmp_path / "small", 10, 10)
    large = send_day(tmp_path / "large", 2000, 200)

    listing = "\n".join(
        [f"10 teachers ({len(small[0])} calls):", *small[0],
         f"2,000 teachers ({len(large[0])} calls):", *large[0]]
    )  # fmt: skip
    assert len(small[0]) == len(large[0]), listing
    assert small[0] == large[0] == [*READ, ADD_TAB, WRITE], listing
    # A second run the same day reads again and rewrites the tab, but does not add it again.
    assert small[1] == large[1] == [*READ, WRITE], "\n".join(large[1])
    assert (small[2], large[2]) == (10, 2000)


# -- values are text -----------------------------------------------------------------------


def test_answers_and_names_that_look_like_formulas_are_written_as_text(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    plus = "plus@school.example.org"
    fake.set_values(SID, ROSTER_TAB, [
        ROSTER_HEADER, *ROSTER_ROWS, [plus, "+1", "Team", "=Grade 8", "yes"],
    ])  # fmt: skip
    config = google_config(project, fake.base_url)
    run_tick(config, date(2026, 12, 1), sleeps)
    fake.set_values(SID, RESPONSES_TAB, responses(
        answer(plus, "12/2/2026 9:00:00", help_text=HYPERLINK),
        answer(ANN, "12/2/2026 9:30:00", help_text="+ more biographies, - fewer quizzes"),
    ))  # fmt: skip
    run_tick(config, date(2026, 12, 11), sleeps)

    assert fake.writes and {w.value_input_option for w in fake.writes} == {"RAW"}
    assert fake.formulas(SID, STATUS_TAB) == {}
    assert fake.formulas(SID, DIGEST_TAB) == {}
    assert fake.formulas(SID, NEEDS_TAB) == {}
    status = fake.values(SID, STATUS_TAB)
    row = by_email(status[1:], "Email", status[0])[plus]
    assert (row["Name"], row["Team"]) == ("+1 Team", "=Grade 8")
    table = fake.values(SID, NEEDS_TAB)
    needs = by_email(table[1:], "Email", table[0])
    assert needs[plus]["Request"] == HYPERLINK
    assert (needs[plus]["Teacher"], needs[plus]["Team"]) == ("+1 Team", "=Grade 8")
    assert needs[ANN]["Request"] == "+ more biographies, - fewer quizzes"


# -- the shape of a report tab ---------------------------------------------------------------


def test_a_shorter_status_table_leaves_no_stale_rows(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)
    run_tick(config, date(2026, 12, 1), sleeps)
    assert len(fake.values(SID, STATUS_TAB)) == 6

    fake.set_values(SID, ROSTER_TAB, [ROSTER_HEADER, *ROSTER_ROWS[:2]])  # ann and raj stay
    fake.reset_requests()
    run_tick(config, date(2026, 12, 2), sleeps)

    assert [row[0] for row in fake.values(SID, STATUS_TAB)] == ["Email", ANN, RAJ]
    (write,) = fake.writes
    # The one write covers the tab's whole grid: every row past the table is blanked.
    assert len(write.values) == fake.grid_size(SID, STATUS_TAB)[0]
    assert all(cell == "" for row in write.values[3:] for cell in row)


def test_a_table_that_outgrows_its_tab_grows_the_grid_first(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    # The status tab is made for the first roster (100 rows); the real API refuses a value
    # write past the grid ("exceeds grid limits"), so a bigger table must grow it first.
    config = google_config(project, fake.base_url)
    header = ["Email", "Name"]
    book_for(config, sleeps).write_table("status", header, [["a@x.org", "A"]] * 10)
    assert fake.grid_size(SID, STATUS_TAB) == (100, 8)
    fake.reset_requests()

    wide = [f"c{i}" for i in range(12)]
    book_for(config, sleeps).write_table("status", wide, [[str(i)] * 12 for i in range(150)])

    assert lines(fake) == [*READ[:1], ADD_TAB, WRITE]
    grow = fake.requests[1].body["requests"][0]["updateSheetProperties"]
    assert grow["properties"]["gridProperties"] == {"rowCount": 151, "columnCount": 12}
    assert fake.grid_size(SID, STATUS_TAB) == (151, 12)
    values = fake.values(SID, STATUS_TAB)
    assert len(values) == 151 and values[-1] == ["149"] * 12

    fake.reset_requests()
    book_for(config, sleeps).write_table("status", header, [["a@x.org", "A"]] * 150)
    assert lines(fake) == [*READ[:1], WRITE]  # big enough now: no second resize


# -- finding the columns and tabs ----------------------------------------------------------


def test_form_headers_match_trimmed_and_ignoring_case_and_spacing(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    header = ["Timestamp ", "  EMAIL address", "what units of study are  coming up?",
              "HOW CAN THE LIBRARY HELP?", " Preferred   Format "]  # fmt: skip
    fake.set_values(SID, RESPONSES_TAB, [header, answer(ANN, "12/2/2026 8:14:22", units="Poetry")])
    config = google_config(project, fake.base_url)

    with workspace(config, date(2026, 12, 3), sleeps) as ws:
        parsed, problems = ws.responses

    assert problems == []
    assert [(r.email, r.units, r.help, r.format) for r in parsed] == [
        (ANN, "Poetry", "Help with citations", "Small group")
    ]


@pytest.mark.parametrize("role", ["timestamp", "email", "units", "help", "format"])
def test_a_missing_form_column_names_it_its_config_key_and_the_tab(
    project: Project, fake: FakeSheets, sleeps: Sleeps, role: str
) -> None:
    roles = ["timestamp", "email", "units", "help", "format"]
    gone = roles.index(role)
    row = answer(ANN, "12/2/2026 8:14:22")
    fake.set_values(SID, RESPONSES_TAB, [
        [h for i, h in enumerate(RESPONSE_HEADER) if i != gone],
        [c for i, c in enumerate(row) if i != gone],
    ])  # fmt: skip
    config = google_config(project, fake.base_url)

    with workspace(config, date(2026, 12, 3), sleeps) as ws, pytest.raises(InputError) as error:
        _ = ws.responses

    message = error.value.message
    assert f"no column '{RESPONSE_HEADER[gone]}'" in message
    assert f"form.columns.{role}" in message
    assert f"sheet '{RESPONSES_TAB}'" in message


@pytest.mark.parametrize(
    ("tabs", "missing", "key"),
    [
        ([ROSTER_TAB, "Form Responses 2"], RESPONSES_TAB, "google.responses_tab"),
        (["Teachers", RESPONSES_TAB], ROSTER_TAB, "google.roster_tab"),
    ],
)
def test_a_missing_tab_is_an_input_error_listing_the_tabs(
    project: Project, sleeps: Sleeps, tabs: list[str], missing: str, key: str
) -> None:
    with FakeSheets() as server:
        server.add_spreadsheet(SID, "PD", {t: [ROSTER_HEADER] for t in tabs})
        config = google_config(project, server.base_url)

        with pytest.raises(InputError) as error:
            book_for(config, sleeps).read_roster()

        assert lines(server) == READ[:1]  # the metadata told: no values were read
    message = error.value.message
    assert f"no tab named '{missing}'" in message and key in message
    assert f"the tabs are: {', '.join(sorted(tabs))}" in message


def test_an_unknown_spreadsheet_id_is_a_backend_error_naming_the_api_and_404(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url, spreadsheet_id="no-such-spreadsheet")

    with workspace(config, date(2026, 12, 1), sleeps) as ws, pytest.raises(BackendError) as error:
        _ = ws.roster

    assert "Google Sheets API" in error.value.message and "404" in error.value.message
    assert "google.spreadsheet_id" in (error.value.hint or "")
    assert fake.count() == 1 and sleeps == []  # a 404 is an answer, not a hiccup


# -- retries -------------------------------------------------------------------------------


def test_429_twice_then_success_reads_after_two_backoff_sleeps(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)
    fake.fail_next(429, count=2)
    book = book_for(config, sleeps)

    assert book.read_roster().header == tuple(ROSTER_HEADER)

    assert [r.status for r in fake.requests] == [429, 429, 200, 200]
    assert book.calls == 4
    assert len(sleeps) == 2
    # Full jitter: up to base (1 s) before the second try, up to 2 s before the third.
    assert 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0


def test_a_retry_after_header_sets_the_wait(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)
    fake.fail_next(429, count=2, retry_after=7, match="values:batchGet")

    book_for(config, sleeps).read_responses()

    assert sleeps == [7.0, 7.0]
    assert fake.count("GET", "values:batchGet") == 3


@pytest.mark.parametrize(
    ("status", "reason"), [(429, None), (500, None), (503, None), (403, "rateLimitExceeded")]
)
def test_an_error_that_never_clears_stops_after_the_policy_attempts(
    project: Project, fake: FakeSheets, sleeps: Sleeps, status: int, reason: str | None
) -> None:
    config = google_config(project, fake.base_url)
    fake.fail_next(status, count=50, reason=reason)

    with pytest.raises(BackendError) as error:
        book_for(config, sleeps, attempts=3).read_roster()

    assert fake.count() == 3 and len(sleeps) == 2
    assert "Google Sheets API" in error.value.message
    assert str(status) in error.value.message
    fake.clear_faults()


@pytest.mark.parametrize("status", [400, 403, 404])
def test_an_error_that_means_no_is_not_retried(
    project: Project, fake: FakeSheets, sleeps: Sleeps, status: int
) -> None:
    config = google_config(project, fake.base_url)
    fake.fail_next(status)

    with pytest.raises(BackendError) as error:
        book_for(config, sleeps).read_roster()

    assert fake.count() == 1 and sleeps == []
    assert error.value.message.startswith("Google Sheets API: ")
    assert f"{status}" in error.value.message


@contextlib.contextmanager
def token_endpoint(status: int, payload: dict[str, Any]) -> Iterator[list[dict[str, str]]]:
    """A loopback OAuth token endpoint answering every POST /token with ``payload``; yields
    the list of the forms it received."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            seen.append({"path": self.path, **{k: v[0] for k, v in form.items()}})
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    seen.append({"base": f"http://127.0.0.1:{server.server_address[1]}"})
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_401_refreshes_the_token_at_the_configured_oauth_endpoint(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    fresh = {"access_token": "fresh-access-token", "expires_in": 3600, "token_type": "Bearer"}
    with token_endpoint(200, fresh) as seen:
        base = seen.pop()["base"]
        config = google_config(project, fake.base_url, endpoints={
            "sheets": fake.base_url, "oauth": base})  # fmt: skip
        fake.fail_next(401)

        rows = book_for(config, sleeps).read_roster().rows

    assert len(rows) == len(ROSTER_ROWS)
    assert [(s["path"], s["grant_type"]) for s in seen] == [("/token", "refresh_token")]
    assert [r.headers["authorization"] for r in fake.requests] == [
        "Bearer test-access-token", "Bearer fresh-access-token", "Bearer fresh-access-token",
    ]  # fmt: skip


def test_a_401_whose_refresh_is_refused_is_a_backend_error_not_a_crash(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    refused = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    with token_endpoint(400, refused) as seen:
        base = seen.pop()["base"]
        config = google_config(project, fake.base_url, endpoints={
            "sheets": fake.base_url, "oauth": base})  # fmt: skip
        fake.fail_next(401)

        with pytest.raises(BackendError) as error:
            book_for(config, sleeps).read_roster()

    assert len(seen) == 1 and fake.count() == 1
    text = str(error.value)
    assert "Google Sheets API" in text and "could not be refreshed" in text
    assert "'pdmail auth'" in (error.value.hint or "")
    assert "test-refresh-token" not in text and "test-access-token" not in text


@pytest.mark.parametrize("status", [500, 503])
def test_a_sign_in_outage_during_a_refresh_is_an_outage_not_a_dead_authorization(
    project: Project, fake: FakeSheets, sleeps: Sleeps, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from google.auth import _exponential_backoff

    # google-auth tries a failing token endpoint three times: without its waits here.
    monkeypatch.setattr(_exponential_backoff, "time", SimpleNamespace(sleep=lambda s: None))
    down = {"error": "internal_failure", "error_description": "Backend Error"}
    with token_endpoint(status, down) as seen:
        base = seen.pop()["base"]
        config = google_config(project, fake.base_url, endpoints={
            "sheets": fake.base_url, "oauth": base})  # fmt: skip
        fake.fail_next(401)

        with pytest.raises(BackendError) as error:
            book_for(config, sleeps).read_roster()

    text = str(error.value)
    assert "Google's sign-in service" in text and "try again later" in text
    assert "pdmail auth" not in text


def test_a_dropped_connection_on_a_read_is_retried(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)
    fake.fail_next(drop=True, match="GET")

    rows = book_for(config, sleeps).read_roster().rows

    assert len(rows) == len(ROSTER_ROWS)
    assert [r.status for r in fake.requests] == [None, 200, 200]
    assert len(sleeps) == 1


def test_a_dropped_connection_on_a_value_write_is_retried(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    # Writing fixed cells again gives the same tab, so a lost answer is simply repeated.
    fake.add_tab(SID, STATUS_TAB)
    config = google_config(project, fake.base_url)
    fake.fail_next(drop=True, after_apply=True, match="values:batchUpdate")

    book_for(config, sleeps).write_table("status", ["Email"], [[ANN]])

    assert lines(fake) == [*READ[:1], WRITE, WRITE]
    assert fake.values(SID, STATUS_TAB) == [["Email"], [ANN]]


def test_a_dropped_connection_on_add_sheet_looks_before_adding_again(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    # The tab was added before the line dropped: a second addSheet would be refused ("already
    # exists"), so pdmail reads the metadata again, finds the tab, and writes into it.
    config = google_config(project, fake.base_url)
    book = book_for(config, sleeps)
    book.read_roster()
    fake.reset_requests()
    fake.fail_next(drop=True, after_apply=True, match=lambda line: line == ADD_TAB)

    assert book.write_table("status", ["Email"], [[ANN]]) == f"sheet tab '{STATUS_TAB}'"

    assert lines(fake) == [ADD_TAB, READ[0], WRITE]
    assert [r.status for r in fake.requests] == [None, 200, 200]
    assert fake.tab_titles(SID).count(STATUS_TAB) == 1
    assert fake.values(SID, STATUS_TAB) == [["Email"], [ANN]]
    assert sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_after_add_sheet_did_its_work_uses_the_tab_it_made(
    project: Project, fake: FakeSheets, sleeps: Sleeps, status: int
) -> None:
    config = google_config(project, fake.base_url)
    fake.fail_next(status, after_apply=True, match=lambda line: line == ADD_TAB)

    book_for(config, sleeps).write_table("status", ["Email"], [[ANN]])

    assert lines(fake) == [READ[0], ADD_TAB, READ[0], WRITE]
    assert [r.status for r in fake.requests] == [200, status, 200, 200]
    assert fake.tab_titles(SID).count(STATUS_TAB) == 1
    assert fake.values(SID, STATUS_TAB) == [["Email"], [ANN]]


def test_a_5xx_before_add_sheet_did_anything_adds_it_once_the_sheet_says_it_is_missing(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)
    fake.fail_next(503, match=lambda line: line == ADD_TAB)

    book_for(config, sleeps).write_table("status", ["Email"], [[ANN]])

    assert lines(fake) == [READ[0], ADD_TAB, READ[0], ADD_TAB, WRITE]
    assert [r.status for r in fake.requests] == [200, 503, 200, 200, 200]
    assert fake.tab_titles(SID).count(STATUS_TAB) == 1
    assert len(sleeps) == 1


def test_add_sheet_failing_every_time_stops_after_the_policy_attempts(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)
    fake.fail_next(500, count=50, match=lambda line: line == ADD_TAB)

    with pytest.raises(BackendError) as error:
        book_for(config, sleeps, attempts=3).write_table("status", ["Email"], [[ANN]])

    # Every try is preceded by a look at the metadata; nothing was written.
    assert lines(fake) == [READ[0], ADD_TAB, READ[0], ADD_TAB, READ[0], ADD_TAB, READ[0]]
    assert "Google Sheets API" in error.value.message and "500" in error.value.message
    assert f"adding the tab '{STATUS_TAB}'" in error.value.message
    assert STATUS_TAB not in fake.tab_titles(SID) and fake.writes == []
    fake.clear_faults()


def test_add_sheet_after_a_429_is_simply_tried_again(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    # A 429 says the request was turned away before anything was done.
    config = google_config(project, fake.base_url)
    fake.fail_next(429, match=lambda line: line == ADD_TAB)

    book_for(config, sleeps).write_table("status", ["Email"], [[ANN]])

    assert lines(fake) == [READ[0], ADD_TAB, ADD_TAB, WRITE]
    assert fake.tab_titles(SID).count(STATUS_TAB) == 1


def test_a_tab_added_by_someone_else_since_the_metadata_read_is_used(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)
    book = book_for(config, sleeps)
    book.read_roster()
    fake.add_tab(SID, STATUS_TAB.upper())  # the librarian, in another window
    fake.reset_requests()

    book.write_table("status", ["Email"], [[ANN]])

    assert lines(fake) == [ADD_TAB, READ[0], WRITE]
    assert fake.requests[0].status == 400  # Sheets' own "already exists" refusal
    assert fake.tab_titles(SID) == [ROSTER_TAB, RESPONSES_TAB, STATUS_TAB.upper()]
    assert fake.values(SID, STATUS_TAB.upper()) == [["Email"], [ANN]]


@pytest.mark.parametrize("existing", [STATUS_TAB.upper(), STATUS_TAB.title(), STATUS_TAB])
def test_report_tabs_match_whatever_their_case(
    project: Project, fake: FakeSheets, sleeps: Sleeps, existing: str
) -> None:
    fake.add_tab(SID, existing, [["old"]])
    config = google_config(project, fake.base_url)

    where = book_for(config, sleeps).write_table("status", ["Email"], [[ANN]])

    assert where == f"sheet tab '{existing}'"
    assert lines(fake) == [READ[0], WRITE]  # no addSheet, which Sheets would refuse
    assert fake.tab_titles(SID) == [ROSTER_TAB, RESPONSES_TAB, existing]
    assert fake.values(SID, existing) == [["Email"], [ANN]]


def test_roster_responses_and_needs_tabs_match_whatever_their_case(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    fake.add_tab(SID, "PDMAIL NEEDS", [["Need id", "Status", "Note"], ["n1", "done", ""]])
    fake.set_values(SID, RESPONSES_TAB, responses(answer(ANN, "12/2/2026 8:14:22")))
    config = google_config(
        project, fake.base_url, roster_tab="roster", responses_tab="form responses 1"
    )

    book = book_for(config, sleeps)

    assert len(book.read_roster().rows) == len(ROSTER_ROWS)
    assert book.read_roster().origin == f"sheet '{ROSTER_TAB}'"
    responses_table = book.read_responses()
    assert responses_table is not None and len(responses_table.rows) == 1
    needs = book.read_table("needs")
    assert needs is not None and needs.origin == "sheet 'PDMAIL NEEDS'"
    assert needs.rows == ((2, ("n1", "done", "")),)
    assert lines(fake) == READ


# -- endpoints -----------------------------------------------------------------------------


def test_PDMAIL_GOOGLE_ENDPOINT_overrides_every_configured_endpoint(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = {name: f"https://{name}.example.invalid" for name in
                  ("sheets", "gmail", "forms", "oauth")}  # fmt: skip
    project.write_config({"google": {"endpoints": configured}})
    assert dataclasses.asdict(project.config().google.endpoints) == configured

    monkeypatch.setenv(GOOGLE_ENDPOINT_ENV, "http://127.0.0.1:8765/")
    endpoints = dataclasses.asdict(project.config().google.endpoints)

    assert endpoints == {name: "http://127.0.0.1:8765" for name in configured}


# -- dates as the Sheet's locale writes them -----------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "stamp", "answered"),
    [
        ("en_GB", "03/12/2026 08:14:22", True),
        ("en_AU", "3/12/2026 8:14:22", True),
        ("en_IE", "03/12/2026 08:14:22", True),
        ("fr_FR", "03/12/2026 08:14:22", True),
        ("de_DE", "03.12.2026 08:14:22", True),
        ("nl_NL", "3-12-2026 08:14:22", True),
        ("en_US", "12/3/2026 8:14:22", True),
        ("en_US", "3/12/2026 8:14:22", False),  # 12 March
        ("en_GB", "12/3/2026 08:14:22", False),  # 12 March
        ("ja_JP", "2026/12/03 8:14:22", True),
    ],
)
def test_the_sheets_locale_says_day_or_month_first(
    project: Project, fake: FakeSheets, sleeps: Sleeps, locale: str, stamp: str, answered: bool
) -> None:
    config = locale_sheet(project, fake, locale, [answer(ANN, stamp)])

    with workspace(config, date(2026, 12, 15), sleeps) as ws:
        collection = ws.collect(cycle_of(ws))

    assert collection.problems == ()
    assert [t.email for t, _ in collection.answered] == ([ANN] if answered else [])


def test_a_sheet_whose_locale_does_not_say_falls_back_to_the_column(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = locale_sheet(project, fake, "en_CA", [answer(ANN, "03/12/2026 08:14:22")])

    with workspace(config, date(2026, 12, 15), sleeps) as ws, pytest.raises(InputError) as caught:
        ws.collect(cycle_of(ws))
    assert "sheet 'Form Responses 1', row 2, column 'Timestamp'" in caught.value.message
    assert "form.date_order" in (caught.value.hint or "")


def test_the_config_order_wins_over_the_sheets_locale(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = locale_sheet(project, fake, "en_US", [answer(ANN, "03/12/2026 08:14:22")], "dmy")

    with workspace(config, date(2026, 12, 15), sleeps) as ws:
        collection = ws.collect(cycle_of(ws))

    assert [t.email for t, _ in collection.answered] == [ANN]


def test_a_cell_past_the_sheets_limit_is_written_shortened_not_refused(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    config = google_config(project, fake.base_url)
    book = book_for(config, sleeps)
    book.write_table("needs", ["Request"], [["x" * 60_000], ["short"]])

    [header, long, short] = fake.values(SID, NEEDS_TAB)[:3]
    assert header[0] == "Request" and short[0] == "short"
    assert len(long[0]) <= 50_000
    assert long[0].endswith("[shortened from 60,000 characters]")


def locale_sheet(
    p: Project, fake: FakeSheets, locale: str, rows: list[list[str]], order: str = "auto"
) -> Config:
    """A spreadsheet in ``locale`` holding ``rows`` as its responses, and a config that reads
    it with ``form.date_order: order``."""
    sid = f"{SID}_{locale}"
    fake.add_spreadsheet(
        sid,
        "PD check-ins",
        {ROSTER_TAB: [ROSTER_HEADER, *ROSTER_ROWS], RESPONSES_TAB: [RESPONSE_HEADER, *rows]},
        locale=locale,
    )
    google_config(p, fake.base_url, spreadsheet_id=sid)
    data = yaml.safe_load(p.config_path.read_text(encoding="utf-8"))
    data["form"]["date_order"] = order
    p.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p.config()


def cycle_of(ws: Workspace) -> Cycle:
    return cycles.cycle(ws.config, "2026-12")


def test_a_date_the_sheets_locale_cannot_read_names_its_row_and_the_key(
    project: Project, fake: FakeSheets, sleeps: Sleeps
) -> None:
    rows = [answer(ANN, "03/12/2026 08:14:22"), answer(RAJ, "12/25/2026 08:14:22")]
    config = locale_sheet(project, fake, "en_GB", rows)

    with workspace(config, date(2026, 12, 15), sleeps) as ws, pytest.raises(InputError) as caught:
        ws.collect(cycle_of(ws))
    message = caught.value.message
    assert "sheet 'Form Responses 1', row 3, column 'Timestamp'" in message
    assert "'12/25/2026 08:14:22' can only be month first" in message
    assert "locale (en_GB) says dates are written day first" in message
    assert "form.date_order to month-first" in (caught.value.hint or "")
