"""Topics: word stems, tagging help requests, the taxonomy from the config, formats, requests."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Project
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail.config.records import Taxonomy, Topic
from pdmail.digest.taxonomy import CONTEXT_SOURCES
from pdmail.digest.topics import (
    DEFAULT_TOPICS,
    Tagger,
    is_request,
    normalize_format,
    normalize_formats,
    split_formats,
    stem,
    stems,
)
from pdmail.errors import ConfigError

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
        ("Can you help with podcasting?", ["Video, audio and podcasts"]),
        ("We are starting podcasts next week", ["Video, audio and podcasts"]),
        ("Our works cited pages are a mess", ["Citation"]),
        ("Works\ncited", ["Citation"]),
        ("Green screen filming", ["Video, audio and podcasts"]),
        ("A screen that is green", []),  # a phrase matches its words in a row only
        ("Chicago style notes", ["Citation"]),
        ("The style of Chicago", []),
        ("My students keep citing Wikipedia", ["Citation"]),
        ("EBSCO and the other databases", ["Databases"]),
        ("The printer in room 4 is jammed", ["Devices and hardware"]),
        ("Laminating posters for the hallway", ["Printing and copies"]),
        ("Family messages in Seesaw", ["LMS"]),
        (
            "A research project with a podcast, and books for the unit",
            ["Books and collection", "Research skills", "Video, audio and podcasts"],
        ),
        (
            "Google Slides, then a Kahoot, then a lesson about fake news",
            ["Source evaluation and media literacy", "Google Workspace", "Interactive tools",
             "Lessons and co-teaching"],
        ),
        ("Can you cover my lunch duty?", []),
        ("", []),
        ("n/a", []),
    ],
)  # fmt: skip
def test_tagging(text: str, topics: list[str]) -> None:
    assert list(DEFAULTS.tag(text)) == topics


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Can you show me how to use Kami with PDFs?", "Interactive tools"),
        ("Our Kurzweil licenses expired", "Assistive technology"),
        ("Our Kurzweil licenses expired", "Accounts and logins"),
        ("Is Copyleaks any better than Turnitin?", "Academic integrity"),
        ("Could we plan an author visit in March?", "Reading promotion"),
        ("The Apple TV in 112 won't connect", "Devices and hardware"),
        ("Kids want to edit in CapCut", "Video, audio and podcasts"),
        ("Do we have LEGO Spike kits for robotics club?", "Coding and making"),
        ("Can we get BookFlix for K-2?", "Ebooks and audiobooks"),
        ("Students keep using Midjourney for their art", "AI tools"),
        ("How do I teach Boolean operators?", "Research skills"),
        ("Can you explain hanging indent in Docs?", "Citation"),
        ("Is there a media bias chart you like?", "Source evaluation and media literacy"),
        ("My grade 5 group chat drama", "Digital citizenship"),
        ("PowerSchool won't sync report cards", "Gradebook and SIS"),
    ],
)
def test_brands_and_words_beyond_the_first_list(text: str, topic: str) -> None:
    assert topic in DEFAULTS.tag(text)


# Words in context: brand names match exactly, and a few everyday words are read around.
@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("Can you show me Canva? My newsletter is ugly", "Presentation and design", "LMS"),
        ("Canvas quiz settings keep resetting", "LMS", "Presentation and design"),
        ("My kids love Epic during read to self", "Ebooks and audiobooks", ""),
        ("We are starting an epic unit on the Odyssey", "", "Ebooks and audiobooks"),
        ("Epic poetry: Beowulf and Gilgamesh", "", "Ebooks and audiobooks"),
        ("Could I book the lab on Dec 8?", "Booking spaces", "Books and collection"),
        ("I'd like to book the library for a FAFSA night", "Booking spaces",
         "Books and collection"),
        ("Grade 7 would love some graphic novels", "Books and collection", "Gradebook and SIS"),
        ("Grades 3-5 team: books on weather", "Books and collection", "Gradebook and SIS"),
        ("PowerSchool grade sync is broken", "Gradebook and SIS", ""),
        ("My students just google it and copy the first result", "Research skills",
         "Google Workspace"),
        ("How do I lock a quiz in Google Forms?", "Google Workspace", ""),
        ("Clever badges for my kinders", "Accounts and logins", ""),
        ("Any clever ideas for a book display?", "Books and collection", "Accounts and logins"),
        ("3D printing the bridge models", "Coding and making", "Printing and copies"),
        ("Large print copies for a student with low vision", "Assistive technology", ""),
        ("The doc cam in 118 won't show up", "Devices and hardware", "Google Workspace"),
        ("Books for my classroom library", "Books and collection", "LMS"),
        ("Posting assignments in Google Classroom", "LMS", ""),
        ("MagicSchool and ChatGPT at our PLC", "AI tools", ""),
        ("Is Turnitin's AI detector reliable?", "Academic integrity", ""),
        ("Sora audiobooks for my ELLs", "Ebooks and audiobooks", ""),
        ("The copier on the 2nd floor is jammed again", "Devices and hardware",
         "Printing and copies"),
        ("Could you print 130 copies? Sent it to the library printer", "Printing and copies",
         "Devices and hardware"),
        ("The 3D printer keeps failing mid-print", "Coding and making", "Printing and copies"),
        ("The novel, plus an audio version for two students", "Ebooks and audiobooks",
         "Video, audio and podcasts"),
        ("Is there a fables set in the book room?", "Books and collection", "Booking spaces"),
        ("Students keep turning in lab reports that sound like ChatGPT", "Academic integrity",
         "Booking spaces"),
        ("Show them Sora on their chromebooks", "Ebooks and audiobooks", "Devices and hardware"),
        ("Three chromebooks in my cart won't charge", "Devices and hardware", ""),
        ("Could you teach my 3rd graders how to use the catalog?", "Lessons and co-teaching", ""),
        ("It says our class code expired", "Accounts and logins", "Coding and making"),
        ("Could you pull books on the Lakota for our regions research?", "Books and collection",
         "Research skills"),
        ("My students need help with research questions", "Research skills", ""),
        ("Can you find approved videos on puberty?", "Books and collection",
         "Video, audio and podcasts"),
        ("A recording or streaming version of the play we can show", "",
         "Video, audio and podcasts"),
        ("A lesson on spotting misleading charts", "Source evaluation and media literacy",
         "Presentation and design"),
        ("A one-pager on screen time I'd put in my newsletter", "Digital citizenship",
         "Presentation and design"),
        ("Hour of Code with Ozobots next week", "Coding and making", ""),
        ("They keep watching videos during practice time", "", "Video, audio and podcasts"),
        ("Editing our podcast in Soundtrap", "Video, audio and podcasts", ""),
        ("Help with my lesson plans in Canva", "Presentation and design",
         "Lessons and co-teaching"),
    ],
)  # fmt: skip
def test_words_in_context(text: str, present: str, absent: str) -> None:
    topics = DEFAULTS.tag(text)
    assert not present or present in topics, topics
    assert not absent or absent not in topics, topics


def test_every_tag_carries_the_words_that_decided_it() -> None:
    assert DEFAULTS.explain("Could we book the lab and get Canva logins? Also books on Mars") == (
        ("Books and collection", ("books",)),
        ("Accounts and logins", ("logins",)),
        ("Presentation and design", ("Canva",)),
        ("Booking spaces", ("book the lab",)),
    )


@pytest.mark.parametrize(
    "text",
    ["İİ books on İstanbul", "books İ0", "ẞ books", "ﬁx books", "\u212a books", "books\u0130"],
)
def test_text_that_lower_casing_lengthens_is_read_without_losing_its_place(text: str) -> None:
    assert DEFAULTS.explain(text) == (("Books and collection", ("books",)),)


class _EveryRule(Tagger):
    """A tagger that runs every context rule over every answer, searching each by its plain
    pattern: what the quick one (rules woken by the answer's words, searched lower-cased)
    must agree with."""

    def _rules_for(self, low: str) -> list[int]:
        return list(range(len(self._scan)))

    @functools.cached_property
    def _scan(self) -> Any:
        return tuple(
            (_Plain(re.compile(source, flags)), None, topic) for source, flags, topic in self._rules
        )


class _Plain:
    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def spans(self, text: str, low: str | None = None) -> Iterator[tuple[int, int]]:
        return (m.span() for m in self.pattern.finditer(text))


_SLOW = _EveryRule(DEFAULT_TOPICS)
# Words of the keywords and of the context rules, in any case, with letters outside ASCII.
_TAG_WORDS = sorted(
    {w for t in DEFAULT_TOPICS for k in t.keywords for w in k.split()}
    | {w for p, _ in CONTEXT_SOURCES for w in re.findall(r"[a-z]{3,}", p)}
)
_ANSWERS = st.lists(
    st.sampled_from([*_TAG_WORDS, "the", "a", "my", "?", ".", "7", "’", "é", "İ", "ſ", "\n"]),
    max_size=20,
).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(text=_ANSWERS, case=st.sampled_from([str, str.upper, str.title]))
def test_the_quick_tagger_reads_as_every_rule_would(text: str, case: Any) -> None:
    text = case(text)
    assert Tagger(DEFAULT_TOPICS).explain(text) == _SLOW.explain(text)


@pytest.mark.parametrize(
    "text",
    [
        "Could we book the lab for Grade 7? Google it first",
        "BOOK THE LAB ON TUESDAY — GRADE 7",
        "an epic unit on Epic books, and the book fair",
        "I’d like help with NoodleTools citations for my 8th graders",
        "Print the Kahoot quiz; the printer in 204 is jammed",
    ],
)
def test_answers_as_written_are_read_as_every_rule_would(text: str) -> None:
    assert Tagger(DEFAULT_TOPICS).explain(text) == _SLOW.explain(text)


def test_a_context_rule_for_a_dropped_topic_leaves_its_words_to_the_keywords() -> None:
    tagger = Tagger((Topic("Citing", ("cite",)),))
    assert tagger.explain("How do we cite sources?") == (("Citing", ("cite",)),)


def read_tagger(project: Project, taxonomy: dict[str, Any]) -> Tagger:
    project.write_config({"taxonomy": taxonomy})
    return Tagger.from_taxonomy(project.config().taxonomy)


def test_config_topics_extend_the_defaults(project: Project) -> None:
    tagger = read_tagger(
        project, {"topics": [{"name": "Chess club", "keywords": ["chess", "Chess Kids"]}]}
    )
    assert [t.name for t in tagger.topics] == [*DEFAULT_NAMES, "Chess club"]
    assert tagger.tag("Chess sets for the chess kids") == ("Chess club",)
    assert tagger.tag("Checkers") == ()
    assert tagger.tag("Chess and a podcast") == ("Video, audio and podcasts", "Chess club")


@pytest.mark.parametrize("name", ["Presentation and design", "presentation AND design"])
def test_a_config_topic_with_a_default_name_replaces_it(project: Project, name: str) -> None:
    tagger = read_tagger(project, {"topics": [{"name": name, "keywords": ["substack"]}]})
    assert len(tagger.topics) == len(DEFAULT_TOPICS)
    assert tagger.tag("a Canva poster") == ()
    assert tagger.tag("Substack newsletters") == (name.strip(),)
    # It keeps the default's place in the order.
    assert [t.name.lower() for t in tagger.topics] == [n.lower() for n in DEFAULT_NAMES]


def test_a_built_in_topic_renamed_keeps_its_place_keywords_and_context(project: Project) -> None:
    tagger = read_tagger(
        project,
        {"topics": [{"name": "Reserving rooms", "replaces": "Booking spaces",
                     "keep_keywords": True, "keywords": ["gym"]}]},
    )  # fmt: skip
    names = [t.name for t in tagger.topics]
    assert "Booking spaces" not in names
    assert names.index("Reserving rooms") == DEFAULT_NAMES.index("Booking spaces")
    assert tagger.tag("Could I book the lab on Friday?") == ("Reserving rooms",)  # context rule
    assert tagger.tag("The gym for Friday's assembly?") == ("Reserving rooms",)
    assert tagger.tag("a quiet room for testing") == ("Reserving rooms",)  # built-in keyword


def test_keep_keywords_extends_a_built_in_topic(project: Project) -> None:
    tagger = read_tagger(
        project, {"topics": [{"name": "AI tools", "keep_keywords": True, "keywords": ["Mizou"]}]}
    )
    assert tagger.tag("Mizou chatbots") == ("AI tools",)
    assert tagger.tag("ChatGPT for lesson plans") == ("AI tools",)


@pytest.mark.parametrize(
    ("topic", "key", "words"),
    [
        ({"name": "X", "replaces": "AI tool", "keywords": ["x"]}, "replaces", "'AI tools'"),
        ({"name": "Robots", "keep_keywords": True}, "keep_keywords", "not a built-in topic"),
        ({"name": "Robots"}, "keywords", "non-empty list"),
    ],
)
def test_taxonomy_mistakes_name_the_key(
    project: Project, topic: dict[str, Any], key: str, words: str
) -> None:
    project.write_config({"taxonomy": {"topics": [topic]}})
    with pytest.raises(ConfigError) as caught:
        project.config()
    text = f"{caught.value.message} {caught.value.hint}"
    assert f"taxonomy.topics[0].{key}" in text and words in text


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
    ("cell", "expected"),
    [
        ("At our team meeting, After school or online", "small group, team meeting"),
        (
            "One-on-one, Small group, At our team meeting, Email me a guide, "
            "After school or online",
            "one-on-one, small group, team meeting, written guide",
        ),
        ("Email me a guide", "written guide"),
        ("Visit our team meeting, please", "team meeting"),
        ("", ""),
        ("  Coffee chat ", "Coffee chat"),
    ],
)
def test_normalize_formats_keeps_every_ticked_box(cell: str, expected: str) -> None:
    assert normalize_formats(cell) == expected
    assert split_formats(expected) == tuple(f for f in expected.split(", ") if f)


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
        ("nope thank u!!", False),
        ("n/a merci!", False),
        ("no, I'm good 🙂", False),
        ("👍 all good", False),
        ("I'm all set!", False),
        ("nothing rn", False),
        ("Not this month — swamped with grading 😵", False),
        ("Not this month, sorry! Swamped with progress reports.", False),
        ("Thanks for the books last month! The kids loved them.", False),
        ("Thank you for the dinosaur books!! Nothing new", False),
        ("todo bien este mes, gracias :)", False),
        ("Nada por ahora, gracias", False),
        ("Ignore my first response - we sorted it out. All good.", False),
        # a need put off until later, next to a decline, is no need yet
        ("Not now, maybe in January", False),
        ("Nothing yet, maybe a podcast in February", False),
        ("I'm good, thank you! I'll probably need the cart next month though", False),
        ("Help with citations", True),
        ("No idea how to use EBSCO", True),
        ("Not much. Maybe some historical fiction for the classroom library?", True),
        ("Nothing big, but could you pull books on volcanoes?", True),
        ("Thanks for last month! Could you pull books on volcanoes?", True),
        ("Necesito libros en español para mi clase", True),
        ("Mostly good. Maybe a reminder of how NoodleTools sharing works?", True),
        ("A research lesson in January, before the 1/22 due date", True),
        ("no way to print from the chromebooks, please help", True),
    ],
)
def test_is_request(text: str, asks: bool) -> None:
    assert is_request(text) is asks
