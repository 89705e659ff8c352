"""Trends across cycles and the year's curriculum map, from hand-made collections.

Each cycle's answers are real :class:`~pdmail.models.Response` records matched to a small
roster by :func:`pdmail.sources.responses.match`, as the digest does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import BASE_CONFIG
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail import cycles
from pdmail.config.load import parse_config
from pdmail.config.records import RosterColumns, Topic
from pdmail.digest.topics import Tagger
from pdmail.digest.trends import TopicTrend, TrendPoint, build_trends, build_year, sparkline
from pdmail.models import Response
from pdmail.sources.responses import Collection, match
from pdmail.sources.roster import Roster, parse_roster
from pdmail.sources.tables import table_from_rows

CHICAGO = ZoneInfo("America/Chicago")
CONFIG = parse_config(BASE_CONFIG, Path("/nowhere/pdmail.yaml"))
TAGGER = Tagger(
    (
        Topic("Moodle", ("moodle",)),
        Topic("Podcasts", ("podcast",)),
        Topic("Citations", ("citation", "cite")),
    )
)


def addr(who: str) -> str:
    return f"{who}@school.example.org"


def make_roster() -> Roster:
    rows = [
        ["Email", "First Name", "Last Name", "Team", "Active"],
        [addr("ann"), "Ann", "Lee", "Grade 6", "yes"],
        [addr("raj"), "Raj", "Patel", "Grade 6", "yes"],
        [addr("kim"), "Kim", "Ng", "Grade 6", "yes"],
        [addr("maria"), "María", "Gómez", "Grade 7", "yes"],
        [addr("lu"), "Lu", "Chen", "Grade 7", "yes"],
        [addr("sam"), "Sam", "Haddad", "", "yes"],
        [addr("old"), "Old", "Timer", "Grade 7", "no"],
    ]
    return parse_roster(table_from_rows("roster.csv", rows), RosterColumns())


ROSTER = make_roster()

# (who, help, units) per cycle; every answer is submitted on the 10th of the cycle's month.
Answer = tuple[str, str, str]


def collection(name: str, answers: Sequence[Answer]) -> Collection:
    year, month = (int(p) for p in name.split("-"))
    responses = [
        Response(
            email=addr(who),
            submitted=datetime(year, month, 10, 9, i, tzinfo=CHICAGO),
            units=units,
            help=help_text,
            format="",
            answers={},
            origin="responses.csv",
            row=i + 2,
        )
        for i, (who, help_text, units) in enumerate(answers)
    ]
    return match(ROSTER, responses, cycles.cycle(CONFIG, name))


OCTOBER = collection(
    "2026-10",
    [
        ("ann", "Moodle quiz settings", "Ancient Egypt"),
        ("raj", "A Moodle course page and a podcast", "Ancient Egypt"),
        ("old", "n/a", "Rome"),  # inactive: answered, but not counted as asked or answered
    ],
)
NOVEMBER = collection(
    "2026-11",
    [
        ("ann", "Podcast recording", "Poetry"),
        ("maria", "How do we cite sources?", "n/a"),
        ("lu", "Nothing right now.", ""),
    ],
)
DECEMBER = collection(
    "2026-12",
    [
        ("ann", "Moodle again", "Persuasive essays"),
        ("raj", "moodle gradebook", "Cells"),
        ("kim", "Moodle and a podcast", "Persuasive essays"),
        ("maria", "MOODLE quiz", "Ecosystems"),
        ("sam", "Citation help", "Drawing"),
    ],
)
THREE = [OCTOBER, NOVEMBER, DECEMBER]


# -- sparkline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([], ""),
        ([0], "·"),
        ([0, 0, 0], "···"),
        ([3], "█"),
        ([0, 5, 0], "·█·"),
        ([1, 1, 1], "███"),
        ([1, 8], "▂█"),  # 1/8 of the height: the lowest block but one
        ([0, 2, 5, 3], "·▄█▅"),  # 2/5 * 7 = 2.8 -> block 3; 3/5 * 7 = 4.2 -> block 4
        ([1, 2, 3, 4, 5, 6, 7, 8], "▂▃▄▅▅▆▇█"),
        ([1, 100], "▁█"),  # a small non-zero count is never a dot
        ([-2, 4], "·█"),  # a negative count reads as nothing
    ],
)
def test_sparkline(counts: list[int], expected: str) -> None:
    assert sparkline(counts) == expected
    assert len(sparkline(counts)) == len(counts)


@pytest.mark.parametrize(
    ("asked", "answered", "percent"),
    [
        (8, 5, 63),  # 62.5 rounds half up
        (8, 3, 38),  # 37.5
        (8, 1, 13),  # 12.5
        (8, 7, 88),  # 87.5
        (3, 1, 33),
        (3, 2, 67),
        (6, 5, 83),
        (4, 4, 100),
        (0, 0, 0),  # nobody asked: 0, not an error
        (5, 0, 0),
    ],
)
def test_trend_point_percent(asked: int, answered: int, percent: int) -> None:
    point = TrendPoint("2026-12", asked, answered, ())
    assert point.percent == percent
    assert point.rate == (answered / asked if asked else 0.0)


def test_topic_trend_spark_and_total() -> None:
    trend = TopicTrend("Moodle", (2, 0, 4))
    assert (trend.spark, trend.total) == ("▅·█", 6)


# -- build_trends ------------------------------------------------------------------------------


def test_build_trends_points() -> None:
    trends = build_trends(THREE, TAGGER.tag, {"2026-11": 8})
    assert trends.cycles == ("2026-10", "2026-11", "2026-12")
    assert [(p.cycle, p.asked, p.answered, p.percent, p.top) for p in trends.points] == [
        # Not in the asked map: the active teachers it had answers or no answers for (6).
        ("2026-10", 6, 2, 33, (("Moodle", 2), ("Podcasts", 1))),
        # From the ledger's count; "Nothing right now." answered but asked for nothing.
        ("2026-11", 8, 3, 38, (("Podcasts", 1), ("Citations", 1))),
        # The three most asked-about topics only.
        ("2026-12", 6, 5, 83, (("Moodle", 4), ("Podcasts", 1), ("Citations", 1))),
    ]
    assert trends.rate_spark == sparkline([33, 38, 83]) == "▄▄█"


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ({}, [6, 6, 6]),
        ({"2026-10": 10, "2026-12": 7}, [10, 6, 7]),
        ({"2026-11": 0}, [6, 6, 6]),  # a zero count falls back too
        ({"2027-01": 99}, [6, 6, 6]),  # other cycles' counts are ignored
    ],
)
def test_build_trends_asked_from_the_map_or_the_roster(
    asked: dict[str, int], expected: list[int]
) -> None:
    trends = build_trends(THREE, TAGGER.tag, asked)
    assert [p.asked for p in trends.points] == expected


def test_build_trends_topics_aligned_with_cycles() -> None:
    trends = build_trends(THREE, TAGGER.tag, {})
    assert [(t.topic, t.counts, t.total, t.spark) for t in trends.topics] == [
        ("Moodle", (2, 0, 4), 6, "▅·█"),
        ("Podcasts", (1, 1, 1), 3, "███"),
        ("Citations", (0, 1, 1), 2, "·██"),
    ]


@pytest.mark.parametrize(
    ("top_topics", "names"),
    [(1, ["Moodle"]), (2, ["Moodle", "Podcasts"]), (5, ["Moodle", "Podcasts", "Citations"])],
)
def test_build_trends_top_topics(top_topics: int, names: list[str]) -> None:
    trends = build_trends(THREE, TAGGER.tag, {}, top_topics=top_topics)
    assert [t.topic for t in trends.topics] == names


def test_build_trends_only_counts_active_teachers_as_answered() -> None:
    [point] = build_trends([OCTOBER], TAGGER.tag, {}).points
    assert len(OCTOBER.answered) == 3  # old@ answered
    assert (point.asked, point.answered) == (6, 2)


def test_build_trends_of_nothing() -> None:
    trends = build_trends([], TAGGER.tag, {})
    assert (trends.cycles, trends.points, trends.topics, trends.rate_spark) == ((), (), (), "")


# -- build_year --------------------------------------------------------------------------------


def test_build_year_units_by_team_and_cycle() -> None:
    year = build_year(THREE)
    assert year.cycles == ("2026-10", "2026-11", "2026-12")
    assert list(year.rows) == [
        ("(no team)", ((), (), ("Drawing",))),
        # "Ancient Egypt" twice in October is shown once; Lu's blank answer adds nothing.
        ("Grade 6", (("Ancient Egypt",), ("Poetry",), ("Persuasive essays", "Cells"))),
        # María's "n/a" is no unit; old@ (inactive) named Rome in October.
        ("Grade 7", (("Rome",), (), ("Ecosystems",))),
    ]


@pytest.mark.parametrize(
    ("answers", "rows"),
    [
        ([], []),
        ([("ann", "x", "n/a"), ("raj", "x", ""), ("kim", "x", "None")], []),
        ([("ann", "x", " Cells "), ("raj", "x", "Cells")], [("Grade 6", (("Cells",),))]),
        # Different spellings are different units (nothing is guessed).
        ([("ann", "x", "Cells"), ("raj", "x", "cells")], [("Grade 6", (("Cells", "cells"),))]),
        (
            [("maria", "", "Rome"), ("sam", "", "Clay"), ("ann", "", "Egypt")],
            [("(no team)", (("Clay",),)), ("Grade 6", (("Egypt",),)), ("Grade 7", (("Rome",),))],
        ),
    ],
)
def test_build_year_one_cycle(answers: list[Answer], rows: list[object]) -> None:
    year = build_year([collection("2026-12", answers)])
    assert year.cycles == ("2026-12",)
    assert list(year.rows) == rows


def test_build_year_shows_a_long_unit_shortened() -> None:
    essay = "Ancient Egypt and the Nile " * 8000 + "end"
    view = build_year([collection("2026-10", [("ann", "Help", essay)])])
    [(team, [cell])] = view.rows
    [units] = cell
    assert team == "Grade 6"
    assert len(units) <= 2_000
    assert units.startswith("Ancient Egypt") and units.endswith(
        f"[shortened from {len(essay):,} characters]"
    )


# -- counting: each answer's topics, in the order answers come -----------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["Moodle", "Podcasts", "Citations", "Canva"]), max_size=3),
        min_size=5,
        max_size=5,
    )
)
def test_build_trends_counts_as_each_answer_adds_its_topics(topics: list[list[str]]) -> None:
    # Topics kept for each answer (a topic may even be kept twice): the counts, and the order
    # of topics with equal counts, are those of adding each answer's topics in turn.
    known = {
        ("2026-12", addr(who)): tuple(kept)
        for who, kept in zip(["ann", "raj", "kim", "maria", "sam"], topics, strict=True)
    }
    expected: Counter[str] = Counter()
    for teacher, _ in DECEMBER.answered:
        expected.update(known[("2026-12", teacher.email)])
    trends = build_trends([DECEMBER], TAGGER.tag, {}, known=known)
    assert trends.points[0].top == tuple(expected.most_common(3))
    assert [(t.topic, t.counts) for t in trends.topics] == [
        (name, (n,)) for name, n in expected.most_common(5)
    ]
