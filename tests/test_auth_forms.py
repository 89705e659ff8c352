"""`pdmail auth` through the real desktop OAuth flow, and `pdmail form-fields` through the real
Forms API client, both against loopback servers started here."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from click.testing import CliRunner
from conftest import Project
from fakes.oauth_server import FakeOAuth

from pdmail.backends import google_auth
from pdmail.cli import main
from pdmail.forms import Question, config_block, form_id_from, parse_form

CLIENT = {
    "installed": {
        "client_id": "pdmail-test.apps.googleusercontent.com",
        "client_secret": "client-secret-value",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "redirect_uris": ["http://localhost"],
    }
}


@pytest.fixture
def oauth() -> Iterator[FakeOAuth]:
    with FakeOAuth(scope=google_auth.SHEETS_SCOPE) as server:
        yield server


def _google_project(project: Project, oauth: FakeOAuth, **google: Any) -> Project:
    (project.folder / "client.json").write_text(json.dumps(CLIENT))
    project.write_config(
        {
            "sources": {"kind": "google"},
            "google": {
                "spreadsheet_id": "sheet-id",
                "client_secret_file": "client.json",
                "token_file": "secrets/token.json",
                "endpoints": {"oauth": oauth.base_url},
                **google,
            },
        }
    )
    return project


def _play_browser(capsys: pytest.CaptureFixture[str], result: dict[str, Any]) -> None:
    """Wait for the authorization address pdmail prints, then follow it as a browser would."""
    deadline = time.monotonic() + 10
    seen = ""
    while time.monotonic() < deadline and "error" not in result:
        seen += capsys.readouterr().out
        m = re.search(r"(http://127\.0\.0\.1:\d+/o/oauth2/auth\?\S+)", seen)
        if m:
            answer = requests.get(m.group(1), timeout=10)
            result["browser"] = answer.text
            return
        time.sleep(0.02)
    raise AssertionError(f"pdmail never printed the authorization address: {seen!r}")


def test_auth_runs_the_desktop_flow_and_saves_an_owner_only_token(
    project: Project, oauth: FakeOAuth, capsys: pytest.CaptureFixture[str]
) -> None:
    _google_project(project, oauth)
    config = project.config()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["path"] = google_auth.authorize(
                config, project.folder / "client.json", open_browser=False
            )
        except Exception as exc:  # reported by the assertion below
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    _play_browser(capsys, result)
    worker.join(10)
    assert "error" not in result, result.get("error")
    token = Path(result["path"])
    assert token == project.folder / "secrets" / "token.json"
    assert "pdmail is authorized" in result["browser"]
    saved = json.loads(token.read_text())
    assert saved["refresh_token"] == "refresh-secret"
    assert saved["scopes"] == [google_auth.SHEETS_SCOPE]  # least privilege: sources only
    assert saved["token_uri"] == f"{oauth.base_url}/token"
    assert "pdmail_authorized" in saved
    (exchange,) = oauth.token_requests
    assert exchange["grant_type"] == "authorization_code" and exchange["code"] == "the-code"
    if os.name == "posix":
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700


def test_auth_command_refuses_without_a_client_and_with_nothing_to_authorize(
    project: Project, oauth: FakeOAuth
) -> None:
    result = CliRunner().invoke(main, ["auth", "--config", str(project.config_path)])
    assert result.exit_code == 2
    assert "no OAuth client" in result.output and "Traceback" not in result.output
    (project.folder / "client.json").write_text(json.dumps(CLIENT))
    project.write_config({"google": {"client_secret_file": "client.json"}})
    result = CliRunner().invoke(main, ["auth", "--config", str(project.config_path)])
    assert result.exit_code == 2 and "nothing to authorize" in result.output


def test_auth_with_a_service_account_needs_no_flow(project: Project, oauth: FakeOAuth) -> None:
    _google_project(project, oauth, service_account_file="key.json")
    result = CliRunner().invoke(main, ["auth", "--config", str(project.config_path)])
    assert result.exit_code == 0 and "service account" in result.output


def test_a_broken_client_file_is_named(project: Project, oauth: FakeOAuth) -> None:
    _google_project(project, oauth)
    (project.folder / "client.json").write_text(json.dumps({"web2": {}}))
    result = CliRunner().invoke(main, ["auth", "--config", str(project.config_path)])
    assert result.exit_code == 2
    assert "client.json: not an OAuth client file" in result.output


# -- form-fields -------------------------------------------------------------------------

FORM = {
    "formId": "1FAIpQLSform-edit-id-0123456789",
    "info": {"title": "Monthly library check-in", "documentTitle": "Library check-in"},
    "responderUri": "https://docs.google.com/forms/d/e/1FAIpQLSd_responder/viewform",
    "linkedSheetId": "1sheet-linked-id",
    "items": [
        {
            "itemId": "a1",
            "title": "Your email",
            "questionItem": {"question": {"questionId": "7f37e8d2", "textQuestion": {}}},
        },
        {
            "itemId": "a2",
            "title": "First name",
            "questionItem": {"question": {"questionId": "0000beef", "textQuestion": {}}},
        },
        {"itemId": "a3", "title": "About this month", "textItem": {}},
        {
            "itemId": "a4",
            "title": "What units of study are coming up?",
            "questionItem": {
                "question": {"questionId": "1a2b3c4d", "textQuestion": {"paragraph": True}}
            },
        },
        {
            "itemId": "a5",
            "title": "How can the library help?",
            "questionItem": {"question": {"questionId": "00000010", "textQuestion": {}}},
        },
        {
            "itemId": "a6",
            "title": "Preferred format",
            "questionItem": {"question": {"questionId": "00000011", "choiceQuestion": {}}},
        },
    ],
}


class _Forms(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        if self.path.startswith(f"/v1/forms/{FORM['formId']}"):
            body, status = json.dumps(FORM).encode(), 200
        else:
            body = json.dumps(
                {
                    "error": {
                        "code": 404,
                        "message": "Requested entity was not found.",
                        "status": "NOT_FOUND",
                    }
                }
            ).encode()
            status = 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def forms_api() -> Iterator[str]:
    _Forms.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forms)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _forms_token(project: Project) -> None:
    token = {
        "token": "forms-access",
        "refresh_token": "r",
        "client_id": "c",
        "client_secret": "s",
        "token_uri": "https://oauth2.googleapis.com/token",
        "scopes": [google_auth.FORMS_SCOPE],
        "expiry": "2999-01-01T00:00:00Z",
    }
    google_auth.write_private(project.folder / "token.json", json.dumps(token))


def test_form_fields_prints_entry_numbers_from_question_ids(
    project: Project, forms_api: str
) -> None:
    project.write_config(
        {"google": {"token_file": "token.json", "endpoints": {"forms": forms_api}}}
    )
    _forms_token(project)
    result = CliRunner().invoke(
        main,
        [
            "form-fields",
            "--config",
            str(project.config_path),
            f"https://docs.google.com/forms/d/{FORM['formId']}/edit",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "email: entry.2134370514" in out  # 0x7f37e8d2, the example in Google's notes
    assert "first_name: entry.48879" in out  # 0xbeef
    assert f"entry.{0x1A2B3C4D}" in out
    assert 'units: "What units of study are coming up?"' in out
    assert 'help: "How can the library help?"' in out and 'format: "Preferred format"' in out
    assert 'email: "Your email"' in out  # the answers carry the question, not Google's column
    assert "About this month" not in out  # a text block is no question
    assert "1sheet-linked-id" in out
    assert _Forms.seen[0][1] == "Bearer forms-access"


def test_form_fields_reports_an_unknown_form_with_status(project: Project, forms_api: str) -> None:
    project.write_config(
        {"google": {"token_file": "token.json", "endpoints": {"forms": forms_api}}}
    )
    _forms_token(project)
    result = CliRunner().invoke(main, ["form-fields", "--config", str(project.config_path), "nope"])
    assert result.exit_code == 5
    assert "Google Forms API" in result.output and "404" in result.output
    assert "Traceback" not in result.output


def test_form_fields_needs_the_forms_scope(project: Project, forms_api: str) -> None:
    project.write_config(
        {"google": {"token_file": "token.json", "endpoints": {"forms": forms_api}}}
    )
    token = {
        "token": "t",
        "refresh_token": "r",
        "client_id": "c",
        "client_secret": "s",
        "scopes": [google_auth.SHEETS_SCOPE],
        "expiry": "2999-01-01T00:00:00Z",
    }
    google_auth.write_private(project.folder / "token.json", json.dumps(token))
    result = CliRunner().invoke(main, ["form-fields", "--config", str(project.config_path), "x"])
    assert result.exit_code == 2
    assert "forms.body.readonly" in result.output and "pdmail auth" in result.output
    assert _Forms.seen == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "https://docs.google.com/forms/d/1AbCdEfGhIjKlMnOpQrStUvWxYz/edit",
            "1AbCdEfGhIjKlMnOpQrStUvWxYz",
        ),
        ("1AbCdEfGhIjKlMnOpQrStUvWxYz", "1AbCdEfGhIjKlMnOpQrStUvWxYz"),
    ],
)
def test_form_id_from_addresses(value: str, expected: str) -> None:
    assert form_id_from(value) == expected


def test_the_responder_address_is_refused_with_a_reason() -> None:
    with pytest.raises(Exception, match="edit address"):
        form_id_from("https://docs.google.com/forms/d/e/1FAIpQLSd_responder/viewform")


@pytest.mark.parametrize(
    ("question_id", "entry"),
    [("7f37e8d2", "entry.2134370514"), ("00000001", "entry.1"), ("ffffffff", "entry.4294967295")],
)
def test_entry_number_is_the_question_id_read_as_hex(question_id: str, entry: str) -> None:
    assert Question("q", question_id, "textQuestion").entry == entry


def test_config_block_without_an_email_question_uses_googles_column() -> None:
    form = dict(FORM, items=FORM["items"][1:])
    block = config_block(parse_form(form))
    assert "email: Email Address" in block
    assert block.startswith('form:\n  url: "https://docs.google.com/forms/d/e/')
