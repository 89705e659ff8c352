"""``pdmail schedule``: a long-lived process that runs the tick once a day.

The ``schedule`` package has no monthly unit and keeps nothing across restarts; it only wakes
the process daily. What is due comes from the calendar and the ledger, so a restart, a sleep
or a missed day changes nothing: the next tick catches up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import schedule as schedule_lib

from ..config.campaigns import campaign_names, for_campaign
from ..config.load import load_config
from ..config.records import Config
from ..errors import PdmailError
from ..wording import count
from ..workspace import Workspace, check_audiences
from .delivery import unsettled
from .tick import TickReport, tick


def daily_job(config_path: Path, log: Callable[[str], None]) -> TickReport | None:
    """One tick of every campaign, with the config read afresh; errors are logged, never
    raised, so one bad day (or one campaign's trouble) does not end the process. Returns the
    first campaign's report (None when the config, or that campaign, failed)."""
    try:
        config = load_config(config_path)
        check_audiences(config)
    except PdmailError as exc:
        log(f"pdmail run failed: {exc}")
        return None
    names = campaign_names(config)
    reports = [_campaign_job(for_campaign(config, name), log, len(names) > 1) for name in names]
    return reports[0]


def _campaign_job(config: Config, log: Callable[[str], None], named: bool) -> TickReport | None:
    what = f"pdmail run ({config.campaign})" if named else "pdmail run"
    try:
        with Workspace(config) as ws:
            report = tick(ws, ws.now().date())
            unknown = len(unsettled(ws))
    except PdmailError as exc:
        log(f"{what} failed: {exc}")
        return None
    except Exception as exc:  # a bug must not end the process that runs every other day
        log(f"{what} failed with an internal error: {type(exc).__name__}: {exc}")
        return None
    what = f"{what.replace('pdmail run', f'pdmail run for {report.today}', 1)}"
    for error in report.errors:
        log(f"{what}: {error}")
    sent = report.sent
    log(f"{what}: {count(sent, 'message')} sent"
        + ("" if report.ok else "; some need attention (pdmail status)")
        + (f"; {count(unknown, 'message')} with an unknown outcome (pdmail status)"
           if unknown else ""))  # fmt: skip
    return report


def install(
    scheduler: schedule_lib.Scheduler, config_path: Path, at: str | None, log: Callable[[str], None]
) -> schedule_lib.Job:
    """Register the daily tick on ``scheduler`` at ``at`` (or calendar.run_at) school time."""
    config = load_config(config_path)
    when = at or config.calendar.run_at
    try:
        job: schedule_lib.Job = (
            scheduler.every()
            .day.at(when, config.timezone.key)
            .do(daily_job, config_path=config_path, log=log)
        )
    except schedule_lib.ScheduleValueError as exc:
        raise PdmailError(f"--at: {when!r}: {exc}", hint="use HH:MM, e.g. 07:30") from None
    return job


def run_forever(
    config_path: Path,
    *,
    at: str | None = None,
    log: Callable[[str], None] = print,
    scheduler: schedule_lib.Scheduler | None = None,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Tick once now (to catch up), then daily at the configured time until stopped."""
    sched = scheduler or schedule_lib.Scheduler()
    job = install(sched, config_path, at, log)
    log(f"pdmail schedule: daily at {job.at_time} ({load_config(config_path).timezone.key}); "
        f"next run {job.next_run:%Y-%m-%d %H:%M} (machine time)")  # fmt: skip
    daily_job(config_path, log)
    while not should_stop():
        sched.run_pending()
        idle = sched.idle_seconds
        sleep(max(1.0, min(60.0, idle if idle is not None else 60.0)))
