"""How pdmail words things for people: counts with the right plural, times in the school's
zone, text shortened at a word, columns padded by how wide text looks on a terminal.

Every command prints through these, so "1 message" and "2026-12-02 09:00" read the same in
``send``, ``collect``, ``status``, ``run`` and the scheduler's log.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, tzinfo

__all__ = [
    "count",
    "day",
    "local_time",
    "one_line",
    "pad",
    "plural",
    "series",
    "shorten",
    "text_width",
]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``word`` for exactly one, else ``many`` (default ``word + "s"``): the noun or verb
    alone, as in ``f"{n} {plural(n, 'teacher')} {plural(n, 'has', 'have')}"``."""
    return word if n == 1 else (many or word + "s")


def count(n: int, word: str, many: str | None = None) -> str:
    """``"1 message"``, ``"0 messages"``, ``"2 replies"`` (with ``many="replies"``)."""
    return f"{n} {plural(n, word, many)}"


def local_time(moment: datetime, tz: tzinfo) -> str:
    """``moment`` in the school's zone as ``2026-12-02 09:00``: no seconds, no offset.

    A naive ``moment`` is taken to be school time already.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return f"{moment:%Y-%m-%d %H:%M}"


def day(when: date) -> str:
    """A day as ``2026-12-01``, the one form pdmail shows and reads (``--today``)."""
    return f"{when:%Y-%m-%d}"


def series(items: Sequence[str], conjunction: str = "and") -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``; ``""`` for none."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


# Characters that would move the cursor, recolour the terminal or reorder the line when a
# roster or answer value is printed: C0/C1 controls (ESC, DEL, ...) and bidi overrides.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    """``text`` safe to print in a line of a table: line breaks and runs of spaces become one
    space, control characters and bidi overrides are dropped."""
    return " ".join(_INVISIBLE.sub(" ", text).split())


def printable(text: str) -> str:
    """``text`` safe to print on a terminal whole: its lines and tabs kept, every other control
    character (ESC sequences that could rewrite the screen, among them) and bidi override
    dropped."""
    return _INVISIBLE.sub(lambda m: m.group() if m.group() in "\t\n" else "", text)


def shorten(text: str, width: int) -> str:
    """``text`` on one line (as :func:`one_line` makes it), cut at the last word that fits in
    ``width`` characters with ``…`` after it; a single word longer than ``width`` is cut
    inside."""
    flat = one_line(text)
    if len(flat) <= width:
        return flat
    cut = flat[: max(width - 1, 1)]
    space = cut.rfind(" ")
    if flat[len(cut)] != " " and space > width // 2:  # cut inside a word: drop that word
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def text_width(text: str) -> int:
    """The columns ``text`` takes on a terminal: wide (CJK) characters take two, combining
    marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` terminal columns (never cut)."""
    fill = " " * max(width - text_width(text), 0)
    return f"{fill}{text}" if align == ">" else f"{text}{fill}"
