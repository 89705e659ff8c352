"""``pdmail demo``: a whole month rehearsed on the embedded default, with sample data.

It sets up a folder as ``pdmail init`` does, then plays the month's school days through the
same tick that cron runs: requests on the send day, answers trickling in, reminders on the
reminder days, the digest on the digest day, and a second run that sends nothing new.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from . import cycles
from .config import load_config
from .errors import UsageError
from .scaffold import scaffold
from .tick import tick
from .workspace import Workspace

MARKER = ".pdmail-demo"

ROSTER = """\
Email,First Name,Last Name,Team,Subject,Building,Active
ann.lee@lincoln.example.org,Ann,Lee,Grade 6,English,Main,yes
raj.patel@lincoln.example.org,Raj,Patel,Grade 6,Science,Main,yes
lucy.chen@lincoln.example.org,Lucy,Chen,Grade 6,Math,Main,yes
maria.gomez@lincoln.example.org,María,Gómez,Grade 7,Social Studies,Main,yes
tom.baker@lincoln.example.org,Tom,Baker,Grade 7,Science,Main,yes
nia.okafor@lincoln.example.org,Nia,Okafor,Grade 7,English,Main,yes
dave.kim@lincoln.example.org,Dave,Kim,Grade 7,Math,Main,yes
zoe.martin@lincoln.example.org,Zoë,Martin,Grade 8,English,Main,yes
omar.farouk@lincoln.example.org,Omar,Farouk,Grade 8,History,Main,yes
sam.haddad@lincoln.example.org,Sam,Haddad,Related Arts,Art,Annex,yes
ellen.wu@lincoln.example.org,Ellen,Wu,Related Arts,Music,Annex,yes
greg.stone@lincoln.example.org,Greg,Stone,Grade 8,Math,Main,no
"""

HEADER = [
    "Timestamp",
    "Email Address",
    "What units of study are coming up?",
    "How can the library help?",
    "Preferred format",
]

# (days after the send day, hour, email, units, help, format)
EARLY = [
    (0, 10, "maria.gomez@lincoln.example.org", "Industrial Revolution research project",
     "My students need help citing sources and using the databases.", "Team meeting"),
    (0, 14, "tom.baker@lincoln.example.org", "Ecosystems",
     "How do I set up Moodle quizzes with images?", "Team meeting"),
    (1, 8, "nia.okafor@lincoln.example.org", "The Giver, then a poetry unit",
     "Moodle quiz settings, and a book talk on dystopian novels", "Small group"),
    (1, 9, "sam.haddad@lincoln.example.org", "Ceramics; color theory",
     "My classroom printer will not print from Chromebooks.", "One-on-one"),
    (2, 15, "ann.lee@lincoln.example.org", "Persuasive essays",
     "Research skills and MLA citations for the persuasive essay", "Small group"),
    (2, 16, "visitor@elsewhere.example.com", "", "Can my class visit the library?", ""),
    (3, 7, "tom.baker@lincoln.example.org", "Ecosystems; cells",
     "Moodle quizzes: random questions from a question bank", "Team meeting"),
]  # fmt: skip
LATE = [
    (5, 11, "ZOE.MARTIN@lincoln.example.org ", "Holocaust literature",
     "=HYPERLINK(\"http://example.com\") podcasting with students <b>please</b>",
     "Small group"),
    (6, 13, "dave.kim@lincoln.example.org", "Ratios", "Moodle quiz for the ratio unit",
     "Team meeting"),
    (6, 14, "omar.farouk@lincoln.example.org", "Cold War",
     "Evaluating sources: spotting misinformation online", "Written guide"),
]  # fmt: skip


@dataclass
class DemoResult:
    """Where the demo's files are, and what each simulated day did."""

    folder: Path
    config: Path
    outbox: Path
    digest: Path
    cycle: str
    last_day: date
    days: list[tuple[date, int, str]] = field(default_factory=list)


def _prepare(folder: Path, force: bool) -> None:
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise UsageError(
                f"{folder}: the folder is not empty and holds no earlier demo",
                hint="choose a new folder for the demo",
            )
        if not force:
            raise UsageError(
                f"{folder}: an earlier demo is there",
                hint="pass --force to replace it, or choose another folder",
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by pdmail demo; --force may replace this folder\n")


def _append_answers(path: Path, answers: list[tuple[int, int, str, str, str, str]],
                    send: date) -> None:  # fmt: skip
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(HEADER)
        for days, hour, email, units, help_text, fmt in answers:
            when = datetime.combine(send + timedelta(days=days), time(hour, 12, 5))
            # The Google Forms "Download responses (.csv)" timestamp style.
            stamp = f"{when:%Y/%m/%d} {when:%I:%M:%S %p} CST".replace(" 0", " ", 1)
            w.writerow([stamp, email, units, help_text, fmt])


def run_demo(
    folder: Path,
    *,
    today: date,
    force: bool = False,
    log: Callable[[str], None] | None = print,
) -> DemoResult:
    """Set up ``folder`` and play the cycle of ``today``'s month (or the next month the
    campaign runs) from its send day to its digest day."""
    say = log or (lambda _: None)
    _prepare(folder, force)
    scaffold(folder, roster=ROSTER)
    config = load_config(folder / "pdmail.yaml")
    name = f"{today.year:04d}-{today.month:02d}"
    for _ in range(12):
        if cycles.cycle(config, name).runs:
            break
        name = cycles.shift(name, 1)
    cycle = cycles.cycle(config, name)
    responses = folder / "responses.csv"
    days = [cycle.send, *cycle.reminders, cycle.digest, cycle.digest]
    result = DemoResult(
        folder=folder,
        config=folder / "pdmail.yaml",
        outbox=config.mail.outbox,
        digest=config.digest_out / cycle.name / "digest.html",
        cycle=cycle.name,
        last_day=cycle.digest,
    )
    say(f"pdmail demo: {config.school}, cycle {cycle.name}, in {folder}")
    for n, day in enumerate(days):
        if n == 1:
            _append_answers(responses, EARLY, cycle.send)
            say(f"  ... {len(EARLY)} answers arrive (one from outside the roster)")
        if n == 2:
            _append_answers(responses, LATE, cycle.send)
            say(f"  ... {len(LATE)} more answers arrive")

        def clock(day: date = day) -> datetime:
            return datetime.combine(day, time(7, 30), tzinfo=config.timezone)

        with Workspace(config, clock=clock) as ws:
            report = tick(ws, day)
        what = ", ".join(f"{name}: {r.count('sent')} sent" for name, r in report.steps)
        if n == len(days) - 1:
            what = f"run again: {report.sent} sent (nothing is sent twice)"
        result.days.append((day, report.sent, what or "nothing due"))
        say(f"  {day:%a %Y-%m-%d}  {what or 'nothing due'}")
    return result
