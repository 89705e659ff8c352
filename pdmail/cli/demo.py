"""``pdmail demo``: a whole month rehearsed on the embedded default, with sample data.

It sets up a folder as ``pdmail init`` does, then plays the month's school days through the
same tick that cron runs: requests on the send day, answers trickling in, reminders on the
reminder days, the digest on the digest day, and a second run that sends nothing new.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from .. import cycles
from ..campaigns.layout import COLUMNS, SURVEY_NAME
from ..config.campaigns import for_campaign
from ..config.load import load_config
from ..config.records import Config
from ..cycle.tick import tick
from ..errors import UsageError
from ..wording import count, plural
from ..workspace import Workspace
from .needs_cli import list_needs, set_needs
from .scaffold import scaffold

MARKER = ".pdmail-demo"

ROSTER = """\
Email,First Name,Last Name,Team,Subject,Building,Active,New to district
ann.lee@lincoln.example.org,Ann,Lee,Grade 6,English,Main,yes,
raj.patel@lincoln.example.org,Raj,Patel,Grade 6,Science,Main,yes,
lucy.chen@lincoln.example.org,Lucy,Chen,Grade 6,Math,Main,yes,yes
maria.gomez@lincoln.example.org,María,Gómez,Grade 7,Social Studies,Main,yes,
tom.baker@lincoln.example.org,Tom,Baker,Grade 7,Science,Main,yes,
nia.okafor@lincoln.example.org,Nia,Okafor,Grade 7,English,Main,yes,
dave.kim@lincoln.example.org,Dave,Kim,Grade 7,Math,Main,yes,
zoe.martin@lincoln.example.org,Zoë,Martin,Grade 8,English,Main,yes,
omar.farouk@lincoln.example.org,Omar,Farouk,Grade 8,History,Main,yes,
sam.haddad@lincoln.example.org,Sam,Haddad,Related Arts,Art,Annex,yes,
ellen.wu@lincoln.example.org,Ellen,Wu,Related Arts,Music,Annex,yes,yes
greg.stone@lincoln.example.org,Greg,Stone,Grade 8,Math,Main,no,
"""

# The demo school has a technology integration specialist who runs the iPad pilot (learning
# work) and prepares the librarian for the Moodle roll-out (implementation work).
DEMO_SETTINGS = """
  specialists:
    - name: Pat Jones
      email: pat.jones@district.example.org
"""
DEMO_TOPIC = """    - name: 1:1 iPad pilot
      keywords: [ipad, ipads, ipad pilot]
      stage: learning
      owners: [pat.jones@district.example.org]
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
     "Could you come to our Grade 7 team meeting and show us how to get kids citing sources "
     "from the databases? Right now they paste links and call it a bibliography.",
     "At our team meeting"),
    (0, 14, "tom.baker@lincoln.example.org", "Ecosystems",
     "How do I set up Moodle quizzes with images? Mine keep showing a broken picture icon.",
     "At our team meeting"),
    (1, 8, "nia.okafor@lincoln.example.org", "The Giver, then a poetry unit",
     "Could you pull dystopian novels for after The Giver (25ish, mixed levels)? And I'd love "
     "a quick walkthrough of Moodle quiz settings, I keep locking kids out.", "Small group"),
    (1, 9, "sam.haddad@lincoln.example.org", "Ceramics; color theory",
     "My classroom printer won't print from the Chromebooks. Can someone take a look?",
     "One-on-one"),
    (2, 15, "ann.lee@lincoln.example.org", "Persuasive essays",
     "Could you teach my classes research skills and MLA citations before the persuasive "
     "essay? Dec 14 or 15 would be great.", "Small group"),
    (2, 16, "visitor@elsewhere.example.com", "", "Can my class visit the library?", ""),
    (3, 7, "tom.baker@lincoln.example.org", "Ecosystems; cells",
     "Sorry, one more: how do I pull random questions from a question bank in Moodle?",
     "At our team meeting"),
]  # fmt: skip
LATE = [
    (5, 11, "ZOE.MARTIN@lincoln.example.org ", "Holocaust literature",
     "Thinking of having students record podcasts for our Holocaust literature unit. Could "
     "you show me how to get started?", "Small group, After school or online"),
    (6, 13, "dave.kim@lincoln.example.org", "Ratios",
     "Can you show me how to build a Moodle quiz for the ratio unit? Our team keeps asking.",
     "At our team meeting"),
    (6, 14, "omar.farouk@lincoln.example.org", "Cold War",
     "Any tips for teaching kids to spot misinformation online? An emailed guide would be "
     "perfect, thanks!", "Email me a guide"),
]  # fmt: skip


# Two earlier months, played quickly so the digest has history: needs that carry over, a
# teacher asking again, trends and a year of units.
BEFORE = [
    [
        (0, 10, "ann.lee@lincoln.example.org", "Narrative writing",
         "Could you do a book talk on realistic fiction for my classes?", "Small group"),
        (1, 9, "tom.baker@lincoln.example.org", "Cells",
         "Can you help me set up my Moodle course page?", "At our team meeting"),
        (1, 13, "maria.gomez@lincoln.example.org", "Ancient Rome",
         "Which research databases work best for the Rome project? Could you show me?",
         "Small group"),
        (2, 8, "omar.farouk@lincoln.example.org", "World War I",
         "An MLA citation mini-lesson for my WWI classes, please", "Small group"),
        (2, 11, "sam.haddad@lincoln.example.org", "Printmaking",
         "The art room printer jams every time. Could someone look at it?", "One-on-one"),
        (3, 14, "dave.kim@lincoln.example.org", "Integers", "n/a", ""),
    ],
    [
        (0, 9, "ann.lee@lincoln.example.org", "Poetry",
         "I'd love to learn how to make podcasts of our poetry readings.", "Small group"),
        (0, 15, "raj.patel@lincoln.example.org", "Energy",
         "Could you show me good science apps for the iPad pilot?", "Small group"),
        (1, 10, "tom.baker@lincoln.example.org", "Genetics",
         "How do I build a question bank in Moodle?", "At our team meeting"),
        (1, 12, "nia.okafor@lincoln.example.org", "Short stories",
         "Can you help me set up the Moodle gradebook? I'm lost.", "At our team meeting"),
        (2, 9, "maria.gomez@lincoln.example.org", "Medieval Europe",
         "Could you show my students how to cite sources for the medieval project?",
         "Small group"),
        (2, 16, "zoe.martin@lincoln.example.org", "Memoir",
         "Could you do a digital citizenship lesson for my classes?", "At our team meeting"),
        (3, 8, "omar.farouk@lincoln.example.org", "Treaty of Versailles",
         "Nothing this month, thanks!", ""),
    ],
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


Answer = tuple[int, int, str, str, str, str]


def _append_answers(path: Path, answers: list[Answer], send: date, saved: datetime) -> None:
    """Add ``answers`` to the export as if it were downloaded again at ``saved`` (its
    modification time): pdmail trusts an export only if it was saved after the requests went
    out, and the demo's days are simulated, perhaps in the future."""
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
    os.utime(path, (saved.timestamp(), saved.timestamp()))


def _demo_config(folder: Path) -> None:
    path = folder / "pdmail.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("digest:\n  out: digest\n", "digest:\n  out: digest\n" + DEMO_SETTINGS, 1)
    text = text.replace("  topics:\n", "  topics:\n" + DEMO_TOPIC, 1)
    path.write_text(text, encoding="utf-8")


def _play(
    config: Config,
    cycle: cycles.Cycle,
    answers: Sequence[Sequence[tuple[Any, ...]]],
    responses: Path,
    say: Callable[[str], None],
    append: Callable[[Path, Any, date, datetime], None] | None = None,
) -> list[tuple[date, int, str]]:
    """Tick every step day of ``cycle``, adding ``answers[i]`` before step ``i + 1``; the
    digest day is run twice to show that nothing goes out twice."""
    days = [cycle.send, *cycle.reminders, cycle.digest, cycle.digest]
    played = []
    for n, day in enumerate(days):
        if 0 < n <= len(answers) and answers[n - 1]:
            downloaded = datetime.combine(day, time(7, 0), tzinfo=config.timezone)
            add: Callable[[Path, Any, date, datetime], None] = append or _append_answers
            add(responses, answers[n - 1], cycle.send, downloaded)
            arrived = len(answers[n - 1])
            say(f"  ... {count(arrived, 'answer')} {plural(arrived, 'arrives', 'arrive')}")

        def clock(day: date = day) -> datetime:
            return datetime.combine(day, time(7, 30), tzinfo=config.timezone)

        with Workspace(config, clock=clock) as ws:
            report = tick(ws, day)
        if report.errors:
            raise report.errors[0]  # a demo that could not write its reports stops there
        what = ", ".join(
            f"{step}: {r.count('sent')} sent" for step, r in report.steps if r.count("sent")
        )
        if n == len(days) - 1:
            what = f"run again: {report.sent} sent (nothing is sent twice)"
        played.append((day, report.sent, what or "nothing due"))
        say(f"  {day:%a %Y-%m-%d}  {what or 'nothing due'}")
    return played


def _librarian_marks(
    config: Config, cycle: str, day: date, marks: dict[str, tuple[str, str]]
) -> int:
    """Mark ``cycle``'s needs of the teachers in ``marks`` (by address) as the librarian
    would after that month's sessions."""
    with Workspace(config, clock=lambda: datetime.combine(day, time(16, 0), config.timezone)) as ws:
        records, _ = list_needs(ws)
        done = 0
        for r in records:
            if r.email in marks and r.status == "open" and r.cycle == cycle:
                status, note = marks[r.email]
                set_needs(ws, [r.id], status, note)
                done += 1
    return done


def run_demo(
    folder: Path,
    *,
    today: date,
    force: bool = False,
    log: Callable[[str], None] | None = print,
) -> DemoResult:
    """Set up ``folder`` and play the cycle of ``today``'s month (or the next month the
    campaign runs), after two earlier months played quickly so its digest has history."""
    say = log or (lambda _: None)
    _prepare(folder, force)
    scaffold(folder, roster=ROSTER)
    _demo_config(folder)
    config = load_config(folder / "pdmail.yaml")
    name = cycles.name_of(today)
    for _ in range(12):
        if cycles.cycle(config, name).runs:
            break
        name = cycles.shift(name, 1)
    cycle = cycles.cycle(config, name)
    earlier: list[cycles.Cycle] = []
    back = name
    while len(earlier) < len(BEFORE):
        back = cycles.shift(back, -1)
        if cycles.cycle(config, back).runs:
            earlier.insert(0, cycles.cycle(config, back))
    responses = folder / "responses.csv"
    result = DemoResult(
        folder=folder,
        config=folder / "pdmail.yaml",
        outbox=config.mail.outbox,
        digest=config.digest_out / cycle.name / "digest.html",
        cycle=cycle.name,
        last_day=cycle.digest,
    )
    say(f"pdmail demo: {config.school}, in {folder}")
    marks = [
        {"tom.baker@lincoln.example.org": ("done", "Showed him at the Grade 7 meeting"),
         "sam.haddad@lincoln.example.org": ("done", "New toner and driver"),
         "omar.farouk@lincoln.example.org": ("scheduled", "Library visit, 2nd period")},
        {"ann.lee@lincoln.example.org": ("scheduled", "Recording studio booked"),
         "tom.baker@lincoln.example.org": ("done", "")},
    ]  # fmt: skip
    for past, answers, mark in zip(earlier, BEFORE, marks, strict=True):
        say(f"{past.name}, played quickly so this month's digest has history:")
        with_quiet = _play(config, past, [answers], responses, lambda _: None)
        sent = sum(n for _, n, _ in with_quiet)
        marked = _librarian_marks(config, past.name, past.digest, mark)
        say(
            f"  {count(sent, 'message')}; the librarian then marks {count(marked, 'need')} "
            "scheduled or done"
        )
    say(f"{cycle.name}, day by day:")
    result.days = _play(config, cycle, [EARLY, LATE], responses, say)
    return result


# The PD survey rehearsed: its Form's export (docs/pd-survey-form.md), answers as Google Forms
# writes checkbox answers (several choices in one cell, an "Other" answer last).
SURVEY_HEADER = [COLUMNS[k] for k in ("timestamp", "email", "formats", "times", "topics",
                                      "suggestion")]  # fmt: skip
# (days after opening, hour, email, formats, times of day, topics, suggestion)
SURVEY_EARLY = [
    (0, 11, "ann.lee@lincoln.example.org", "One-on-one, Small group", "During my planning period",
     "Research skills and databases, AI tools", "A short video I can watch when I have time"),
    (1, 8, "raj.patel@lincoln.example.org", "Small group, Team meeting", "Before school",
     "AI tools, Coding and making", ""),
    (1, 15, "maria.gomez@lincoln.example.org", "Team meeting", "During my planning period",
     "Citation and academic integrity, Media literacy and misinformation",
     "Come to our team meeting once a month, please!"),
    (2, 16, "sam.haddad@lincoln.example.org", "Self-paced, Online", "Weekends, online",
     "Video, audio and podcasts, Other: printmaking with the Cricut", ""),
]  # fmt: skip
SURVEY_LATE = [
    (5, 10, "nia.okafor@lincoln.example.org", "Small group, After school", "After school",
     "Book talks and reading promotion, Ebooks and audiobooks", "A book club for staff"),
    (6, 9, "tom.baker@lincoln.example.org", "One-on-one, Online", "Lunch",
     "Our learning management system, AI tools", ""),
    (7, 14, "ellen.wu@lincoln.example.org", "Self-paced", "weekends, online",
     "video, audio and podcasts", "<b>Music licensing</b> for concerts?"),
]  # fmt: skip


def _append_survey(path: Path, answers: list[Any], opens: date, saved: datetime) -> None:
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(SURVEY_HEADER)
        for days, hour, email, *cells in answers:
            when = datetime.combine(opens + timedelta(days=days), time(hour, 4, 51))
            stamp = f"{when:%Y/%m/%d} {when:%I:%M:%S %p} CST".replace(" 0", " ", 1)
            w.writerow([stamp, email, *cells])
    os.utime(path, (saved.timestamp(), saved.timestamp()))


def _survey_config(folder: Path, opens: date) -> None:
    """Add the pd-survey campaign to the demo's config, its window opening on ``opens``."""
    due = opens + timedelta(days=11)
    path = folder / "pdmail.yaml"
    text = path.read_text(encoding="utf-8")
    text += f"""
campaigns:
  {SURVEY_NAME}:
    kind: survey
    form:
      url: "https://docs.google.com/forms/d/e/1FAIpQLSd_DEMO_SURVEY/viewform"
      prefill:
        email: entry.2000001
    responses: pd-survey-responses.csv
    calendar:
      opens: {opens.isoformat()}
      due: {due.isoformat()}
      reminders: [4, 9]
    audience:
      exclude:
        Team: [Student teachers]
"""
    path.write_text(text, encoding="utf-8")


def run_survey_demo(
    folder: Path,
    *,
    today: date,
    force: bool = False,
    log: Callable[[str], None] | None = print,
) -> DemoResult:
    """Set up ``folder`` and play the PD preferences survey (the ``pd-survey`` campaign) in a
    window opening on the first school day of ``today``'s month: requests, answers with
    checkbox choices, reminders to those who have not answered, and the digest of counts."""
    say = log or (lambda _: None)
    _prepare(folder, force)
    scaffold(folder, roster=ROSTER)
    main = load_config(folder / "pdmail.yaml")
    opens = main.calendar.next_school_day(today.replace(day=1))
    _survey_config(folder, opens)
    config = for_campaign(load_config(folder / "pdmail.yaml"), SURVEY_NAME)
    cycle = cycles.cycle(config, cycles.name_of(opens))
    result = DemoResult(
        folder=folder,
        config=folder / "pdmail.yaml",
        outbox=config.mail.outbox / SURVEY_NAME,
        digest=config.digest_out / cycle.name / "survey.html",
        cycle=cycle.name,
        last_day=cycle.digest,
    )
    say(f"pdmail demo: the PD preferences survey at {config.school}, in {folder}")
    say(f"{SURVEY_NAME} {cycle.name}, day by day:")
    result.days = _play(
        config,
        cycle,
        [SURVEY_EARLY, SURVEY_LATE],
        folder / "pd-survey-responses.csv",
        say,
        append=_append_survey,
    )
    return result
