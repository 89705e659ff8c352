"""Markdown: the ``md`` filter's escaping, and the digest's long lists written by Python.

A year's digest lists tens of thousands of needs (each carried over, and again under each of
its topics); written by the template, every line is a macro call and a dozen sandboxed
attribute lookups. These filters write the same lines, byte for byte, as the loops they stand
for (kept in their docstrings), escaping each value exactly as the ``md`` filter does. They
are pdmail's own code, so they read the needs directly; a school's own digest.md.j2 may use
them or keep its loops over the same values.

Each takes ``memo``, the values escaped so far in one rendering (the templates give each
rendering its own): a need's words are escaped once however many lists it is in, and nothing
is kept once the digest is written, however many answers a year holds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from ..models import LESSON

if TYPE_CHECKING:
    from ..digest.build import FirstHand, Need, Person
    from ..digest.plan import Proposal

# Characters that make inline markup anywhere in a line; values never start a line (the
# filter folds line breaks), so block markers such as "-" or "1." need no escape. Each is
# escaped on its own, and "&" and "<" become entities, in one pass over the text.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", **{c: "\\" + c for c in "\\`*_[]|~"}})


def md_escape(value: object) -> str:
    """``value`` as literal Markdown text on one line: inline markup characters are escaped
    and ``<``/``&`` become entities, so no link, emphasis or HTML comes from it."""
    return _md_text(value if type(value) is str else str(value))


def _escape(text: str) -> str:
    return " ".join(text.translate(_ESCAPES).split())


# The md filter in a template: the same few names and teams come up again and again (the
# long lists, where each answer comes up too, keep their own memo for the rendering).
_md_text = functools.lru_cache(maxsize=1 << 12)(_escape)

Memo = dict[str, str]


def escaper(memo: Memo | None) -> Callable[[object], str]:
    """:func:`md_escape`, remembering in ``memo`` what it escaped (None: the md filter's own
    small cache)."""
    if memo is None:
        return md_escape
    known = memo.get

    def md(value: object) -> str:
        text = value if type(value) is str else str(value)
        out = known(text)
        if out is None:
            out = memo[text] = _escape(text)
        return out

    return md


def when(need: Need, today: date, *, memo: Memo | None = None) -> str:
    """What the digest.md ``when`` macro writes: the date wanted ("no date"), whether it has
    passed ``today``, ASAP, and the teacher's own words for it::

        {{ (n.wanted.when or "no date")|md }}{{ ", passed" if n.wanted.earliest and
        n.wanted.earliest < today }}{{ ", ASAP" if n.wanted.asap and n.wanted.earliest }}
        {% if n.wanted.detail %} ("{{ n.wanted.detail|md }}"){% endif %}
    """
    md = escaper(memo)
    wanted = need.wanted
    out = md(wanted.when or "no date")
    if wanted.earliest and wanted.earliest < today:
        out += ", passed"
    if wanted.asap and wanted.earliest:
        out += ", ASAP"
    if wanted.detail:
        out += f' ("{md(wanted.detail)}")'
    return out


def carried_lines(needs: Iterable[Need], *, memo: Memo | None = None) -> str:
    """The "Carried over" list, a line (ending in a new line) for each need::

    - **{{ n.teacher|md }}** ({{ n.team|md }}), {{ n.status }} since {{ n.cycle }}
    ({{ n.age }} {{ n.age|plural("month") }}): {{ n.text|md }}{{ " (" ~ n.note|md ~ ")"
    if n.note }} `{{ n.id }}`
    """
    md = escaper(memo)
    return "".join(
        f"- **{md(n.teacher)}** ({md(n.team)}), {n.status!s} since {n.cycle!s} "
        f"({n.age!s} {'month' if n.age == 1 else 'months'}): {md(n.text)}"
        f"{f' ({md(n.note)})' if n.note else ''} `{n.id!s}`\n"
        for n in needs
    )


def topic_lines(needs: Iterable[Need], cycle: str, *, memo: Memo | None = None) -> str:
    """A topic's list under "Help requests by topic" in the digest of ``cycle``, a line (ending
    in a new line) for each need::

        - **{{ need.teacher|md }}** ({{ need.team|md }}{{ ", " ~ need.format|md if need.format
        }}{{ ", " ~ need.status if need.status != "open" }}{{ ", from " ~ need.cycle if
        need.cycle != digest.cycle }}): {{ need.text|md }}
    """
    md = escaper(memo)
    return "".join(_topic_line(n, cycle, md) for n in needs)


def _topic_line(n: Need, cycle: str, md: Callable[[object], str]) -> str:
    return (
        f"- **{md(n.teacher)}** ({md(n.team)}"
        f"{f', {md(n.format)}' if n.format else ''}"
        f"{f', {n.status!s}' if n.status != 'open' else ''}"
        f"{f', from {n.cycle!s}' if n.cycle != cycle else ''}): {md(n.text)}\n"
    )


def task_lines(needs: Iterable[Need], today: date, *, memo: Memo | None = None) -> str:
    """A group of the to-do list, a line (ending in a new line) for each need::

    - **{{ n|md_when(today) }}** · **{{ n.teacher|md }}** ({{ n.team|md }}{{ " · units: "
    ~ n.units|md if n.units }}): {{ n.text|md }} `{{ n.id }}`
    """
    md = escaper(memo)
    return "".join(
        f"- **{when(n, today, memo=memo)}** · **{md(n.teacher)}** ({md(n.team)}"
        f"{f' · units: {md(n.units)}' if n.units else ''}): {md(n.text)} `{n.id!s}`\n"
        for n in needs
    )


def batch_lines(needs: Iterable[Need], today: date, *, memo: Memo | None = None) -> str:
    """The needs of a batch of books to pull (one team's unit), a line (ending in a new line)
    for each::

          - **{{ n|md_when(today) }}** · **{{ n.teacher|md }}**: {{ n.text|md }} `{{ n.id }}`
    """
    md = escaper(memo)
    return "".join(
        f"  - **{when(n, today, memo=memo)}** · **{md(n.teacher)}**: {md(n.text)} `{n.id!s}`\n"
        for n in needs
    )


def lesson_lines(needs: Iterable[Need], today: date, *, memo: Memo | None = None) -> str:
    """The lessons to schedule, a line (ending in a new line) for each need::

    {% set topics = n.topics_for("lesson") or n.topics %}
    - **{{ n|md_when(today) }}** · **{{ n.teacher|md }}** ({{ n.team|md }}{{ " · units: "
    ~ n.units|md if n.units }}): {{ n.text|md }}{{ " (" ~ topics|md_join(", ") ~ ")"
    if topics }} `{{ n.id }}`
    """
    md = escaper(memo)
    out = []
    for n in needs:
        topics = n.topics_for(LESSON) or n.topics
        about = f" ({md_join(topics, ', ', memo=memo)})" if topics else ""
        out.append(
            f"- **{when(n, today, memo=memo)}** · **{md(n.teacher)}** ({md(n.team)}"
            f"{f' · units: {md(n.units)}' if n.units else ''}): {md(n.text)}{about} `{n.id!s}`\n"
        )
    return "".join(out)


def session_lines(proposals: Iterable[Proposal], *, memo: Memo | None = None) -> str:
    """The sessions to offer, a line (ending in a new line) for each: the loop's line ends
    in a tag, which takes its line break, and the blank line after it gives one::

    - **{{ p.title|md }}**: led by {{ p.lead|md }}{{ "; " ~ p.support|md if p.support }}
    {% if p.size > 1 %} (with {{ p.teachers|md_join(", ") }}){% endif %}

    """
    md = escaper(memo)
    out = []
    for p in proposals:
        support = f"; {md(p.support)}" if p.support else ""
        group = f" (with {md_join(p.teachers, ', ', memo=memo)})" if p.size > 1 else ""
        out.append(f"- **{md(p.title)}**: led by {md(p.lead)}{support}{group}\n")
    return "".join(out)


def first_hand_lines(people: Iterable[FirstHand], *, memo: Memo | None = None) -> str:
    """The teachers to reach first, a line (ending in a new line) for each, as the loop wrote
    them (its line ends in a tag, and the blank line after it gives the line break)::

    - **{{ f.name|md }}** ({{ f.team|md }}): {{ f.reason|md }}{{ "" if f.answered else
    "; has not answered yet" }}{% for text in f.needs %}; "{{ text|md }}"{% endfor %}

    """
    md = escaper(memo)
    out = []
    for f in people:
        said = "".join(f'; "{md(text)}"' for text in f.needs)
        waiting = "" if f.answered else "; has not answered yet"
        out.append(f"- **{md(f.name)}** ({md(f.team)}): {md(f.reason)}{waiting}{said}\n")
    return "".join(out)


def md_join(values: Iterable[object], separator: str = "", *, memo: Memo | None = None) -> str:
    """``values`` escaped and joined, as ``values|map("md")|join(separator)`` writes them."""
    return str(separator).join(map(escaper(memo), values))


def people_lines(people: Iterable[Person], *, memo: Memo | None = None) -> str:
    """A list of teachers ("Not answered yet"), a line (ending in a new line) for each::

    - {{ p.name|md }} ({{ p.team|md }})
    """
    md = escaper(memo)
    return "".join(f"- {md(p.name)} ({md(p.team)})\n" for p in people)


def units_lines(units: Iterable[tuple[object, object]], *, memo: Memo | None = None) -> str:
    """A team's units of study, a line (ending in a new line) for each (teacher, units)::

    - **{{ teacher|md }}**: {{ units|md }}
    """
    md = escaper(memo)
    return "".join(f"- **{md(teacher)}**: {md(named)}\n" for teacher, named in units)


# The filters digest.md.j2 uses, by name; each takes the rendering's ``memo``.
FILTERS: dict[str, Callable[..., Any]] = {
    "md_carried": carried_lines,
    "md_topic_needs": topic_lines,
    "md_when": when,
    "md_join": md_join,
    "md_people": people_lines,
    "md_units": units_lines,
    "md_tasks": task_lines,
    "md_batch": batch_lines,
    "md_lessons": lesson_lines,
    "md_sessions": session_lines,
    "md_first_hand": first_hand_lines,
}
