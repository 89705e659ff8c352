"""The digest: built from a small roster and real Response records matched by
``pdmail.sources.responses.match``, then rendered by the default templates."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Project, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail import cycles
from pdmail.config.records import RosterColumns, Taxonomy
from pdmail.cycle.publish import render_digest
from pdmail.digest.build import NO_TEAM, Digest, Need, _format_counts, build_digest, need_id
from pdmail.digest.topics import Tagger
from pdmail.models import Response
from pdmail.sources.responses import match
from pdmail.sources.roster import Roster, parse_roster
from pdmail.sources.tables import read_table

CHICAGO = ZoneInfo("America/Chicago")
GENERATED = datetime(2026, 12, 11, 7, 30, tzinfo=CHICAGO)
CAMPAIGN = "monthly-update"

#        email  first     last      team
PEOPLE = [
    ("ann", "Ann", "Lee", "Grade 6"),
    ("raj", "Raj", "Patel", "Grade 6"),
    ("kim", "Kim", "Ng", "Grade 6"),
    ("maria", "María", "Gómez", "Grade 7"),
    ("lu", "Lu", "Chen", "Grade 7"),
    ("sam", "Sam", "Haddad", ""),
    ("noor", "Noor", "Ali", ""),
    ("ben", "Ben", "Ode", ""),
]


def addr(who: str) -> str:
    return f"{who}@school.example.org"


def make_roster(folder: Path, people: Sequence[tuple[str, str, str, str]] = PEOPLE) -> Roster:
    """A real roster.csv; ``old`` (Grade 7) is on it but inactive."""
    path = folder / "digest-roster.csv"
    rows = [[addr(e), f, la, t, "yes"] for e, f, la, t in people]
    rows.append([addr("old"), "Old", "Timer", "Grade 7", "no"])
    write_csv(path, ["Email", "First Name", "Last Name", "Team", "Active"], rows)
    return parse_roster(read_table(path), RosterColumns())


def resp(who: str, day: int, help_text: str, units: str = "", fmt: str = "") -> Response:
    return Response(
        email=addr(who) if "@" not in who else who,
        submitted=datetime(2026, 12, day, 9, 0, tzinfo=CHICAGO),
        units=units,
        help=help_text,
        format=fmt,
        answers={},
        origin="responses.csv",
        row=day + 1,
    )


def digest_of(
    project: Project, responses: Sequence[Response], cycle_name: str = "2026-12"
) -> Digest:
    roster = make_roster(project.folder)
    cycle = cycles.cycle(project.config(), cycle_name)
    return build_digest(
        roster,
        match(roster, responses, cycle),
        Tagger.from_taxonomy(Taxonomy()),
        school="Test School",
        campaign=CAMPAIGN,
        generated=GENERATED,
    )


MONTH = [
    resp("ann", 2, "Show me citations for the paper", "Ancient Egypt", "Team meeting"),
    resp("raj", 3, "Show me MLA works cited", "Poetry", "small group"),
    resp("kim", 3, "Show me how to cite, please", "n/a", ""),
    resp("maria", 4, "Show me podcast recording", "Ecosystems", "1:1"),
    resp("sam", 5, "Nothing right now.", "Drawing", "Written guide"),
]


def test_rates_overall_and_by_team(project: Project) -> None:
    digest = digest_of(project, MONTH)
    assert (digest.asked, digest.answered) == (8, 5)
    assert digest.rate == 5 / 8
    assert [(t.team, t.asked, t.answered, t.rate) for t in digest.teams] == [
        (NO_TEAM, 3, 1, 1 / 3),
        ("Grade 6", 3, 3, 1.0),
        ("Grade 7", 2, 1, 0.5),  # old@ is inactive: not asked
    ]


def test_an_inactive_teachers_answer_does_not_change_the_rate(project: Project) -> None:
    digest = digest_of(project, [*MONTH, resp("old", 6, "Books on Egypt")])
    assert (digest.asked, digest.answered) == (8, 5)
    assert sum(t.asked for t in digest.teams) == digest.asked
    assert sum(t.answered for t in digest.teams) == digest.answered
    # Their request is still shown.
    assert "Books on Egypt" in [n.text for n in digest.needs]


def test_units_by_team(project: Project) -> None:
    digest = digest_of(project, MONTH)
    assert {t.team: list(t.units) for t in digest.teams} == {
        NO_TEAM: [("Sam Haddad", "Drawing")],
        # Kim's "n/a" is not a unit.
        "Grade 6": [("Ann Lee", "Ancient Egypt"), ("Raj Patel", "Poetry")],
        "Grade 7": [("María Gómez", "Ecosystems")],
    }


def test_needs_grouped_by_topic(project: Project) -> None:
    digest = digest_of(project, MONTH)
    groups = [(g.topic, [n.email for n in g.needs], g.teams, g.formats) for g in digest.topics]
    assert groups == [
        (
            "Citation",
            [addr("ann"), addr("raj"), addr("kim")],
            ("Grade 6",),
            (("team meeting", 1), ("small group", 1)),
        ),
        ("Video, audio and podcasts", [addr("maria")], ("Grade 7",), (("one-on-one", 1),)),
    ]
    # Sam asked for nothing, so Sam has no need.
    assert addr("sam") not in [n.email for n in digest.needs]
    assert digest.formats == (("team meeting", 1), ("small group", 1), ("one-on-one", 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["small group", "one-on-one", "team meeting", " guide "]),
                         max_size=3).map(", ".join), max_size=12))  # fmt: skip
def test_format_counts_count_each_ticked_format_in_the_order_first_ticked(
    cells: list[str],
) -> None:
    needs = [Need(f"n{i}", "2026-12", "a@x.org", "A", "T", "text", (), cell)
             for i, cell in enumerate(cells)]  # fmt: skip
    ticked = Counter(f for n in needs for f in n.formats)
    assert _format_counts(needs) == tuple(ticked.most_common())


def test_a_need_with_several_topics_is_in_each_group_once_overall(project: Project) -> None:
    digest = digest_of(project, [resp("ann", 2, "A podcast about research")])
    assert [g.topic for g in digest.topics] == ["Research skills", "Video, audio and podcasts"]
    assert [n.email for n in digest.needs] == [addr("ann")]
    assert digest.needs[0].topics == ("Research skills", "Video, audio and podcasts")


def test_untagged_needs_are_listed_not_dropped(project: Project) -> None:
    digest = digest_of(
        project, [resp("lu", 2, "Can you cover my lunch duty?"), resp("ann", 3, "Podcasts help")]
    )
    assert [(n.email, n.text, n.topics) for n in digest.untagged] == [
        (addr("lu"), "Can you cover my lunch duty?", ())
    ]
    assert [g.topic for g in digest.topics] == ["Video, audio and podcasts"]


@pytest.mark.parametrize(
    ("who", "suggestion"),
    [
        (["ann", "raj", "kim"], "Grade 6 team meeting: Databases (3 teachers)"),
        (["ann", "raj", "kim", "maria"], "Grade 6 team meeting: Databases (3 teachers)"),
        (
            ["ann", "raj", "maria"],
            "After-school or online class: Databases (3 teachers from 2 teams)",
        ),
        (
            ["ann", "maria", "sam", "lu"],
            "After-school or online class: Databases (4 teachers from 3 teams)",
        ),
        # Three teachers without a team are not a team.
        (
            ["sam", "noor", "ben"],
            "After-school or online class: Databases (3 teachers from 1 team)",
        ),
        # Below both thresholds each teacher gets one-on-one help; the first is shown.
        (["ann", "maria"], "One-on-one: Databases (Ann Lee)"),
        (["raj"], "One-on-one: Databases (Raj Patel)"),
    ],
)
def test_suggestion_thresholds(project: Project, who: list[str], suggestion: str) -> None:
    digest = digest_of(
        project,
        [
            resp(w, 2 + i, "Help with the EBSCO databases", "", "Team meeting")
            for i, w in enumerate(who)
        ],
    )
    [group] = digest.topics
    assert group.suggestion == suggestion


def test_non_responders_and_strangers(project: Project) -> None:
    digest = digest_of(
        project, [*MONTH, resp("visitor@else.example.org", 7, "Help me too", "Chess")]
    )
    assert [(p.email, p.name, p.team) for p in digest.non_responders] == [
        (addr("lu"), "Lu Chen", "Grade 7"),
        (addr("noor"), "Noor Ali", NO_TEAM),
        (addr("ben"), "Ben Ode", NO_TEAM),
    ]
    assert [(s.email, s.help, s.units, s.row) for s in digest.strangers] == [
        ("visitor@else.example.org", "Help me too", "Chess", 8)
    ]
    assert "visitor@else.example.org" not in [n.email for n in digest.needs]


def test_need_ids_are_stable_and_distinct(project: Project) -> None:
    first = {n.email: n.id for n in digest_of(project, MONTH).needs}
    again = {n.email: n.id for n in digest_of(project, list(reversed(MONTH))).needs}
    assert first == again
    assert len(set(first.values())) == len(first) == 4
    assert first[addr("ann")] == need_id(CAMPAIGN, "2026-12", addr("ann"))
    assert all(re.fullmatch(r"[0-9a-f]{10}", i) for i in first.values())
    # Another cycle or campaign, another id; the same teacher's edited answer, the same id.
    assert need_id(CAMPAIGN, "2027-01", addr("ann")) != first[addr("ann")]
    assert need_id("other", "2026-12", addr("ann")) != first[addr("ann")]
    edited = digest_of(project, [resp("ann", 9, "Something else entirely: show me podcasts")])
    assert edited.needs[0].id == first[addr("ann")]


def test_an_empty_month(project: Project) -> None:
    digest = digest_of(project, [])
    assert (digest.asked, digest.answered, digest.rate) == (8, 0, 0.0)
    assert (digest.topics, digest.untagged, digest.strangers) == ((), (), ())
    assert len(digest.non_responders) == 8


# --- rendering -------------------------------------------------------------------------------

HOSTILE = [
    resp("ann", 2, '<script>alert("x")</script> research help', "<b>Units</b>", "Small group"),
    resp("raj", 3, '<img src="http://evil.example/x.png"> podcast', "Poems & <i>prose</i>"),
    resp("lu", 4, "<style>body{display:none}</style><link rel=stylesheet href=//x>"),
    resp("evil@else.example.org", 5, "<iframe src='http://evil.example'></iframe>"),
]


@pytest.fixture
def html(project: Project) -> str:
    digest = digest_of(project, HOSTILE)
    with project.workspace(date(2026, 12, 11)) as ws:
        return render_digest(ws, cycles.cycle(ws.config, "2026-12"), digest).html


@pytest.mark.parametrize(
    "absent",
    ["<script", "<img", 'src="http', "src='http", "<style", "<link", "<iframe", "<b>", "<i>"],
)
def test_rendered_html_has_no_active_or_external_content(html: str, absent: str) -> None:
    assert absent not in html.lower()


@pytest.mark.parametrize(
    "escaped",
    [
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; research help",
        "&lt;img src=&#34;http://evil.example/x.png&#34;&gt; podcast",
        "&lt;b&gt;Units&lt;/b&gt;",
        "Poems &amp; &lt;i&gt;prose&lt;/i&gt;",
        "&lt;style&gt;body{display:none}&lt;/style&gt;",
        "&lt;iframe src=&#39;http://evil.example&#39;&gt;&lt;/iframe&gt;",
    ],
)
def test_rendered_html_shows_teacher_text_escaped(html: str, escaped: str) -> None:
    assert escaped in html


def test_rendered_html_styles_are_inline(html: str) -> None:
    assert 'style="' in html
    assert re.search(r"<(style|link)\b", html, re.IGNORECASE) is None


def test_rendered_subject_and_text(project: Project) -> None:
    digest = digest_of(project, MONTH)
    with project.workspace(date(2026, 12, 11)) as ws:
        rendered = render_digest(ws, cycles.cycle(ws.config, "2026-12"), digest)
    assert "\n" not in rendered.subject and rendered.subject
    assert "Answered: 5 of 8 teachers (63%)" in rendered.text  # half up, like the trends
    assert "After-school or online class: Citation (3 teachers from 1 team)" in rendered.text
    assert "**Answered:** 5 of 8 teachers (63%)" in rendered.markdown


def test_tasks_and_lessons_are_listed_to_do_and_to_schedule_not_as_sessions(
    project: Project,
) -> None:
    digest = digest_of(
        project,
        [
            resp("ann", 2, "Could you pull 30 copies of The Giver for our unit?"),
            resp("raj", 3, "Could you teach my classes MLA citations on Dec 14?"),
            resp("kim", 3, "Show me NoodleTools, please", "", "Small group"),
            resp("maria", 4, "Not this month — swamped with grading. Thanks!"),
        ],
    )
    assert [n.email for n in digest.to_do] == [addr("ann")]
    # An answer asking for nothing is answered, listed as such, and never a need.
    assert [p.email for p in digest.no_need] == [addr("maria")]
    assert addr("maria") not in [n.email for n in digest.needs]
    assert [n.email for n in digest.lessons] == [addr("raj")]
    assert [p.emails for p in digest.proposals] == [(addr("kim"),)]
    with project.workspace(date(2026, 12, 11)) as ws:
        rendered = render_digest(ws, cycles.cycle(ws.config, "2026-12"), digest)
    assert "1 session to offer, 1 task to do, 1 lesson to schedule." in rendered.text
    assert "TO DO (1)" in rendered.text and "LESSONS TO SCHEDULE (1)" in rendered.text
    assert "## To do (1)" in rendered.markdown and "## Lessons to schedule (1)" in rendered.markdown
    assert "To do (1)</h2>" in rendered.html and "pull 30 copies" in rendered.html
    assert "ANSWERED: NOTHING NEEDED THIS MONTH (1)\n  - María Gómez (Grade 7)" in rendered.text
    assert "nothing needed this month (1)</h2>" in rendered.html
