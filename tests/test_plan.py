"""Planning: which sessions serve the teachers asking about one topic, and who leads them.

Pure functions over small hand-made asks: :func:`pdmail.digest.plan.propose` (thresholds from
``digest.sessions``), :func:`pdmail.digest.plan.rank` and :func:`pdmail.digest.plan.ownership`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pdmail.config.records import Sessions, Specialist, Topic
from pdmail.digest.plan import (
    NO_TEAM,
    ONE_ON_ONE,
    SMALL_GROUP,
    TEAM_MEETING,
    WRITTEN_GUIDE,
    Ask,
    Lead,
    Proposal,
    ownership,
    propose,
    rank,
)

MOODLE = Topic("Moodle / LMS", ("moodle",), stage="implementation")
DATABASES = Topic("Databases", ("database",))
LEAD = Lead("Lib Rarian", "prepared by Pat Jones", ("pat.jones@district.example.org",))

G6, G7, G8, ARTS = "Grade 6", "Grade 7", "Grade 8", "Related Arts"
GROUP, GUIDE, ALONE = TEAM_MEETING, WRITTEN_GUIDE, ONE_ON_ONE


def ask(who: str, team: str, fmt: str = GROUP, need: str = "", visit: bool = False) -> Ask:
    """An ask by ``who`` (the teacher's name is ``who`` capitalised) who ticked ``fmt``
    (several joined with ", "; by default the team meeting)."""
    return Ask(need or f"n-{who}", f"{who}@school.example.org", who.capitalize(), team, fmt, visit)


def assert_each_teacher_once(proposals: Sequence[Proposal], asks: Sequence[Ask]) -> None:
    emails = [e for p in proposals for e in p.emails]
    assert sorted(emails) == sorted({a.email for a in asks})


# -- propose -----------------------------------------------------------------------------------


PROPOSE_CASES = [
    pytest.param(
        [ask("ann", G7), ask("raj", G7), ask("kim", G7)],
        Sessions(),
        ["Grade 7 team meeting: Moodle / LMS (3 teachers)"],
        id="team-meeting-at-exactly-the-minimum",
    ),
    pytest.param(
        [ask("ann", G7), ask("raj", G7)],
        Sessions(),
        ["One-on-one: Moodle / LMS (Ann)", "One-on-one: Moodle / LMS (Raj)"],
        id="one-below-the-minimum-is-one-on-one",
    ),
    pytest.param(
        [ask("ann", G7), ask("raj", G7), ask("kim", G7), ask("lu", G6)],
        Sessions(),
        ["Grade 7 team meeting: Moodle / LMS (3 teachers)", "One-on-one: Moodle / LMS (Lu)"],
        id="the-rest-too-few-for-a-class",
    ),
    pytest.param(
        [
            ask("ann", G7),
            ask("raj", G7),
            ask("kim", G7),
            ask("lu", G6),
            ask("zoe", G8),
            ask("sam", NO_TEAM),
        ],
        Sessions(),
        [
            "Grade 7 team meeting: Moodle / LMS (3 teachers)",
            "After-school or online class: Moodle / LMS (3 teachers from 3 teams)",
        ],
        id="team-meeting-and-the-rest-in-a-class",
    ),
    pytest.param(
        [ask("ann", G7), ask("raj", G7), ask("lu", G6), ask("sam", NO_TEAM)],
        Sessions(),
        ["After-school or online class: Moodle / LMS (4 teachers from 3 teams)"],
        id="class-across-teams",
    ),
    pytest.param(
        [
            ask("ann", G6),
            ask("raj", G6),
            ask("kim", G6),
            ask("maria", G7),
            ask("lu", G7),
            ask("tom", G7),
        ],
        Sessions(),
        [
            "Grade 6 team meeting: Moodle / LMS (3 teachers)",
            "Grade 7 team meeting: Moodle / LMS (3 teachers)",
        ],
        id="two-team-meetings-sorted-by-team",
    ),
    pytest.param(
        [ask("sam", NO_TEAM), ask("noor", NO_TEAM), ask("ben", NO_TEAM)],
        Sessions(),
        ["After-school or online class: Moodle / LMS (3 teachers from 1 team)"],
        id="no-team-is-never-a-team-meeting",
    ),
    pytest.param(
        [ask("sam", NO_TEAM), ask("noor", NO_TEAM), ask("ben", NO_TEAM), ask("eve", NO_TEAM)],
        Sessions(team_meeting_min=2, small_group_min=5),
        [
            "One-on-one: Moodle / LMS (Ben)",
            "One-on-one: Moodle / LMS (Eve)",
            "One-on-one: Moodle / LMS (Noor)",
            "One-on-one: Moodle / LMS (Sam)",
        ],
        id="no-team-below-class-minimum-is-one-on-one",
    ),
    pytest.param(
        [ask("ann", G7, GUIDE)],
        Sessions(),
        ["Written guide: Moodle / LMS (for 1 teacher)"],
        id="one-guide",
    ),
    pytest.param(
        [ask("ann", G7, GUIDE), ask("lu", G6, GUIDE), ask("sam", NO_TEAM, GUIDE)],
        Sessions(),
        ["Written guide: Moodle / LMS (for 3 teachers)"],
        id="guide-askers-share-one-guide",
    ),
    pytest.param(
        [ask("ann", G7, GUIDE), ask("raj", G7, GUIDE), ask("kim", G7), ask("lu", G7)],
        Sessions(),
        [
            "Written guide: Moodle / LMS (for 2 teachers)",
            "One-on-one: Moodle / LMS (Kim)",
            "One-on-one: Moodle / LMS (Lu)",
        ],
        id="guide-askers-do-not-count-towards-a-team-meeting",
    ),
    pytest.param(
        [ask("ann", G7), ask("raj", G7), ask("kim", G7), ask("lu", G7, ALONE)],
        Sessions(),
        ["Grade 7 team meeting: Moodle / LMS (3 teachers)", "One-on-one: Moodle / LMS (Lu)"],
        id="one-on-one-stays-alone-beside-their-teams-meeting",
    ),
    pytest.param(
        [ask("zoe", G8, ALONE), ask("ann", G6, ALONE), ask("bea", G8, ALONE)],
        Sessions(),
        [
            "One-on-one: Moodle / LMS (Ann)",
            "One-on-one: Moodle / LMS (Bea)",
            "One-on-one: Moodle / LMS (Zoe)",
        ],
        id="one-on-one-sorted-by-team-then-name",
    ),
    pytest.param(
        [ask("ann", G7), ask("raj", G7)],
        Sessions(team_meeting_min=2),
        ["Grade 7 team meeting: Moodle / LMS (2 teachers)"],
        id="custom-team-meeting-minimum",
    ),
    pytest.param(
        [ask("ann", G7)],
        Sessions(team_meeting_min=1),
        ["Grade 7 team meeting: Moodle / LMS (1 teacher)"],
        id="a-team-of-one-when-the-minimum-is-one",
    ),
    pytest.param(
        [ask("ann", G7), ask("lu", G6)],
        Sessions(small_group_min=2),
        ["After-school or online class: Moodle / LMS (2 teachers from 2 teams)"],
        id="custom-class-minimum",
    ),
    pytest.param(
        [ask("ann", G7), ask("raj", G7), ask("lu", G6), ask("sam", NO_TEAM)],
        Sessions(team_meeting_min=2, small_group_min=3),
        [
            "Grade 7 team meeting: Moodle / LMS (2 teachers)",
            "One-on-one: Moodle / LMS (Sam)",
            "One-on-one: Moodle / LMS (Lu)",
        ],
        id="team-meeting-first-then-too-few-left-for-a-class",
    ),
    pytest.param(
        [
            ask("ann", G7, "team meeting"),
            ask("raj", G7, "small group, team meeting"),
            ask("kim", G7, "team meeting, written guide"),
        ],
        Sessions(),
        ["Grade 7 team meeting: Moodle / LMS (3 teachers)"],
        id="every-ticked-format-counts",
    ),
    pytest.param(
        [ask("ann", G7, ""), ask("raj", G7, ""), ask("kim", G7, "")],
        Sessions(),
        ["After-school or online class: Moodle / LMS (3 teachers from 1 team)"],
        id="no-format-ticked-is-never-a-team-meeting",
    ),
    pytest.param(
        [ask("ann", G7, SMALL_GROUP), ask("raj", G7, SMALL_GROUP), ask("kim", G7, SMALL_GROUP)],
        Sessions(),
        ["After-school or online class: Moodle / LMS (3 teachers from 1 team)"],
        id="a-small-group-of-teammates-is-no-team-meeting",
    ),
    pytest.param(
        [ask("ann", G7, "", visit=True), ask("raj", G7, ALONE)],
        Sessions(),
        ["Grade 7 team meeting: Moodle / LMS (1 teacher)", "One-on-one: Moodle / LMS (Raj)"],
        id="a-team-that-asks-for-a-visit-gets-one",
    ),
    pytest.param(
        [ask("sam", NO_TEAM, "", visit=True)],
        Sessions(),
        ["One-on-one: Moodle / LMS (Sam)"],
        id="no-team-to-visit",
    ),
    pytest.param(
        [ask("ann", G7, "small group, written guide"), ask("lu", G6, GUIDE)],
        Sessions(),
        ["Written guide: Moodle / LMS (for 2 teachers)"],
        id="too-few-for-a-class-falls-back-to-the-ticked-guide",
    ),
    pytest.param(
        [ask("ann", G7, "one-on-one, team meeting"), ask("raj", G7), ask("kim", G7)],
        Sessions(),
        ["Grade 7 team meeting: Moodle / LMS (3 teachers)"],
        id="a-group-format-ticked-beside-one-on-one-joins-the-group",
    ),
]


@pytest.mark.parametrize(("asks", "sessions", "expected"), PROPOSE_CASES)
def test_propose_titles(asks: list[Ask], sessions: Sessions, expected: list[str]) -> None:
    proposals = propose(MOODLE, asks, sessions, LEAD)
    assert [p.title for p in proposals] == expected
    assert_each_teacher_once(proposals, asks)


@pytest.mark.parametrize(
    ("asks", "expected"),
    [
        # Asks come newest first: the first ask of a teacher is the one that counts.
        pytest.param(
            [
                ask("lu", G7, ALONE, "new"),
                ask("ann", G7),
                ask("raj", G7),
                ask("lu", G7, GROUP, "old"),
            ],
            [
                ("One-on-one: Moodle / LMS (Ann)", ("n-ann",)),
                ("One-on-one: Moodle / LMS (Lu)", ("new",)),
                ("One-on-one: Moodle / LMS (Raj)", ("n-raj",)),
            ],
            id="newest-one-on-one-wins-over-older-group",
        ),
        pytest.param(
            [
                ask("lu", G7, GROUP, "new"),
                ask("ann", G7),
                ask("raj", G7),
                ask("lu", G7, ALONE, "old"),
            ],
            [("Grade 7 team meeting: Moodle / LMS (3 teachers)", ("new", "n-ann", "n-raj"))],
            id="newest-group-wins-over-older-one-on-one",
        ),
        pytest.param(
            [ask("ann", G7, GUIDE, "a2"), ask("ann", G7, GUIDE, "a1"), ask("ann", G7, ALONE)],
            [("Written guide: Moodle / LMS (for 1 teacher)", ("a2",))],
            id="three-asks-by-one-teacher-are-one-guide",
        ),
        pytest.param(
            [ask("ann", G7, need="x"), ask("ann", G7, need="y"), ask("ann", G7, need="z")],
            [("One-on-one: Moodle / LMS (Ann)", ("x",))],
            id="the-same-teacher-three-times-is-no-team",
        ),
    ],
)
def test_propose_keeps_the_first_ask_per_teacher(
    asks: list[Ask], expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    proposals = propose(MOODLE, asks, Sessions(), LEAD)
    assert [(p.title, p.need_ids) for p in proposals] == expected
    assert_each_teacher_once(proposals, asks)


def test_proposal_fields() -> None:
    asks = [ask("ann", G7), ask("raj", G7), ask("kim", G7), ask("lu", G6), ask("zoe", G8),
            ask("sam", NO_TEAM), ask("eve", G6, GUIDE)]  # fmt: skip
    meeting, klass, guide = propose(DATABASES, asks, Sessions(), LEAD)
    assert (meeting.kind, klass.kind, guide.kind) == (TEAM_MEETING, SMALL_GROUP, WRITTEN_GUIDE)
    assert meeting.topic == "Databases"
    assert meeting.teachers == ("Ann", "Raj", "Kim")
    assert meeting.emails == tuple(f"{w}@school.example.org" for w in ("ann", "raj", "kim"))
    assert meeting.teams == (G7,)
    assert meeting.need_ids == ("n-ann", "n-raj", "n-kim")
    assert meeting.size == 3
    # A class lists its teams sorted, each once.
    assert klass.teams == (NO_TEAM, G6, G8)
    assert klass.teachers == ("Sam", "Lu", "Zoe")  # by team: (no team), Grade 6, Grade 8
    assert guide.teachers == ("Eve",) and guide.size == 1
    for p in (meeting, klass, guide):
        assert p.stage == "standard"
        assert (p.lead, p.support, p.specialists) == (LEAD.lead, LEAD.support, LEAD.specialists)


def test_propose_with_no_asks_proposes_nothing() -> None:
    assert propose(MOODLE, [], Sessions(), LEAD) == []


# -- rank --------------------------------------------------------------------------------------


def proposal(kind: str, size: int, name: str = "") -> Proposal:
    who = tuple(f"{name or kind}-{i}" for i in range(size))
    return Proposal(kind=kind, topic="T", title=name or f"{kind} {size}", teachers=who,
                    emails=who, teams=(), need_ids=who, stage="standard", lead="L",
                    support="", specialists=())  # fmt: skip


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(
            [
                (ONE_ON_ONE, 1),
                (WRITTEN_GUIDE, 3),
                (SMALL_GROUP, 3),
                (TEAM_MEETING, 3),
                (TEAM_MEETING, 4),
            ],
            [
                (TEAM_MEETING, 4),
                (TEAM_MEETING, 3),
                (SMALL_GROUP, 3),
                (WRITTEN_GUIDE, 3),
                (ONE_ON_ONE, 1),
            ],
            id="group-sessions-then-guides-then-one-on-one",
        ),
        pytest.param(
            [(SMALL_GROUP, 3), (SMALL_GROUP, 6), (SMALL_GROUP, 4)],
            [(SMALL_GROUP, 6), (SMALL_GROUP, 4), (SMALL_GROUP, 3)],
            id="classes-largest-first",
        ),
        pytest.param(
            [(WRITTEN_GUIDE, 1), (WRITTEN_GUIDE, 9), (ONE_ON_ONE, 1), (SMALL_GROUP, 3)],
            [(SMALL_GROUP, 3), (WRITTEN_GUIDE, 9), (WRITTEN_GUIDE, 1), (ONE_ON_ONE, 1)],
            id="a-large-guide-still-after-a-small-class",
        ),
        pytest.param(
            # As implemented, the kind comes before the size: a team meeting (tailored to the
            # team) is offered before a larger after-school class.
            [(SMALL_GROUP, 5), (TEAM_MEETING, 3)],
            [(TEAM_MEETING, 3), (SMALL_GROUP, 5)],
            id="team-meeting-before-a-larger-class",
        ),
    ],
)
def test_rank_order(given: list[tuple[str, int]], expected: list[tuple[str, int]]) -> None:
    ranked = rank([proposal(kind, size) for kind, size in given])
    assert [(p.kind, p.size) for p in ranked] == expected


def test_rank_keeps_the_order_of_equals() -> None:
    given = [proposal(TEAM_MEETING, 3, "b"), proposal(TEAM_MEETING, 3, "a"),
             proposal(ONE_ON_ONE, 1, "z"), proposal(ONE_ON_ONE, 1, "y")]  # fmt: skip
    assert [p.title for p in rank(given)] == ["b", "a", "z", "y"]


# -- ownership ---------------------------------------------------------------------------------

LIB = "Lib Rarian"
PAT = Specialist("Pat Jones", "Pat.Jones@district.example.org")
LEE = Specialist("Lee Ray", "lee.ray@district.example.org")
PAT_ADDR, LEE_ADDR = "pat.jones@district.example.org", "lee.ray@district.example.org"


@pytest.mark.parametrize(
    ("stage", "owners", "specialists", "expected"),
    [
        # By stage, nobody named as owner.
        ("learning", (), (PAT, LEE), Lead("Pat Jones and Lee Ray", "", (PAT_ADDR, LEE_ADDR))),
        ("learning", (), (PAT,), Lead("Pat Jones", "", (PAT_ADDR,))),
        ("implementation", (), (PAT,), Lead(LIB, "prepared by Pat Jones", (PAT_ADDR,))),
        ("implementation", (), (PAT, LEE),
         Lead(LIB, "prepared by Pat Jones and Lee Ray", (PAT_ADDR, LEE_ADDR))),
        ("standard", (), (PAT, LEE), Lead(LIB, "", ())),
        # No specialists configured: the librarian, whatever the stage.
        ("learning", (), (), Lead(LIB, "", ())),
        ("implementation", (), (), Lead(LIB, "", ())),
        ("standard", (), (), Lead(LIB, "", ())),
        # Owners lead whatever the stage; the librarian supports unless it is learning work.
        ("learning", (LEE_ADDR,), (PAT, LEE), Lead("Lee Ray", "", (LEE_ADDR,))),
        ("implementation", (LEE_ADDR,), (PAT, LEE), Lead("Lee Ray", LIB, (LEE_ADDR,))),
        ("standard", (PAT_ADDR,), (PAT, LEE), Lead("Pat Jones", LIB, (PAT_ADDR,))),
        ("standard", (LEE_ADDR, PAT_ADDR), (PAT, LEE),
         Lead("Pat Jones and Lee Ray", LIB, (PAT_ADDR, LEE_ADDR))),
        # An owner who is not among the specialists leads nothing: the stage decides.
        ("implementation", (PAT_ADDR,), (LEE,), Lead(LIB, "prepared by Lee Ray", (LEE_ADDR,))),
        ("learning", (PAT_ADDR,), (), Lead(LIB, "", ())),
    ],
)  # fmt: skip
def test_ownership(
    stage: str, owners: tuple[str, ...], specialists: tuple[Specialist, ...], expected: Lead
) -> None:
    topic = Topic("T", ("t",), stage=stage, owners=owners)
    got = ownership(topic, specialists, LIB)
    assert (got.lead, got.support, got.specialists) == (
        expected.lead,
        expected.support,
        expected.specialists,
    )


@pytest.mark.parametrize(
    ("stage", "owners", "specialists", "people"),
    [
        ("standard", (), (PAT, LEE), (LIB,)),
        ("learning", (), (PAT, LEE), ("Pat Jones", "Lee Ray")),
        ("implementation", (), (PAT,), (LIB, "Pat Jones")),
        ("standard", (PAT_ADDR,), (PAT, LEE), ("Pat Jones", LIB)),
        ("learning", (PAT_ADDR,), (PAT, LEE), ("Pat Jones",)),
        ("learning", (), (), (LIB,)),
    ],
)
def test_everyone_involved_is_named_once_lead_first(
    stage: str,
    owners: tuple[str, ...],
    specialists: tuple[Specialist, ...],
    people: tuple[str, ...],
) -> None:
    topic = Topic("T", ("t",), stage=stage, owners=owners)
    assert ownership(topic, specialists, LIB).people == people


def test_propose_carries_the_lead_and_stage() -> None:
    topic = Topic("1:1 iPad pilot", ("ipad",), stage="learning", owners=(PAT_ADDR,))
    lead = ownership(topic, (PAT, LEE), LIB)
    [p] = propose(topic, [ask("ann", G6)], Sessions(), lead)
    assert (p.title, p.stage, p.lead, p.support, p.specialists) == (
        "One-on-one: 1:1 iPad pilot (Ann)",
        "learning",
        "Pat Jones",
        "",
        (PAT_ADDR,),
    )
