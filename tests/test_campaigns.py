"""Campaigns: the config's campaigns section, --campaign, and a survey beside the monthly update
in the same month (the ledger, the run lock, the Message-IDs and the outbox keep them apart)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    ANN,
    BASE_CONFIG,
    MARIA,
    RAJ,
    SAM,
    Project,
    answer,
    deep_merge,
    ledger_entries,
    read_eml,
    run_cli,
    send_killed_after_second,
    write_csv,
)

import pdmail
from pdmail import cycles
from pdmail.campaigns.layout import COLUMNS
from pdmail.config.campaigns import campaign_names, for_campaign
from pdmail.config.load import load_config
from pdmail.cycle.publish import PublishOptions, publish_digest
from pdmail.cycle.survey_digest import publish_survey
from pdmail.errors import ConfigError, UsageError
from pdmail.models import MessageKey, State
from pdmail.state import ledger as ledger_module
from pdmail.state.ledger import SCHEMA_VERSION, Ledger
from pdmail.state.runlock import RunLock
from pdmail.workspace import Workspace

ACTIVE = [ANN, RAJ, MARIA, SAM]
SURVEY_HEADER = [COLUMNS[k] for k in ("timestamp", "email", "formats", "times", "topics",
                                      "suggestion")]  # fmt: skip
# December 2026, the monthly update's month too: it sends on Tue 1, reminds on Mon 7 and
# Wed 9, and its digest is on Fri 11. The survey opens the same day, reminds on Fri 4.
SURVEY: dict[str, Any] = {
    "campaigns": {
        "pd-survey": {
            "form": {
                "url": "https://docs.google.com/forms/d/e/SURVEYID/viewform",
                "prefill": {"email": "entry.900"},
                "date_order": "month-first",
            },
            "responses": "survey.csv",
            "calendar": {
                "opens": "2026-12-01",
                "due": "2026-12-09",
                "reminders": ["2026-12-04"],
                "digest": "2026-12-11",
            },
        }
    }
}


def with_survey(project: Project, extra: dict[str, Any] | None = None) -> Project:
    project.write_config(deep_merge(SURVEY, extra or {}))
    return project


def survey_answer(email: str, when: str, formats: str = "Small group") -> list[str]:
    return [when, email, formats, "After school", "AI tools", ""]


def write_survey(project: Project, rows: list[list[str]]) -> None:
    write_csv(project.folder / "survey.csv", SURVEY_HEADER, rows)
    stamp = date(2030, 1, 1).strftime("%s")
    os.utime(project.folder / "survey.csv", (int(stamp), int(stamp)))


def outbox_files(project: Project) -> list[str]:
    return sorted(str(p.relative_to(project.outbox)) for p in project.outbox.rglob("*.eml"))


# -- the config ------------------------------------------------------------------------------


def test_a_config_without_campaigns_is_the_monthly_update_unchanged(project: Project) -> None:
    config = project.config()

    assert campaign_names(config) == ["monthly-update"]
    main = config.active_campaign
    assert (main.name, main.kind, main.form, main.calendar) == (
        "monthly-update",
        "update",
        config.form,
        config.calendar,
    )
    assert main.audience.everyone
    assert for_campaign(config) is config
    assert for_campaign(config, "monthly-update") is config


def test_the_top_level_campaign_keeps_its_own_name(project: Project) -> None:
    project.write_config({"campaign": "library-news"})

    config = project.config()

    assert campaign_names(config) == ["library-news"]
    assert config.default_campaign == "library-news"


def test_a_survey_campaign_fills_in_its_defaults(project: Project) -> None:
    config = with_survey(project).config()

    assert campaign_names(config) == ["monthly-update", "pd-survey"]
    survey = for_campaign(config, "pd-survey")
    c = survey.active_campaign
    assert c.kind == "survey" and c.template_set == "pd-survey" and c.templates is None
    assert c.survey is not None and c.survey.formats == COLUMNS["formats"]
    assert "Weekends, online" in c.survey.choices["times"]
    (window,) = survey.calendar.windows
    assert (window.opens, window.due, window.reminders, window.digest) == (
        date(2026, 12, 1),
        date(2026, 12, 9),
        (date(2026, 12, 4),),
        date(2026, 12, 11),
    )
    # Its own Form and answers; the school's calendar rules and the ledger stay shared.
    assert survey.form.url.endswith("SURVEYID/viewform")
    assert survey.sources.responses == project.folder / "survey.csv"
    assert survey.calendar.skip == config.calendar.skip
    assert survey.state == config.state
    assert survey.digest.out == config.digest.out / "pd-survey"
    # The monthly update is untouched by the section.
    assert config.form.url.endswith("FORMID/viewform")


def test_window_reminders_may_be_days_after_opening_and_digest_defaults_after_due(
    project: Project,
) -> None:
    calendar = {"opens": "2026-12-01", "due": "2026-12-09", "reminders": [3, 6], "digest": None}
    config = with_survey(project, {"campaigns": {"pd-survey": {"calendar": calendar}}})

    window = for_campaign(config.config(), "pd-survey").calendar.windows[0]

    assert window.reminders == (date(2026, 12, 4), date(2026, 12, 7))
    assert window.digest == date(2026, 12, 12)


def test_unquoted_yaml_dates_are_read(project: Project) -> None:
    with_survey(project)
    text = project.config_path.read_text(encoding="utf-8").replace("'2026-12-01'", "2026-12-01")
    project.config_path.write_text(text, encoding="utf-8")

    assert for_campaign(load_config(project.config_path), "pd-survey").calendar.windows


BAD = [
    ({"calendar": None}, "campaigns.pd-survey.calendar: is required"),
    ({"calendar": {"opens": "2026-12-09", "due": "2026-12-01"}},
     "campaigns.pd-survey.calendar.due"),
    ({"calendar": {"send_day": 3, "opens": "2026-12-01", "due": "2026-12-09"}},
     "campaigns.pd-survey.calendar.send_day"),
    ({"calendar": {"opens": "next week", "due": "2026-12-09"}},
     "campaigns.pd-survey.calendar.opens"),
    ({"calendar": {"opens": "2026-12-01", "due": "2026-12-09", "digest": "2026-12-03"}},
     "campaigns.pd-survey.calendar.digest"),
    ({"calendar": {"opens": "2026-12-01", "due": "2026-12-09", "reminders": ["2026-12-01"]}},
     "campaigns.pd-survey.calendar.reminders"),
    ({"calendar": {"windows": [{"opens": "2026-12-01", "due": "2026-12-05"},
                               {"opens": "2026-12-14", "due": "2026-12-18"}]}},
     "campaigns.pd-survey.calendar.windows"),
    ({"kind": "poll"}, "campaigns.pd-survey.kind"),
    ({"audiance": {}}, "campaigns.pd-survey.audiance"),
    ({"responses": None}, "campaigns.pd-survey.responses: is required"),
    ({"form": {"url": "not a link"}}, "campaigns.pd-survey.form.url"),
    ({"form": {"columns": {"units": "Units"}}}, "campaigns.pd-survey.form.columns.units"),
    ({"form": {"choices": {"topics": []}}}, "campaigns.pd-survey.form.choices.topics"),
    ({"form": {"choices": {"topics": ["AI", "ai"]}}}, "campaigns.pd-survey.form.choices.topics"),
    ({"form": {"choices": {"formats": ["After-school", "after school"]}}},
     "campaigns.pd-survey.form.choices.formats"),
    ({"form": {"choices": {"formats": ["Online", "---"]}}},
     "campaigns.pd-survey.form.choices.formats"),
    ({"form": {"choices": {"formats": ["Online", "Other"]}}},
     "campaigns.pd-survey.form.choices.formats"),
    ({"audience": {"include": {"Team": []}}}, "campaigns.pd-survey.audience.include.Team"),
    ({"templates": "no-such-folder"}, "campaigns.pd-survey.templates"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "key"), BAD)
def test_a_bad_campaign_is_refused_naming_the_key_and_changes_nothing(
    project: Project, change: dict[str, Any], key: str
) -> None:
    survey = deep_merge(SURVEY["campaigns"]["pd-survey"], change)
    if "calendar" in change:  # a calendar is replaced whole, not merged
        survey["calendar"] = change["calendar"]
    survey = {k: v for k, v in survey.items() if v is not None}
    project.write_config({"campaigns": {"pd-survey": survey}})

    with pytest.raises(ConfigError) as info:
        project.config()
    result = run_cli(project, "run", today="2026-12-01")

    assert key in info.value.message
    assert result.exit_code == 2
    assert key in result.output
    assert not project.outbox.exists()
    assert not (project.folder / ".pdmail" / "ledger.sqlite3").exists()


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"monthly-update": {"form": {"url": "https://x.example.org"}}},
         "campaigns.monthly-update.form"),
        ({"PD Survey": {}}, "campaigns.PD Survey"),
    ],
)  # fmt: skip
def test_campaign_names_and_the_top_level_campaign_are_checked(
    project: Project, section: dict[str, Any], key: str
) -> None:
    project.write_config({"campaigns": section})

    with pytest.raises(ConfigError) as info:
        project.config()

    assert key in info.value.message
    assert info.value.hint


def test_an_unknown_campaign_is_a_usage_error_listing_the_campaigns(project: Project) -> None:
    with_survey(project)

    with pytest.raises(UsageError) as info:
        for_campaign(project.config(), "pd-survy")
    result = run_cli(project, "status", "--campaign", "pd-survy", today="2026-12-01")

    assert "monthly-update, pd-survey" in info.value.message
    assert result.exit_code == 2
    assert "no campaign 'pd-survy'" in result.output
    assert "monthly-update, pd-survey" in result.output


def test_the_top_level_campaign_may_narrow_its_audience(project: Project) -> None:
    project.write_config(
        {"campaigns": {"monthly-update": {"audience": {"exclude": {"team": "related arts"}}}}}
    )

    result = run_cli(project, "send", today="2026-12-01")

    assert result.exit_code == 0, result.output
    assert sorted(e.key.recipient for e in ledger_entries(project)) == sorted([ANN, RAJ, MARIA])


# -- both campaigns in one month -------------------------------------------------------------


def test_a_survey_and_the_monthly_update_in_one_month_never_block_or_duplicate(
    project: Project,
) -> None:
    with_survey(project)
    project.write_responses([])
    write_survey(project, [])

    first = run_cli(project, "run", today="2026-12-01")
    again = run_cli(project, "run", today="2026-12-01")

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    monthly = ledger_entries(project)
    survey = ledger_entries(project, "pd-survey")
    assert sorted(e.key.recipient for e in monthly) == sorted(ACTIVE)
    assert sorted(e.key.recipient for e in survey) == sorted(ACTIVE)
    assert all(e.state is State.SENT for e in [*monthly, *survey])
    ids = [e.message_id for e in [*monthly, *survey]]
    assert len(set(ids)) == 8
    assert all(".pd-survey.2026-12.request." in e.message_id for e in survey)
    # Eight files, none replacing another, and the rerun sent nothing.
    files = outbox_files(project)
    assert len(files) == 8
    assert sum(f.startswith("pd-survey/2026-12/request-") for f in files) == 4
    assert "already sent" in again.output
    subjects = {str(read_eml(p)["Subject"]) for p in project.outbox.rglob("*.eml")}
    assert any("professional development" in s for s in subjects)
    assert any("library update" in s for s in subjects)


def test_each_campaign_reminds_only_those_who_have_not_answered_it(project: Project) -> None:
    with_survey(project)
    project.write_responses([])
    write_survey(project, [])
    assert run_cli(project, "run", today="2026-12-01").exit_code == 0
    # Ann answers the monthly update, Raj the survey.
    project.write_responses([answer(ANN, "12/2/2026 9:00:00")])
    write_survey(project, [survey_answer(RAJ, "12/2/2026 10:00:00")])

    survey_day = run_cli(project, "run", today="2026-12-04")
    monthly_day = run_cli(project, "run", today="2026-12-07")

    assert survey_day.exit_code == 0 and monthly_day.exit_code == 0, survey_day.output
    reminded = {
        campaign: sorted(e.key.recipient for e in ledger_entries(project, campaign)
                         if e.key.kind == "reminder-1")
        for campaign in ("monthly-update", "pd-survey")
    }  # fmt: skip
    assert reminded["pd-survey"] == sorted([ANN, MARIA, SAM])
    assert reminded["monthly-update"] == sorted([RAJ, MARIA, SAM])
    # A survey reminder is a reply in the survey request's thread, not the monthly one's.
    survey = {(e.key.recipient, e.key.kind): e for e in ledger_entries(project, "pd-survey")}
    msg = read_eml(project.outbox / "pd-survey" / "2026-12" / f"reminder-1-{ANN}.eml")
    assert str(msg["In-Reply-To"]) == survey[(ANN, "request")].message_id


def test_both_digests_go_out_once_on_the_same_day(project: Project) -> None:
    with_survey(project)
    project.write_responses([])
    write_survey(project, [])
    run_cli(project, "run", today="2026-12-01")
    project.write_responses([answer(ANN, "12/2/2026 9:00:00")])
    write_survey(project, [survey_answer(RAJ, "12/2/2026 10:00:00")])

    first = run_cli(project, "run", today="2026-12-11")
    again = run_cli(project, "run", today="2026-12-11")

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    digests = Counter(
        e.key.campaign
        for c in ("monthly-update", "pd-survey")
        for e in ledger_entries(project, c)
        if e.key.kind == "digest"
    )
    assert digests == {"monthly-update": 1, "pd-survey": 1}
    assert (project.folder / "digest" / "2026-12" / "digest.html").is_file()
    assert (project.folder / "digest" / "pd-survey" / "2026-12" / "survey.html").is_file()
    assert (project.folder / ".pdmail" / "status.csv").is_file()
    assert (project.folder / ".pdmail" / "pd-survey-status.csv").is_file()
    assert len(list(project.outbox.rglob("digest-*.eml"))) == 2


FOLDERS = {
    "monthly-update": Path("digest", "2026-12"),
    "pd-survey": Path("digest", "pd-survey", "2026-12"),
}
PAGE = {"monthly-update": "digest.html", "pd-survey": "survey.html"}


@pytest.mark.parametrize("name", ["monthly-update", "pd-survey"])
@pytest.mark.parametrize(
    ("options", "folder", "mailed", "recorded"),
    [
        (PublishOptions(), "default", 0, 0),
        (PublishOptions(out=Path("elsewhere")), "elsewhere", 0, 0),
        (PublishOptions(write=False), None, 0, 0),
        (PublishOptions(write=False, send=True, dry_run=True), None, 0, 0),
        (PublishOptions(send=True), "default", 1, 1),
    ],
    ids=["defaults", "out", "no-write", "dry-run", "send"],
)
def test_the_monthly_and_the_survey_digest_step_take_the_same_options(
    project: Project,
    name: str,
    options: PublishOptions,
    folder: str | None,
    mailed: int,
    recorded: int,
) -> None:
    with_survey(project)
    project.write_responses([])
    write_survey(project, [])
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    assert run_cli(project, "send", "--campaign", "pd-survey", today="2026-12-01").exit_code == 0
    project.write_responses([answer(ANN, "12/2/2026 9:00:00")])
    write_survey(project, [survey_answer(RAJ, "12/2/2026 10:00:00")])
    if options.out is not None:
        options = replace(options, out=project.folder / options.out)
    before = len(list(project.outbox.rglob("*.eml")))

    config = for_campaign(project.config(), name)
    publish = publish_survey if name == "pd-survey" else publish_digest
    clock = datetime(2026, 12, 11, 8, tzinfo=config.timezone)
    with Workspace(config, clock=lambda: clock) as ws:
        done = publish(ws, cycles.cycle(config, "2026-12"), options)

    where = {"default": project.folder / FOLDERS[name], "elsewhere": project.folder / "elsewhere"}
    pages = [str(where[folder] / PAGE[name])] if folder else []
    assert [f for f in done.files if f.endswith(".html")] == pages
    assert all(Path(p).is_file() for p in pages)
    assert not (project.folder / FOLDERS[name]).exists() or folder == "default"
    assert done.errors == []
    assert (done.mail is None) == (not options.send)
    if done.mail is not None:
        assert done.mail.dry_run is options.dry_run
    assert len(list(project.outbox.rglob("*.eml"))) - before == mailed
    digests = [e for e in ledger_entries(project, name) if e.key.kind == "digest"]
    assert len(digests) == recorded


def test_one_campaigns_run_lock_does_not_block_the_other(project: Project) -> None:
    with_survey(project)
    project.write_responses([])
    write_survey(project, [])
    project.write_config(deep_merge(SURVEY, {"mail": {"lock_wait": 0}}))
    state = project.folder / ".pdmail"

    with RunLock(state, wait=0, campaign="pd-survey"):
        monthly = run_cli(project, "send", today="2026-12-01")
        survey = run_cli(project, "send", "--campaign", "pd-survey", today="2026-12-01")

    assert monthly.exit_code == 0, monthly.output
    assert sorted(e.key.recipient for e in ledger_entries(project)) == sorted(ACTIVE)
    assert survey.exit_code != 0
    assert "another pdmail run" in survey.output
    assert ledger_entries(project, "pd-survey") == []


def test_a_survey_run_killed_midway_leaves_the_monthly_update_alone(
    project: Project, tmp_path: Path
) -> None:
    with_survey(project)
    project.write_responses([])
    write_survey(project, [])
    send_killed_after_second(project, tmp_path, campaign="pd-survey", mailer="outbox")
    killed = {e.key.recipient: e.state for e in ledger_entries(project, "pd-survey")}
    assert list(killed.values()).count(State.SENT) == 1
    # The second message was handed over (its file is there) with its row still pending.
    folder = project.outbox / "pd-survey" / "2026-12"
    pending = [r for r, s in killed.items()
               if s is State.PENDING and (folder / f"request-{r}.eml").exists()]  # fmt: skip
    assert len(pending) == 1

    monthly = run_cli(project, "send", today="2026-12-01")
    after_monthly = {e.key.recipient: e.state for e in ledger_entries(project, "pd-survey")}
    rerun = run_cli(project, "run", today="2026-12-01")

    # The monthly update sends everything, and leaves the survey's rows as they were.
    assert monthly.exit_code == 0, monthly.output
    assert sorted(e.key.recipient for e in ledger_entries(project)) == sorted(ACTIVE)
    assert after_monthly == killed
    # The survey's own next run settles its message in doubt as unknown (never resent)
    # and sends the rest, once each.
    survey = {e.key.recipient: e.state for e in ledger_entries(project, "pd-survey")}
    assert survey[pending[0]] is State.UNKNOWN
    assert sorted(r for r, s in survey.items() if s is State.SENT) == sorted(
        r for r in ACTIVE if r != pending[0]
    )
    assert rerun.exit_code == 1  # the message in doubt needs the librarian
    files = [f for f in outbox_files(project) if f.startswith("pd-survey/")]
    assert len(files) == len(set(files)) == 4


def test_the_survey_campaigns_commands_take_campaign(project: Project) -> None:
    with_survey(
        project, {"campaigns": {"pd-survey": {"audience": {"include": {"Team": "grade 6"}}}}}
    )
    write_survey(project, [])

    preview = run_cli(project, "preview", "--campaign", "pd-survey", today="2026-12-01")
    send = run_cli(project, "send", "--campaign", "pd-survey", today="2026-12-01")
    status = run_cli(project, "status", "--campaign", "pd-survey", today="2026-12-02")

    assert preview.exit_code == 0, preview.output
    assert "entry.900=ann%40school.example.org" in preview.output
    assert "PD" in preview.output
    assert send.exit_code == 0, send.output
    assert sorted(e.key.recipient for e in ledger_entries(project, "pd-survey")) == [ANN, RAJ]
    assert ledger_entries(project) == []
    assert status.exit_code == 0, status.output
    assert MARIA not in status.output


def test_a_misspelt_audience_column_stops_the_run_before_anything_is_sent(
    project: Project,
) -> None:
    with_survey(
        project, {"campaigns": {"pd-survey": {"audience": {"include": {"Buildng": "Main"}}}}}
    )
    project.write_responses([])
    write_survey(project, [])

    result = run_cli(project, "run", today="2026-12-01")

    assert result.exit_code == 2
    assert "campaigns.pd-survey.audience.include.Buildng" in result.output
    assert "roster.csv" in result.output
    assert "Email, First Name" in result.output
    assert not project.outbox.exists()


def test_outside_its_window_a_survey_is_not_open(project: Project) -> None:
    with_survey(project)
    project.write_responses([])

    before = run_cli(project, "run", "--campaign", "pd-survey", today="2026-11-16")
    january = run_cli(project, "status", "--campaign", "pd-survey", "--cycle", "2027-01",
                      today="2027-01-05")  # fmt: skip

    assert before.exit_code == 0, before.output
    assert "pd-survey campaign is not open; 2026-12: requests go out on 2026-12-01" in (
        before.output
    )
    assert ledger_entries(project, "pd-survey") == []
    assert january.exit_code == 2
    assert "no window opening that month" in january.output


# -- a ledger from before campaigns were first-class ---------------------------------------

OLD_SCHEMA = """
CREATE TABLE messages (
    campaign TEXT NOT NULL, cycle TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL,
    state TEXT NOT NULL, message_id TEXT NOT NULL, thread_id TEXT NOT NULL DEFAULT '',
    provider_id TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL, updated TEXT NOT NULL,
    PRIMARY KEY (campaign, cycle, recipient, kind)
);
"""


def old_ledger(path: Path) -> None:
    """A first-release ledger (schema 1): December's requests of the monthly update sent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path))
    db.executescript(OLD_SCHEMA)
    for who in ACTIVE:
        db.execute(
            "INSERT INTO messages (campaign, cycle, recipient, kind, state, message_id, created,"
            " updated) VALUES ('monthly-update', '2026-12', ?, 'request', 'sent', ?,"
            " '2026-12-01T13:30:00+00:00', '2026-12-01T13:30:00+00:00')",
            (who, f"<old-{who}>"),
        )
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_an_old_ledger_keeps_its_rows_as_the_monthly_updates(project: Project) -> None:
    with_survey(project)
    project.write_responses([])
    write_survey(project, [])
    old_ledger(project.folder / ".pdmail" / "ledger.sqlite3")

    result = run_cli(project, "run", today="2026-12-01")

    assert result.exit_code == 0, result.output
    monthly = ledger_entries(project)
    assert {e.message_id for e in monthly} == {f"<old-{who}>" for who in ACTIVE}
    assert not list(project.outbox.glob("2026-12/request-*.eml"))  # nothing sent twice
    assert sorted(e.key.recipient for e in ledger_entries(project, "pd-survey")) == sorted(ACTIVE)
    with sqlite3.connect(str(project.folder / ".pdmail" / "ledger.sqlite3")) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_an_upgrade_that_fails_midway_leaves_the_old_ledger_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.sqlite3"
    old_ledger(path)
    # The last step of the upgrade fails (as a process killed there would stop it): the whole
    # upgrade is one transaction, so the file is the old one, and the next open upgrades it.
    broken = {**ledger_module._MIGRATIONS, 99: ("ALTER TABLE no_such ADD COLUMN x TEXT",)}
    monkeypatch.setattr(ledger_module, "_MIGRATIONS", broken)
    with pytest.raises(Exception, match="no_such"):
        Ledger(path)
    with sqlite3.connect(str(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert {r[1] for r in db.execute("PRAGMA table_info(messages)")} >= {"campaign"}
    monkeypatch.undo()

    with Ledger(path) as led:
        monthly = MessageKey("monthly-update", "2026-12", ANN, "request")
        survey = MessageKey("pd-survey", "2026-12", ANN, "request")
        now = pdmail_now()
        assert led.claim(monthly, "<again>", "s", now).granted is False
        assert led.claim(survey, "<survey>", "s", now).granted is True
        assert len(led.entries("monthly-update")) == 4


def pdmail_now() -> Any:
    from datetime import datetime, timezone

    return datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)


def test_the_example_configs_campaigns_section_loads(tmp_path: Path) -> None:
    """config.example.yaml's commented campaigns section, uncommented, is a valid config."""
    example = Path(pdmail.__file__).resolve().parent.parent / "config.example.yaml"
    lines = example.read_text(encoding="utf-8").splitlines()
    start = lines.index("# campaigns:")
    out = lines[:start]
    for line in lines[start:]:
        if not line.startswith("#"):
            out.extend(lines[lines.index(line) :])
            break
        out.append(line[2:] if line.startswith(("# campaigns:", "#   ")) else line)
    text = "\n".join(out)
    data = yaml.safe_load(text)
    data["templates"] = None
    data["sources"] = BASE_CONFIG["sources"]
    (tmp_path / "pdmail.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")

    config = load_config(tmp_path / "pdmail.yaml")

    assert campaign_names(config) == ["monthly-update", "pd-survey"]
    survey = for_campaign(config, "pd-survey")
    assert survey.active_campaign.audience.describe() == ("Building is Main; not Team Related Arts")
    assert config.active_campaign.audience.exclude == (("Subject", ("Student teacher",)),)


def test_the_daily_job_ticks_every_campaign(project: Project) -> None:
    from pdmail.cycle.scheduler import daily_job

    with_survey(project)
    project.write_responses([])
    write_survey(project, [])
    logs: list[str] = []

    # The job reads the machine's clock: a schedule running now is past the survey's window,
    # so each campaign logs a line of its own and nothing fails.
    report = daily_job(project.config_path, logs.append)

    assert report is not None
    assert any("(monthly-update)" in line for line in logs), logs
    assert any("(pd-survey)" in line for line in logs), logs
    assert not any("failed" in line for line in logs), logs


def test_a_second_update_campaign_keeps_its_needs_apart(project: Project) -> None:
    news = {
        "kind": "update",
        "form": {
            "url": "https://docs.google.com/forms/d/e/NEWS/viewform",
            "prefill": {"email": "entry.700"},
            "date_order": "month-first",
        },
        "responses": "news.csv",
        "calendar": {"send_day": 2, "months": [12]},
    }
    project.write_config({"campaigns": {"library-news": news}})
    project.write_responses([])
    write_csv(project.folder / "news.csv", project_header(), [])
    os.utime(project.folder / "news.csv", (1893456000, 1893456000))
    assert run_cli(project, "run", today="2026-12-02").exit_code == 0
    project.write_responses([answer(ANN, "12/2/2026 9:00:00", help_text="Citations, please")])
    write_csv(project.folder / "news.csv", project_header(),
              [answer(RAJ, "12/3/2026 9:00:00", help_text="Help with databases")])  # fmt: skip
    os.utime(project.folder / "news.csv", (1893456000, 1893456000))

    result = run_cli(project, "run", today="2026-12-14")

    assert result.exit_code == 0, result.output
    main = (project.folder / "needs.csv").read_text(encoding="utf-8-sig")
    other = (project.folder / "library-news-needs.csv").read_text(encoding="utf-8-sig")
    assert ANN in main and RAJ not in main
    assert RAJ in other and ANN not in other
    assert (project.folder / "digest" / "library-news" / "2026-12" / "digest.html").is_file()

    # 'pdmail needs' works on one campaign's needs at a time.
    listed = run_cli(project, "needs", "list", "--campaign", "library-news", "--json")
    assert listed.exit_code == 0, listed.output
    news_needs = json.loads(listed.output)["needs"]
    assert [n["email"] for n in news_needs] == [RAJ]
    default = json.loads(run_cli(project, "needs", "list", "--json").output)["needs"]
    assert [n["email"] for n in default] == [ANN]
    done = run_cli(project, "needs", "set", news_needs[0]["id"], "--status", "done",
                   "--campaign", "library-news", today="2026-12-15")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "1 need is now done" in done.output
    other = (project.folder / "library-news-needs.csv").read_text(encoding="utf-8-sig")
    assert "done" in other and (project.folder / "needs.csv").read_text(
        encoding="utf-8-sig") == main  # fmt: skip
    unknown = run_cli(project, "needs", "list", "--campaign", "nope")
    assert unknown.exit_code == 2 and "library-news" in unknown.output


def project_header() -> list[str]:
    from conftest import RESPONSE_HEADER

    return list(RESPONSE_HEADER)


def test_doctor_checks_each_campaign(project: Project) -> None:
    from pdmail.doctor import diagnose

    with_survey(project)
    project.write_responses([])
    good = {c.name: c for c in diagnose(project.config_path, today=date(2026, 11, 20))}
    with_survey(project, {"campaigns": {"pd-survey": {"audience": {"exclude": {"Buildng": "x"}}}}})
    bad = {c.name: c for c in diagnose(project.config_path, today=date(2026, 11, 20))}

    assert good["campaign pd-survey"].status == "ok"
    assert "2026-12: send 2026-12-01" in good["campaign pd-survey"].detail
    assert "request and reminder render" in good["campaign pd-survey"].detail
    assert bad["campaign pd-survey"].status == "fail"
    assert "campaigns.pd-survey.audience.exclude.Buildng" in bad["campaign pd-survey"].detail


PRE_CAMPAIGN_SCHEMA = """
CREATE TABLE messages (
    cycle TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
    message_id TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '', created TEXT NOT NULL,
    updated TEXT NOT NULL, PRIMARY KEY (cycle, recipient, kind)
);
"""


def pre_campaign_ledger(path: Path, version: int = 1) -> None:
    """A ledger whose messages carry no campaign (kept by a script or an older tool)."""
    db = sqlite3.connect(str(path))
    db.executescript(PRE_CAMPAIGN_SCHEMA)
    for who in ACTIVE:
        db.execute(
            "INSERT INTO messages VALUES ('2026-12', ?, 'request', 'sent', ?, 'Subject',"
            " '2026-12-01T13:30:00+00:00', '2026-12-01T13:30:00+00:00')",
            (who, f"<old-{who}>"),
        )
    db.execute(f"PRAGMA user_version={version}")
    db.commit()
    db.close()


@pytest.mark.parametrize("version", [0, 1, 4, 5])
def test_a_ledger_without_campaigns_gets_them_its_rows_the_monthly_updates(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "ledger.sqlite3"
    pre_campaign_ledger(path, version)

    with Ledger(path) as led:
        monthly = led.entries("monthly-update")
        now = pdmail_now()
        again = led.claim(MessageKey("monthly-update", "2026-12", ANN, "request"), "<x>", "s", now)
        survey = led.claim(MessageKey("pd-survey", "2026-12", ANN, "request"), "<y>", "s", now)

    assert sorted(e.key.recipient for e in monthly) == sorted(ACTIVE)
    assert {e.message_id for e in monthly} == {f"<old-{who}>" for who in ACTIVE}
    assert all(e.state is State.SENT and e.subject == "Subject" for e in monthly)
    assert again.granted is False and survey.granted is True
    with sqlite3.connect(str(path)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "messages_without_campaign" not in tables
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_keying_by_campaign_that_fails_midway_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.sqlite3"
    pre_campaign_ledger(path)
    broken = {**ledger_module._MIGRATIONS, 99: ("ALTER TABLE no_such ADD COLUMN x TEXT",)}
    monkeypatch.setattr(ledger_module, "_MIGRATIONS", broken)

    with pytest.raises(Exception, match="no_such"):
        Ledger(path)
    with sqlite3.connect(str(path)) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(messages)")]
        count = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    monkeypatch.undo()

    assert "campaign" not in columns and count == 4
    with Ledger(path) as led:
        assert len(led.entries("monthly-update")) == 4


KILLED_UPGRADE = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from pdmail.state import ledger

    keyed = ledger._key_by_campaign

    def then_killed(cur):
        keyed(cur)  # the table rebuilt, in the open transaction
        os._exit(9)

    ledger._key_by_campaign = then_killed
    ledger.Ledger(Path(sys.argv[1]))
    """
)


def test_a_process_killed_while_keying_by_campaign_leaves_a_usable_ledger(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    pre_campaign_ledger(path)
    script = tmp_path / "kill.py"
    script.write_text(KILLED_UPGRADE, encoding="utf-8")
    root = str(Path(pdmail.__file__).resolve().parent.parent)

    proc = subprocess.run(
        [sys.executable, str(script), str(path)],
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert proc.returncode == 9, proc.stderr
    with sqlite3.connect(str(path)) as db:
        assert "campaign" not in [r[1] for r in db.execute("PRAGMA table_info(messages)")]
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    with Ledger(path) as led:
        assert sorted(e.key.recipient for e in led.entries("monthly-update")) == sorted(ACTIVE)
