"""The to-do list and the lessons to schedule: tasks grouped the way a librarian does them,
each once and never dropped, by the date needed; books to pull by team and unit; and the same
in the rendered digest and ``pdmail digest --json``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime

import pytest
from conftest import Project, answer, run_cli, write_csv
from test_digest import CHICAGO, GENERATED, make_roster, resp

from pdmail import cycles
from pdmail.config.records import RosterColumns, Taxonomy, Topic
from pdmail.cycle.publish import render_digest
from pdmail.digest.build import Digest, Need, build_digest
from pdmail.digest.taxonomy import (
    ACCOUNTS,
    BOOKING,
    BOOKS,
    DEVICES,
    EBOOKS,
    PRINTING,
    RESEARCH,
)
from pdmail.digest.todo import (
    ACCOUNTS_TO_SET_UP,
    BOOKINGS,
    BOOKS_TO_PULL,
    FIXES,
    GROUPS,
    OTHER_TASKS,
    PRINTING_TO_DO,
    by_date,
    group_of,
    group_tasks,
    needed_by,
)
from pdmail.digest.topics import Tagger
from pdmail.digest.when import wanted_in
from pdmail.models import Response
from pdmail.sources.responses import match
from pdmail.sources.roster import parse_roster
from pdmail.sources.tables import read_table

# -- which group a task goes to ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("topics", "group"),
    [
        ((BOOKS,), BOOKS_TO_PULL),
        ((EBOOKS,), BOOKS_TO_PULL),
        ((DEVICES,), FIXES),
        ((BOOKING,), BOOKINGS),
        ((ACCOUNTS,), ACCOUNTS_TO_SET_UP),
        ((PRINTING,), PRINTING_TO_DO),
        # The most specific topic decides: a cart to reserve is a booking, Sora accounts are
        # accounts, a jammed printer is a fix, books and a room is the room.
        ((DEVICES, BOOKING), BOOKINGS),
        ((EBOOKS, ACCOUNTS), ACCOUNTS_TO_SET_UP),
        ((PRINTING, DEVICES), FIXES),
        ((BOOKS, BOOKING), BOOKINGS),
        ((RESEARCH, BOOKS), BOOKS_TO_PULL),
        # Nothing the list knows: other tasks, never dropped.
        ((RESEARCH,), OTHER_TASKS),
        ((), OTHER_TASKS),
        (("Chess club",), OTHER_TASKS),
        (("books and collection",), OTHER_TASKS),  # names are exact, as the tagger gives them
    ],
)
def test_group_of(topics: tuple[str, ...], group: str) -> None:
    assert group_of(topics) == group


@pytest.mark.parametrize(
    ("topics", "renamed", "group"),
    [
        (("Reserving rooms",), {"Reserving rooms": BOOKING}, BOOKINGS),
        (("Library books",), {"Library books": BOOKS}, BOOKS_TO_PULL),
        (("Reserving rooms",), {}, OTHER_TASKS),  # a name it cannot place falls back
        (("Tech help", "Reserving rooms"), {"Reserving rooms": BOOKING}, BOOKINGS),
    ],
)
def test_a_renamed_topic_keeps_its_group(
    topics: tuple[str, ...], renamed: dict[str, str], group: str
) -> None:
    assert group_of(topics, renamed) == group


# -- order and batches, on needs made by hand ---------------------------------------------------


def task(
    who: str,
    text: str,
    topics: tuple[str, ...],
    *,
    team: str = "Grade 6",
    units: str = "",
    day: int = 1,
    by_kind: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> Need:
    submitted = datetime(2026, 12, day, 9, 0, tzinfo=CHICAGO)
    return Need(
        id=f"id-{who}",
        cycle="2026-12",
        email=f"{who}@school.example.org",
        teacher=who.title(),
        team=team,
        text=text,
        topics=topics,
        format="",
        submitted=submitted,
        kinds=tuple(k for k, _ in by_kind) or ("task",),
        by_kind=by_kind,
        units=units,
        wanted=wanted_in(text, submitted, "2026-12"),
    )


def teachers(needs: Sequence[Need]) -> list[str]:
    return [n.teacher for n in needs]


def test_within_a_group_the_first_needed_comes_first_and_undated_last() -> None:
    needs = [
        task("ann", "The projector is broken", (DEVICES,)),
        task("raj", "Fix my doc camera by Dec 14", (DEVICES,)),
        task("kim", "Printer jam, please look on the 8th", (DEVICES,)),
        task("lu", "My laptop won't charge, asap", (DEVICES,), day=3),
        # ASAP with a later date: needed from the day it was asked.
        task("noor", "Dec 20 at the latest, but asap really", (DEVICES,), day=2),
    ]
    [fixes] = group_tasks(needs)
    assert fixes.name == FIXES
    assert teachers(fixes.needs) == ["Noor", "Lu", "Kim", "Raj", "Ann"]
    assert [needed_by(n) for n in fixes.needs] == [
        date(2026, 12, 2),
        date(2026, 12, 3),
        date(2026, 12, 8),
        date(2026, 12, 14),
        None,
    ]


def test_asap_with_no_date_comes_before_needs_with_no_date() -> None:
    needs = [task("ann", "whenever", (DEVICES,)), task("raj", "urgent!", (DEVICES,), day=9)]
    assert teachers(by_date(needs)) == ["Raj", "Ann"]
    assert teachers(by_date([task("kim", "no rush", (DEVICES,)), *needs])) == ["Raj", "Ann", "Kim"]


def test_each_task_once_in_one_group_none_dropped_groups_in_order() -> None:
    needs = [
        task("ann", "Reserve the lab", (BOOKING, DEVICES)),
        task("raj", "Pull books on Egypt", (BOOKS,)),
        task("kim", "Websites on volcanoes", (RESEARCH,)),
        task("lu", "Something", ()),
        task("noor", "Sora logins", (EBOOKS, ACCOUNTS)),
        task("ben", "Print 120 packets", (PRINTING,)),
        task("sam", "Cart has cracked screens", (DEVICES,)),
        task("zoe", "Chess sets", ("Chess club",)),
    ]
    groups = group_tasks(needs)
    assert [g.name for g in groups] == list(GROUPS)
    placed = [n.id for g in groups for n in g.needs]
    assert sorted(placed) == sorted(n.id for n in needs)  # each once, none dropped
    assert {g.name: teachers(g.needs) for g in groups} == {
        BOOKS_TO_PULL: ["Raj"],
        FIXES: ["Sam"],
        BOOKINGS: ["Ann"],
        ACCOUNTS_TO_SET_UP: ["Noor"],
        PRINTING_TO_DO: ["Ben"],
        OTHER_TASKS: ["Kim", "Lu", "Zoe"],
    }
    assert group_tasks([]) == ()


def test_the_task_part_of_an_answer_decides_its_group() -> None:
    need = task(
        "ann",
        "Pull books on Egypt, and show me how to fix the projector",
        (BOOKS, DEVICES),
        by_kind=(("task", (BOOKS,)), ("learning", (DEVICES,))),
    )
    assert [g.name for g in group_tasks([need])] == [BOOKS_TO_PULL]


def test_books_to_pull_go_by_team_then_unit() -> None:
    needs = [
        task("ann", "Pull books on Egypt by Dec 14", (BOOKS,), units="Ancient Egypt"),
        task("raj", "Pharaoh books please, Dec 9", (BOOKS,), units="ancient egypt!"),
        task("kim", "Myths for next week", (BOOKS,), units="Greek myths"),
        task("maria", "Dystopian novels on the 7th", (BOOKS,), team="Grade 7", units="The Giver"),
        task("lu", "Poetry books", (BOOKS,), team="Grade 7", units=""),
    ]
    [books] = group_tasks(needs)
    assert [(b.team, b.unit, teachers(b.needs)) for b in books.batches] == [
        # Grade 7 needs its books first (the 7th); Egypt (the 9th) before myths (no date).
        ("Grade 7", "The Giver", ["Maria"]),
        ("Grade 7", "(no unit named)", ["Lu"]),
        ("Grade 6", "ancient egypt!", ["Raj", "Ann"]),  # one unit, however it is written
        ("Grade 6", "Greek myths", ["Kim"]),
    ]
    assert sorted(n.id for b in books.batches for n in b.needs) == sorted(n.id for n in needs)
    assert [g.batches for g in group_tasks([task("x", "Fix it", (DEVICES,))])] == [()]


# -- the digest, from real answers ------------------------------------------------------------

ANSWERS = [
    resp("ann", 2, "Could you pull 30 copies of The Giver for our unit by Dec 14?", "The Giver"),
    resp("raj", 3, "Please pull books on ancient Egypt for our unit, we start 12/8.", "Egypt"),
    resp("kim", 3, "Could you order more mythology books? No rush.", "n/a"),
    resp("maria", 4, "Can I reserve the library on Friday 12/18 for our class party?"),
    resp("lu", 2, "The projector in my room is broken, could you fix it asap?"),
    resp("sam", 1, "Could you teach my classes MLA citations on Dec 14?", "Persuasive essays"),
    resp("noor", 1, "Could you do a research lesson with my class the week of Jan 5?"),
    resp("ben", 4, "Could you co-teach a lesson on databases sometime?"),
]


def digest_of(project: Project, tagger: Tagger, answers: Sequence[Response] = ANSWERS) -> Digest:
    roster = make_roster(project.folder)
    return build_digest(
        roster,
        match(roster, answers, cycles.cycle(project.config(), "2026-12")),
        tagger,
        school="Test School",
        campaign="monthly-update",
        generated=GENERATED,
    )


@pytest.fixture
def digest(project: Project) -> Digest:
    return digest_of(project, Tagger.from_taxonomy(Taxonomy()))


def test_the_digest_groups_its_tasks_and_dates_its_lessons(digest: Digest) -> None:
    assert [(g.name, [n.teacher for n in g.needs]) for g in digest.to_do_groups] == [
        (BOOKS_TO_PULL, ["Raj Patel", "Ann Lee", "Kim Ng"]),
        (FIXES, ["Lu Chen"]),
        (BOOKINGS, ["María Gómez"]),
    ]
    books = digest.to_do_groups[0]
    assert [(b.team, b.unit) for b in books.batches] == [
        ("Grade 6", "Egypt"),
        ("Grade 6", "The Giver"),
        ("Grade 6", "(no unit named)"),  # "n/a" names no unit
    ]
    # Every task need of the month, once, in group order.
    tasks = [n.id for n in digest.needs if "task" in n.kinds]
    assert sorted(n.id for n in digest.to_do) == sorted(tasks)
    assert [n.teacher for n in digest.to_do] == [
        "Raj Patel", "Ann Lee", "Kim Ng", "Lu Chen", "María Gómez"
    ]  # fmt: skip
    # Lessons by the date wanted, undated last.
    assert [(n.teacher, n.wanted.earliest) for n in digest.lessons] == [
        ("Sam Haddad", date(2026, 12, 14)),
        ("Noor Ali", date(2027, 1, 5)),
        ("Ben Ode", None),
    ]
    ann = next(n for n in digest.needs if n.teacher == "Ann Lee")
    assert (ann.units, ann.wanted.words, ann.wanted.earliest) == (
        "The Giver",
        ("by Dec 14",),
        date(2026, 12, 14),
    )
    assert digest.summary == {"sessions": 0, "tasks": 5, "lessons": 3, "needs": 8, "no_need": 0}


def test_tasks_are_never_sessions(digest: Digest) -> None:
    assert digest.proposals == ()


def test_a_need_marked_scheduled_leaves_the_to_do_list(project: Project) -> None:
    from dataclasses import replace

    digest = digest_of(project, Tagger.from_taxonomy(Taxonomy()))
    lu = next(n for n in digest.to_do if n.teacher == "Lu Chen")
    groups = tuple(
        replace(g, needs=tuple(replace(n, status="scheduled") if n.id == lu.id else n
                               for n in g.needs))
        for g in digest.topics
    )  # fmt: skip
    later = replace(digest, topics=groups)
    assert lu.id not in [n.id for n in later.to_do]
    assert FIXES not in [g.name for g in later.to_do_groups]


def test_a_renamed_topic_keeps_its_group_and_a_school_topic_is_another_task(
    project: Project,
) -> None:
    tagger = Tagger.from_taxonomy(
        Taxonomy(
            topics=(
                Topic("Reserving rooms", ("gym",), replaces=BOOKING, keep_keywords=True),
                Topic("Makerspace", ("laser cutter",)),
            )
        )
    )
    digest = digest_of(
        project,
        tagger,
        [
            resp("maria", 4, "Can I reserve the library on Friday 12/18 for our class party?"),
            resp("ann", 2, "Could I use the laser cutter on Dec 9?"),
        ],
    )
    assert digest.renamed == (("Reserving rooms", BOOKING),)
    assert [(g.name, [n.teacher for n in g.needs]) for g in digest.to_do_groups] == [
        (BOOKINGS, ["María Gómez"]),
        (OTHER_TASKS, ["Ann Lee"]),
    ]


def test_the_rendered_digest_shows_the_summary_first_then_the_groups(
    project: Project, digest: Digest
) -> None:
    with project.workspace(date(2026, 12, 11)) as ws:
        rendered = render_digest(ws, cycles.cycle(ws.config, "2026-12"), digest)
    text, html, md = rendered.text, rendered.html, rendered.markdown
    assert rendered.subject == (
        "December 2026 library digest: 8 of 8 answered; 0 sessions to offer, 5 tasks, "
        "3 lessons to schedule"
    )
    assert "0 sessions to offer, 5 tasks to do, 3 lessons to schedule." in text
    assert text.index("5 tasks to do") < text.index("SESSIONS TO OFFER") < text.index("TO DO (5)")
    assert text.index("Books to pull or order (3)") < text.index("Fixes (1)")
    assert text.index("Fixes (1)") < text.index("Bookings (1)") < text.index("LESSONS TO SCHEDULE")
    # Compiled on the 11th: the 8th has passed.
    assert '    Unit: Egypt\n    - Tue Dec 8, passed ("12/8"): Raj Patel' in text
    assert 'Fri Dec 18 ("on Friday 12/18"): María Gómez (Grade 7)' in text
    assert '- Mon Dec 14 ("on Dec 14"): Sam Haddad ((no team), units: Persuasive essays)' in text
    assert "no date: Ben Ode" in text
    assert "Fixes (1)\n  - ASAP: Lu Chen (Grade 7)" in text

    assert "## To do (5)" in md and "### Books to pull or order (3)" in md
    assert '- Unit: The Giver\n  - **Mon Dec 14 ("by Dec 14")** · **Ann Lee**' in md

    assert html.index(">5</span>") < html.index("Sessions to offer") < html.index("To do (5)")
    assert "Books to pull or order" in html and "Unit: Egypt" in html and "ASAP" in html
    # Still a mail: inline styles only, no classes, no scripts, no style sheets.
    assert re.search(r"<(style|script|link)\b|\bclass=", html, re.IGNORECASE) is None


def test_long_groups_show_their_first_entries_in_the_mail(project: Project) -> None:
    names = [f"t{i}" for i in range(30)]
    roster_rows = [[f"{n}@school.example.org", "T", n, "Grade 6", "yes"] for n in names]
    path = project.folder / "many.csv"
    write_csv(path, ["Email", "First Name", "Last Name", "Team", "Active"], roster_rows)
    roster = parse_roster(read_table(path), RosterColumns())
    answers = [
        Response(f"{n}@school.example.org", datetime(2026, 12, 2, 9, tzinfo=CHICAGO), f"Unit {i}",
                 f"Could you pull books on topic {i}?", "", {}, "responses.csv", i + 2)
        for i, n in enumerate(names)
    ]  # fmt: skip
    digest = build_digest(
        roster,
        match(roster, answers, cycles.cycle(project.config(), "2026-12")),
        Tagger.from_taxonomy(Taxonomy()),
        school="Test School",
        campaign="monthly-update",
        generated=GENERATED,
    )
    assert len(digest.to_do_groups[0].needs) == 30
    with project.workspace(date(2026, 12, 11)) as ws:
        rendered = render_digest(ws, cycles.cycle(ws.config, "2026-12"), digest)

    def to_do(body: str, start: str, end: str) -> str:
        return body[body.index(start) : body.index(end)]

    html = to_do(rendered.html, "To do (30)", "Help requests by topic")
    text = to_do(rendered.text, "TO DO (30)", "HELP REQUESTS BY TOPIC")
    md = to_do(rendered.markdown, "## To do (30)", "## Help requests by topic")
    assert html.count("Could you pull books on topic") == 12
    assert text.count("Could you pull books on topic") == 12
    assert "and 18 more in digest.md" in html and "and 18 more in digest.md" in text
    assert md.count("Could you pull books on topic") == 30


def test_digest_json_carries_the_groups_lessons_units_and_dates(project: Project) -> None:
    assert run_cli(project, "send", today="2026-12-01").exit_code == 0
    project.write_responses(
        [
            answer("ann@school.example.org", "12/2/2026 9:00:00", "The Giver",
                   "Could you pull 30 copies of The Giver by Dec 14?", ""),
            answer("raj@school.example.org", "12/3/2026 9:00:00", "Egypt",
                   "Could you teach my classes MLA citations on the 15th?", ""),
            answer("maria@school.example.org", "12/3/2026 9:00:00", "",
                   "The projector is broken, asap please", ""),
        ]
    )  # fmt: skip
    result = run_cli(project, "digest", "--json", today="2026-12-11")
    assert result.exit_code == 0, result.output
    digest = json.loads(result.stdout)["digest"]
    assert digest["summary"] == {"sessions": 0, "tasks": 2, "lessons": 1, "needs": 3,
                                 "no_need": 0}  # fmt: skip
    groups = digest["to_do_groups"]
    assert [(g["name"], [n["teacher"] for n in g["needs"]]) for g in groups] == [
        (BOOKS_TO_PULL, ["Ann Lee"]),
        (FIXES, ["María Gómez"]),
    ]
    assert [
        (b["team"], b["unit"], [n["id"] for n in b["needs"]]) for b in groups[0]["batches"]
    ] == [("Grade 6", "The Giver", [groups[0]["needs"][0]["id"]])]
    assert groups[1]["batches"] == []
    ann = groups[0]["needs"][0]
    assert ann["units"] == "The Giver"
    assert ann["wanted"] == {
        "dates": ["2026-12-14"],
        "words": ["by Dec 14"],
        "asap": False,
        "earliest": "2026-12-14",
    }
    assert groups[1]["needs"][0]["wanted"]["asap"] is True
    [lesson] = digest["lessons"]
    assert (lesson["teacher"], lesson["wanted"]["earliest"], lesson["units"]) == (
        "Raj Patel",
        "2026-12-15",
        "Egypt",
    )
    assert {n["id"]: n["wanted"] for n in digest["needs"]}[ann["id"]] == ann["wanted"]


def test_units_and_dates_are_text_in_every_part(project: Project) -> None:
    digest = digest_of(
        project,
        Tagger.from_taxonomy(Taxonomy()),
        [resp("ann", 2, "Could you pull books <i>by Dec 14</i>?", '<script>alert("u")</script>')],
    )
    with project.workspace(date(2026, 12, 11)) as ws:
        rendered = render_digest(ws, cycles.cycle(ws.config, "2026-12"), digest)
    assert "<script" not in rendered.html.lower() and "<i>" not in rendered.html
    assert "Unit: &lt;script&gt;alert(&#34;u&#34;)&lt;/script&gt;" in rendered.html
    assert "Mon Dec 14" in rendered.html
    assert "<script" not in rendered.markdown.lower()
