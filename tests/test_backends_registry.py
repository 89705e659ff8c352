"""The backend registry: a backend is one class, picked by its kind from the config.

The proof is a fourth mailer written here, in the test, that no pdmail module knows: registered,
it is picked by ``mail.kind``, checks its own config keys, sets its own pacing, is built by the
registry and sends a month's requests through ``pdmail send``; an outcome it cannot know is
shown with its own advice. The rest pins what each built-in backend carries, that Google's
errors become pdmail's through one context manager, and that no Google library is loaded unless
a Google backend is used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from email import message_from_bytes, policy
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import pytest
import requests
from conftest import Project, ledger_entries, run_cli

from pdmail.backends import registry
from pdmail.backends.base import OK, Check, Mailer, MailerBackend, SourceBackend
from pdmail.backends.google.api import (
    GoogleApiError,
    GoogleSignInError,
    SignInOutage,
    google_errors,
)
from pdmail.config.load import load_config
from pdmail.config.reader import Reader
from pdmail.config.records import Config
from pdmail.cycle.delivery import how_to_find
from pdmail.errors import BackendError, ConfigError, DeliveryError
from pdmail.models import SendResult, State, Table
from pdmail.sources.tables import table_from_rows
from pdmail.workspace import Workspace

# -- a fourth mailer, defined here and nowhere in pdmail ---------------------------------

BOXES: dict[str, list[tuple[str, bytes]]] = {}


class MemoryMailer:
    """Keeps each message's bytes in a named list; a recipient in ``lost`` is an outcome it
    cannot know."""

    name = "memory"

    def __init__(self, box: list[tuple[str, bytes]], lost: frozenset[str]) -> None:
        self.box = box
        self.lost = lost
        self.open = False

    def __enter__(self) -> MemoryMailer:
        self.open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.open = False

    def send(self, message: Any, *, thread_id: str | None = None) -> SendResult:
        assert self.open, "sent outside 'with'"
        data: bytes = message.as_bytes()
        to = message_from_bytes(data, policy=policy.default)["To"].addresses[0].addr_spec
        if to in self.lost:
            raise DeliveryError(f"memory: {to}: the box fell over", definite=False)
        self.box.append((to, data))
        mid = str(message["Message-ID"])
        return SendResult(message_id=mid, thread_id=thread_id or mid, provider_id="")


class MemoryBackend(MailerBackend):
    """``mail.kind: memory``, with its own key ``mail.memory: {box, lost}``."""

    kind: ClassVar[str] = "memory"
    keys = frozenset({"memory"})
    per_minute = 0
    daily_cap = 2  # its own default pacing

    @classmethod
    def parse(cls, r: Reader, section: Mapping[str, Any], *, chosen: bool) -> dict[str, Any]:
        m = r.mapping(section.get("memory"), "mail.memory", required=chosen)
        r.known(m, "mail.memory", {"box", "lost"})
        lost = m.get("lost") or []
        if not isinstance(lost, list):
            raise r.error("mail.memory.lost", "expected a list of addresses")
        return {
            "memory": {
                "box": r.text(m, "box", "mail.memory", required=chosen),
                "lost": frozenset(str(a) for a in lost),
            }
        }

    @classmethod
    def build(cls, config: Config) -> MemoryMailer:
        options = config.mail.options["memory"]
        return MemoryMailer(BOXES.setdefault(options["box"], []), options["lost"])

    @classmethod
    def where_to_look(cls, message_id: str) -> str:
        return f"look in the memory box for {message_id}"

    @classmethod
    def doctor(cls, config: Config, *, connect: bool, new_mailer: Callable[[], Mailer]) -> Check:
        box = config.mail.options["memory"]["box"]
        return Check("mail", OK, f"memory box {box!r} is ready")


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[tuple[str, bytes]]]]:
    """The memory mailer registered for this test only (monkeypatch puts the registry back)."""
    monkeypatch.setattr(registry, "MAILERS", registry.MAILERS)
    registry.register(MemoryBackend)
    BOXES.clear()
    yield BOXES
    BOXES.clear()


def memory_config(project: Project, **memory: Any) -> None:
    project.write_config({"mail": {"kind": "memory", "memory": {"box": "main", **memory}}})


ACTIVE = sorted(f"{who}@school.example.org" for who in ("ann", "raj", "maria", "sam"))


def test_a_fourth_mailer_sends_a_month_through_pdmail_send(
    project: Project, memory: dict[str, list[tuple[str, bytes]]]
) -> None:
    memory_config(project)
    config = load_config(project.config_path)
    assert (config.mail.kind, config.mail.per_minute, config.mail.daily_cap) == ("memory", 0, 2)

    first = run_cli(project, "send", today="2026-12-01")
    assert first.exit_code == 0, first.output
    # Its own daily cap (2) held the other two teachers for a later run.
    assert len(memory["main"]) == 2
    second = run_cli(project, "send", "--late", today="2026-12-03")
    assert second.exit_code == 0, second.output
    assert sorted(to for to, _ in memory["main"]) == ACTIVE
    entries = ledger_entries(project)
    assert {e.key.recipient for e in entries if e.state is State.SENT} == set(ACTIVE)
    assert {e.mailer for e in entries} == {"memory"}
    assert not project.outbox.exists()  # nothing went to the default mailer
    third = run_cli(project, "send", "--late", today="2026-12-03")
    assert third.exit_code == 0 and len(memory["main"]) == 4  # exactly once


def test_a_fourth_mailers_unknown_outcome_is_shown_with_its_own_advice(
    project: Project, memory: dict[str, list[tuple[str, bytes]]]
) -> None:
    project.write_config(
        {"mail": {"kind": "memory", "daily_cap": 0,
                  "memory": {"box": "main", "lost": ["raj@school.example.org"]}}}
    )  # fmt: skip
    run_cli(project, "send", today="2026-12-01")
    (unknown,) = [e for e in ledger_entries(project) if e.state is State.UNKNOWN]
    assert unknown.key.recipient == "raj@school.example.org"
    status = run_cli(project, "status", today="2026-12-02")
    assert f"look in the memory box for {unknown.message_id}" in status.output


@pytest.mark.parametrize(
    ("mail", "key", "words"),
    [
        ({"kind": "memory", "memory": {}}, "mail.memory.box", "is required"),
        ({"kind": "memory"}, "mail.memory", "is required"),
        ({"kind": "memory", "memory": {"bx": "x"}}, "mail.memory.bx", "is not a known key"),
        ({"kind": "memory", "memory": {"box": "b", "lost": "x"}}, "mail.memory.lost", "a list"),
        # Not chosen, its keys are still its own to check.
        ({"kind": "outbox", "memory": {"bx": "x"}}, "mail.memory.bx", "is not a known key"),
    ],
)
def test_a_fourth_mailer_checks_its_own_keys(
    project: Project,
    memory: dict[str, list[tuple[str, bytes]]],
    mail: dict[str, Any],
    key: str,
    words: str,
) -> None:
    project.write_config({"mail": mail})
    with pytest.raises(ConfigError) as caught:
        load_config(project.config_path)
    assert caught.value.message.startswith("pdmail.yaml")
    assert f"{key}: " in caught.value.message and words in caught.value.message
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code == 2 and key in result.output
    assert memory == {}


def test_a_fourth_mailer_answers_the_doctors_mail_check(
    project: Project, memory: dict[str, list[tuple[str, bytes]]]
) -> None:
    from pdmail.doctor import diagnose

    memory_config(project)
    checks = {c.name: c for c in diagnose(project.config_path, connect=True)}
    assert checks["mail"] == Check("mail", OK, "memory box 'main' is ready")
    assert checks["sender"].status == "skip"  # it delivers: the From address is not proven
    assert memory == {}


def test_an_unregistered_kind_and_key_are_refused_with_the_kinds_there_are(
    project: Project,
) -> None:
    project.write_config({"mail": {"kind": "memory"}})
    with pytest.raises(ConfigError) as caught:
        load_config(project.config_path)
    listed = "outbox, smtp, gmail, microsoft365"
    assert f"mail.kind: 'memory' is not one of: {listed}" in caught.value.message
    project.write_config({"mail": {"kind": "outbox", "memory": {"box": "x"}}})
    with pytest.raises(ConfigError, match=r"mail\.memory: is not a known key"):
        load_config(project.config_path)


@pytest.mark.parametrize(
    ("section", "kind", "hint"),
    [
        ("mail", "gmial", "did you mean 'gmail'?"),
        ("mail", "smpt", "did you mean 'smtp'?"),
        ("mail", "fax", None),
        ("sources", "googel", "did you mean 'google'?"),
        ("sources", "lokal", "did you mean 'local'?"),
    ],
)
def test_an_unknown_kind_says_which_there_are_and_the_closest(
    project: Project, section: str, kind: str, hint: str | None
) -> None:
    project.write_config({section: {"kind": kind}})
    with pytest.raises(ConfigError) as caught:
        load_config(project.config_path)
    listed = (
        "outbox, smtp, gmail, microsoft365" if section == "mail" else "local, google, microsoft365"
    )
    assert f"{section}.kind: {kind!r} is not one of: {listed}" in caught.value.message
    assert caught.value.hint == hint
    lookup = registry.mailer_backend if section == "mail" else registry.source_backend
    with pytest.raises(ConfigError) as direct:
        lookup(kind)
    assert direct.value.hint == hint


def test_a_kind_can_be_registered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "MAILERS", registry.MAILERS)

    class Again(MailerBackend):
        kind: ClassVar[str] = "smtp"

    with pytest.raises(ConfigError, match="'smtp' is already a backend's kind"):
        registry.register(Again)
    with pytest.raises(TypeError):
        registry.register(int)  # type: ignore[type-var]


# -- a third source, defined here too ----------------------------------------------------


class InlineSource:
    """The roster written in the config itself; no answers yet."""

    def __init__(self, rows: list[list[str]]) -> None:
        self.rows = rows

    def read_roster(self) -> Table:
        return table_from_rows("sources.inline", self.rows)

    def read_responses(self) -> Table | None:
        return None


class InlineBackend(SourceBackend):
    """``sources.kind: inline``, the roster as a list of rows under ``sources.inline``."""

    kind: ClassVar[str] = "inline"
    keys = frozenset({"inline"})

    @classmethod
    def parse(cls, r: Reader, section: Mapping[str, Any], *, chosen: bool) -> dict[str, Any]:
        rows = section.get("inline")
        if chosen and not isinstance(rows, list):
            raise r.error("sources.inline", "expected the roster as a list of rows")
        return {"inline": rows}

    @classmethod
    def build(cls, config: Config) -> InlineSource:
        return InlineSource([[str(c) for c in row] for row in config.sources.options["inline"]])

    @classmethod
    def report_place(cls, config: Config, name: str) -> str:
        return f"the inline {name} list"

    @classmethod
    def responses_place(cls, config: Config) -> tuple[str, str] | None:
        return "the inline answers", "answers cannot be inline yet"


def test_a_third_source_is_read_and_named_through_the_normal_path(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pdmail.cycle.publish import needs_table

    monkeypatch.setattr(registry, "SOURCES", registry.SOURCES)
    registry.register(InlineBackend)
    rows = [["Email", "First Name"], ["ann@school.example.org", "Ann"]]
    project.write_config({"sources": {"kind": "inline", "inline": rows}})
    (project.folder / "roster.csv").unlink()  # the local files are not read

    sent = run_cli(project, "send", today="2026-12-01")
    assert sent.exit_code == 0, sent.output
    assert project.sent_to("request") == ["ann@school.example.org"]
    remind = run_cli(project, "remind", today="2026-12-07")
    assert remind.exit_code != 0
    assert "the inline answers: no responses there" in remind.output
    assert "answers cannot be inline yet" in remind.output
    assert project.sent_to("reminder-1") == []
    with Workspace(project.config()) as ws:
        assert needs_table(ws.config) == "the inline needs list"
    project.write_config({"sources": {"kind": "inline", "inline": "ann"}})
    with pytest.raises(ConfigError, match=r"sources\.inline: expected the roster as a list"):
        load_config(project.config_path)


# -- what each built-in backend carries ----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "per_minute", "daily_cap", "delivers", "scopes"),
    [
        ("outbox", 0, 0, False, ()),
        ("smtp", 30, 1500, True, ()),
        ("gmail", 60, 1500, True, ("https://www.googleapis.com/auth/gmail.send",)),
    ],
)
def test_each_mailer_carries_its_pacing_and_needs(
    kind: str, per_minute: int, daily_cap: int, delivers: bool, scopes: tuple[str, ...]
) -> None:
    backend = registry.mailer_backend(kind)
    assert backend.kind == kind
    assert (backend.per_minute, backend.daily_cap, backend.delivers) == (
        per_minute,
        daily_cap,
        delivers,
    )
    assert backend.google_scopes == scopes
    assert (backend.account is not None) == bool(scopes)


@pytest.mark.parametrize(
    ("mail", "per_minute", "daily_cap"),
    [
        ({"kind": "outbox"}, 0, 0),
        ({"kind": "smtp", "smtp": {"host": "mail.example.org"}}, 30, 1500),
        ({"kind": "gmail"}, 60, 1500),
        ({"kind": "gmail", "per_minute": 20, "daily_cap": 0}, 20, 0),
    ],
)
def test_the_configs_pacing_defaults_to_the_mailers(
    project: Project, mail: dict[str, Any], per_minute: int, daily_cap: int
) -> None:
    project.write_config({"mail": mail})
    config = load_config(project.config_path)
    assert (config.mail.per_minute, config.mail.daily_cap) == (per_minute, daily_cap)


MID = "<pdmail.monthly-update.2026-12.request.abc@school.example.org>"


@pytest.mark.parametrize(
    ("mailer", "advice"),
    [
        ("gmail", "search the sending account's Gmail (Sent) for rfc822msgid:pdmail."),
        ("outbox", f"look in the outbox folder for the file with Message-ID {MID}"),
        ("smtp", f"search the sending mailbox's Sent folder (or the mail server's log) for the "
                 f"Message-ID {MID}"),
        # A ledger entry of a mailer pdmail no longer has (or of an older pdmail: no name).
        ("", "search the sending mailbox's Sent folder"),
        ("exchange", "search the sending mailbox's Sent folder"),
    ],
)  # fmt: skip
def test_where_to_look_is_the_mailers_own_advice(mailer: str, advice: str) -> None:
    assert advice in how_to_find(mailer, MID)


def test_the_sink_is_the_source_when_it_can_write_tables(project: Project) -> None:
    class Both:
        def read_roster(self) -> Any: ...
        def read_responses(self) -> Any: ...
        def write_table(self, name: str, header: Any, rows: Any) -> str:
            return name

        def read_table(self, name: str) -> Any: ...

    config = project.config()
    both = Both()
    assert registry.make_sink(config, both) is both
    local = registry.make_source(config)
    assert type(registry.make_sink(config, local)).__name__ == "CsvSink"


def test_the_smtp_settings_keep_their_defaults_and_checks(project: Project) -> None:
    project.write_config(
        {"mail": {"kind": "smtp", "smtp": {"host": "mx.example.org", "security": "ssl"}}}
    )
    smtp = load_config(project.config_path).mail.smtp
    assert smtp is not None and (smtp.port, smtp.security, smtp.timeout) == (465, "ssl", 30.0)
    project.write_config({"mail": {"kind": "smtp", "smtp": {"host": "h", "username": "u"}}})
    with pytest.raises(ConfigError, match=r"mail\.smtp\.password_env: is required with a username"):
        load_config(project.config_path)


# -- Google's errors, mapped in one place --------------------------------------------------


def _response(code: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> Any:
    response = requests.Response()
    response.status_code = code
    response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    response.headers.update(headers or {})
    response.url = "https://sheets.googleapis.com/v4/spreadsheets/x"
    return response


def _envelope(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "status": status, "message": message}}


@pytest.mark.parametrize(
    ("code", "body", "message", "hint"),
    [
        (404, _envelope(404, "NOT_FOUND", "Requested entity was not found."),
         "Google Sheets API: reading: 404 NOT_FOUND: Requested entity was not found.",
         "check google.spreadsheet_id"),
        (403, _envelope(403, "PERMISSION_DENIED", "The caller does not have permission"),
         "Google Sheets API: reading: 403 PERMISSION_DENIED: The caller does not have permission",
         "the account lacks access"),
        (503, "<html>\nService Unavailable</html>",
         "Google Sheets API: reading: 503: <html>", None),
    ],
)  # fmt: skip
def test_a_gspread_error_becomes_pdmails_with_the_api_status_and_hint(
    code: int, body: Any, message: str, hint: str | None
) -> None:
    from gspread.exceptions import APIError

    with pytest.raises(GoogleApiError) as caught, google_errors("Google Sheets API", "reading"):
        raise APIError(_response(code, body, {"Retry-After": "7"}))
    assert caught.value.message == message
    assert (caught.value.hint or "").startswith(hint or "")
    assert hint is not None or caught.value.hint is None
    assert caught.value.failure.code == code and caught.value.retry_after == 7.0
    assert isinstance(caught.value, BackendError)


def test_a_googleapiclient_error_is_mapped_the_same_way_with_the_callers_hints() -> None:
    import httplib2  # type: ignore[import-untyped]
    from googleapiclient.errors import HttpError

    body = json.dumps(_envelope(404, "NOT_FOUND", "Requested entity was not found.")).encode()
    error = HttpError(httplib2.Response({"status": "404"}), body)
    with (
        pytest.raises(GoogleApiError) as caught,
        google_errors("Google Forms API", "forms.get F", hints={404: "pass the edit id"}),
    ):
        raise error
    assert caught.value.message == (
        "Google Forms API: forms.get F: 404 NOT_FOUND: Requested entity was not found."
    )
    assert caught.value.hint == "pass the edit id"


@pytest.mark.parametrize(
    ("status", "outage", "words"),
    [
        (None, False, "Google refused it (invalid_grant: Token has been expired or revoked.)"),
        (503, True, "Google's sign-in service answered 503"),
    ],
)
def test_a_token_that_cannot_be_had_is_a_sign_in_error(
    status: int | None, outage: bool, words: str
) -> None:
    from google.auth.exceptions import RefreshError

    with (
        pytest.raises(GoogleSignInError) as caught,
        google_errors("Google Sheets API", "GET v4/x", status=lambda: status),
    ):
        raise RefreshError("invalid_grant: Token has been expired or revoked.")  # type: ignore[no-untyped-call]
    assert caught.value.message.startswith(
        "Google Sheets API: GET v4/x: the saved authorization could not be refreshed: "
    )
    assert words in caught.value.message
    assert isinstance(caught.value, SignInOutage) is outage and caught.value.refresh


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError), google_errors("Gmail API", "x"):
        raise KeyError("not Google's")
    original = BackendError("already pdmail's")
    with pytest.raises(BackendError) as caught, google_errors("Gmail API", "x"):
        raise original
    assert caught.value is original


# -- Google libraries load only for a Google backend -----------------------------------------

GOOGLE_LIBRARIES = ("gspread", "googleapiclient", "google.auth", "google_auth_oauthlib")


def test_a_month_on_local_files_and_the_outbox_loads_no_google_library(project: Project) -> None:
    script = f"""
import sys
from click.testing import CliRunner
from pdmail.cli.commands import main
config = {str(project.config_path)!r}
for args in (["send", "--today", "2026-12-01"], ["status", "--today", "2026-12-02"],
             ["digest", "--today", "2026-12-11"], ["doctor", "--today", "2026-12-02"]):
    result = CliRunner().invoke(main, [*args, "--config", config])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
print(sorted(m for m in {GOOGLE_LIBRARIES!r} if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=Path.cwd()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert list(project.outbox.rglob("*.eml"))  # the month did run
