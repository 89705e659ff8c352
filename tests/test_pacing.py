"""Pacing (mail.per_minute), the daily cap (mail.daily_cap) and one run per state folder."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from click.testing import CliRunner
from conftest import ROSTER_HEADER, Project

from pdmail import cycles
from pdmail.cli.commands import main
from pdmail.cycle.steps import send_requests
from pdmail.errors import BackendError
from pdmail.state.runlock import RunLock
from pdmail.workspace import Workspace

DAY = date(2026, 12, 1)


def _roster(project: Project, n: int) -> list[str]:
    emails = [f"t{i:02d}@school.example.org" for i in range(n)]
    project.write_roster(
        [[e, f"T{i}", "X", "Grade 6", "yes"] for i, e in enumerate(emails)], header=ROSTER_HEADER
    )
    return emails


class FakeTime:
    """A monotonic clock that only moves when pdmail sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def _workspace(project: Project, day: date, at: time, fake: FakeTime | None = None) -> Workspace:
    config = project.config()
    fake = fake or FakeTime()
    return Workspace(
        config,
        clock=lambda: datetime.combine(day, at, config.timezone),
        sleep=fake.sleep,
        monotonic=fake.monotonic,
    )


def test_per_minute_spaces_sends_into_one_minute_windows(project: Project) -> None:
    project.write_config({"mail": {"per_minute": 2}})
    _roster(project, 5)
    fake = FakeTime()
    with _workspace(project, DAY, time(7, 30), fake) as ws:
        report = send_requests(ws, cycles.cycle(ws.config, "2026-12"))
    assert report.count("sent") == 5
    # Two go at once, the third waits out the minute, and so on: 5 sends, 2 waits.
    assert fake.sleeps == [60.0, 60.0]


def test_no_pacing_for_the_outbox_by_default(project: Project) -> None:
    _roster(project, 5)
    fake = FakeTime()
    with _workspace(project, DAY, time(7, 30), fake) as ws:
        send_requests(ws, cycles.cycle(ws.config, "2026-12"))
    assert fake.sleeps == []


def test_the_daily_cap_stops_cleanly_and_the_next_run_continues(project: Project) -> None:
    project.write_config({"mail": {"daily_cap": 3}})
    emails = _roster(project, 5)
    with _workspace(project, DAY, time(7, 30)) as ws:
        report = send_requests(ws, cycles.cycle(ws.config, "2026-12"))
    assert report.count("sent") == 3 and report.count("held") == 2
    assert report.ok  # a cap is a clean stop, not a failure
    assert "2 left" in report.note and "2026-12-02 07:30" in report.note
    assert sorted(project.sent_to("request")) == emails[:3]

    # Later the same day: still capped, and no mail connection is opened for nothing.
    opened: list[str] = []
    config = project.config()

    def counting_factory(cfg: object) -> object:
        opened.append("open")
        from pdmail.backends.outbox import OutboxMailer

        return OutboxMailer(config.mail.outbox)

    ws = Workspace(
        config,
        clock=lambda: datetime.combine(DAY, time(15, 0), config.timezone),
        mailer_factory=counting_factory,
    )  # type: ignore[arg-type]
    with ws:
        again = send_requests(ws, cycles.cycle(ws.config, "2026-12"))
    assert again.count("sent") == 0 and again.count("held") == 2 and opened == []

    # The next day, 24 hours on, the rest go out, and nothing twice.
    with _workspace(project, DAY + timedelta(days=1), time(7, 31)) as ws:
        rest = send_requests(ws, cycles.cycle(ws.config, "2026-12"))
    assert rest.count("sent") == 2 and rest.count("already-sent") == 3
    assert sorted(project.sent_to("request")) == emails


def test_the_cap_counts_every_message_of_the_last_24_hours(project: Project) -> None:
    project.write_config({"mail": {"daily_cap": 4}})
    _roster(project, 3)
    with _workspace(project, DAY, time(7, 30)) as ws:
        assert send_requests(ws, cycles.cycle(ws.config, "2026-12")).count("sent") == 3
    # A second campaign the same day shares the budget: only one more may go.
    project.write_config({"mail": {"daily_cap": 4}, "campaign": "pd-survey"})
    with _workspace(project, DAY, time(9, 0)) as ws:
        other = send_requests(ws, cycles.cycle(ws.config, "2026-12"))
    assert other.count("sent") == 1 and other.count("held") == 2


def test_the_cap_reaches_the_command_line_summary(project: Project) -> None:
    project.write_config({"mail": {"daily_cap": 2}})
    _roster(project, 3)
    result = CliRunner().invoke(
        main, ["send", "--config", str(project.config_path), "--today", "2026-12-01"]
    )
    assert result.exit_code == 0, result.output
    assert "Sent 2 requests" in result.output
    assert "1 left will go on the next run after" in result.output


def test_a_second_run_on_the_same_state_folder_is_refused(project: Project) -> None:
    config = project.config()
    with RunLock(config.state), _workspace(project, DAY, time(7, 30)) as ws:
        with pytest.raises(BackendError, match="another pdmail run is sending"):
            send_requests(ws, cycles.cycle(ws.config, "2026-12"))
        result = CliRunner().invoke(
            main, ["send", "--config", str(project.config_path), "--today", "2026-12-01"]
        )
        assert result.exit_code == 5 and "another pdmail run" in result.output
    assert project.sent() == []
    # A dry run needs no lock.
    with RunLock(config.state), _workspace(project, DAY, time(7, 30)) as ws:
        dry = send_requests(ws, cycles.cycle(ws.config, "2026-12"), dry_run=True)
        assert dry.count("would-send") == 4
    # Once released, the next run goes ahead.
    with _workspace(project, DAY, time(7, 30)) as ws:
        assert send_requests(ws, cycles.cycle(ws.config, "2026-12")).count("sent") == 4


@pytest.mark.parametrize(
    ("kind", "per_minute", "daily_cap"),
    [("outbox", 0, 0), ("smtp", 30, 1500), ("gmail", 60, 1500)],
)
def test_pacing_defaults_follow_the_provider(
    project: Project, kind: str, per_minute: int, daily_cap: int
) -> None:
    mail: dict[str, object] = {"kind": kind}
    if kind == "smtp":
        mail["smtp"] = {"host": "127.0.0.1"}
    project.write_config({"mail": mail})
    config = project.config()
    assert (config.mail.per_minute, config.mail.daily_cap) == (per_minute, daily_cap)
