"""The digest as a plan: needs carried over from earlier cycles, teachers to reach first,
sessions to offer and who leads them, each specialist's part, and the same through
``pdmail digest`` (``--json`` and ``--send``) on a real project folder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from conftest import BASE_CONFIG, Project, answer

from pdmail import cycles
from pdmail.cli.commands import main
from pdmail.config.load import parse_config
from pdmail.config.records import Config, RosterColumns, Sessions, Specialist, Taxonomy, Topic
from pdmail.cycle.publish import compile_digest, render_digest
from pdmail.digest.build import (
    NO_TEAM,
    Digest,
    FirstHand,
    build_digest,
    digest_rows,
    first_hand,
    for_specialist,
    need_id,
)
from pdmail.digest.topics import Tagger
from pdmail.models import Response, State
from pdmail.sources.responses import match
from pdmail.sources.roster import Roster, parse_roster
from pdmail.sources.tables import table_from_rows
from pdmail.state.ledger import Ledger
from pdmail.state.needs import NeedRecord

CHICAGO = ZoneInfo("America/Chicago")
GENERATED = datetime(2026, 12, 11, 7, 30, tzinfo=CHICAGO)
CAMPAIGN = "monthly-update"
CYCLE = "2026-12"

PAT = Specialist("Pat Jones", "Pat.Jones@district.example.org")
LEE = Specialist("Lee Ray", "lee.ray@district.example.org")
PAT_ADDR, LEE_ADDR = "pat.jones@district.example.org", "lee.ray@district.example.org"
IPAD = Topic("1:1 iPad pilot", ("ipad", "ipad pilot"), stage="learning", owners=(PAT_ADDR,))
TAGGER = Tagger.from_taxonomy(Taxonomy(topics=(IPAD,)))

#        email   first    last     team       active new
PEOPLE = [
    ("ann", "Ann", "Lee", "Grade 6", "yes", ""),
    ("raj", "Raj", "Patel", "Grade 6", "yes", ""),
    ("kim", "Kim", "Ng", "Grade 6", "yes", "no"),
    ("maria", "María", "Gómez", "Grade 7", "yes", ""),
    ("lu", "Lu", "Chen", "Grade 7", "yes", "yes"),
    ("ben", "Ben", "Ode", "", "yes", "Yes"),
    ("noor", "Noor", "Ali", "", "yes", ""),
    ("old", "Old", "Timer", "Grade 7", "no", "yes"),
]


def addr(who: str) -> str:
    return f"{who}@school.example.org"


def make_roster(
    people: Sequence[tuple[str, ...]] = PEOPLE, new_column: str = "New to district"
) -> Roster:
    rows = [["Email", "First Name", "Last Name", "Team", "Active", new_column]]
    rows += [[addr(e), f, la, t, a, n] for e, f, la, t, a, n in people]
    columns = RosterColumns() if new_column == "New to district" else RosterColumns(new=new_column)
    return parse_roster(table_from_rows("roster.csv", rows), columns)


ROSTER = make_roster()


def resp(who: str, day: int, help_text: str, fmt: str = "", units: str = "") -> Response:
    return Response(
        email=addr(who),
        submitted=datetime(2026, 12, day, 9, 0, tzinfo=CHICAGO),
        units=units,
        help=help_text,
        format=fmt,
        answers={},
        origin="responses.csv",
        row=day + 1,
    )


def need(
    who: str,
    cycle: str,
    text: str,
    topics: tuple[str, ...],
    fmt: str = "",
    status: str = "open",
    note: str = "",
    team: str | None = None,
) -> NeedRecord:
    teacher = ROSTER.get(addr(who))
    assert teacher is not None
    return NeedRecord(
        id=need_id(CAMPAIGN, cycle, addr(who)),
        campaign=CAMPAIGN,
        cycle=cycle,
        email=addr(who),
        teacher=teacher.display_name,
        team=team if team is not None else (teacher.team or NO_TEAM),
        text=text,
        topics=topics,
        format=fmt,
        status=status,
        note=note,
        first_seen=date(int(cycle[:4]), int(cycle[5:]), 11),
    )


def build(
    responses: Sequence[Response],
    needs: Sequence[NeedRecord] = (),
    *,
    roster: Roster = ROSTER,
    cycle_name: str = CYCLE,
    **kw: Any,
) -> Digest:
    return build_digest(
        roster,
        match(roster, responses, cycles.cycle(_config(), cycle_name)),
        TAGGER,
        school="Test School",
        campaign=CAMPAIGN,
        generated=GENERATED,
        needs=needs,
        librarian="Lib Rarian",
        **kw,
    )


def _config() -> Config:
    return parse_config(BASE_CONFIG, Path("/nowhere/pdmail.yaml"))


def ids(*pairs: tuple[str, str]) -> set[str]:
    return {need_id(CAMPAIGN, cycle, addr(who)) for who, cycle in pairs}


def proposed(digest: Digest) -> set[str]:
    return {i for p in digest.proposals for i in p.need_ids}


# December's answers and the needs kept from earlier months.
DECEMBER = [
    resp("ann", 2, "Show me how to make a podcast of our poetry", "Small group"),
    resp("raj", 3, "Show me MLA works cited", "Small group"),
    resp("maria", 4, "Show me the EBSCO databases please", "1:1"),
    resp("lu", 4, "Nothing right now."),
    resp("kim", 5, "Show me Moodle quiz settings", "Team meeting"),
]
STORE = [
    need("noor", "2026-07", "Help with databases for summer reading", ("Databases",), "one-on-one"),
    need("maria", "2026-06", "A summer reading list", ("Books and collection",), status="done"),
    need("kim", "2026-10", "The printer jams", ("Devices and hardware",), status="done"),
    need(
        "ben",
        "2026-10",
        "Set up my Moodle course page",
        ("LMS",),
        "team meeting",
        status="scheduled",
        note="Jan 5",
    ),
    need("raj", "2026-11", "Citations help", ("Citation",), "small group"),
    need("ann", "2026-11", "Podcast help", ("Video, audio and podcasts",), status="done"),
]


@pytest.fixture(scope="module")
def plan() -> Digest:
    return build(DECEMBER, STORE)


# -- carried over, done, total -----------------------------------------------------------------


def test_carried_over_lists_open_and_scheduled_needs_from_earlier_cycles(plan: Digest) -> None:
    assert [(n.email, n.cycle, n.age, n.status, n.note) for n in plan.carried_over] == [
        # Oldest first. Last school year's open need still carries over.
        (addr("noor"), "2026-07", 5, "open", ""),
        (addr("ben"), "2026-10", 2, "scheduled", "Jan 5"),
        (addr("raj"), "2026-11", 1, "open", ""),
    ]
    carried = plan.carried_over[0]
    assert (carried.text, carried.topics, carried.team, carried.first_seen) == (
        "Help with databases for summer reading",
        ("Databases",),
        NO_TEAM,
        date(2026, 7, 11),
    )


def test_done_and_total_count_this_school_year(plan: Digest) -> None:
    # Done: kim's October and ann's November needs (maria's June one is last year).
    # Total: the four kept from this school year and December's four new ones.
    assert (plan.done, plan.total_needs) == (2, 8)


@pytest.mark.parametrize(
    ("need_cycle", "digest_cycle", "year_starts", "counted"),
    [
        ("2026-07", "2026-12", 8, False),  # July is last school year when it starts in August
        ("2026-08", "2026-12", 8, True),
        ("2026-07", "2026-12", 7, True),
        ("2026-08", "2027-07", 8, True),
        ("2026-08", "2027-08", 8, False),
        ("2025-12", "2026-12", 1, False),
        ("2026-01", "2026-12", 1, True),
        ("2025-09", "2026-03", 9, True),
        ("2026-09", "2026-12", 9, True),
    ],
)
def test_done_uses_the_school_year_boundary(
    need_cycle: str, digest_cycle: str, year_starts: int, counted: bool
) -> None:
    store = [need("kim", need_cycle, "Printer", ("Devices and hardware",), status="done")]
    digest = build([], store, cycle_name=digest_cycle, year_starts=year_starts)
    assert (digest.done, digest.total_needs) == ((1, 1) if counted else (0, 0))
    assert digest.carried_over == ()  # done needs never carry over


@pytest.mark.parametrize(
    ("need_cycle", "digest_cycle", "age"),
    [
        ("2026-11", "2026-12", 1),
        ("2026-01", "2026-12", 11),
        ("2025-11", "2026-12", 13),
        ("2026-12", "2027-01", 1),
        ("2026-12", "2026-12", None),  # this cycle's own need is not carried over
        ("2027-01", "2026-12", None),  # nor one from a later cycle (an older digest again)
    ],
)
def test_carried_over_age_in_months(need_cycle: str, digest_cycle: str, age: int | None) -> None:
    store = [need("raj", need_cycle, "Citations", ("Citation",))]
    digest = build([], store, cycle_name=digest_cycle)
    assert [n.age for n in digest.carried_over] == ([] if age is None else [age])


# -- teachers to reach first -------------------------------------------------------------------


def test_first_hand(plan: Digest) -> None:
    assert list(plan.first_hand) == [
        # New to the district (active only; old@ is inactive), whether they answered or not.
        FirstHand(addr("lu"), "Lu Chen", "Grade 7", "new to the district", True, ()),
        FirstHand(addr("ben"), "Ben Ode", NO_TEAM, "new to the district", False, ()),
        # Raj's November need is still open and he asks again; Ann's November need is done,
        # and Kim's last need was in October.
        FirstHand(
            addr("raj"),
            "Raj Patel",
            "Grade 6",
            "asked in 2026-11 and again now (Citation), still not done",
            True,
            ("Citations help", "Show me MLA works cited"),
        ),
    ]


@pytest.mark.parametrize(
    ("before", "now", "reason"),
    [
        (
            ("2026-11", "open", ("Databases",)),
            "Show me EBSCO",
            "asked in 2026-11 and again now (Databases), still not done",
        ),
        (
            ("2026-11", "scheduled", ("Databases",)),
            "Show me EBSCO",
            "asked in 2026-11 and again now (Databases), still not done",
        ),
        (("2026-11", "done", ("Databases",)), "Show me EBSCO", None),
        # Any earlier cycle whose need on the topic is still open, not only the last one.
        (
            ("2026-10", "open", ("Databases",)),
            "Show me EBSCO",
            "asked in 2026-10 and again now (Databases), still not done",
        ),
        # Asking again means the same topic: an untagged answer or another topic is not.
        (("2026-11", "open", ("Databases",)), "Cover my lunch duty", None),
        (("2026-11", "open", ("Databases",)), "Podcast", None),
        # Neither need has a topic: two cycles running still counts, as "help".
        (
            ("2026-11", "open", ()),
            "Cover my lunch duty",
            "asked in 2026-11 and again now (help), still not done",
        ),
        (("2026-10", "open", ()), "Cover my lunch duty", None),
    ],
)
def test_first_hand_asking_again(
    before: tuple[str, str, tuple[str, ...]], now: str, reason: str | None
) -> None:
    cycle, status, topics = before
    store = [need("noor", cycle, "Earlier text", topics, status=status)]
    digest = build([resp("noor", 3, now)], store)
    again = [f for f in digest.first_hand if f.reason != "new to the district"]
    assert [(f.email, f.reason, f.needs) for f in again] == (
        [] if reason is None else [(addr("noor"), reason, ("Earlier text", now))]
    )


def test_a_new_teacher_asking_again_is_listed_once_as_new() -> None:
    store = [need("lu", "2026-11", "Earlier", ("Databases",))]
    digest = build([resp("lu", 3, "Show me EBSCO again")], store)
    assert [(f.email, f.reason, f.needs) for f in digest.first_hand] == [
        (addr("lu"), "new to the district", ("Show me EBSCO again",)),
        (addr("ben"), "new to the district", ()),
    ]


@pytest.mark.parametrize(
    ("column", "flag", "new"),
    [
        ("New to district", "yes", True),
        ("New to district", "x", True),
        ("New to district", "no", False),
        ("New to district", "", False),
        ("New hire", "yes", True),  # roster.columns.new names another header
    ],
)
def test_roster_new_column(column: str, flag: str, new: bool) -> None:
    assert RosterColumns().new == "New to district"
    roster = make_roster([("ann", "Ann", "Lee", "Grade 6", "yes", flag)], new_column=column)
    [teacher] = roster.teachers
    assert teacher.new is new
    digest = build([], roster=roster)
    assert [f.reason for f in digest.first_hand] == (["new to the district"] if new else [])


def test_a_roster_without_the_new_column_has_nobody_new() -> None:
    rows = [["Email", "First Name", "Team"], [addr("ann"), "Ann", "Grade 6"]]
    roster = parse_roster(table_from_rows("roster.csv", rows), RosterColumns())
    assert build([resp("ann", 2, "Show me EBSCO")], roster=roster).first_hand == ()
    assert first_hand(roster, match(roster, [], cycles.cycle(_config(), CYCLE)), [], []) == ()


# -- proposals ---------------------------------------------------------------------------------


def test_proposals_include_carried_open_needs_but_not_scheduled_ones(plan: Digest) -> None:
    # Ben's scheduled Moodle need is left out; Raj's November need is the same teacher on the
    # same topic as his December one, so only the newest is offered.
    assert proposed(plan) == ids(
        ("ann", CYCLE), ("raj", CYCLE), ("maria", CYCLE), ("kim", CYCLE), ("noor", "2026-07")
    )
    assert [p.title for p in plan.proposals] == [
        "One-on-one: Citation (Raj Patel)",
        "One-on-one: Databases (Noor Ali)",
        "One-on-one: Databases (María Gómez)",
        "One-on-one: LMS (Kim Ng)",
        "One-on-one: Video, audio and podcasts (Ann Lee)",
    ]
    # The topic groups still show every need on the topic, scheduled ones too.
    moodle = next(g for g in plan.topics if g.topic == "LMS")
    assert [n.email for n in moodle.needs] == [addr("kim"), addr("ben")]
    assert moodle.suggestion == "One-on-one: LMS (Kim Ng)"


def test_a_carried_need_joins_this_months_group() -> None:
    # Two Grade 6 teachers ask now, a third's November need is still open: a team meeting.
    store = [need("kim", "2026-11", "Help with the Moodle gradebook", ("LMS",), "team meeting")]
    digest = build(
        [
            resp("ann", 2, "Show me Moodle quizzes", "Team meeting"),
            resp("raj", 3, "Help me set up my Moodle course", "Team meeting"),
        ],
        store,
    )
    [p] = digest.proposals
    assert p.title == "Grade 6 team meeting: LMS (3 teachers)"
    assert set(p.need_ids) == ids(("ann", CYCLE), ("raj", CYCLE), ("kim", "2026-11"))


def test_the_newest_carried_need_of_a_teacher_decides_the_format() -> None:
    # No answer this month; two open needs on one topic from October (one-on-one) and
    # November (written guide): the November one, the newest, is what is offered.
    store = [
        need("kim", "2026-10", "Help with Moodle", ("LMS",), "one-on-one"),
        need("kim", "2026-11", "Help with Moodle, in writing", ("LMS",), "written guide"),
    ]
    digest = build([], store)
    assert [(p.title, p.need_ids) for p in digest.proposals] == [
        ("Written guide: LMS (for 1 teacher)", tuple(ids(("kim", "2026-11"))))
    ]


def test_a_need_marked_scheduled_this_cycle_is_not_offered() -> None:
    store = [need("ann", CYCLE, "Show me Moodle quizzes", ("LMS",), status="scheduled")]
    digest = build(
        [
            resp("ann", 2, "Show me Moodle quizzes", "Team meeting"),
            resp("raj", 3, "Help me set up my Moodle course", "Team meeting"),
        ],
        store,
    )
    assert proposed(digest) == ids(("raj", CYCLE))
    assert {n.email: n.status for n in digest.needs} == {
        addr("ann"): "scheduled",
        addr("raj"): "open",
    }


def test_each_need_sits_in_one_proposal_under_the_topic_most_share() -> None:
    digest = build(
        [
            resp("ann", 2, "Show me Canva and Google Slides", "Team meeting"),
            resp("raj", 3, "Show me Google Slides", "Team meeting"),
            resp("kim", 4, "How do I share Google Slides?", "Team meeting"),
        ]
    )
    assert [p.title for p in digest.proposals] == [
        "Grade 6 team meeting: Google Workspace (3 teachers)"
    ]
    design = next(g for g in digest.topics if g.topic == "Presentation and design")
    assert design.suggestion == "Grade 6 team meeting: Google Workspace (3 teachers)"


@pytest.mark.parametrize(
    ("text", "planned"),
    [
        ("Could you pull 30 copies of The Giver?", False),  # a task
        ("Could you teach my 7th graders MLA citations on Dec 14?", False),  # a lesson
        ("Can you show me how MLA citations work in NoodleTools?", True),  # learning
    ],
)
def test_only_learning_needs_become_sessions(text: str, planned: bool) -> None:
    digest = build([resp("ann", 2, text, "Small group")])
    assert [n.email for n in digest.needs] == [addr("ann")]
    assert bool(digest.proposals) is planned


def test_sessions_thresholds_reach_the_plan() -> None:
    responses = [
        resp("ann", 2, "Show me Moodle quizzes", "Team meeting"),
        resp("raj", 3, "Help me set up my Moodle course", "Team meeting"),
    ]
    assert [p.title for p in build(responses).proposals] == [
        "One-on-one: LMS (Ann Lee)",
        "One-on-one: LMS (Raj Patel)",
    ]
    with_two = build(responses, sessions=Sessions(team_meeting_min=2))
    assert [p.title for p in with_two.proposals] == ["Grade 6 team meeting: LMS (2 teachers)"]


# -- who leads, and each specialist's part -----------------------------------------------------

SPECIALIST_MONTH = [
    resp("ann", 2, "Show me science apps for the iPad pilot"),
    resp("raj", 3, "Show me Moodle quiz settings"),
    resp("maria", 4, "Show me MLA citations"),
]
SPECIALIST_STORE = [
    need("kim", "2026-11", "Show me the camera app for the iPad pilot", ("1:1 iPad pilot",)),
    need("noor", "2026-11", "Google Slides help", ("Google Workspace",)),
]


@pytest.fixture(scope="module")
def led() -> Digest:
    return build(SPECIALIST_MONTH, SPECIALIST_STORE, specialists=(PAT, LEE))


def test_who_leads_each_proposal(led: Digest) -> None:
    assert [(p.topic, p.stage, p.lead, p.support, p.specialists) for p in led.proposals] == [
        # All one-on-one: in taxonomy order (the config's topic comes after the defaults).
        ("Citation", "standard", "Lib Rarian", "", ()),
        ("Google Workspace", "standard", "Lib Rarian", "", ()),
        (
            "LMS",
            "implementation",
            "Lib Rarian",
            "prepared by Pat Jones and Lee Ray",
            (PAT_ADDR, LEE_ADDR),
        ),
        # Ann's need is on Devices and the iPad pilot; it sits in one proposal, under the
        # topic more needs share (the pilot, with Kim's).
        ("1:1 iPad pilot", "learning", "Pat Jones", "", (PAT_ADDR,)),
        ("1:1 iPad pilot", "learning", "Pat Jones", "", (PAT_ADDR,)),
    ]
    assert [p.teachers for p in led.proposals[-2:]] == [("Ann Lee",), ("Kim Ng",)]
    # Everyone who leads or supports, once each, in the order they first appear.
    assert led.leads == ("Lib Rarian", "Pat Jones", "Lee Ray")
    ipad = next(g for g in led.topics if g.topic == "1:1 iPad pilot")
    assert (ipad.stage, ipad.lead, ipad.support) == ("learning", "Pat Jones", "")


@pytest.mark.parametrize(
    ("specialist", "topics"),
    [
        (PAT, ["LMS", "1:1 iPad pilot", "1:1 iPad pilot"]),
        (LEE, ["LMS"]),
        (Specialist("Nobody", "nobody@district.example.org"), []),
    ],
)
def test_for_specialist_keeps_only_their_part(
    led: Digest, specialist: Specialist, topics: list[str]
) -> None:
    part = for_specialist(led, specialist)
    assert [p.topic for p in part.proposals] == topics
    assert all(specialist.email.lower() in p.specialists for p in part.proposals)
    assert sorted(g.topic for g in part.topics) == sorted(set(topics))
    assert [n.email for n in part.carried_over] == (
        [addr("kim")] if "1:1 iPad pilot" in topics else []
    )
    assert part.audience == specialist.name
    assert (part.first_hand, part.year, part.non_responders) == ((), None, ())
    assert (part.strangers, part.problems, part.untagged) == ((), (), ())
    # The librarian's digest is left as it was.
    assert led.audience == "" and led.year is not None and led.non_responders


def test_digest_rows(led: Digest) -> None:
    header, rows = digest_rows(led)
    assert header == [
        "Cycle",
        "Session",
        "Kind",
        "Topic",
        "Stage",
        "Lead",
        "Support",
        "Teachers",
        "Teams",
        "Need ids",
    ]
    assert len(rows) == len(led.proposals) == 5
    assert [r[1] for r in rows] == [p.title for p in led.proposals]
    moodle = next(r for r in rows if r[3] == "LMS")
    assert moodle == [
        CYCLE,
        "One-on-one: LMS (Raj Patel)",
        "one-on-one",
        "LMS",
        "implementation",
        "Lib Rarian",
        "prepared by Pat Jones and Lee Ray",
        "Raj Patel",
        "Grade 6",
        need_id(CAMPAIGN, CYCLE, addr("raj")),
    ]
    assert digest_rows(replace(led, proposals=())) == (header, [])


def test_a_class_row_lists_teachers_teams_and_ids() -> None:
    digest = build(
        [
            resp("ann", 2, "Show me EBSCO"),
            resp("maria", 3, "Show me EBSCO"),
            resp("noor", 4, "Show me EBSCO"),
        ]
    )
    [row] = digest_rows(digest)[1]
    assert row[1:4] == [
        "After-school or online class: Databases (3 teachers from 3 teams)",
        "small group",
        "Databases",
    ]
    assert row[7:9] == ["Noor Ali, Ann Lee, María Gómez", "(no team), Grade 6, Grade 7"]
    assert row[9] == " ".join(need_id(CAMPAIGN, CYCLE, addr(w)) for w in ("noor", "ann", "maria"))


# -- on a project: rendering, --json, --send ---------------------------------------------------

SPECIALIST_CONFIG = {
    "digest": {"specialists": [{"name": "Pat Jones", "email": "pat.jones@district.example.org"}]},
    "taxonomy": {
        "topics": [
            {
                "name": "1:1 iPad pilot",
                "keywords": ["ipad", "ipad pilot"],
                "stage": "learning",
                "owners": ["Pat.Jones@district.example.org"],
            }
        ]
    },
}
ANN, RAJ, MARIA = addr("ann"), addr("raj"), addr("maria")
LIBRARIAN, PAT_MAIL = "librarian@school.example.org", "pat.jones@district.example.org"


def invoke(project: Project, *args: str, today: str) -> Result:
    result = CliRunner().invoke(
        main, [*args, "--config", str(project.config_path), "--today", today]
    )
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pdmail raised {result.exception!r}\n{result.output}")
    return result


@pytest.fixture
def month(project: Project) -> Project:
    """The project with a specialist, December's requests sent and three answers in."""
    project.write_config(SPECIALIST_CONFIG)
    assert invoke(project, "send", today="2026-12-01").exit_code == 0
    project.write_responses(
        [
            answer(
                ANN,
                "12/2/2026 9:00:00",
                help_text="Show me science apps for the iPad pilot",
                fmt="Small group",
            ),
            answer(
                RAJ,
                "12/3/2026 9:00:00",
                help_text='<script>alert("x")</script> Show me Moodle <img src="http://e/x.png">',
            ),
            answer(
                MARIA,
                "12/4/2026 9:00:00",
                help_text="<style>p{}</style>Show me MLA citations",
                fmt="Written guide",
            ),
        ]
    )
    return project


def test_rendered_digest_and_the_specialists_part(month: Project) -> None:
    with month.workspace(date(2026, 12, 11)) as ws:
        cycle = cycles.cycle(ws.config, CYCLE)
        digest = compile_digest(ws, cycle, persist=False)
        full = render_digest(ws, cycle, digest)
        [pat] = ws.config.digest.specialists
        part = render_digest(ws, cycle, for_specialist(digest, pat))
    html = full.html
    assert "Sessions to offer" in html
    assert "1:1 iPad pilot" in html and "Ann Lee" in html
    assert "Led by Pat Jones &middot; learning work" in html
    assert "Led by Lib Rarian; prepared by Pat Jones" in html
    assert "Written guide: Citation (for 1 teacher)" in html
    for absent in ("<script", "<style", "<img"):
        assert absent not in html.lower()
    assert "&lt;script&gt;" in html
    assert "for Pat Jones" not in full.subject

    assert part.subject == (
        "December 2026 library digest for Pat Jones: 2 sessions to lead or support"
    )
    assert "for Pat Jones" in part.html and "Sessions to offer" in part.html
    assert "Led by Pat Jones &middot; learning work" in part.html
    assert "Citation" not in part.html  # not Pat's
    assert "Not answered yet" not in part.html and "Not answered yet" in html
    for absent in ("<script", "<style", "<img"):
        assert absent not in part.html.lower()
    assert part.text.startswith("Test School library digest, December 2026 (for Pat Jones)\n")


def test_digest_json_has_the_plan(month: Project) -> None:
    result = invoke(month, "digest", "--json", today="2026-12-11")
    assert result.exit_code == 0, result.output
    digest = json.loads(result.stdout)["digest"]
    assert {
        "proposals",
        "needs",
        "carried_over",
        "trends",
        "year",
        "first_hand",
        "done",
        "total_needs",
        "leads",
    } <= set(digest)
    ipad = next(p for p in digest["proposals"] if p["topic"] == "1:1 iPad pilot")
    assert (ipad["lead"], ipad["support"], ipad["stage"], ipad["kind"], ipad["size"]) == (
        "Pat Jones",
        "",
        "learning",
        "one-on-one",
        1,
    )
    assert ipad["specialists"] == [PAT_MAIL]
    assert all(p["lead"] for p in digest["proposals"])
    needs = {n["email"]: n for n in digest["needs"]}
    assert sorted(needs) == [ANN, MARIA, RAJ]
    ann = needs[ANN]
    assert {k: ann[k] for k in ("text", "teacher", "team", "topics", "format", "status")} == {
        "text": "Show me science apps for the iPad pilot",
        "teacher": "Ann Lee",
        "team": "Grade 6",
        "topics": ["Devices and hardware", "1:1 iPad pilot"],
        "format": "small group",
        "status": "open",
    }
    assert ann["id"] == need_id(CAMPAIGN, CYCLE, ANN)
    # What kind of help, the ticked formats, and the words behind each topic.
    assert (ann["kinds"], ann["formats"]) == (["learning"], ["small group"])
    assert ann["evidence"] == [
        ["Devices and hardware", ["iPad"]],
        ["1:1 iPad pilot", ["iPad pilot"]],
    ]
    assert digest["carried_over"] == []
    trends = digest["trends"]
    assert [p["cycle"] for p in trends["points"]] == [CYCLE]
    assert (trends["points"][0]["asked"], trends["points"][0]["answered"]) == (4, 3)
    assert trends["points"][0]["percent"] == 75
    assert all("spark" in t and len(t["spark"]) == 1 for t in trends["topics"])
    assert digest["year"]["cycles"] == [CYCLE]
    assert digest["year"]["rows"] == [["Grade 6", [["Unit"]]], ["Grade 7", [["Unit"]]]]


def test_digest_send_mails_the_librarian_and_the_specialist_once(month: Project) -> None:
    first = invoke(month, "digest", "--send", today="2026-12-11")
    assert first.exit_code == 0, first.output
    assert "Sent 2 digest" in first.stdout
    folder = month.outbox / CYCLE
    assert sorted(p.name for p in folder.glob("digest-*.eml")) == [
        f"digest-{LIBRARIAN}.eml",
        f"digest-{PAT_MAIL}.eml",
    ]
    assert sorted(month.sent_to("digest")) == [LIBRARIAN, PAT_MAIL]

    second = invoke(month, "digest", "--send", today="2026-12-11")
    assert second.exit_code == 0
    assert "All 2 digests for 2026-12 were already sent on 2026-12-11; nothing to do." in (
        second.stdout
    )
    assert sorted(month.sent_to("digest")) == [LIBRARIAN, PAT_MAIL]
    with Ledger(month.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        digests = sorted(
            (e.key.recipient, e.state, e.attempts)
            for e in ledger.entries(CAMPAIGN)
            if e.key.kind == "digest"
        )
    assert digests == [(LIBRARIAN, State.SENT, 1), (PAT_MAIL, State.SENT, 1)]


def test_a_specialist_with_nothing_to_lead_gets_no_mail(month: Project) -> None:
    month.write_responses([answer(MARIA, "12/4/2026 9:00:00", help_text="Show me MLA citations")])
    result = invoke(month, "digest", "--send", today="2026-12-11")
    assert result.exit_code == 0
    assert month.sent_to("digest") == [LIBRARIAN]


def test_long_lists_in_the_mailed_digest_show_their_first_entries_and_say_where_the_rest_is(
    project: Project,
) -> None:
    """A large school's digest must stay a readable message, not megabytes of HTML."""
    from pdmail import cycles as cycle_dates
    from pdmail.cycle.publish import render_digest
    from pdmail.digest.build import build_digest as build_full
    from pdmail.digest.topics import Tagger as FullTagger
    from pdmail.state.needs import NeedRecord

    old = [
        NeedRecord(
            f"id{i:03d}",
            CAMPAIGN,
            "2026-11",
            f"t{i}@school.example.org",
            f"Teacher {i}",
            "Grade 6",
            f"Moodle help number {i}",
            ("LMS",),
            "small group",
            first_seen=date(2026, 11, 11),
        )
        for i in range(40)
    ]
    with project.workspace(date(2026, 12, 11)) as ws:
        cycle = cycle_dates.cycle(ws.config, "2026-12")
        digest = build_full(
            ws.roster,
            ws.collect(cycle),
            FullTagger.from_taxonomy(ws.config.taxonomy),
            school="Test School",
            campaign=CAMPAIGN,
            generated=GENERATED,
            needs=old,
        )
        rendered = render_digest(ws, cycle, digest)
    assert len(digest.carried_over) == 40
    assert "and 28 more in needs.csv" in rendered.html
    assert "and 28 more in needs.csv" in rendered.text
    assert rendered.html.count("Moodle help number") == 12 + 12  # carried over, and by topic
    assert rendered.markdown.count("Moodle help number") == 40 + 40  # the file keeps them all
