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
import yaml
from click.testing import CliRunner
from conftest import BASE_CONFIG, Project
from fakes.oauth_server import FakeOAuth

from pdmail.backends.google import auth as google_auth
from pdmail.backends.google.forms import Question, config_block, form_id_from, parse_form
from pdmail.cli.commands import main
from pdmail.config.load import load_config
from pdmail.errors import ConfigError

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


def test_auth_keeps_what_google_granted_and_says_what_is_missing(
    project: Project, oauth: FakeOAuth, capsys: pytest.CaptureFixture[str]
) -> None:
    # Gmail's box was unticked on the consent screen: Google granted the spreadsheets only.
    _google_project(project, oauth)
    project.write_config(
        {
            "sources": {"kind": "google"},
            "mail": {"kind": "gmail"},
            "google": {
                "spreadsheet_id": "sheet-id",
                "client_secret_file": "client.json",
                "token_file": "secrets/token.json",
                "endpoints": {"oauth": oauth.base_url},
            },
        }
    )
    config = project.config()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            google_auth.authorize(config, project.folder / "client.json", open_browser=False)
        except Exception as exc:
            result["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    _play_browser(capsys, result)
    worker.join(10)

    error = result["error"]
    assert isinstance(error, ConfigError) and google_auth.GMAIL_SCOPE in error.message
    assert "consent screen" in (error.hint or "")
    saved = json.loads((project.folder / "secrets" / "token.json").read_text())
    assert saved["scopes"] == [google_auth.SHEETS_SCOPE]  # what Google said, not what was asked


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
    form: ClassVar[dict[str, Any]] = FORM  # what forms.get answers

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        form = type(self).form
        if self.path.startswith(f"/v1/forms/{form['formId']}"):
            body, status = json.dumps(form).encode(), 200
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
    _Forms.form = FORM
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forms)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
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


# -- form-fields: every key once ---------------------------------------------------------------


def _question(title: str, question_id: str, kind: str = "textQuestion") -> dict[str, Any]:
    return {
        "itemId": question_id,
        "title": title,
        "questionItem": {"question": {"questionId": question_id, kind: {}}},
    }


def _form_fields(project: Project, forms_api: str, items: list[dict[str, Any]]) -> str:
    """Run ``pdmail form-fields`` against the loopback Forms API serving ``items``."""
    _Forms.form = dict(FORM, items=items)
    project.write_config(
        {"google": {"token_file": "token.json", "endpoints": {"forms": forms_api}}}
    )
    _forms_token(project)
    result = CliRunner().invoke(
        main, ["form-fields", "--config", str(project.config_path), str(FORM["formId"])]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _keys(block: str, section: str) -> list[str]:
    """The keys (not comments) of ``form.<section>`` in a printed block, in order."""
    keys: list[str] = []
    inside = False
    for line in block.splitlines():
        if re.fullmatch(r"  \w+:.*", line):
            inside = line.strip().startswith(f"{section}:")
        elif inside and re.match(r"    \w+:", line):
            keys.append(line.split(":", 1)[0].strip())
    return keys


def _loads_as_config(project: Project, block: str) -> Any:
    """The printed block pasted into pdmail.yaml (prefill and columns checked by the loader)."""
    data = {**BASE_CONFIG, "form": yaml.safe_load(block)["form"]}
    project.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(project.config_path).form


EMAIL, NAME, UNITS, HELP, FORMAT = (FORM["items"][i] for i in (0, 1, 3, 4, 5))


@pytest.mark.parametrize(
    ("items", "prefill", "columns", "also"),
    [
        pytest.param(
            [EMAIL, NAME, UNITS, HELP, _question("How can the library help?", "000000a1"), FORMAT],
            ["email", "first_name"],
            ["timestamp", "email", "units", "help", "format"],
            ["help"],
            id="two questions with the same title",
        ),
        pytest.param(
            [EMAIL, _question("Confirm your e-mail address", "000000a2"), NAME, UNITS, HELP],
            ["email", "first_name"],
            ["timestamp", "email", "units", "help"],
            ["email"],
            id="two titles that look like the email",
        ),
        pytest.param(
            [EMAIL, _question("Team", "000000a3"), _question("Grade level", "000000a4"), HELP,
             _question("Do you need support with research?", "000000a5"), UNITS,
             _question("Which unit comes after that?", "000000a6")],
            ["email", "team"],
            ["timestamp", "email", "units", "help"],
            ["team", "help", "units"],
            id="several titles for each of three keys",
        ),
        pytest.param(
            [EMAIL, _question("Cycle (filled in for you)", "000000c1"), UNITS, HELP, FORMAT],
            ["email", "cycle"],
            ["timestamp", "email", "units", "help", "format", "cycle"],
            [],
            id="a cycle question",
        ),
        pytest.param(
            [EMAIL, _question("What do you need help with this month?", "000000c2"),
             _question("Month", "000000c3")],
            ["email", "cycle"],
            ["timestamp", "email", "help", "cycle"],
            [],
            id="help this month is help, month is the cycle",
        ),
    ],
)  # fmt: skip
def test_form_fields_prints_every_key_once(
    project: Project,
    forms_api: str,
    items: list[dict[str, Any]],
    prefill: list[str],
    columns: list[str],
    also: list[str],
) -> None:
    out = _form_fields(project, forms_api, items)

    assert _keys(out, "prefill") == prefill
    assert _keys(out, "columns") == columns
    assert re.findall(r"# also looks like (\w+)", out) == also
    form = _loads_as_config(project, out)
    assert sorted(form.prefill) == sorted(prefill)
    # Every question is still listed, for the librarian to map by hand.
    assert out.count("# <roster field>: entry.") == len(items)


def test_a_picked_cycle_question_is_prefilled_and_read_back(
    project: Project, forms_api: str
) -> None:
    cycle = _question("Cycle", "0000c0de")
    out = _form_fields(project, forms_api, [EMAIL, cycle, UNITS, HELP, FORMAT])

    form = _loads_as_config(project, out)

    assert form.prefill["cycle"] == f"entry.{0xC0DE}"
    assert form.columns.cycle == "Cycle"


def test_two_questions_with_one_title_are_pointed_out(project: Project, forms_api: str) -> None:
    twin = _question("how can the library  help?", "000000a1")
    out = _form_fields(project, forms_api, [EMAIL, UNITS, HELP, twin])

    assert '# 2 questions are titled "How can the library help?"' in out
    assert _keys(out, "columns").count("help") == 1


def test_titles_with_line_breaks_never_become_config_lines(
    project: Project, forms_api: str
) -> None:
    sneaky = _question("Notes\nhelp: injected\n  columns:", "000000b1")
    _Forms.form = dict(FORM, info={"title": "Check-in\nschool: Evil", "documentTitle": ""})
    out = _form_fields(project, forms_api, [EMAIL, UNITS, HELP, sneaky])
    _Forms.form = FORM

    assert "injected" in out
    assert all(line.lstrip().startswith("#") for line in out.splitlines() if "injected" in line)
    assert _keys(out, "columns").count("help") == 1
    assert list(yaml.safe_load(out)) == ["form"]  # the form's title stays in its comment
