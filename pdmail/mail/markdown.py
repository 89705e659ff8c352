"""Markdown: the ``md`` filter's escaping, and the digest's long lists written by Python.

A year's digest lists tens of thousands of needs (each carried over, and again under each of
its topics); written by the template, every line is a macro call and a dozen sandboxed
attribute lookups. These filters write the same lines, byte for byte, as the loops they stand
for (kept in their docstrings), escaping each value exactly as the ``md`` filter does. They
are pdmail's own code, so they read the needs directly; a school's own digest.md.j2 may use
them or keep its loops over the same values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..digest.build import Need, Person

# Characters that make inline markup anywhere in a line; values never start a line (the
# filter folds line breaks), so block markers such as "-" or "1." need no escape.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_escape(value: object) -> str:
    """``value`` as literal Markdown text on one line: inline markup characters are escaped
    and ``<``/``&`` become entities, so no link, emphasis or HTML comes from it."""
    return _md_text(value if type(value) is str else str(value))


# A digest writes the same names and teams many times, and a year's needs (tens of thousands
# of answers, each in a topic group and again when carried over): the cache holds a year.
@functools.lru_cache(maxsize=1 << 16)
def _md_text(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return " ".join(_MD_SPECIAL.sub(r"\\\1", text).split())


md = md_escape


def when(need: Need, today: date) -> str:
    """What the digest.md ``when`` macro writes: the date wanted ("no date"), whether it has
    passed ``today``, ASAP, and the teacher's own words for it::

        {{ (n.wanted.when or "no date")|md }}{{ ", passed" if n.wanted.earliest and
        n.wanted.earliest < today }}{{ ", ASAP" if n.wanted.asap and n.wanted.earliest }}
        {% if n.wanted.detail %} ("{{ n.wanted.detail|md }}"){% endif %}
    """
    wanted = need.wanted
    out = md(wanted.when or "no date")
    if wanted.earliest and wanted.earliest < today:
        out += ", passed"
    if wanted.asap and wanted.earliest:
        out += ", ASAP"
    if wanted.detail:
        out += f' ("{md(wanted.detail)}")'
    return out


def carried_lines(needs: Iterable[Need]) -> str:
    """The "Carried over" list, a line (ending in a new line) for each need::

    - **{{ n.teacher|md }}** ({{ n.team|md }}), {{ n.status }} since {{ n.cycle }}
    ({{ n.age }} {{ n.age|plural("month") }}): {{ n.text|md }}{{ " (" ~ n.note|md ~ ")"
    if n.note }} `{{ n.id }}`
    """
    return "".join(
        f"- **{md(n.teacher)}** ({md(n.team)}), {n.status!s} since {n.cycle!s} "
        f"({n.age!s} {'month' if n.age == 1 else 'months'}): {md(n.text)}"
        f"{f' ({md(n.note)})' if n.note else ''} `{n.id!s}`\n"
        for n in needs
    )


def topic_lines(needs: Iterable[Need], cycle: str) -> str:
    """A topic's list under "Help requests by topic" in the digest of ``cycle``, a line (ending
    in a new line) for each need::

        - **{{ need.teacher|md }}** ({{ need.team|md }}{{ ", " ~ need.format|md if need.format
        }}{{ ", " ~ need.status if need.status != "open" }}{{ ", from " ~ need.cycle if
        need.cycle != digest.cycle }}): {{ need.text|md }}
    """
    return "".join(_topic_line(n, cycle) for n in needs)


def _topic_line(n: Need, cycle: str) -> str:
    return (
        f"- **{md(n.teacher)}** ({md(n.team)}"
        f"{f', {md(n.format)}' if n.format else ''}"
        f"{f', {n.status!s}' if n.status != 'open' else ''}"
        f"{f', from {n.cycle!s}' if n.cycle != cycle else ''}): {md(n.text)}\n"
    )


def md_join(values: Iterable[object], separator: str = "") -> str:
    """``values`` escaped and joined, as ``values|map("md")|join(separator)`` writes them."""
    return str(separator).join(map(md, values))


def people_lines(people: Iterable[Person]) -> str:
    """A list of teachers ("Not answered yet"), a line (ending in a new line) for each::

    - {{ p.name|md }} ({{ p.team|md }})
    """
    return "".join(f"- {md(p.name)} ({md(p.team)})\n" for p in people)


def units_lines(units: Iterable[tuple[object, object]]) -> str:
    """A team's units of study, a line (ending in a new line) for each (teacher, units)::

    - **{{ teacher|md }}**: {{ units|md }}
    """
    return "".join(f"- **{md(teacher)}**: {md(named)}\n" for teacher, named in units)


# The filters digest.md.j2 uses, by name.
FILTERS: dict[str, Callable[..., Any]] = {
    "md_carried": carried_lines,
    "md_topic_needs": topic_lines,
    "md_when": when,
    "md_join": md_join,
    "md_people": people_lines,
    "md_units": units_lines,
}
