"""A cycle across a daylight-saving change, ticked just after midnight and just before it.

The ledger keeps times in UTC and the calendar speaks in school days, so a clock change in the
middle of a cycle is where an off-by-one-hour turns into an off-by-one-day: a reminder a day
early or late, a request counted as "sent today" on the next day, an answer from the repeated
or skipped hour lost. Each case is a real change in its zone; the expected days are worked out
by hand from the calendar rules (weekends move to Monday), not by pdmail's own code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import Project, answer

from pdmail.cycle.tick import tick


@dataclass(frozen=True)
class Case:
    zone: str
    send: date  # the send day; the change falls two days later, on a Sunday
    # The answer from the night of the change, in the zone's wall time: the skipped hour when
    # clocks go forward, the repeated one when they go back.
    night_answer: str
    reminder_1: date
    reminder_2: date
    digest: date


CASES = [
    # Clocks go forward on Sun 14 March 2027 at 02:00; 02:30 does not exist that night.
    Case("America/Chicago", date(2027, 3, 12), "2027-03-14 02:30:00",
         date(2027, 3, 15), date(2027, 3, 16), date(2027, 3, 18)),
    # Clocks go back on Sun 25 October 2026 at 02:00 BST; 01:30 happens twice.
    Case("Europe/London", date(2026, 10, 23), "2026-10-25 01:30:00",
         date(2026, 10, 26), date(2026, 10, 27), date(2026, 10, 29)),
    # Clocks go back on Sun 4 April 2027 at 03:00 AEDT; 02:30 happens twice.
    Case("Australia/Sydney", date(2027, 4, 2), "2027-04-04 02:30:00",
         date(2027, 4, 5), date(2027, 4, 6), date(2027, 4, 8)),
    # Clocks go forward on Sun 28 March 2027 at 01:00 GMT; 01:30 does not exist.
    Case("Europe/London", date(2027, 3, 26), "2027-03-28 01:30:00",
         date(2027, 3, 29), date(2027, 3, 30), date(2027, 4, 1)),
]  # fmt: skip

# Just after midnight and just before it, school time: the two ends of a day where a UTC
# timestamp read in the wrong zone lands on the neighbouring date.
TIMES = (time(0, 5), time(23, 55))
NOT_ANSWERED = ("raj", "maria", "sam")  # ann answers in the night of the change


def _configure(project: Project, case: Case) -> None:
    project.write_config(
        {
            "timezone": case.zone,
            "calendar": {
                "send_day": case.send.day,
                "due_after_days": 7,
                "reminders_after_days": [2, 4],
                "digest_after_days": 6,
                "skip": [],
            },
        }
    )


def _write_answers(project: Project, rows: list[list[str]], saved: datetime) -> None:
    """The export as a librarian saves it: the answers so far, the file's time ``saved``."""
    project.write_responses(rows)
    stamp = saved.timestamp()
    os.utime(project.responses_path, (stamp, stamp))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.zone}-{c.send}")
def test_a_cycle_across_a_clock_change_sends_each_message_on_its_school_day(
    project: Project, case: Case
) -> None:
    _configure(project, case)
    tz = ZoneInfo(case.zone)
    rows: list[list[str]] = []
    went_out: dict[date, set[str]] = {}
    day = case.send
    while day <= case.digest + timedelta(days=1):
        for at in TIMES:
            with project.workspace(day, at) as ws:
                report = tick(ws, day)
            assert report.ok, (day, at, report)
            for _, step in report.steps:
                for o in step.outcomes:
                    if o.result == "sent":
                        went_out.setdefault(day, set()).add(f"{o.kind}-{o.recipient.split('@')[0]}")
            if day == case.send + timedelta(days=2) and at == TIMES[0]:
                # Ann answers in the night of the change; the export is saved at noon.
                rows.append(answer("ann@school.example.org", case.night_answer))
                _write_answers(project, rows, datetime.combine(day, time(12), tz))
        day += timedelta(days=1)

    teachers = ("ann", *NOT_ANSWERED)
    assert went_out == {
        case.send: {f"request-{w}" for w in teachers},
        case.reminder_1: {f"reminder-1-{w}" for w in NOT_ANSWERED},
        case.reminder_2: {f"reminder-2-{w}" for w in NOT_ANSWERED},
        case.digest: {"digest-librarian"},
    }
    digest_md = next((project.folder / "digest").rglob("digest.md")).read_text(encoding="utf-8")
    assert "**Answered:** 1 of 4 teachers (25%)" in digest_md
