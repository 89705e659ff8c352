"""The cycle's steps run from the pieces they take, with no Workspace: a config, a real SQLite
ledger, the roster and answers read by hand, the outbox mailer and a fixed clock."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, time
from pathlib import Path

import pytest
from conftest import ANN, MARIA, OLD, RAJ, SAM, Project, answer, read_eml

from pdmail import cycles
from pdmail.backends import make_source
from pdmail.backends.base import OK, Mailer
from pdmail.backends.outbox import OutboxBackend, OutboxMailer
from pdmail.config.records import Config
from pdmail.cycle.delivery import Courier
from pdmail.cycle.freshness import answers_problem, ensure_answers
from pdmail.cycle.messages import Composer
from pdmail.cycle.opening import first_request_day, for_sending, resolve_opened
from pdmail.cycle.preview import render_previews
from pdmail.cycle.publish import (
    hand_over_digest,
    history,
    needs_table,
    render_digest_with,
    requests_sent,
)
from pdmail.cycle.status import status_of
from pdmail.cycle.steps import (
    INACTIVE,
    hand_over_reminders,
    hand_over_requests,
    reminders_plan,
    requests_plan,
)
from pdmail.digest.build import build_digest
from pdmail.digest.topics import Tagger
from pdmail.errors import BackendError, InputError, UsageError
from pdmail.mail.templates import Templates
from pdmail.models import State
from pdmail.sources.responses import Collection, match, parse_responses
from pdmail.sources.roster import Roster, parse_roster
from pdmail.state.ledger import Ledger
from pdmail.testmail import send_test_message


class Clock:
    """A clock a test moves by hand, in school time."""

    def __init__(self, config: Config, day: str, at: time = time(9, 0)) -> None:
        self.config = config
        self.set(day, at)

    def set(self, day: str, at: time = time(9, 0)) -> None:
        self.now = datetime.combine(datetime.fromisoformat(day).date(), at, self.config.timezone)

    def __call__(self) -> datetime:
        return self.now


def parts(project: Project, tmp_path: Path) -> tuple[Config, Ledger, Roster, Clock]:
    config = project.config()
    source = make_source(config)
    roster = parse_roster(source.read_roster(), config.roster_columns)
    return config, Ledger(tmp_path / "own-ledger.sqlite3"), roster, Clock(config, "2026-12-01")


def collection(config: Config, roster: Roster, cycle: cycles.Cycle) -> Collection:
    table = make_source(config).read_responses()
    responses, problems = ([], []) if table is None else parse_responses(
        table, config.form, config.timezone
    )  # fmt: skip
    return match(roster, responses, cycle, problems)


def test_a_month_is_sent_from_its_parts(project: Project, tmp_path: Path) -> None:
    config, ledger, roster, clock = parts(project, tmp_path)
    composer = Composer(config, Templates(config.templates), clock, roster.origin)
    courier = Courier(
        config, ledger, lambda: OutboxMailer(config.mail.outbox), clock, sleep=lambda _: None
    )
    cycle = resolve_opened(config, ledger, None, clock().date())
    assert (cycle.name, first_request_day(config, ledger, cycle.name)) == ("2026-12", None)

    plan = requests_plan(composer, roster, collection(config, roster, cycle), cycle)
    assert plan.left_out == ((OLD, INACTIVE),)
    report = hand_over_requests(courier, cycle, plan)
    assert sorted(report.recipients("sent")) == sorted([ANN, RAJ, MARIA, SAM])
    # The ledger given is the one written: a rerun finds every request there.
    again = hand_over_requests(courier, cycle, requests_plan(composer, roster, collection(
        config, roster, cycle), cycle))  # fmt: skip
    assert (again.count("already-sent"), again.count("sent")) == (4, 0)
    assert first_request_day(config, ledger, cycle.name) == clock().date()
    assert answers_problem(config, ledger, make_source(config), cycle) is not None  # no export

    project.write_responses([answer(ANN, "12/3/2026 10:00")])
    clock.set("2026-12-07")
    source = make_source(config)
    ensure_answers(config, ledger, source, cycle, "nothing was done")  # fresh enough now

    def collect(c: cycles.Cycle) -> Collection:
        return collection(config, roster, c)

    number, reminders = reminders_plan(
        composer, roster, ledger, source, collect, cycle, clock().date()
    )
    done = hand_over_reminders(courier, cycle, clock().date(), number, reminders)
    assert (number, sorted(done.recipients("sent"))) == (1, sorted([RAJ, MARIA, SAM]))
    requests = {
        e.key.recipient: e for e in ledger.entries(config.campaign) if e.key.kind == "request"
    }
    files = sorted((project.outbox / "2026-12").glob("reminder-1-*.eml"))
    assert len(files) == 3
    for path in files:
        reminder = read_eml(path)
        to = reminder["To"].addresses[0].addr_spec
        assert reminder["In-Reply-To"] == requests[to].message_id
        assert reminder["Date"].datetime == clock()

    status = status_of(config, ledger, roster, collect(cycle), cycle)
    counts = {what: status.count(what) for what in ("active", "sent", "reminded", "answered")}
    assert counts == {"active": 4, "sent": 4, "reminded": 3, "answered": 1}
    assert not (project.folder / ".pdmail" / "ledger.sqlite3").exists()  # only its own ledger
    ledger.close()


@pytest.mark.parametrize(
    ("day", "late", "expected"),
    [
        ("2026-12-04", False, "2026-12-08"),  # before the due date: the cycle as planned
        ("2026-12-09", True, "2026-12-16"),  # late: due a week from the day it goes out
        ("2026-12-09", False, UsageError),  # the due date has passed: refused without --late
    ],
)
def test_a_cycle_for_sending_needs_only_the_config_and_the_ledger(
    project: Project, tmp_path: Path, day: str, late: bool, expected: str | type[Exception]
) -> None:
    config, ledger, _, clock = parts(project, tmp_path)
    clock.set(day)
    cycle = resolve_opened(config, ledger, "2026-12", clock().date())
    if isinstance(expected, str):
        assert str(for_sending(config, ledger, cycle, clock().date(), late=late).due) == expected
    else:
        with pytest.raises(expected, match="nothing was sent"):
            for_sending(config, ledger, cycle, clock().date(), late=late)


def test_a_preview_and_the_test_message_need_no_workspace(project: Project, tmp_path: Path) -> None:
    config, _, roster, clock = parts(project, tmp_path)
    composer = Composer(config, Templates(config.templates), clock, roster.origin)
    cycle = cycles.cycle(config, "2026-12")
    (preview,) = render_previews(composer, roster, cycle, [RAJ], "reminder")
    assert preview.to.endswith(f"<{RAJ}>") and preview.subject.startswith("Re: ")
    with pytest.raises(InputError, match=r"nobody@school\.example\.org is not on the roster"):
        render_previews(composer, roster, cycle, ["nobody@school.example.org"])

    sent = send_test_message(config, lambda: OutboxMailer(config.mail.outbox), clock)
    assert sent.result is not None and sent.message["Date"].datetime == clock()

    def unbuildable() -> Mailer:
        raise BackendError("acme: no such account")

    failed = send_test_message(config, unbuildable, clock)
    assert failed.result is None and failed.error is not None
    assert failed.error.message == "acme: no such account"
    check = OutboxBackend.doctor(config, connect=True, new_mailer=unbuildable)
    assert check.status == OK and str(config.mail.outbox) in check.detail


def test_the_steps_import_without_the_workspace(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import pdmail.cycle.steps, pdmail.cycle.status, pdmail.cycle.preview\n"
        "import pdmail.cycle.opening, pdmail.cycle.freshness, pdmail.testmail\n"
        "import pdmail.backends.outbox, pdmail.backends.registry\n"
        "import pdmail.cycle.publish, pdmail.cycle.survey_digest\n"
        "print('pdmail.workspace' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_nothing_is_recorded_in_a_ledger_it_was_not_given(project: Project, tmp_path: Path) -> None:
    config, ledger, roster, clock = parts(project, tmp_path)
    composer = Composer(config, Templates(config.templates), clock, roster.origin)
    courier = Courier(config, ledger, lambda: OutboxMailer(config.mail.outbox), clock)
    cycle = cycles.cycle(config, "2026-12")
    plan = requests_plan(composer, roster, collection(config, roster, cycle), cycle, [ANN])
    hand_over_requests(courier, cycle, plan, dry_run=True)
    assert ledger.entries(config.campaign) == []
    hand_over_requests(courier, cycle, plan)
    assert [(e.key.recipient, e.state) for e in ledger.entries(config.campaign)] == [
        (ANN, State.SENT)
    ]
    ledger.close()


def _december_sent(
    config: Config, ledger: Ledger, roster: Roster, clock: Clock
) -> tuple[Composer, Courier, cycles.Cycle]:
    """December's requests handed to the outbox from the pieces: the composer and courier
    that did it, and the cycle."""
    composer = Composer(config, Templates(config.templates), clock, roster.origin)
    courier = Courier(config, ledger, lambda: OutboxMailer(config.mail.outbox), clock)
    december = cycles.cycle(config, "2026-12")
    plan = requests_plan(composer, roster, collection(config, roster, december), december)
    hand_over_requests(courier, december, plan)
    return composer, courier, december


def test_the_digest_is_compiled_rendered_and_mailed_from_its_parts(
    project: Project, tmp_path: Path
) -> None:
    config, ledger, roster, clock = parts(project, tmp_path)
    composer, courier, december = _december_sent(config, ledger, roster, clock)
    project.write_responses([answer(ANN, "12/3/2026 10:00", help_text="Help with citations")])
    clock.set("2026-12-11", time(16, 0))

    def collect(c: cycles.Cycle) -> Collection:
        return collection(config, roster, c)

    asked = requests_sent(config, ledger)
    assert asked == {"2026-12": 4}
    january = cycles.cycle(config, "2027-01")
    # December is January's history: the one month pdmail was in use before it.
    assert [c.cycle.name for c in history(config, ledger, collect, january)] == ["2026-12"]
    digest = build_digest(
        roster,
        collect(december),
        Tagger.from_taxonomy(config.taxonomy),
        school=config.school,
        campaign=config.campaign,
        generated=clock(),
        history=history(config, ledger, collect, december, asked),
        asked=asked,
    )
    rendered = render_digest_with(composer, december, digest)
    assert needs_table(config) == config.digest.needs_file.name
    assert "Help with citations" in rendered.text and "Help with citations" in rendered.html
    assert (digest.answered, digest.asked) == (1, 4)
    first = hand_over_digest(courier, composer, december, rendered)
    again = hand_over_digest(courier, composer, december, rendered)
    assert first.recipients("sent") == [config.librarian.email]
    assert (again.count("already-sent"), again.count("sent")) == (1, 0)
    (mail,) = [read_eml(p) for p in (project.outbox / "2026-12").glob("digest-*.eml")]
    assert mail["Subject"] == rendered.subject and mail["Date"].datetime == clock()
    ledger.close()


def test_the_whole_digest_step_runs_from_a_desk_a_composer_and_a_courier(
    project: Project, tmp_path: Path
) -> None:
    """publish_at: the needs kept (needs.csv), the files written, the mail sent once, from
    pieces a script builds, and its own clock on every date it writes."""
    from pdmail.backends.local import CsvSink
    from pdmail.cycle.publish import Desk, PublishOptions, publish_at

    config, ledger, roster, clock = parts(project, tmp_path)
    composer, courier, december = _december_sent(config, ledger, roster, clock)
    project.write_responses(
        [answer(MARIA, "12/4/2026 9:15", help_text="A lesson on citing sources, please")]
    )
    clock.set("2026-12-11", time(16, 0))
    source = make_source(config)
    desk = Desk(
        config,
        lambda: roster,
        lambda c: collection(config, roster, c),
        ledger,
        source,
        CsvSink(config.state, {"needs": config.digest.needs_file}),
        clock,
    )
    out = tmp_path / "out"
    options = PublishOptions(out=out, send=True)
    with pytest.raises(TypeError, match="needs a courier"):
        publish_at(desk, composer, None, december, options)
    done = publish_at(desk, composer, courier, december, options)
    assert not done.errors
    assert sorted(Path(f).name for f in done.files) == ["digest.csv", "digest.html", "digest.md"]
    assert "citing sources" in (out / "digest.md").read_text()
    assert done.mail is not None and done.mail.recipients("sent") == [config.librarian.email]
    (need,) = ledger.needs.all(config.campaign)
    assert (need.email, need.status, need.first_seen) == (MARIA, "open", clock().date())
    assert "citing sources" in config.digest.needs_file.read_text()
    again = publish_at(desk, composer, courier, december, options)
    assert again.mail is not None and again.mail.count("already-sent") == 1
    assert len(ledger.needs.all(config.campaign)) == 1
    ledger.close()
