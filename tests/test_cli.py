"""The ``pdmail`` command line, command by command, checked by what lands on disk.

Every test runs the real click command through :class:`click.testing.CliRunner` against the
``project`` folder (December 2026: send Tue 1, reminders Mon 7 and Wed 9, due Tue 8, digest
Fri 11) and then reads the outbox, the digest files and the SQLite ledger.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, time, timezone
from pathlib import Path

import click
import pytest
import schedule as schedule_lib
from click.testing import CliRunner, Result
from conftest import ROSTER_ROWS, Project, answer, ledger_entries, read_eml, run_cli

import pdmail
from pdmail.cli.commands import main
from pdmail.config.load import load_config
from pdmail.cycle.scheduler import daily_job, install, run_forever
from pdmail.errors import ConfigError, InputError, PdmailError, TemplateError
from pdmail.models import MessageKey, State
from pdmail.resources import builtin_templates, example_config
from pdmail.state.ledger import Ledger

CAMPAIGN = "monthly-update"
CYCLE = "2026-12"
ACTIVE = sorted(row[0] for row in ROSTER_ROWS if row[4] != "no")  # the 4 active teachers


def invoke(project: Project, *args: str, today: str | None = "2026-12-01") -> Result:
    return run_cli(project, *args, today=today)


def emls(project: Project) -> list[Path]:
    return sorted(project.outbox.rglob("*.eml"))


# -- the command group ------------------------------------------------------------------------


COMMAND_NAMES = main.list_commands(click.Context(main))


def test_the_group_has_its_commands() -> None:
    assert {"send", "remind", "digest", "run", "report", "journal"} <= set(COMMAND_NAMES)


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_has_help(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert command is not None
    assert command.get_short_help_str().strip(), f"'pdmail {name}' has no help text"
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"{name} [OPTIONS]" in result.output
    first_line = (command.help or "").strip().splitlines()[0]
    assert first_line[:30] in " ".join(result.output.split())


def test_main_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMAND_NAMES:
        assert f"  {name} " in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"pdmail, version {pdmail.__version__}"


# -- init -------------------------------------------------------------------------------------


def test_init_writes_a_folder_that_works(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    result = CliRunner().invoke(main, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    templates = sorted(p.name for p in builtin_templates().glob("*.j2"))
    assert templates, "no built-in templates found"
    assert sorted(p.name for p in (folder / "templates").glob("*.j2")) == templates
    assert (folder / "pdmail.yaml").read_text(encoding="utf-8") == example_config().read_text(
        encoding="utf-8"
    )
    assert (folder / "roster.csv").read_text(encoding="utf-8").startswith("Email,")
    for name in ("pdmail.yaml", "roster.csv", *(f"templates/{t}" for t in templates)):
        assert f"wrote {folder / name}" in result.output
    assert "Next:" in result.output and "pdmail preview" in result.output

    config = load_config(folder / "pdmail.yaml")
    assert config.sources.roster == (folder / "roster.csv").resolve()
    assert config.templates == (folder / "templates").resolve()
    # The folder as written previews a request (the sample roster and the templates work).
    shown = CliRunner().invoke(
        main, ["preview", "--config", str(folder / "pdmail.yaml"), "--today", "2026-12-01"]
    )
    assert shown.exit_code == 0, shown.output
    assert "To: Ann Lee <ann.lee@lincoln.example.org>" in shown.output


def test_init_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    assert CliRunner().invoke(main, ["init", str(folder)]).exit_code == 0
    config = folder / "pdmail.yaml"
    config.write_text("school: Mine\n", encoding="utf-8")

    again = CliRunner().invoke(main, ["init", str(folder)])
    assert again.exit_code != 0
    assert "Traceback" not in again.output
    assert str(config) in again.stderr
    assert "--force" in again.stderr
    assert config.read_text(encoding="utf-8") == "school: Mine\n"  # untouched

    forced = CliRunner().invoke(main, ["init", str(folder), "--force"])
    assert forced.exit_code == 0, forced.output
    assert config.read_text(encoding="utf-8") == example_config().read_text(encoding="utf-8")


# -- preview ----------------------------------------------------------------------------------


def test_preview_shows_the_first_active_teacher_and_sends_nothing(project: Project) -> None:
    result = invoke(project, "preview")
    assert result.exit_code == 0
    out = result.stdout
    assert "To: Ann Lee <ann@school.example.org>" in out
    assert "Subject: December 2026 library update" in out
    assert "Hi Ann," in out
    assert "entry.111=ann%40school.example.org" in out and "entry.333=2026-12" in out
    assert "--- HTML ---" not in out and "<html" not in out
    assert out.count("To: ") == 1
    assert not project.outbox.exists()
    assert ledger_entries(project) == []


def test_preview_picks_a_teacher_case_insensitively(project: Project) -> None:
    result = invoke(project, "preview", "--teacher", "  RAJ@School.Example.org ")
    assert result.exit_code == 0
    assert "To: Raj Patel <raj@school.example.org>" in result.stdout
    assert "Hi Raj," in result.stdout
    assert "Ann" not in result.stdout


def test_preview_html(project: Project) -> None:
    result = invoke(project, "preview", "--html")
    assert result.exit_code == 0
    html = result.stdout.split("--- HTML ---", 1)[1]
    assert "<html" in html and 'href="https://docs.google.com/forms/' in html
    assert "Hi Ann," in html


def test_preview_reminder_has_a_reply_subject(project: Project) -> None:
    result = invoke(
        project, "preview", "--kind", "reminder", "--teacher", "maria@school.example.org"
    )
    assert result.exit_code == 0
    assert "Subject: Re: December 2026 library update" in result.stdout
    assert "gentle reminder" in result.stdout
    assert not project.outbox.exists()


def test_preview_json(project: Project) -> None:
    result = invoke(
        project, "preview", "--json", "--teacher", "ann@school.example.org", "--teacher",
        "sam@school.example.org",
    )  # fmt: skip
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [p["to"] for p in data] == [
        "Ann Lee <ann@school.example.org>",
        "Sam Haddad <sam@school.example.org>",
    ]
    assert all(set(p) == {"to", "subject", "text", "html"} for p in data)
    assert "Hi Sam," in data[1]["text"] and "<html" in data[1]["html"]


def test_preview_unknown_teacher(project: Project) -> None:
    result = invoke(project, "preview", "--teacher", "nobody@school.example.org")
    assert result.exit_code == InputError.exit_code
    assert "Error: --teacher: nobody@school.example.org is not on the roster" in result.stderr
    assert str(project.folder / "roster.csv") in result.stderr
    assert not project.outbox.exists()


# -- send -------------------------------------------------------------------------------------


def test_send_mails_every_active_teacher_once(project: Project) -> None:
    result = invoke(project, "send")
    assert result.exit_code == 0
    assert "Sent 4 requests for 2026-12." in result.stdout
    assert sorted(project.sent_to("request")) == ACTIVE
    entries = ledger_entries(project)
    assert sorted(e.key.recipient for e in entries) == ACTIVE
    assert {(e.key.cycle, e.key.kind, e.state) for e in entries} == {(CYCLE, "request", State.SENT)}
    for path in emls(project):
        msg = read_eml(path)
        assert msg["From"].addresses[0].addr_spec == "librarian@school.example.org"
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None

    again = invoke(project, "send")
    assert again.exit_code == 0
    assert again.stdout == (
        "All 4 requests for 2026-12 were already sent on 2026-12-01; nothing to do.\n"
    )
    assert len(emls(project)) == 4
    assert [e.attempts for e in ledger_entries(project)] == [1, 1, 1, 1]


def test_send_dry_run_writes_nothing(project: Project) -> None:
    result = invoke(project, "send", "--dry-run")
    assert result.exit_code == 0
    assert "Dry run: 4 requests would be sent; nothing was sent." in result.stdout
    for addr in ACTIVE:
        assert f"would send to {addr}" in result.stdout
    assert "old@school.example.org" not in result.stdout
    assert not project.outbox.exists()
    assert ledger_entries(project) == []


def test_send_limit(project: Project) -> None:
    result = invoke(project, "send", "--limit", "1")
    assert result.exit_code == 0
    assert "Sent 1 request for 2026-12." in result.stdout
    assert "3 left for a later run" in result.stdout
    assert project.sent_to("request") == ["ann@school.example.org"]
    assert len(ledger_entries(project)) == 1

    rest = invoke(project, "send")
    assert "Sent 3 requests" in rest.stdout
    assert sorted(project.sent_to("request")) == ACTIVE


def test_send_only(project: Project) -> None:
    result = invoke(project, "send", "--only", " Raj@School.example.org")
    assert result.exit_code == 0
    assert project.sent_to("request") == ["raj@school.example.org"]
    assert [e.key.recipient for e in ledger_entries(project)] == ["raj@school.example.org"]


def test_send_only_an_address_not_on_the_roster(project: Project) -> None:
    result = invoke(project, "send", "--only", "raj@school.example.org", "--only", "x@y.org")
    assert result.exit_code == InputError.exit_code
    assert "--only" in result.stderr and "x@y.org" in result.stderr
    assert "raj@" not in result.stderr
    assert emls(project) == []
    assert ledger_entries(project) == []


def test_send_json(project: Project) -> None:
    result = invoke(project, "send", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["cycle"] == CYCLE and data["kind"] == "request" and data["dry_run"] is False
    assert sorted(o["recipient"] for o in data["outcomes"]) == ACTIVE
    assert {o["result"] for o in data["outcomes"]} == {"sent"}

    again = json.loads(invoke(project, "send", "--json").stdout)
    assert {o["result"] for o in again["outcomes"]} == {"already-sent"}


# -- collect ----------------------------------------------------------------------------------


def _december_answers(project: Project) -> None:
    project.write_responses(
        [
            answer("raj@school.example.org", "12/2/2026 8:00:00", help_text="First try"),
            answer("ann@school.example.org", "12/2/2026 9:00:00"),
            answer("zed@elsewhere.example.com", "12/2/2026 11:00:00"),
            answer(" RAJ@school.example.org", "12/3/2026 10:15:00", help_text="Second try"),
            answer("maria@school.example.org", "11/20/2026 9:00:00"),  # November's cycle
        ]
    )


def test_collect_lists_answered_waiting_and_strangers(project: Project) -> None:
    _december_answers(project)
    result = invoke(project, "collect", today="2026-12-04")
    assert result.exit_code == 0
    out = result.stdout
    assert "2026-12: 2 of 4 teachers answered." in out
    assert "answered  Ann Lee <ann@school.example.org>  2026-12-02 09:00" in out
    assert "answered  Raj Patel <raj@school.example.org>  2026-12-03 10:15" in out
    assert "waiting   María Gómez <maria@school.example.org>" in out
    assert "waiting   Sam Haddad <sam@school.example.org>" in out
    assert 'not on the roster: "zed@elsewhere.example.com", 2026-12-02 11:00 (' in out
    assert "1 earlier submission was superseded by a later one." in out
    assert "1 submission belongs to other cycles." in out
    assert "old@" not in out
    assert not project.outbox.exists()


def test_collect_json(project: Project) -> None:
    _december_answers(project)
    result = invoke(project, "collect", "--json", today="2026-12-04")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["cycle"] == CYCLE
    assert [a["email"] for a in data["answered"]] == [
        "ann@school.example.org",
        "raj@school.example.org",
    ]
    raj = data["answered"][1]
    assert raj["help"] == "Second try" and raj["submitted"].startswith("2026-12-03T10:15")
    assert data["not_answered"] == ["maria@school.example.org", "sam@school.example.org"]
    assert [s["email"] for s in data["strangers"]] == ["zed@elsewhere.example.com"]
    assert data["superseded"] == 1
    assert data["outside_cycle"] == 1
    assert data["rate"] == 0.5
    assert data["problems"] == []


# -- remind -----------------------------------------------------------------------------------


def test_remind_goes_to_non_responders_in_the_thread(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    project.write_responses([answer("ann@school.example.org", "12/2/2026 9:00:00")])

    result = invoke(project, "remind", today="2026-12-07")
    assert result.exit_code == 0
    assert "Sent 3 reminders" in result.stdout
    reminded = sorted(a for a in ACTIVE if a != "ann@school.example.org")
    assert sorted(project.sent_to("reminder-1")) == reminded
    for addr in reminded:
        folder = project.outbox / CYCLE
        request = read_eml(folder / f"request-{addr}.eml")
        reminder = read_eml(folder / f"reminder-1-{addr}.eml")
        assert str(reminder["Subject"]) == f"Re: {request['Subject']}"
        assert str(reminder["In-Reply-To"]) == str(request["Message-ID"])
    kinds = sorted((e.key.kind, e.key.recipient) for e in ledger_entries(project))
    assert [r for k, r in kinds if k == "reminder-1"] == reminded

    again = invoke(project, "remind", today="2026-12-07")
    assert again.stdout == (
        "No reminders to send for 2026-12: already sent reminder 1 (3 teachers).\n"
    )
    assert len(project.sent_to("reminder-1")) == 3


def test_remind_before_the_first_reminder_day(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    result = invoke(project, "remind", today="2026-12-03")
    assert result.exit_code == 0
    assert "no reminder is due before 2026-12-07" in result.stdout
    assert project.sent_to("reminder") == []
    assert {e.key.kind for e in ledger_entries(project)} == {"request"}


# -- digest -----------------------------------------------------------------------------------


def _sent_and_answered(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    project.write_responses(
        [
            answer("ann@school.example.org", "12/2/2026 9:00:00", units="Persuasive essays",
                   help_text="Research skills and MLA citations"),
            answer("raj@school.example.org", "12/3/2026 9:00:00", units="Cells",
                   help_text="Moodle quiz settings"),
        ]
    )  # fmt: skip


def test_digest_writes_files_to_the_configured_folder(project: Project) -> None:
    project.write_config({"digest": {"out": "reports"}})
    _sent_and_answered(project)
    result = invoke(project, "digest", today="2026-12-11")
    assert result.exit_code == 0
    out = project.folder / "reports" / CYCLE
    html, md = out / "digest.html", out / "digest.md"
    assert f"wrote {html}" in result.stdout and f"wrote {md}" in result.stdout
    html_text = html.read_text(encoding="utf-8")
    md_text = md.read_text(encoding="utf-8")
    assert "Test School library digest" in html_text and "<strong>2 of 4</strong>" in html_text
    assert md_text.startswith("# Test School library digest, December 2026")
    assert "MLA citations" in md_text and "Moodle quiz settings" in md_text
    assert project.sent_to("digest") == []  # not mailed without --send
    assert {e.key.kind for e in ledger_entries(project)} == {"request"}


def test_digest_out_option(project: Project, tmp_path: Path) -> None:
    _sent_and_answered(project)
    target = tmp_path / "elsewhere"
    result = invoke(project, "digest", "--out", str(target), today="2026-12-11")
    assert result.exit_code == 0
    assert sorted(p.name for p in target.iterdir()) == ["digest.html", "digest.md"]
    assert not (project.folder / "digest").exists()


def test_digest_send_mails_it_once(project: Project) -> None:
    _sent_and_answered(project)
    first = invoke(project, "digest", "--send", today="2026-12-11")
    assert first.exit_code == 0
    assert "Sent 1 digest" in first.stdout
    assert project.sent_to("digest") == ["librarian@school.example.org"]
    msg = read_eml(project.outbox / CYCLE / "digest-librarian@school.example.org.eml")
    assert "library digest" in str(msg["Subject"])
    html_part = msg.get_body(("html",))
    assert html_part is not None and "MLA citations" in html_part.get_content()

    second = invoke(project, "digest", "--send", today="2026-12-11")
    assert second.exit_code == 0
    assert (
        "The digest for 2026-12 to librarian@school.example.org was already sent on "
        "2026-12-11; nothing to do." in second.stdout
    )
    assert project.sent_to("digest") == ["librarian@school.example.org"]
    digests = [e for e in ledger_entries(project) if e.key.kind == "digest"]
    assert [(e.state, e.attempts) for e in digests] == [(State.SENT, 1)]


def test_digest_json(project: Project) -> None:
    _sent_and_answered(project)
    result = invoke(project, "digest", "--json", today="2026-12-11")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    digest = data["digest"]
    assert digest["cycle"] == CYCLE
    assert digest["asked"] == 4 and digest["answered"] == 2
    assert isinstance(digest["topics"], list) and digest["topics"]
    assert sorted(p["email"] for p in digest["non_responders"]) == [
        "maria@school.example.org",
        "sam@school.example.org",
    ]
    assert [Path(f).name for f in data["files"]] == ["digest.html", "digest.md", "digest.csv"]
    assert data["mail"] is None


# -- status -----------------------------------------------------------------------------------


def test_status_counts_and_table(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    project.write_responses([answer("ann@school.example.org", "12/2/2026 9:00:00")])
    result = invoke(project, "status", today="2026-12-03")
    assert result.exit_code == 0
    out = result.stdout
    assert "2026-12: send day 2026-12-01, due 2026-12-08" in out
    assert "Active 4 · requested 4 · reminded 0 · answered 1 · digest not yet" in out
    lines = {line.split()[2]: line for line in out.splitlines() if "@school.example.org" in line}
    assert sorted(lines) == sorted([*ACTIVE, "old@school.example.org"])
    assert lines["ann@school.example.org"].startswith("Ann Lee ")
    assert lines["ann@school.example.org"].endswith("  2026-12-02 09:00")
    assert " sent " in lines["raj@school.example.org"]
    assert lines["old@school.example.org"].endswith("(inactive)")
    assert "Needs attention" not in out


def test_status_json(project: Project) -> None:
    assert invoke(project, "send", "--only", "sam@school.example.org").exit_code == 0
    data = json.loads(invoke(project, "status", "--json").stdout)
    assert data["cycle"]["name"] == CYCLE
    by_email = {t["email"]: t for t in data["teachers"]}
    assert len(by_email) == 5
    assert by_email["sam@school.example.org"]["request"] == "sent"
    assert by_email["ann@school.example.org"]["request"] == ""
    assert by_email["old@school.example.org"]["active"] is False
    assert data["attention"] == [] and data["digest"] == ""


def test_status_shows_unknown_outcomes_under_needs_attention(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    key = MessageKey(CAMPAIGN, CYCLE, "raj@school.example.org", "request")
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        ledger.mark_unknown(key, "connection dropped after DATA", datetime.now(timezone.utc))

    result = invoke(project, "status")
    assert result.exit_code == 1  # an unknown outcome needs the librarian
    assert "rfc822msgid:" not in result.output  # the outbox, not Gmail
    assert "Message-ID <pdmail.monthly-update.2026-12.request." in result.output
    assert "requested 3" in result.stdout
    attention = result.stdout.split("Needs attention:", 1)[1]
    assert "unknown" in attention and "raj@school.example.org" in attention
    assert "connection dropped after DATA" in attention
    assert "ann@" not in attention

    data = json.loads(invoke(project, "status", "--json").stdout)
    assert [(e["key"]["recipient"], e["state"]) for e in data["attention"]] == [
        ("raj@school.example.org", "unknown")
    ]


# -- run --------------------------------------------------------------------------------------


def test_run_does_what_is_due_each_day(project: Project) -> None:
    first = invoke(project, "run")
    assert first.exit_code == 0
    assert "pdmail run for 2026-12-01:" in first.stdout
    assert sorted(project.sent_to("request")) == ACTIVE
    status_csv = project.folder / ".pdmail" / "status.csv"
    assert status_csv.exists() and f"wrote {status_csv}" in first.stdout

    again = invoke(project, "run")
    assert again.exit_code == 0
    assert "All 4 requests for 2026-12 were already sent on 2026-12-01" in again.stdout
    assert len(emls(project)) == 4
    assert len(ledger_entries(project)) == 4

    project.write_responses([])  # the export, downloaded: nobody has answered
    digest_day = invoke(project, "run", today="2026-12-11")
    assert digest_day.exit_code == 0
    assert project.sent_to("digest") == ["librarian@school.example.org"]
    assert (project.folder / "digest" / CYCLE / "digest.html").exists()
    assert (project.folder / "digest" / CYCLE / "digest.md").exists()
    assert sorted(project.sent_to("request")) == ACTIVE  # no request went out again
    assert len(emls(project)) == 5

    after = invoke(project, "run", today="2026-12-11")
    assert after.exit_code == 0
    assert project.sent_to("digest") == ["librarian@school.example.org"]


def test_run_dry_run_sends_nothing(project: Project) -> None:
    result = invoke(project, "run", "--dry-run")
    assert result.exit_code == 0
    assert "Dry run: 4 requests would be sent" in result.stdout
    assert not project.outbox.exists()
    assert ledger_entries(project) == []
    assert not (project.folder / ".pdmail" / "status.csv").exists()


def test_run_json(project: Project) -> None:
    result = invoke(project, "run", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["today"] == "2026-12-01"
    steps = {name: report for name, report in data["steps"]}
    assert sorted(o["recipient"] for o in steps["2026-12 requests"]["outcomes"]) == ACTIVE
    assert any(f.endswith("status.csv") for f in data["files"])


def test_run_before_the_send_day_sends_nothing(project: Project) -> None:
    project.write_config({"calendar": {"send_day": 3}})
    result = invoke(project, "run", today="2026-12-02")
    assert result.exit_code == 0
    # 2026-12-02 still belongs to November's cycle, whose request days are over.
    assert "nothing was due." in result.stdout
    assert emls(project) == []
    assert ledger_entries(project) == []
    assert invoke(project, "run", today="2026-12-03").exit_code == 0
    assert sorted(project.sent_to("request")) == ACTIVE


# -- demo -------------------------------------------------------------------------------------


def test_demo_runs_a_month_and_guards_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    result = CliRunner().invoke(main, ["demo", str(folder), "--today", "2026-12-01"])
    assert result.exit_code == 0, result.output
    outbox = folder / "outbox"
    digest = folder / "digest" / CYCLE / "digest.html"
    assert f"outbox:  {outbox}" in result.stdout
    assert f"digest:  {digest}" in result.stdout
    # Two earlier months are played first, so the digest has history to show.
    assert digest.is_file() and len(list((outbox / "2026-12").glob("request-*.eml"))) == 11
    assert sorted(p.parent.name for p in outbox.rglob("request-*.eml")) == sorted(
        ["2026-10"] * 11 + ["2026-11"] * 11 + ["2026-12"] * 11
    )
    # The librarian's digest, and the integration specialist's part of it.
    assert sorted(p.name for p in (outbox / "2026-12").glob("digest-*.eml")) == [
        "digest-librarian@lincoln.example.org.eml",
        "digest-pat.jones@district.example.org.eml",
    ]
    html = digest.read_text(encoding="utf-8")
    for section in ("Sessions to offer", "Teachers to reach first", "Carried over", "Trends",
                    "The year so far"):  # fmt: skip
        assert section in html

    again = CliRunner().invoke(main, ["demo", str(folder), "--today", "2026-12-01"])
    assert again.exit_code != 0
    assert "earlier demo" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.output

    (folder / "leftover.txt").write_text("from the first run")
    forced = CliRunner().invoke(main, ["demo", str(folder), "--today", "2026-12-01", "--force"])
    assert forced.exit_code == 0, forced.output
    assert not (folder / "leftover.txt").exists()
    assert digest.is_file()


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["demo", str(folder), "--today", "2026-12-01", "--force"])
    assert result.exit_code != 0
    assert str(folder) in result.stderr and "not empty" in result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "keep me"


# -- schedule (through the library) -----------------------------------------------------------


def test_install_uses_calendar_run_at_or_the_override(project: Project) -> None:
    project.write_config({"calendar": {"run_at": "06:45"}})
    logs: list[str] = []
    job = install(schedule_lib.Scheduler(), project.config_path, None, logs.append)
    assert job.at_time == time(6, 45)
    assert str(job.at_time_zone) == "America/Chicago"
    assert job.at_time == time.fromisoformat(project.config().calendar.run_at)

    sched = schedule_lib.Scheduler()
    job = install(sched, project.config_path, "05:15", logs.append)
    assert job.at_time == time(5, 15)
    assert sched.jobs == [job]
    assert logs == []

    with pytest.raises(PdmailError, match="--at"):
        install(schedule_lib.Scheduler(), project.config_path, "25:99", logs.append)


def test_run_forever_catches_up_once_then_sleeps_until_stopped(project: Project) -> None:
    logs: list[str] = []
    sleeps: list[float] = []
    checks = iter([False, True])
    sched = schedule_lib.Scheduler()
    run_forever(
        project.config_path,
        log=logs.append,
        scheduler=sched,
        sleep=sleeps.append,
        should_stop=lambda: next(checks),
    )
    assert logs[0].startswith("pdmail schedule: daily at 07:30")
    assert "America/Chicago" in logs[0]
    # the catch-up tick ran (and reported) before the loop; the loop ran once and slept once
    assert len(logs) == 2 and logs[1].startswith("pdmail run for ")
    assert "failed" not in logs[1]
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 60.0
    assert len(sched.jobs) == 1


def test_daily_job_logs_a_broken_config_instead_of_raising(project: Project) -> None:
    project.config_path.write_text("school: [unclosed\n", encoding="utf-8")
    logs: list[str] = []
    assert daily_job(project.config_path, logs.append) is None
    assert len(logs) == 1
    assert logs[0].startswith("pdmail run failed:") and "pdmail.yaml" in logs[0]
    assert emls(project) == []


def test_schedule_command_fails_fast_on_a_broken_config(project: Project) -> None:
    project.write_config({"calendar": {"run_at": "7.30"}})
    result = CliRunner().invoke(main, ["schedule", "--config", str(project.config_path)])
    assert result.exit_code == ConfigError.exit_code
    assert "calendar.run_at" in result.stderr
    assert "Traceback" not in result.output


# -- errors: --debug -------------------------------------------------------------------------


def _missing_config(project: Project) -> list[str]:
    project.config_path.unlink()
    return ["send"]


def _stranger_only(project: Project) -> list[str]:
    return ["send", "--only", "x@y.org"]


def _broken_template(project: Project) -> list[str]:
    folder = project.folder / "templates"
    folder.mkdir()
    (folder / "request.subject.j2").write_text("{{ teacher.nickname }}\n", encoding="utf-8")
    project.write_config({"templates": "templates"})
    return ["send"]


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (_missing_config, ConfigError),
        (_stranger_only, InputError),
        (_broken_template, TemplateError),
    ],
    ids=["config", "input", "template"],
)
def test_debug_lets_the_error_through(
    project: Project, setup: Callable[[Project], list[str]], error: type[PdmailError]
) -> None:
    args = setup(project)
    argv = [*args, "--config", str(project.config_path), "--today", "2026-12-01"]

    plain = CliRunner().invoke(main, argv)
    assert plain.exit_code == error.exit_code
    assert plain.stderr.startswith("Error: ")
    assert "Traceback" not in plain.output
    assert not isinstance(plain.exception, PdmailError)

    debug = CliRunner().invoke(main, ["--debug", *argv])
    assert isinstance(debug.exception, error)
    assert "Error: " not in debug.output
    assert emls(project) == []


# --- start-up: the library and Google only when a command needs them ------------------------

HEAVY = (
    "jinja2",
    "yaml",
    "sqlite3",
    "gspread",
    "googleapiclient",
    "google.auth",
    "pdmail.config.load",
)
GOOGLE = ("gspread", "googleapiclient", "google.auth", "google.oauth2", "httplib2")


def _imported_after(code: str, cwd: Path) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def _loaded(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


def test_help_imports_neither_the_library_nor_google(tmp_path: Path) -> None:
    modules = _imported_after(
        "from pdmail.cli.commands import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        tmp_path,
    )
    assert "click" in modules
    assert _loaded(modules, HEAVY) == []


def test_send_on_the_embedded_default_imports_no_google_library(project: Project) -> None:
    modules = _imported_after(
        "from pdmail.cli.commands import main\n"
        f"try:\n    main(['send', '--config', {str(project.config_path)!r},"
        " '--today', '2026-12-01'])\nexcept SystemExit:\n    pass",
        project.folder,
    )
    assert "pdmail.cycle.delivery" in modules  # it did send
    assert _loaded(modules, GOOGLE) == []


def test_public_names_load_on_first_use_and_tick_stays_the_function(tmp_path: Path) -> None:
    modules = _imported_after(
        "import pdmail\n"
        "assert 'pdmail.config.load' not in sys.modules\n"
        "import pdmail.cycle.tick\n"  # the module, imported first, does not hide the function
        "assert callable(pdmail.tick) and pdmail.tick.__name__ == 'tick'\n"
        "from pdmail import Workspace, send_requests, tick\n"
        "assert tick is pdmail.tick and Workspace.__name__ == 'Workspace'",
        tmp_path,
    )
    assert "pdmail.cycle.steps" in modules


@pytest.mark.parametrize("limit", [30, 45, 80, 300])
def test_each_listed_summary_is_its_commands_own_help(limit: int) -> None:
    from pdmail.cli.commands import COMMANDS

    ctx = click.Context(main)
    for name, (_, _, summary) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
        listed = click.Command(name, help=summary).get_short_help_str(limit)
        assert listed == command.get_short_help_str(limit), name


def test_help_lists_every_command_without_importing_them(tmp_path: Path) -> None:
    modules = _imported_after(
        "from pdmail.cli.commands import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass",
        tmp_path,
    )
    assert _loaded(modules, ("pdmail.cli.cycle_commands", "pdmail.cli.setup_commands")) == []
    listed = CliRunner().invoke(main, ["--help"]).output
    for name in ("send", "remind", "digest", "report", "journal", "form-fields", "needs"):
        assert f"\n  {name} " in listed


def test_a_command_shows_its_own_help_and_an_unknown_one_is_named() -> None:
    shown = CliRunner().invoke(main, ["send", "--help"])
    assert shown.exit_code == 0 and "--campaign" in shown.output
    unknown = CliRunner().invoke(main, ["sned"])
    assert unknown.exit_code == 2 and "No such command 'sned'" in unknown.output
