"""The digest's long Markdown lists written by pdmail.mail.markdown: byte for byte what
digest.md.j2's loops over the same needs wrote (that template is kept as
tests/data/digest-render/digest.md.j2, and renders as a school's own copy would), with every
teacher's word escaped as the md filter escapes it."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdmail.digest.build import Digest, FirstHand, Need, Person, TeamSummary, TopicGroup
from pdmail.digest.plan import Proposal
from pdmail.digest.taxonomy import BOOKING, BOOKS, EBOOKS, PRINTING
from pdmail.digest.when import NO_DATE, Wanted
from pdmail.errors import TemplateError
from pdmail.mail.markdown import (
    carried_lines,
    escaper,
    md_escape,
    md_join,
    topic_lines,
    when,
)
from pdmail.mail.templates import Templates
from pdmail.models import LEARNING, LESSON, TASK, NeedKind

LOOPS = Path(__file__).parent / "data" / "digest-render"
CYCLE = "2027-05"
GENERATED = datetime(2027, 5, 13, 9, 30)

# Markdown's markup, HTML, line breaks, Jinja's own delimiters and letters beyond ASCII.
AWKWARD = st.text(
    alphabet=st.sampled_from([*"ab Z09*_`[]|~\\<>&#-.!\n\t\r{}%()\"'", "é", "漢", "🙂"]),
    max_size=30,
)
TASK_TOPICS = [BOOKS, EBOOKS, PRINTING, BOOKING]
WANTED = st.sampled_from(
    [
        NO_DATE,
        Wanted(dates=(date(2027, 5, 20),), words=("by May 20",)),
        Wanted(dates=(date(2027, 5, 2), date(2027, 6, 1)), words=("May 2", "June 1")),
        Wanted(asap=True, words=("asap",)),
        Wanted(dates=(date(2027, 5, 13),), asap=True, words=("ASAP", "May 13")),
        Wanted(words=("before winter break",)),
        Wanted(words=("after *spring* break", "[soon]")),
    ]
)


@st.composite
def needs(draw: st.DrawFn, cycle: str | None = None) -> Need:
    kinds: list[NeedKind] = draw(
        st.lists(st.sampled_from([TASK, LEARNING, LESSON]), unique=True, max_size=3)
    )
    return Need(
        id=draw(st.text(alphabet="0123456789abcdef", min_size=10, max_size=10)),
        cycle=cycle or draw(st.sampled_from(["2026-09", "2027-04", CYCLE])),
        email="t@school.example.org",
        teacher=draw(AWKWARD),
        team=draw(AWKWARD),
        text=draw(AWKWARD),
        # The to-do list batches books to pull by team and unit.
        topics=tuple(draw(st.lists(st.one_of(AWKWARD, st.sampled_from(TASK_TOPICS)), max_size=2))),
        format=draw(st.sampled_from(["", "small group", "one-on-one, team meeting", "a*b"])),
        status=draw(st.sampled_from(["open", "scheduled", "done"])),
        note=draw(st.one_of(st.just(""), AWKWARD)),
        age=draw(st.sampled_from([0, 1, 2, 11])),
        kinds=tuple(kinds),
        units=draw(st.one_of(st.just(""), AWKWARD)),
        wanted=draw(WANTED),
        submitted=draw(st.sampled_from([None, datetime(2027, 5, 3, 8, 0)])),
        by_kind=draw(st.sampled_from([(), ((LESSON, ("Lessons", "a_b")),), ((TASK, (BOOKS,)),)])),
    )


people = st.builds(Person, email=st.just("p@school.example.org"), name=AWKWARD, team=AWKWARD)
proposals = st.builds(
    Proposal,
    kind=st.just("small group"),
    topic=AWKWARD,
    title=AWKWARD,
    teachers=st.lists(AWKWARD, max_size=3).map(tuple),
    emails=st.lists(st.just("t@school.example.org"), max_size=3).map(tuple),
    teams=st.just(()),
    need_ids=st.just(()),
    stage=st.just("standard"),
    lead=AWKWARD,
    support=st.one_of(st.just(""), AWKWARD),
    specialists=st.just(()),
)
first_hand = st.builds(
    FirstHand,
    email=st.just("f@school.example.org"),
    name=AWKWARD,
    team=AWKWARD,
    reason=AWKWARD,
    answered=st.booleans(),
    needs=st.lists(AWKWARD, max_size=2).map(tuple),
)


@st.composite
def digests(draw: st.DrawFn) -> Digest:
    this_month = draw(st.lists(needs(CYCLE), max_size=6))
    carried = draw(st.lists(needs(), max_size=6))
    everyone = [*this_month, *carried]
    groups = tuple(
        TopicGroup(
            topic=draw(AWKWARD),
            needs=tuple(draw(st.lists(st.sampled_from(everyone), max_size=5))) if everyone else (),
            teams=tuple(draw(st.lists(AWKWARD, max_size=3))),
            formats=(("small group", 2),),
            suggestion="",
            stage=draw(st.sampled_from(["standard", "learning"])),
            lead=draw(AWKWARD),
            support=draw(st.one_of(st.just(""), AWKWARD)),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    units = st.lists(st.tuples(AWKWARD, AWKWARD), max_size=4).map(tuple)
    return Digest(
        school="Lincoln MS",
        cycle=CYCLE,
        generated=GENERATED,
        asked=10,
        answered=4,
        teams=tuple(
            TeamSummary(draw(AWKWARD), 3, 1, draw(units)) for _ in range(draw(st.integers(0, 3)))
        ),
        topics=groups,
        untagged=tuple(n for n in this_month if not n.topics),
        formats=(),
        non_responders=tuple(draw(st.lists(people, max_size=4))),
        strangers=(),
        problems=(),
        carried_over=tuple(carried),
        no_need=tuple(draw(st.lists(people, max_size=4))),
        proposals=tuple(draw(st.lists(proposals, max_size=3))),
        first_hand=tuple(draw(st.lists(first_hand, max_size=3))),
    )


def context(digest: Digest) -> dict[str, Any]:
    return {
        "school": "Lincoln MS",
        "campaign": "monthly-update",
        "librarian": {"name": "Jo", "email": "jo@school.example.org"},
        "cycle": {"name": CYCLE, "month": "May 2027"},
        "digest": digest,
        "needs_table": "needs.csv",
    }


BUILT_IN = Templates()
LOOPED = Templates(LOOPS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digests())
def test_the_digest_reads_as_the_loops_wrote_it(digest: Digest) -> None:
    ctx = context(digest)
    assert BUILT_IN.render("digest.md.j2", ctx) == LOOPED.render("digest.md.j2", ctx)


@settings(max_examples=200, deadline=None)
@given(st.lists(needs(), max_size=5), st.sampled_from([CYCLE, "2026-09"]))
def test_each_list_is_the_loop_over_its_needs(items: list[Need], cycle: str) -> None:
    env = BUILT_IN.env
    carried = env.from_string(
        "{% for n in needs %}\n"
        '- **{{ n.teacher|md }}** ({{ n.team|md }}), {{ n.status }} since {{ n.cycle }} ({{ n.age }} {{ n.age|plural("month") }}): {{ n.text|md }}{{ " (" ~ n.note|md ~ ")" if n.note }} `{{ n.id }}`\n'  # noqa: E501
        "{% endfor %}\n"
    )
    topic = env.from_string(
        "{% for need in needs %}\n"
        '- **{{ need.teacher|md }}** ({{ need.team|md }}{{ ", " ~ need.format|md if need.format }}{{ ", " ~ need.status if need.status != "open" }}{{ ", from " ~ need.cycle if need.cycle != cycle }}): {{ need.text|md }}\n'  # noqa: E501
        "{% endfor %}\n"
    )
    assert carried_lines(items) == carried.render(needs=items)
    assert topic_lines(items, cycle) == topic.render(needs=items, cycle=cycle)


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (NO_DATE, "no date"),
        (Wanted(dates=(date(2027, 5, 20),), words=("by May 20",)), 'Thu May 20 ("by May 20")'),
        (Wanted(dates=(date(2027, 5, 2),), words=("May 2",)), 'Sun May 2, passed ("May 2")'),
        (Wanted(asap=True, words=("asap",)), "ASAP"),
        (
            Wanted(dates=(date(2027, 5, 13),), asap=True, words=("ASAP",)),
            'Thu May 13, ASAP ("ASAP")',
        ),
        (Wanted(words=("after *spring* break",)), r"after \*spring\* break"),
    ],
)
def test_when_a_need_is_wanted(wanted: Wanted, expected: str) -> None:
    need = Need("0123456789", CYCLE, "t@x.org", "T", "G6", "help", (), "", wanted=wanted)
    assert when(need, date(2027, 5, 13)) == expected


@pytest.mark.parametrize(
    ("values", "separator", "expected"),
    [
        ([], ", ", ""),
        (["a*b", "<i>", "x\ny"], ", ", r"a\*b, &lt;i>, x y"),
        ([1, None], "; ", "1; None"),
    ],
)
def test_md_join_is_map_md_then_join(values: list[object], separator: str, expected: str) -> None:
    assert md_join(values, separator) == expected
    rendered = BUILT_IN.env.from_string('{{ values|map("md")|join(sep) }}').render(
        values=values, sep=separator
    )
    assert rendered == expected == separator.join(md_escape(v) for v in values)


def test_a_school_template_cannot_reach_past_the_filters_into_python(tmp_path: Path) -> None:
    # The filters read a need's own fields; handed something else, the template fails with
    # its place, as any template error does.
    (tmp_path / "digest.md.j2").write_text("{{ [''.__class__]|md_carried }}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as exc:
        Templates(tmp_path).render("digest.md.j2", {})
    assert "digest.md.j2" in exc.value.message


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(AWKWARD, st.integers(), st.none()), max_size=8))
def test_a_renderings_memo_escapes_as_the_md_filter(values: list[object]) -> None:
    memo: dict[str, str] = {}
    assert (
        md_join(values, "|", memo=memo) == md_join(values, "|") == "|".join(map(md_escape, values))
    )
    # Asked again, the memo answers: the same text.
    assert md_join(values, "|", memo=memo) == "|".join(map(md_escape, values))
    assert set(memo) == {v if isinstance(v, str) else str(v) for v in values}


def _escaped_as_before(text: str) -> str:
    """The md filter's escaping as it was first written: entities, then each markup
    character, then line breaks and runs of spaces folded."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return " ".join(re.sub(r"([\\`*_\[\]|~])", r"\\\1", text).split())


@settings(max_examples=500, deadline=None)
@given(st.one_of(AWKWARD, st.text()))
def test_md_escapes_as_it_always_has(text: str) -> None:
    assert md_escape(text) == _escaped_as_before(text)
    assert escaper({})(text) == _escaped_as_before(text)
