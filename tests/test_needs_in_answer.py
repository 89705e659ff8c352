"""One answer, several needs: which topics each kind of help is about, and the plan's
sessions built from what teachers want to learn, not from what they asked beside it."""

from __future__ import annotations

import pytest
from test_digest_plan import build, resp

from pdmail.digest.build import lessons_agree, split_by_kind
from pdmail.digest.reading import topics_by_kind
from pdmail.digest.taxonomy import (
    ASSISTIVE,
    BOOKING,
    BOOKS,
    COPYRIGHT,
    DEFAULT_TOPICS,
    DESIGN,
    DEVICES,
    LESSONS,
    MAKING,
    READING,
    RESEARCH,
    VIDEO,
    WORKSPACE,
)
from pdmail.digest.topics import Tagger
from pdmail.models import LEARNING, LESSON, TASK

TAGGER = Tagger(DEFAULT_TOPICS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Could you pull books on volcanoes? And could you show me Canva?",
            ((TASK, (BOOKS,)), (LEARNING, (DESIGN,))),
        ),
        (
            "The printer in 214 is jammed again. Also how do I use WeVideo for our projects?",
            ((TASK, (DEVICES,)), (LEARNING, (VIDEO,))),
        ),
        (
            # a topic named only in a sentence of context goes with every kind asked
            "We're doing a robots unit! Could you show me how the Ozobots work?",
            ((LEARNING, (MAKING,)),),
        ),
        (
            "Could you do a book talk for my class on Dec 9? And please pull 30 graphic novels.",
            ((TASK, (BOOKS,)), (LESSON, (LESSONS,))),
        ),
    ],
)
def test_topics_by_kind(text: str, expected: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    evidence = TAGGER.explain(text)
    got = dict(topics_by_kind(text, evidence))
    for kind, topics in expected:
        assert set(topics) <= set(got[kind]), (kind, got)
    assert {k for k, _ in expected} == set(got)


def test_a_booking_is_a_task_whatever_the_wording() -> None:
    text = "Our library time is Mondays at 2. Could my class come Thursday instead this week?"
    kinds = dict(split_by_kind(text, TAGGER.explain(text)))
    assert TASK in kinds and BOOKING in kinds[TASK]


def test_session_is_on_what_the_teacher_wants_to_learn() -> None:
    # Three teachers ask for books (a task) and, beside it, to learn a tool; the books are
    # the most shared topic, but the sessions must be on the tools.
    digest = build(
        [
            resp("ann", 2, "Please pull books on volcanoes. Could you also show me Canva?"),
            resp("raj", 3, "Books on weather please! And could you show me Canva too?"),
            resp("maria", 4, "Pull some picture books on winter? How do I use Canva?"),
        ]
    )
    assert digest.proposals, "learning needs must be planned"
    assert {p.topic for p in digest.proposals} == {DESIGN}
    assert sum(len(p.need_ids) for p in digest.proposals) == 3
    assert all(BOOKS in n.topics_for(TASK) for n in digest.to_do)


@pytest.mark.parametrize(
    ("text", "has_lessons"),
    [
        # "lessons" named, none asked for
        ("The Common Sense lessons are ok but dated. Anything newer on group chats?", False),
        ("Please make sure videos used in library lessons are captioned.", False),
        # a class lesson asked for without the word
        ("Could you do a 1-period workshop for my AP Sem kids? Week of 12/7 is best.", True),
        ("Could you do a book talk for my class when we come Tuesday?", True),
        ("Research lesson for my Bio classes on Dec 15?", True),
    ],
)
def test_the_lessons_topic_goes_with_a_lesson_asked_for(text: str, has_lessons: bool) -> None:
    evidence = lessons_agree(text, TAGGER.explain(text), TAGGER)
    assert (LESSONS in dict(evidence)) is has_lessons
    if has_lessons:
        assert all(words for _, words in evidence)  # every tag says why


def test_a_school_without_the_lessons_topic_gets_none_added() -> None:
    tagger = Tagger(tuple(t for t in DEFAULT_TOPICS if t.name != LESSONS))
    text = "Could you do a 1-period workshop for my AP Sem kids?"
    assert LESSONS not in dict(lessons_agree(text, tagger.explain(text), tagger))


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("When I make a copy of a doc for each student, comments vanish", WORKSPACE, BOOKS),
        ("Could you pull all the different versions of the Gingerbread Man?", BOOKS, None),
        ("Our kids need Read&Write to work on the Gale articles", None, RESEARCH),
        ("Could you help them find sources for the argument essay?", RESEARCH, None),
        ("Seesaw won't save when kids record their voice", VIDEO, None),
        ("Do we have audio recorders to check out?", VIDEO, None),
        ("Need articles + audio in Spanish", None, VIDEO),
        ("Could we do a Battle of the Books team this spring?", READING, BOOKS),
        ("Battle of the Books: can we get extra copies of the list?", BOOKS, None),
        ("Are we allowed to show Disney movies at the holiday party?", COPYRIGHT, None),
        ("Can I book the gym for Friday?", BOOKING, BOOKS),
        ("Could you book a testing room for Tuesday?", BOOKING, BOOKS),
        ("Can you help me make my slides readable for a colorblind student?", ASSISTIVE, None),
    ],
)
def test_words_read_in_context(text: str, present: str | None, absent: str | None) -> None:
    topics = TAGGER.tag(text)
    if present:
        assert present in topics
    if absent:
        assert absent not in topics
