"""Refresh docs/report.png and docs/report.pdf: the year's PD report of a whole school year.

Run from the repository root:  python docs/report_year.py
Needs Chromium (Debian: apt-get install chromium). It sets up the demo school in a temporary
folder (or --keep DIR), plays September 2026 to May 2027 through the same tick cron runs, with
answers drawn from a fixed pool (a fixed seed, so the picture changes only when the report or
its template does), marks needs scheduled or done after each digest as a librarian would,
runs the PD survey in January, keeps a few journal entries, and compiles the 2026-27
report. Chromium then takes a picture
of its first screen and prints it to PDF.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pdmail import cycles  # noqa: E402
from pdmail.campaigns.layout import SURVEY_NAME  # noqa: E402
from pdmail.cli.demo import (  # noqa: E402
    HEADER,
    ROSTER,
    SURVEY_EARLY,
    SURVEY_HEADER,
    SURVEY_LATE,
    _survey_config,
)
from pdmail.cli.needs_cli import list_needs, set_needs  # noqa: E402
from pdmail.cli.scaffold import scaffold  # noqa: E402
from pdmail.config.campaigns import for_campaign  # noqa: E402
from pdmail.config.load import load_config  # noqa: E402
from pdmail.config.records import Config  # noqa: E402
from pdmail.cycle.tick import tick  # noqa: E402
from pdmail.report.gather import compile_report  # noqa: E402
from pdmail.report.output import render_html, write_report  # noqa: E402
from pdmail.report.survey import year_surveys  # noqa: E402
from pdmail.report.year import parse_year  # noqa: E402
from pdmail.workspace import Workspace  # noqa: E402

MONTHS = ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03",
          "2027-04", "2027-05"]  # fmt: skip
TODAY = date(2027, 6, 18)
# The PD preferences survey, once this year: its window opens in January.
SURVEY_OPENS = date(2027, 1, 11)
SCREEN = (1200, 1600)

# Each teacher's units over the year and the help they might ask for (the pool is drawn from).
UNITS = {
    "ann.lee": ["Narrative writing", "Poetry", "Persuasive essays", "Research papers"],
    "raj.patel": ["Cells", "Energy", "Ecosystems", "Weather and climate"],
    "lucy.chen": ["Ratios", "Integers", "Geometry", "Statistics"],
    "maria.gomez": ["Ancient Rome", "Medieval Europe", "Industrial Revolution", "Civics"],
    "tom.baker": ["Genetics", "Cells", "Forces and motion", "Ecosystems"],
    "nia.okafor": ["Short stories", "The Giver", "Poetry", "Memoir"],
    "dave.kim": ["Integers", "Ratios", "Equations", "Probability"],
    "zoe.martin": ["Memoir", "Holocaust literature", "Argument writing", "Drama"],
    "omar.farouk": ["World War I", "Cold War", "Treaty of Versailles", "Civil rights"],
    "sam.haddad": ["Printmaking", "Ceramics", "Color theory", "Portfolio"],
    "ellen.wu": ["Composition", "Music history", "Recording", "Spring concert"],
}
HELP = [
    ("Could you teach my classes how to cite sources in MLA before the research project?",
     "Small group"),
    ("Can you come to our team meeting and show us how to build a Moodle quiz?",
     "At our team meeting"),
    ("Could you pull 30 books on this unit, mixed reading levels?", "Email me a guide"),
    ("I'd love a quick walkthrough of the research databases for my students.", "Small group"),
    ("My classroom printer won't print from the Chromebooks. Can someone look at it?",
     "One-on-one"),
    ("Could you do a digital citizenship lesson on spotting misinformation?",
     "At our team meeting"),
    ("Can you show me how to make podcasts with my students?", "Small group, After school"),
    ("Could you help me set up the Moodle gradebook?", "One-on-one"),
    ("A book talk on realistic fiction for my classes, please.", "Small group"),
    ("How can students use AI tools without it becoming cheating? A guide would help.",
     "Email me a guide"),
    ("Could we book the library for a research day and have you co-teach?", "Small group"),
    ("Nothing this month, thanks!", ""),
]  # fmt: skip
JOURNAL = [
    ("2026-09-18", "First month of the check-ins. Two teachers thanked me for asking: they "
     "would never have emailed on their own."),
    ("2026-10-14", "The Grade 7 team meeting on Moodle quizzes worked far better than "
     "one-on-one sessions: everyone left with a quiz built."),
    ("2026-12-10", "Citation mini-lessons are now the thing teachers ask for most. Build a "
     "reusable slide deck over the break."),
    ("2027-02-05", "Related Arts still rarely answers; try visiting their planning period "
     "instead of email."),
    ("2027-04-22", "Presented the year's numbers to the principal; she asked for the report "
     "as a PDF for the board."),
]  # fmt: skip
# The browser and its quiet flags, as docs/screenshot.py runs them for the digest.
from screenshot import QUIET, chromium  # noqa: E402


def _answers(rng: random.Random, month: int) -> list[tuple[int, int, str, str, str, str]]:
    """A month's answers: most teachers, more eager at the start of the year."""
    out = []
    for person, units in UNITS.items():
        eager = 0.35 if person in ("sam.haddad", "ellen.wu") else 0.8 - 0.02 * month
        if rng.random() > eager:
            continue
        help_text, fmt = rng.choice(HELP)
        out.append((rng.randint(0, 3), rng.randint(8, 16), f"{person}@lincoln.example.org",
                    units[month % len(units)], help_text, fmt))  # fmt: skip
    return out


def _write_answers(path: Path, answers: list[tuple[int, int, str, str, str, str]],
                   send: date, saved: datetime) -> None:  # fmt: skip
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(HEADER)
        for days, hour, email, units, help_text, fmt in answers:
            when = datetime.combine(send + timedelta(days=days), time(hour, 12, 5))
            w.writerow([f"{when:%Y/%m/%d %H:%M:%S}", email, units, help_text, fmt])
    os.utime(path, (saved.timestamp(), saved.timestamp()))


def _play_survey(config: Config, folder: Path) -> None:
    """The survey's window: requests, answers in two waves, reminders and its digest."""
    survey = for_campaign(config, SURVEY_NAME)
    cycle = cycles.cycle(survey, cycles.name_of(SURVEY_OPENS))
    export = folder / "pd-survey-responses.csv"
    for step, day in enumerate((cycle.send, *cycle.reminders, cycle.digest)):
        wave = {1: SURVEY_EARLY, 2: SURVEY_LATE}.get(step, [])
        if wave:
            new = not export.exists()
            with export.open("a", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                if new:
                    w.writerow(SURVEY_HEADER)
                for days, hour, email, *cells in wave:
                    when = datetime.combine(cycle.send + timedelta(days=days), time(hour, 4))
                    w.writerow([f"{when:%Y/%m/%d %H:%M:%S}", email, *cells])
            saved = datetime.combine(day, time(7), config.timezone).timestamp()
            os.utime(export, (saved, saved))
        with _at(survey, day) as ws:  # the tick of one campaign: the survey's
            report = tick(ws, day)
        if report.errors:
            raise report.errors[0]


def _at(config: Config, day: date, hour: int = 7) -> Workspace:
    return Workspace(config, clock=lambda: datetime.combine(day, time(hour, 30), config.timezone))


def build_year(folder: Path) -> Config:
    """Set up the demo school in ``folder`` and play the school year."""
    scaffold(folder, roster=ROSTER)
    path = folder / "pdmail.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "months: [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]", "months: [1, 2, 3, 4, 5, 9, 10, 11, 12]"
    )
    path.write_text(text, encoding="utf-8")
    _survey_config(folder, SURVEY_OPENS)  # the PD survey, as the demo adds it
    config = load_config(path)
    rng = random.Random(2026)
    responses = folder / "responses.csv"
    for n, name in enumerate(MONTHS):
        cycle = cycles.cycle(config, name)
        for step, day in enumerate((cycle.send, *cycle.reminders, cycle.digest)):
            if step == 1:  # the answers of the first days, downloaded on the reminder day
                saved = datetime.combine(day, time(7), config.timezone)
                _write_answers(responses, _answers(rng, n), cycle.send, saved)
            with _at(config, day) as ws:
                report = tick(ws, day)
            if report.errors:
                raise report.errors[0]
        # The librarian follows up: most needs done within the month, some scheduled.
        later = cycle.digest + timedelta(days=12)
        with _at(config, later, 16) as ws:
            records, _ = list_needs(ws)
            for r in records:
                if r.cycle == name and r.status == "open":
                    roll = rng.random()
                    if roll < 0.62:
                        set_needs(ws, [r.id], "done", "")
                    elif roll < 0.80:
                        set_needs(ws, [r.id], "scheduled", "")
        if name == cycles.name_of(SURVEY_OPENS):
            _play_survey(config, folder)
    with _at(config, TODAY) as ws:
        for when, text in JOURNAL:
            ws.ledger.journal.add(date.fromisoformat(when), text, ws.now())
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--pdf", type=Path, default=ROOT / "docs" / "report.pdf")
    parser.add_argument("--keep", type=Path, help="build the year in this (new) folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "school"
        folder.mkdir(parents=True, exist_ok=False)
        config = build_year(folder)
        with _at(config, TODAY) as ws:
            year = parse_year("2026-27", config.calendar.year_starts)
            report = compile_report(ws, year, survey=year_surveys)
            html = render_html(report, ws.templates)
        files = write_report(report, html, folder / "report" / "2026-27")
        profile = Path(tmp) / "profile"
        browser = [chromium(), *QUIET, f"--user-data-dir={profile}"]
        subprocess.run(
            [*browser, f"--window-size={SCREEN[0]},{SCREEN[1]}", f"--screenshot={args.png}",
             files.html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [*browser, "--no-pdf-header-footer", f"--print-to-pdf={args.pdf}",
             files.html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        summary = report.summary
    print(
        f"wrote {args.png} and {args.pdf}: {summary.requests} requests, {summary.percent}% "
        f"answered, {summary.needs} needs, {summary.done} done, {summary.helped} of "
        f"{summary.active} teachers helped"
    )


if __name__ == "__main__":
    main()
