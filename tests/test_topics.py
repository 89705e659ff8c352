"""Topics: word stems, tagging help requests, the taxonomy from the config, formats, requests."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Project

from pdmail.config import Taxonomy, Topic
from pdmail.topics import DEFAULT_TOPICS, Tagger, is_request, normalize_format, stem, stems

DEFAULTS = Tagger.from_taxonomy(Taxonomy())
DEFAULT_NAMES = [t.name for t in DEFAULT_TOPICS]


@pytest.mark.parametrize(
    "words",
    [
        ("podcast", "podcasts", "podcasting", "Podcast", "PODCASTS"),
        ("library", "libraries"),
        ("database", "databases"),
        ("blog", "blogs", "blogging"),
        ("print", "printing", "prints", "printed"),
        ("cite", "cited", "citing", "cites"),
        ("record", "recording", "recorded", "records"),
        ("source", "sources"),
        ("class", "classes"),
        ("video", "videos"),
    ],
)
def test_related_forms_share_a_stem(words: tuple[str, ...]) -> None:
    assert len({stem(w) for w in words}) == 1, {w: stem(w) for w in words}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("print", "printer"),  # different keywords in the taxonomy, kept apart
        ("book", "blog"),
        ("cite", "city"),
        ("ai", "aid"),
    ],
)
def test_unrelated_words_keep_different_stems(a: str, b: str) -> None:
    assert stem(a) != stem(b)


@pytest.mark.parametrize(
    ("word", "expected"),
    [("podcasting", "podcast"), ("libraries", "library"), ("blogging", "blog"), ("ai", "ai")],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_stems_splits_on_anything_but_letters_and_digits() -> None:
    assert stems("MLA-style Works Cited, 2nd draft!") == [
        stem(w) for w in ("mla", "style", "works", "cited", "2nd", "draft")
    ]


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("Can you help with podcasting?", ["Podcasting and video"]),
        ("We are starting podcasts next week", ["Podcasting and video"]),
        ("Our works cited pages are a mess", ["Research and citation"]),
        ("Works\ncited", ["Research and citation"]),
        ("Green screen filming", ["Podcasting and video"]),
        ("A screen that is green", []),  # a phrase matches its words in a row only
        ("Chicago style notes", ["Research and citation"]),
        ("The style of Chicago", []),
        ("My students keep citing Wikipedia", ["Research and citation"]),
        ("EBSCO and the other databases", ["Databases"]),
        ("The printer in room 4 is jammed", ["Devices and printers"]),
        ("Printing posters", ["Devices and printers"]),
        ("Blogging with Seesaw", ["Blogging"]),
        (
            "A research project with a podcast, and books for the unit",
            ["Research and citation", "Podcasting and video", "Books and collection"],
        ),
        (
            "Google Slides, then printing, then a blog post about fake news",
            ["Google Workspace", "Devices and printers", "Blogging", "Digital citizenship"],
        ),
        ("Can you cover my lunch duty?", []),
        ("", []),
        ("n/a", []),
    ],
)
def test_tagging(text: str, topics: list[str]) -> None:
    assert list(DEFAULTS.tag(text)) == topics


def read_tagger(project: Project, taxonomy: dict[str, Any]) -> Tagger:
    project.write_config({"taxonomy": taxonomy})
    return Tagger.from_taxonomy(project.config().taxonomy)


def test_config_topics_extend_the_defaults(project: Project) -> None:
    tagger = read_tagger(
        project, {"topics": [{"name": "Robotics", "keywords": ["robot", "Lego League"]}]}
    )
    assert [t.name for t in tagger.topics] == [*DEFAULT_NAMES, "Robotics"]
    assert tagger.tag("Robots for the lego league team") == ("Robotics",)
    assert tagger.tag("Lego bricks") == ()
    assert tagger.tag("Robots and a podcast") == ("Podcasting and video", "Robotics")


@pytest.mark.parametrize("name", ["Blogging", "blogging", " BLOGGING "])
def test_a_config_topic_with_a_default_name_replaces_it(project: Project, name: str) -> None:
    tagger = read_tagger(project, {"topics": [{"name": name, "keywords": ["substack"]}]})
    assert len(tagger.topics) == len(DEFAULT_TOPICS)
    assert tagger.tag("my class blog") == ()
    assert tagger.tag("Substack newsletters") == (name.strip(),)
    # It keeps the default's place in the order.
    assert [t.name.lower() for t in tagger.topics] == [n.lower() for n in DEFAULT_NAMES]


def test_use_defaults_false_keeps_only_the_config_topics(project: Project) -> None:
    tagger = read_tagger(
        project,
        {"use_defaults": False, "topics": [{"name": "Makerspace", "keywords": ["3d print"]}]},
    )
    assert tagger.topics == (Topic("Makerspace", ("3d print",)),)
    assert tagger.tag("3D printing a bridge") == ("Makerspace",)
    assert tagger.tag("a podcast about research") == ()


def test_no_topics_at_all_tags_nothing(project: Project) -> None:
    tagger = read_tagger(project, {"use_defaults": False})
    assert (tagger.topics, tagger.tag("podcast research books")) == ((), ())


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Small group", "small group"),
        ("small GROUP session", "small group"),
        ("After school", "small group"),
        ("One-on-one", "one-on-one"),
        ("one on one", "one-on-one"),
        ("1:1 please", "one-on-one"),
        ("Just me", "one-on-one"),
        ("Visit our team meeting", "team meeting"),
        ("PLC", "team meeting"),
        ("Department meeting", "team meeting"),
        ("A written guide", "written guide"),
        ("Handout", "written guide"),
        ("Email me", "written guide"),
        ("team   meeting", "team meeting"),
        ("", ""),
        ("   ", ""),
        ("  Coffee chat ", "Coffee chat"),
    ],
)
def test_normalize_format(answer: str, expected: str) -> None:
    assert normalize_format(answer) == expected


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("n/a", False),
        ("N/A", False),
        ("NA", False),
        ("Nothing right now.", False),
        ("nothing right now!", False),
        ("  None  ", False),
        ("none.", False),
        ("No thanks.", False),
        ("All good!", False),
        ("Not at this time", False),
        ("-", False),
        ("", False),
        ("   ", False),
        ("Help with citations", True),
        ("No idea how to use EBSCO", True),
        ("Not now, maybe in January", True),
        ("Nothing yet but a podcast in February", True),
    ],
)
def test_is_request(text: str, asks: bool) -> None:
    assert is_request(text) is asks
