"""Benchmark: compiling the monthly digest for a whole school year, at two roster sizes.

The requirement is "the digest stays fast: compiling it for 10,000 teachers and a school year
of cycles". This script builds a deterministic synthetic project folder per roster size
(config, roster CSV, a Google-Sheets-style responses CSV covering every cycle of the school
year, a ledger holding the earlier cycles' needs and sent messages, and the librarian's
needs.csv), then times, side by side in one run, the steps a digest day goes through:

* reading and parsing the roster and the responses export (``Workspace.roster`` and
  ``Workspace.responses``: CSV decode, sniffing, row fitting, timestamp parsing);
* matching one cycle's responses to the roster (:func:`pdmail.sources.responses.match`);
* matching every earlier cycle the digest looks back on (:func:`pdmail.cycle.publish.history`);
* syncing the needs with the ledger and needs.csv (:func:`pdmail.cycle.publish.sync_needs`);
* the pure :func:`pdmail.digest.build.build_digest` for the last cycle, with full history and needs;
* the whole :func:`pdmail.cycle.publish.compile_digest` from a fresh workspace (every read, match,
  SQLite write and needs.csv rewrite included), and :func:`pdmail.cycle.publish.render_digest`;
* and, "inside compile_digest", the parts worth watching on their own: the ledger read behind
  the trend's "asked" counts, tagging and format normalising, the trends and the year view.

Each step is timed with :func:`time.perf_counter` ``--repeat`` times and the median is
printed; its peak memory is measured in a separate run under :mod:`tracemalloc` (which slows
Python down, so it never overlaps a timed run). Objects alive before a run (prepared inputs)
are frozen out of the garbage collector's sight (:func:`gc.freeze`), so each run pays for the
collections of its own objects, as a process that only compiles the digest does. The ``ratio``
column divides the largest size by the smallest: a step that scales linearly shows the ratio
of the roster sizes (10x).

Run from the repository root::

    python bench/bench_digest.py                      # 1,000 and 10,000 teachers, 10 cycles
    python bench/bench_digest.py --teachers 1000 10000 --cycles 10 --repeat 3
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # pdmail from this checkout, no installation needed

import yaml  # noqa: E402

from pdmail import cycles  # noqa: E402
from pdmail.config.load import load_config  # noqa: E402
from pdmail.config.records import Config  # noqa: E402
from pdmail.cycle.messages import REQUEST, reminder_kind  # noqa: E402
from pdmail.cycle.publish import (  # noqa: E402
    RenderedDigest,
    compile_digest,
    history,
    render_digest,
    requests_sent,
    sync_needs,
)
from pdmail.cycles import Cycle  # noqa: E402
from pdmail.digest.build import (  # noqa: E402
    Digest,
    as_records,
    build_digest,
    carried_by_kind,
    current_needs,
    reading_key,
)
from pdmail.digest.topics import Tagger, normalize_format  # noqa: E402
from pdmail.digest.trends import build_trends, build_year  # noqa: E402
from pdmail.mail.compose import address, compose  # noqa: E402
from pdmail.models import LEARNING  # noqa: E402
from pdmail.sources.responses import Collection, match  # noqa: E402
from pdmail.state.ledger import Ledger  # noqa: E402
from pdmail.state.needs import NeedRecord, needs_rows  # noqa: E402
from pdmail.workspace import Workspace  # noqa: E402

# --------------------------------------------------------------------------------------------
# The synthetic school
# --------------------------------------------------------------------------------------------

FIRST_YEAR = 2026
SCHOOL_MONTHS = (8, 9, 10, 11, 12, 1, 2, 3, 4, 5)  # a school year: August to May
SPECIALIST = "pat.jones@district.example.org"

CONFIG: dict[str, Any] = {
    "school": "Bench Middle School",
    "timezone": "America/Chicago",
    "librarian": {"name": "Lib Rarian", "email": "librarian@bench.example.org"},
    "sources": {"kind": "local", "roster": "roster.csv", "responses": "responses.csv"},
    "mail": {"kind": "outbox", "outbox": "outbox"},
    "form": {
        "url": "https://docs.google.com/forms/d/e/FORMID/viewform",
        "prefill": {"email": "entry.111", "first_name": "entry.222"},
        "columns": {
            "timestamp": "Timestamp",
            "email": "Email Address",
            "units": "What units of study are coming up?",
            "help": "How can the library help?",
            "format": "Preferred format",
        },
    },
    "calendar": {
        "send_day": 1,
        "due_after_days": 7,
        "reminders_after_days": [4, 8],
        "digest_after_days": 10,
        "months": list(SCHOOL_MONTHS),
        "year_starts": 8,
        "skip": ["2026-11-25..2026-11-27", "2026-12-21..2027-01-01", "2027-03-22..2027-03-26"],
    },
    "state": ".pdmail",
    "digest": {"specialists": [{"name": "Pat Jones", "email": SPECIALIST}]},
    "taxonomy": {
        "topics": [
            {
                "name": "1:1 iPad pilot",
                "keywords": ["ipad pilot", "ipad cart", "ipads"],
                "stage": "learning",
                "owners": [SPECIALIST],
            }
        ]
    },
}

ROSTER_HEADER = ["Email", "First Name", "Last Name", "Team", "Subject", "Active", "New to district"]
RESPONSE_HEADER = [
    "Timestamp",
    "Email Address",
    "What units of study are coming up?",
    "How can the library help?",
    "Preferred format",
]

FIRST_NAMES = (
    "Ann", "Raj", "María", "Sam", "Lucy", "Tom", "Nia", "Dave", "Zoë", "Omar", "Ellen", "Greg",
    "Priya", "Jamal", "Chen", "Fatima", "Liam", "Sofia", "Noah", "Aisha", "Mateo", "Hannah",
    "Kofi", "Yuki", "Olga", "Diego", "Grace", "Ibrahim", "Mei", "Pat",
)  # fmt: skip
LAST_NAMES = (
    "Lee", "Patel", "Gómez", "Haddad", "Chen", "Baker", "Okafor", "Kim", "Martin", "Farouk",
    "Wu", "Stone", "Nguyen", "Johnson", "Garcia", "Smith", "Müller", "Rossi", "Kowalski",
    "O'Brien", "Singh", "Ali", "Tanaka", "Silva", "Brown", "Davis", "Cohen", "Ivanova",
)  # fmt: skip
TEAMS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    # (team, weight, the units of study its teachers name)
    ("Grade 6", 22, ("Ancient Egypt", "Ratios and rates", "Ecosystems", "Hatchet novel study",
                     "Personal narrative", "Earth's layers", "Mesopotamia")),
    ("Grade 7", 22, ("The Middle Ages", "Proportional relationships", "Cells and heredity",
                     "The Outsiders", "Argument writing", "Chemical reactions")),
    ("Grade 8", 22, ("The Civil War", "Linear equations", "Forces and motion", "Animal Farm",
                     "Research paper", "The Constitution", "Poetry")),
    ("Related Arts", 14, ("Printmaking", "Jazz band", "Nutrition", "Coding with Scratch",
                          "Team sports", "Theater basics")),
    ("Special Education", 8, ("Reading fluency", "Life skills", "Math facts", "Social stories")),
    ("World Languages", 8, ("La familia", "Les vacances", "Food and culture", "Greetings")),
    ("", 4, ("Advisory", "Study skills")),  # no team on the roster
)  # fmt: skip
SUBJECTS = ("English", "Math", "Science", "Social Studies", "Art", "Music", "PE", "Spanish",
            "French", "Health", "Technology")  # fmt: skip

# Help texts: {kw} is a taxonomy keyword (as a teacher would write it), {unit} a unit of study.
TAGGED_HELP = (
    "Could you help me with {kw}?",
    "I'd love help with {kw} for our {unit} unit.",
    "My students struggle with {kw}. Maybe a lesson on {kw2}?",
    "Need a refresher on {kw} before {unit}.",
    "How do I set up {kw} for my classes? Also {kw2}.",
    "{kw} please!",
    "Help getting started with {kw}, and ideas for {kw2} too.",
    "Can you pull resources on {unit} and show us {kw}?",
    "Looking for a quick tutorial on {kw} - our team keeps asking about it.",
)
UNTAGGED_HELP = (
    "Classroom management ideas for 7th period.",
    "Help planning the field trip to the science museum.",
    "Bulletin board ideas for the hallway.",
    "Could we co-teach a lesson sometime?",
    "Ideas for early finishers.",
    "Help organizing my shelves before conferences.",
    "Just want to chat about {unit}.",
)
NOTHING_HELP = ("n/a", "Nothing right now.", "None", "All good!", "No thanks", "nothing for now")
FORMATS = (
    ("One-on-one", 25), ("Small group", 15), ("Visit our team meeting", 15),
    ("Written guide / handout", 10), ("After school", 8), ("Email me a tutorial", 5),
    ("Whatever works", 7), ("", 15),
)  # fmt: skip
UNIT_FORMS = (
    "{unit}", "Unit {k}: {unit}", "{unit} and {unit2}", "{unit} project (weeks {k}-{k2})",
    "Starting {unit} after break", "{unit}; {subject} block {b}, due {month}/{day}",
    "{unit} - {first}'s section {b} wants a research day around {month}/{day}",
)  # fmt: skip
NOTES = ("Met at the PLC", "Booked for next week", "Sent the handout", "Showed her in person",
         "=SUM(needs) looked odd", "Co-taught on Tuesday")  # fmt: skip


@dataclass(frozen=True)
class Person:
    email: str
    first: str
    last: str
    team: str
    units: tuple[str, ...]
    subject: str
    active: bool
    new: bool


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def make_people(rng: random.Random, n: int) -> list[Person]:
    """``n`` teachers: ~5% new to the district, ~1% inactive, every team represented."""
    people = []
    teams = [(t[0], t[1]) for t in TEAMS]
    units = {t[0]: t[2] for t in TEAMS}
    for i in range(n):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        plain = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
        local = plain.decode().lower().replace("'", "")
        team = _weighted(rng, teams)
        people.append(
            Person(
                email=f"{local}{i}@bench.example.org",
                first=first,
                last=last,
                team=team,
                units=units[team],
                subject=rng.choice(SUBJECTS),
                active=rng.random() >= 0.01,
                new=rng.random() < 0.05,
            )
        )
    return people


def roster_rows(rng: random.Random, people: Sequence[Person]) -> list[list[str]]:
    rows = []
    for p in people:
        active = "no" if not p.active else rng.choice(("yes", "yes", "Yes", ""))
        email = p.email if rng.random() > 0.02 else p.email.title()
        rows.append([email, p.first, p.last, p.team, p.subject, active, "yes" if p.new else ""])
    return rows


def keywords(tagger: Tagger) -> list[str]:
    """Every taxonomy keyword, so the help texts hit every topic."""
    return [kw for topic in tagger.topics for kw in topic.keywords]


def _variant(rng: random.Random, kw: str) -> str:
    # Plurals, -ing forms and capitals, as teachers write them (the tagger stems them).
    roll = rng.random()
    if " " not in kw and len(kw) > 3 and roll < 0.15:
        return kw + "s"
    if " " not in kw and len(kw) > 3 and roll < 0.25:
        return kw + "ing"
    if roll < 0.4:
        return kw.title()
    return kw


def help_text(rng: random.Random, kws: Sequence[str], unit: str) -> str:
    """About 75% tagged requests, 10% untagged, 15% asking for nothing."""
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(NOTHING_HELP)
    if roll < 0.25:
        return rng.choice(UNTAGGED_HELP).format(unit=unit)
    template = rng.choice(TAGGED_HELP)
    return template.format(
        kw=_variant(rng, rng.choice(kws)), kw2=_variant(rng, rng.choice(kws)), unit=unit
    )


def units_text(rng: random.Random, p: Person) -> str:
    """Units of study: formulaic ones repeat across teachers, detailed ones are near-unique."""
    roll = rng.random()
    if roll < 0.08:
        return ""
    if roll < 0.1:
        return "n/a"
    k = rng.randint(1, 8)
    return rng.choice(UNIT_FORMS).format(
        unit=rng.choice(p.units),
        unit2=rng.choice(p.units),
        k=k,
        k2=k + 2,
        subject=p.subject,
        b=rng.randint(1, 8),
        month=rng.randint(1, 12),
        day=rng.randint(1, 28),
        first=p.first,
    )


def sheets_stamp(moment: datetime) -> str:
    """A timestamp as a Google Sheets export writes it: ``12/3/2026 8:14:22``."""
    return (
        f"{moment.month}/{moment.day}/{moment.year} {moment.hour}:{moment.minute:02d}:"
        f"{moment.second:02d}"
    )


@dataclass
class Generated:
    """When each teacher first answered each cycle, for the reminders in the ledger."""

    first_answer: dict[tuple[str, str], datetime] = field(default_factory=dict)


def response_rows(
    rng: random.Random,
    people: Sequence[Person],
    school_cycles: Sequence[Cycle],
    kws: Sequence[str],
    gen: Generated,
) -> list[list[str]]:
    """Every cycle: ~70% of active teachers answer inside the cycle's window, mostly in the
    first days; ~3% submit again later (superseding); a few strangers and one unreadable
    timestamp per cycle. Rows are in submission order, as a Sheet keeps them."""
    stamped: list[tuple[datetime, list[str]]] = []
    for c in school_cycles:
        start = datetime.combine(c.send, clock_time(0))
        span = (c.closes.date() - c.send).days

        def moment(
            after: datetime, days: float, start: datetime = start, span: int = span
        ) -> datetime:
            day = min(int(days), span - 1)
            t = after + timedelta(days=day, seconds=rng.randint(6 * 3600 + 1800, 21 * 3600))
            return min(t, start + timedelta(days=span) - timedelta(seconds=1))

        for p in people:
            if not p.active or rng.random() >= 0.7:
                continue
            when = moment(start, rng.expovariate(1 / 3))
            gen.first_answer[(c.name, p.email)] = when
            unit = rng.choice(p.units)
            addr = p.email
            if rng.random() < 0.03:
                addr = f"  {p.email.upper()} "
            fmt = _weighted(rng, FORMATS)
            row = [sheets_stamp(when), addr, units_text(rng, p), help_text(rng, kws, unit), fmt]
            stamped.append((when, row))
            if rng.random() < 0.03:  # a later submission supersedes the first
                later = moment(datetime.combine(when.date(), clock_time(0)), rng.uniform(0, 3))
                later = max(later, when + timedelta(minutes=5))
                again = [sheets_stamp(later), p.email, units_text(rng, p)]
                stamped.append((later, [*again, help_text(rng, kws, unit), fmt]))
        for k in range(max(2, len(people) // 500)):
            when = moment(start, rng.uniform(0, 10))
            addr = f"{rng.choice(FIRST_NAMES).lower()}{k}@home.example.com"
            stamped.append(
                (when, [sheets_stamp(when), addr, "Unit 1", help_text(rng, kws, "Unit 1"), ""])
            )
        bad = start + timedelta(days=2)
        stamped.append((bad, [f"{c.send:%b} {c.send.day}", people[0].email, "", "paper form", ""]))
    stamped.sort(key=lambda s: s[0])
    return [row for _, row in stamped]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def school_year_of(cycle_name: str, year_starts: int) -> int:
    """The year a cycle's school year began in (2027-03 -> 2026 when years start in August)."""
    year, month = (int(p) for p in cycle_name.split("-"))
    return year if month >= year_starts else year - 1


def school_year(config: Config, count: int) -> list[Cycle]:
    """The first ``count`` running cycles from August 2026 (the calendar's months)."""
    out: list[Cycle] = []
    name = f"{FIRST_YEAR:04d}-{SCHOOL_MONTHS[0]:02d}"
    while len(out) < count:
        c = cycles.cycle(config, name)
        if c.runs:
            out.append(c)
        name = cycles.shift(name, 1)
    return out


def fill_messages(
    config: Config,
    people: Sequence[Person],
    school_cycles: Sequence[Cycle],
    gen: Generated,
) -> int:
    """The sent requests and reminders of every cycle, as a season of ticks leaves them.

    Written straight into the ledger's messages table: claiming 100,000 messages one committed
    transaction at a time (as delivery does) would take the benchmark's whole budget.
    """
    tz = config.timezone
    rows = []
    for c in school_cycles:
        days = [(REQUEST, c.send), *((reminder_kind(i + 1), d) for i, d in enumerate(c.reminders))]
        for kind, day in days:
            sent_at = datetime.combine(day, clock_time(7, 30), tz).astimezone(timezone.utc)
            stamp = sent_at.isoformat(timespec="seconds")
            for p in people:
                if not p.active:
                    continue
                answered = gen.first_answer.get((c.name, p.email))
                if kind != REQUEST and answered is not None and answered.date() < day:
                    continue
                mid = f"<{c.name}.{kind}.{p.email}>"
                rows.append((config.campaign, c.name, p.email, kind, "sent", mid,
                             f"t-{p.email}", "", "subject", "", 1, stamp, stamp))  # fmt: skip
    with sqlite3.connect(config.state / "ledger.sqlite3") as db:
        db.executemany(
            "INSERT INTO messages (campaign, cycle, recipient, kind, state, message_id, thread_id,"
            " provider_id, subject, error, attempts, created, updated)"
            f" VALUES ({','.join('?' * 13)})",
            rows,
        )
    db.close()
    return len(rows)


def librarian_edits(
    rng: random.Random, records: Sequence[NeedRecord], last: str
) -> dict[str, tuple[str, str]]:
    """Statuses the librarian set over the year: the older a need, the likelier it is done."""
    order = {c: i for i, c in enumerate(sorted({r.cycle for r in records} | {last}))}
    edits: dict[str, tuple[str, str]] = {}
    for r in records:
        age = order[last] - order[r.cycle]
        roll = rng.random()
        if roll < min(0.12 * age, 0.7):
            edits[r.id] = ("done", rng.choice(NOTES) if rng.random() < 0.4 else "")
        elif roll < min(0.12 * age, 0.7) + 0.1:
            edits[r.id] = ("scheduled", rng.choice(NOTES))
    return edits


@dataclass
class Project:
    """One size's project folder, its state snapshot and what the generator made."""

    teachers: int
    folder: Path
    config: Config
    cycle: Cycle  # the cycle whose digest is measured: the last one
    messages: int  # requests and reminders in the ledger

    @property
    def snapshot(self) -> Path:
        return self.folder / "snapshot"

    def workspace(self) -> Workspace:
        """A fresh workspace (nothing read yet) whose clock is the last cycle's digest day."""
        day = datetime.combine(self.cycle.digest, clock_time(7, 30), self.config.timezone)
        return Workspace(self.config, clock=lambda: day)

    def save_state(self) -> None:
        shutil.rmtree(self.snapshot, ignore_errors=True)
        shutil.copytree(self.config.state, self.snapshot / "state")
        shutil.copy2(self.config.digest.needs_file, self.snapshot / "needs.csv")

    def restore_state(self) -> None:
        """The ledger and needs.csv as they were before the digest day, so every repeat of a
        step that writes them does the same work."""
        shutil.rmtree(self.config.state)
        shutil.copytree(self.snapshot / "state", self.config.state)
        shutil.copy2(self.snapshot / "needs.csv", self.config.digest.needs_file)


def build_project(base: Path, teachers: int, n_cycles: int, seed: int) -> Project:
    """Write the folder for ``teachers`` teachers and ``n_cycles`` cycles, and bring the
    ledger to the morning of the last cycle's digest day."""
    rng = random.Random(seed * 1_000_003 + teachers)
    folder = base / f"teachers-{teachers}"
    folder.mkdir(parents=True)
    cfg_path = folder / "pdmail.yaml"
    cfg_path.write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    config = load_config(cfg_path)
    school_cycles = school_year(config, n_cycles)
    tagger = Tagger.from_taxonomy(config.taxonomy)

    people = make_people(rng, teachers)
    write_csv(folder / "roster.csv", ROSTER_HEADER, roster_rows(rng, people))
    gen = Generated()
    rows = response_rows(rng, people, school_cycles, keywords(tagger), gen)
    write_csv(folder / "responses.csv", RESPONSE_HEADER, rows)

    last = school_cycles[-1]
    # Downloaded early on the digest day: pdmail refuses an export older than the requests.
    saved = datetime.combine(last.digest, clock_time(6), config.timezone).timestamp()
    os.utime(folder / "responses.csv", (saved, saved))
    with Ledger(config.state / "ledger.sqlite3"):
        pass  # the schema
    messages = fill_messages(config, people, school_cycles, gen)

    # The earlier cycles' needs, added on their digest days as compile_digest adds them, with
    # the statuses the librarian gave them and needs.csv as the last digest wrote it.
    with Workspace(config) as ws:
        store = ws.ledger.needs
        for c in school_cycles[:-1]:
            found = current_needs(ws.collect(c), tagger, config.campaign)
            store.upsert(as_records(found, config.campaign), c.digest)
            # As each digest keeps its month's learning needs' readings for the months after.
            store.keep_readings(
                {
                    reading_key(tagger, n.text, n.topics, n.kinds): carried_by_kind(
                        tagger, n.text, n.topics, n.kinds
                    )
                    for n in found
                    if LEARNING in n.kinds
                }
            )
        store.set_status(librarian_edits(rng, store.all(config.campaign), last.name), last.digest)
        records = store.all(config.campaign)
        header, table = needs_rows(records)
        # Edits made in needs.csv since then, not yet in the ledger: some done, one typo.
        for row in table:
            if row[1] == "open" and rng.random() < 0.05:
                row[1], row[2] = "done", rng.choice(NOTES)
        if table:
            table[-1][1] = "finished"
        ws.sink.write_table("needs", header, table)
    project = Project(teachers, folder, config, last, messages)
    project.save_state()
    return project


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One measured step: ``prepare`` (not measured) returns what ``run`` (measured) needs."""

    label: str
    prepare: Callable[[], Any]
    run: Callable[[Any], object]
    group: str = "steps"


@dataclass
class Result:
    seconds: list[float]
    peak: int  # bytes allocated at the peak, tracemalloc
    last: object = None  # what the last timed run returned

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _isolated(run: Callable[[Any], object], arg: object) -> tuple[float, object]:
    """Run once and time it. What was there before (the prepared inputs, the other size's
    leftovers) is frozen out of the garbage collector's sight, so a collection costs what the
    step's own objects cost, as in a process that runs only the digest."""
    gc.freeze()
    try:
        start = time.perf_counter()
        out = run(arg)
        return time.perf_counter() - start, out
    finally:
        gc.unfreeze()


def measure(step: Step, repeat: int, memory: bool) -> Result:
    """Time ``step.run`` ``repeat`` times (median reported); then, unless ``memory`` is off,
    once more under tracemalloc for the peak of what the step allocates."""
    gc.collect()  # once: the previous step's garbage is not this step's to collect
    seconds = []
    last: object = None
    for _ in range(repeat):
        last = None  # let the previous run's result go before the next one
        took, last = _isolated(step.run, step.prepare())
        seconds.append(took)
    peak = 0
    if memory:
        arg = step.prepare()
        tracemalloc.start()
        try:
            _isolated(step.run, arg)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        del arg
    return Result(seconds, peak, last)


@dataclass
class Inputs:
    """What compile_digest hands build_digest, gathered once per size as it gathers them
    (not measured): the pure steps are timed on exactly these."""

    ws: Workspace
    tagger: Tagger
    collection: Collection
    fresh: list[NeedRecord]
    needs: list[NeedRecord]
    history: list[Collection]
    asked: dict[str, int]


def gather(project: Project) -> Inputs:
    """Read, match, sync and look back as compile_digest does, then put the state back."""
    project.restore_state()
    cfg = project.config
    ws = project.workspace()
    tagger = Tagger.from_taxonomy(cfg.taxonomy)
    collection = ws.collect(project.cycle)
    fresh = as_records(current_needs(collection, tagger, cfg.campaign), cfg.campaign)
    needs, _ = sync_needs(ws, fresh)
    earlier = history(cfg, ws.ledger, ws.collect, project.cycle)
    asked = requests_sent(cfg, ws.ledger)
    ws.close()
    project.restore_state()
    return Inputs(ws, tagger, collection, fresh, needs, earlier, asked)


INSIDE = "inside compile_digest"


def steps(project: Project, inp: Inputs, results: dict[str, Result]) -> list[Step]:
    """The steps, in the order a digest day runs them, then parts of them worth watching."""
    cfg = project.config
    cycle = project.cycle

    def fresh_ws() -> Workspace:
        return project.workspace()

    def read_ws() -> Workspace:
        # A fresh workspace that has read the roster and responses: the parsed ones are shared
        # (they are immutable), so preparing a step does not parse 70,000 rows again.
        ws = project.workspace()
        ws.__dict__.update(roster=inp.ws.roster, responses=inp.ws.responses)
        return ws

    def loaded_ws() -> Workspace:
        # As compile_digest has it by the time it looks back: inputs read, ledger open.
        ws = read_ws()
        _ = ws.ledger
        return ws

    def restored_ws() -> Workspace:
        project.restore_state()
        return project.workspace()

    def restored_read_ws() -> Workspace:
        # As sync_needs finds it: inputs read, the ledger not opened yet.
        project.restore_state()
        return read_ws()

    def ledger_ws() -> Workspace:
        ws = project.workspace()
        _ = ws.ledger
        return ws

    def roster(ws: Workspace) -> object:
        return ws.roster

    def responses(ws: Workspace) -> object:
        return ws.responses

    def match_one(ws: Workspace) -> Collection:
        found, problems = ws.responses
        return match(ws.roster, found, cycle, problems)

    def looking_back(ws: Workspace) -> list[Collection]:
        out = history(ws.config, ws.ledger, ws.collect, cycle)
        ws.close()
        return out

    def sync(ws: Workspace) -> object:
        out = sync_needs(ws, inp.fresh)
        ws.close()
        return out

    def pure(_: object) -> Digest:
        return build_digest(
            inp.ws.roster,
            inp.collection,
            inp.tagger,
            school=cfg.school,
            campaign=cfg.campaign,
            generated=inp.ws.now(),
            needs=inp.needs,
            history=inp.history,
            asked=inp.asked,
            sessions=cfg.digest.sessions,
            specialists=cfg.digest.specialists,
            librarian=cfg.librarian.name,
            year_starts=cfg.calendar.year_starts,
            trend_cycles=cfg.digest.trend_cycles,
        )

    def whole(ws: Workspace) -> Digest:
        digest = compile_digest(ws, cycle)
        ws.close()
        return digest

    def render(ws: Workspace) -> RenderedDigest:
        digest = results[COMPILE].last
        assert isinstance(digest, Digest)
        return render_digest(ws, cycle, digest)

    def sent(ws: Workspace) -> dict[str, int]:
        out = requests_sent(ws.config, ws.ledger)
        ws.close()
        return out

    trend_span = [*inp.history[-(cfg.digest.trend_cycles - 1) :], inp.collection]
    starts = cfg.calendar.year_starts
    this_year = school_year_of(cycle.name, starts)
    in_year = [
        c
        for c in (*inp.history, inp.collection)
        if school_year_of(c.cycle.name, starts) == this_year
    ]
    tag = inp.tagger.tag
    texts = [r.help for c in trend_span for _, r in c.answered]
    formats = [r.format for _, r in inp.collection.answered]

    return [
        Step("read + parse roster (Workspace.roster)", fresh_ws, roster),
        Step("read + parse responses (Workspace.responses)", fresh_ws, responses),
        Step("match one cycle (responses.match)", loaded_ws, match_one),
        Step(f"publish.history ({len(inp.history)} earlier cycles)", loaded_ws, looking_back),
        Step("sync_needs (SQLite + needs.csv)", restored_read_ws, sync),
        Step("build_digest (pure, last cycle)", lambda: None, pure),
        Step(COMPILE, restored_ws, whole),
        Step(RENDER, fresh_ws, render),
        Step("requests_sent (ledger read)", ledger_ws, sent, INSIDE),
        Step(
            "current_needs (tag + format each answer of the cycle)",
            lambda: None,
            lambda _: current_needs(inp.collection, inp.tagger, cfg.campaign),
            INSIDE,
        ),
        Step(
            f"Tagger.tag, each answer of {len(trend_span)} cycles",
            lambda: None,
            lambda _: [tag(t) for t in texts],
            INSIDE,
        ),
        Step(
            "normalize_format, each answer of the cycle",
            lambda: None,
            lambda _: [normalize_format(f) for f in formats],
            INSIDE,
        ),
        Step(
            f"build_trends ({len(trend_span)} cycles)",
            lambda: None,
            lambda _: build_trends(trend_span, tag, inp.asked),
            INSIDE,
        ),
        Step(
            f"build_year ({len(in_year)} cycles)",
            lambda: None,
            lambda _: build_year(in_year),
            INSIDE,
        ),
    ]


COMPILE = "compile_digest (whole, I/O included)"
RENDER = "render_digest (4 templates)"


def mime_size(project: Project, rendered: RenderedDigest) -> int:
    """The size of the librarian's digest message as it would be handed to the mailer."""
    cfg = project.config
    me = address(cfg.librarian.name, cfg.librarian.email)
    msg = compose(sender=me, to=me, subject=rendered.subject, text=rendered.text,
                  html=rendered.html, message_id="<digest@bench.example.org>",
                  date=project.workspace().now())  # fmt: skip
    return len(msg.as_bytes())


def counts(project: Project, inp: Inputs, results: dict[str, Result]) -> dict[str, object]:
    """What was measured: the sizes of the inputs and of the digest."""
    d = results[COMPILE].last
    rendered = results[RENDER].last
    assert isinstance(d, Digest) and isinstance(rendered, RenderedDigest)
    roster = inp.ws.roster
    responses, problems = inp.ws.responses
    statuses = tuple(sum(r.status == s for r in inp.needs) for s in ("open", "scheduled", "done"))
    return {
        "teachers on the roster": len(roster),
        "  active / new to district": (len(roster.active), sum(t.new for t in roster.active)),
        "response rows (whole year)": len(responses) + len(problems),
        f"answered in {project.cycle.name}": len(inp.collection.answered),
        "  superseded / strangers": (len(inp.collection.superseded), len(inp.collection.strangers)),
        "earlier cycles looked back on": len(inp.history),
        "ledger messages (requests, reminders)": project.messages,
        "needs in the ledger (after sync)": len(inp.needs),
        "  open / scheduled / done": statuses,
        "needs this cycle": len(inp.fresh),
        "carried over (not done)": len(d.carried_over),
        "topic groups / untagged": (len(d.topics), len(d.untagged)),
        "proposals": len(d.proposals),
        "teachers to reach first": len(d.first_hand),
        "digest e-mail to the librarian (MIME bytes)": mime_size(project, rendered),
        "digest.html / digest.md bytes": (
            len(rendered.html.encode()),
            len(rendered.markdown.encode()),
        ),
    }


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def fmt_seconds(s: float) -> str:
    return f"{s * 1000:,.1f} ms" if s < 1 else f"{s:,.2f} s"


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n / 2**10:,.0f} KiB"


def fmt_count(v: object) -> str:
    if isinstance(v, tuple):
        return " / ".join(f"{x:,}" for x in v)
    return f"{v:,}" if isinstance(v, int) else str(v)


def ratio(values: Sequence[float]) -> str:
    if len(values) < 2 or not values[0]:
        return ""
    return f"{values[-1] / values[0]:.1f}x"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = zip(row, widths, strict=True)
        return " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells))

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([title, line(header), rule, *(line(r) for r in rows)])


def report(
    sizes: Sequence[int],
    per_size: Sequence[dict[str, Result]],
    groups: dict[str, str],
    sized_counts: Sequence[dict[str, object]],
    memory: bool,
) -> str:
    """The three tables: time, peak memory, and what was measured."""
    header = ["step", *(f"{n:,} teachers" for n in sizes)]
    if len(sizes) > 1:
        header.append(f"ratio (linear: {sizes[-1] / sizes[0]:.0f}x)")

    def rows(value: Callable[[Result], float], fmt: Callable[[float], str]) -> list[list[str]]:
        out = []
        for group in dict.fromkeys(groups.values()):
            if group != "steps":
                out.append([f"{group}:", *([""] * (len(header) - 1))])
            for label in (k for k, g in groups.items() if g == group):
                values = [value(r[label]) for r in per_size]
                name = label if group == "steps" else f"  {label}"
                out.append([name, *map(fmt, values), *([ratio(values)] if len(sizes) > 1 else [])])
            if group == "steps":
                day = [value(r[COMPILE]) + value(r[RENDER]) for r in per_size]
                out.append(
                    [
                        "digest day = compile + render (sum)",
                        *map(fmt, day),
                        *([ratio(day)] if len(sizes) > 1 else []),
                    ]
                )
        return out

    parts = [
        table(
            "Time (median wall clock, time.perf_counter)",
            header,
            rows(lambda r: r.median, fmt_seconds),
        )
    ]
    if memory:
        mem = rows(lambda r: float(r.peak), fmt_bytes)
        mem = [r for r in mem if not r[0].startswith("digest day")]
        parts.append(
            table("Peak memory allocated by the step (tracemalloc, a separate run)", header, mem)
        )
    keys = list(sized_counts[0])
    parts.append(
        table(
            "What was measured (the last cycle's digest)",
            ["count", *header[1 : len(sizes) + 1]],
            [[k, *(fmt_count(c[k]) for c in sized_counts)] for k in keys],
        )
    )
    return "\n\n".join(parts)


def revision() -> str:
    """The checkout's commit (``+`` when it has changes), or ``?`` outside git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "pdmail", "templates"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+" if dirty.strip() else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--teachers",
        type=int,
        nargs="+",
        default=[1000, 10000],
        help="roster sizes; the ratio is largest / smallest (default: 1000 10000)",
    )
    parser.add_argument(
        "--cycles",
        type=int,
        default=10,
        help="cycles from 2026-08, the last one digested (default: 10)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per step (median)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the synthetic data")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--keep", action="store_true", help="keep the generated folders")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.teachers))
    if args.cycles < 2 or args.repeat < 1 or sizes[0] < 10:
        parser.error("need --cycles >= 2, --repeat >= 1 and at least 10 teachers")

    began = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="pdmail-bench-"))
    print(
        f"pdmail digest benchmark, {datetime.now():%Y-%m-%d %H:%M}; pdmail {revision()}; Python "
        f"{platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{', '.join(f'{n:,}' for n in sizes)} teachers; {args.cycles} cycles; median of "
        f"{args.repeat}; seed {args.seed}; data in {base}",
        flush=True,
    )
    per_size: list[dict[str, Result]] = []
    groups: dict[str, str] = {}
    sized_counts: list[dict[str, object]] = []
    try:
        for n in sizes:
            t0 = time.perf_counter()
            project = build_project(base, n, args.cycles, args.seed)
            inp = gather(project)
            print(
                f"  {n:,} teachers: data made in {time.perf_counter() - t0:.1f} s; "
                f"digesting {project.cycle.name}",
                flush=True,
            )
            results: dict[str, Result] = {}
            for step in steps(project, inp, results):
                results[step.label] = measure(step, args.repeat, not args.no_memory)
                done = results[step.label]
                print(f"    {step.label}: {fmt_seconds(done.median)}, {fmt_bytes(done.peak)}",
                      flush=True)  # fmt: skip
                groups.setdefault(step.label, step.group)
            sized_counts.append(counts(project, inp, results))
            per_size.append(results)
            inp.ws.close()
            del inp, project
            print(f"  {n:,} teachers: measured in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print(report(sizes, per_size, groups, sized_counts, not args.no_memory))
    print(f"\ntotal benchmark time {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
