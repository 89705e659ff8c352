"""A whole month on the Google footing: roster and answers in a Sheet, mail through Gmail, all
through `pdmail run` as cron would call it, with the real gspread and googleapiclient clients
against the loopback Sheets and Gmail servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from conftest import (
    ANN,
    MARIA,
    RAJ,
    RESPONSE_HEADER,
    ROSTER_HEADER,
    ROSTER_ROWS,
    SAM,
    Project,
    answer,
    run_cli,
)
from fakes.gmail_server import FakeGmail
from fakes.sheets_server import FakeSheets

from pdmail.backends.google.auth import GMAIL_SCOPE, SHEETS_SCOPE, write_private
from pdmail.config.load import GOOGLE_ENDPOINT_ENV
from pdmail.models import State
from pdmail.state.ledger import Ledger

SID = "1pdmailMonthSheet_0123456789abcdefghijklmnopqrs"


class _Router(BaseHTTPRequestHandler):
    """One base address for both APIs, as PDMAIL_GOOGLE_ENDPOINT gives: /v4/ goes to the
    Sheets fake, /gmail/ to the Gmail fake."""

    sheets = ""
    gmail = ""

    def log_message(self, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        target = type(self).gmail if self.path.startswith("/gmail/") else type(self).sheets
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        answer = requests.request(
            self.command, target + self.path, data=body, headers=headers, timeout=30
        )
        self.send_response(answer.status_code)
        for k, v in answer.headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_PUT = _forward


@pytest.fixture
def google(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeSheets, FakeGmail]]:
    with FakeSheets() as sheets, FakeGmail() as gmail:
        sheets.add_spreadsheet(
            SID,
            "Library",
            tabs={"Roster": [ROSTER_HEADER, *ROSTER_ROWS], "Form Responses 1": [RESPONSE_HEADER]},
        )
        _Router.sheets, _Router.gmail = sheets.base_url, gmail.base_url
        router = ThreadingHTTPServer(("127.0.0.1", 0), _Router)
        thread = threading.Thread(target=router.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        monkeypatch.setenv(GOOGLE_ENDPOINT_ENV, f"http://127.0.0.1:{router.server_address[1]}")
        token = project.folder / "token.json"
        write_private(
            token,
            json.dumps(
                {
                    "token": "month-token",
                    "refresh_token": "r",
                    "client_id": "c",
                    "client_secret": "s",
                    "token_uri": "https://oauth2.googleapis.com/token",
                    "scopes": [SHEETS_SCOPE, GMAIL_SCOPE],
                    "expiry": "2999-01-01T00:00:00Z",
                }
            ),
        )
        project.write_config(
            {
                "sources": {"kind": "google", "roster": None, "responses": None},
                "mail": {"kind": "gmail", "per_minute": 0},
                "google": {"spreadsheet_id": SID, "token_file": "token.json"},
            }
        )
        try:
            yield sheets, gmail
        finally:
            router.shutdown()
            router.server_close()


def _run(project: Project, day: str) -> str:
    result = run_cli(project, "run", today=day)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_month_on_sheets_and_gmail(
    project: Project, google: tuple[FakeSheets, FakeGmail]
) -> None:
    sheets, gmail = google

    _run(project, "2026-12-01")
    requests_sent = {m.parsed()["To"].addresses[0].addr_spec: m for m in gmail.stored}
    assert sorted(requests_sent) == sorted([ANN, RAJ, MARIA, SAM])  # OLD is inactive
    assert len(gmail.sends) == 4  # one Gmail call per message

    # Two teachers answer in the Form; its responses land in the linked tab.
    sheets.set_values(
        SID,
        "Form Responses 1",
        [
            RESPONSE_HEADER,
            answer(ANN, "12/2/2026 8:14:22", help_text="Moodle quizzes for the unit test"),
            answer(MARIA, "12/3/2026 15:02:10", help_text='=HYPERLINK("http://x","databases")'),
        ],
    )
    _run(project, "2026-12-07")
    reminders = [m for m in gmail.stored if str(m.parsed()["Subject"]).startswith("Re: ")]
    assert sorted(m.parsed()["To"].addresses[0].addr_spec for m in reminders) == [RAJ, SAM]
    for reminder in reminders:
        to = reminder.parsed()["To"].addresses[0].addr_spec
        request = requests_sent[to]
        # In the same Gmail thread, and a reply to the request by its Message-ID.
        assert reminder.thread_id == request.thread_id
        assert reminder.parsed()["In-Reply-To"] == request.parsed()["Message-ID"]

    _run(project, "2026-12-11")
    digests = [m for m in gmail.stored if "library digest" in str(m.parsed()["Subject"])]
    assert [m.parsed()["To"].addresses[0].addr_spec for m in digests] == [
        "librarian@school.example.org"
    ]
    html = digests[0].parsed().get_body(("html",)).get_content()
    # The answer is text in the digest: its quotes escaped, never a link or a formula.
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;databases&#34;)" in html
    assert 'href="http://x"' not in html

    # The librarian sees the month in the sheet, every value written raw.
    status = sheets.values(SID, "pdmail status")
    header, rows = status[0], {r[0]: dict(zip(status[0], r, strict=False)) for r in status[1:]}
    assert header[:4] == ["Email", "Name", "Team", "Active"]
    assert (rows[ANN]["Request"], rows[ANN]["Reminders"]) == ("sent", "0")
    assert (rows[RAJ]["Request"], rows[RAJ]["Reminders"]) == ("sent", "1")
    assert rows[ANN]["Answered"] == "2026-12-02 08:14"
    needs = sheets.values(SID, "pdmail needs")
    assert any('=HYPERLINK("http://x","databases")' in row for row in needs)
    assert {w.value_input_option for w in sheets.writes} == {"RAW"}
    assert sheets.formulas(SID, "pdmail needs") == {}

    # The ledger holds Gmail's own ids; a second run the same day sends nothing more.
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        entries = ledger.entries("monthly-update", "2026-12")
    assert all(e.state is State.SENT and e.provider_id for e in entries)
    stored = len(gmail.stored)
    _run(project, "2026-12-11")
    assert len(gmail.stored) == stored


def test_the_same_number_of_sheet_calls_each_day_whatever_happens(
    project: Project, google: tuple[FakeSheets, FakeGmail]
) -> None:
    sheets, _ = google
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        sheets.reset_requests()
        _run(project, day)
        reads = [r.line for r in sheets.requests if r.method == "GET"]
        assert len(reads) == 2, reads  # the metadata and one batchGet, every day
