"""Reading a checkbox answer: the choices a teacher ticked, from one cell of the export.

Google Forms writes every ticked choice of a checkbox question into one cell, in the Form's
order, separated by ``", "``; the "Other" box adds the teacher's own words, as they typed
them, at the end (some exports prefix them with ``Other:``). Microsoft Forms separates them
with ``";"``. A choice may itself hold a comma ("Weekends, online"), so a cell is not simply
split: it is read against the question's choices, longest first, and the words that match
none are kept, as written, as one "other" answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

OTHER = "Other"

# The pieces of a cell: text between separators, and the separators (kept, so an "other"
# answer that holds a comma or a semicolon is kept as the teacher wrote it).
_PIECES = re.compile(r"[^,;]+|[,;]")
_OTHER_PREFIX = re.compile(r"^\s*other\s*[:\-–]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Ticked:
    """What one cell says: the known choices ticked (as the question lists them, in the
    cell's order, each once), whether the "other" box was ticked (or words matching no choice
    were written), and those words ("" for none, or for a bare "Other")."""

    choices: tuple[str, ...]
    other: str = ""
    has_other: bool = False

    @property
    def blank(self) -> bool:
        return not self.choices and not self.has_other


def fold(text: str) -> str:
    """``text`` as choices are compared: case folded, accents dropped, with only letters and
    digits kept ("One-on-one", "one on one" and "ONE–ON–ONE " compare equal, and "Résumé"
    equals "resume")."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(ch for ch in text if ch.isalnum() and not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    """The comparable pieces of ``text`` between its separators."""
    return [fold(p) for p in re.split(r"[,;]", text)]


def read_ticked(cell: str, choices: Sequence[str]) -> Ticked:
    """The choices of ``choices`` ticked in ``cell``, and any words that match none.

    A blank cell ticks nothing. Separators may be ``","`` or ``";"`` with any spacing; case,
    accents' forms, spaces and punctuation inside a choice do not matter. A piece reading
    ``Other`` alone, or starting ``Other:``, is the "other" box; the text after the prefix is
    the teacher's answer. An unknown piece is kept as "other" with its text, joined to its
    unknown neighbours with the separators the cell had.
    """
    pieces = [m.group(0) for m in _PIECES.finditer(cell)]
    texts = [i for i, p in enumerate(pieces) if p not in (",", ";")]
    folded = [fold(pieces[i]) for i in texts]
    known = sorted(
        ((_words(c), c) for c in choices if fold(c)), key=lambda item: len(item[0]), reverse=True
    )
    found: list[str] = []
    other: list[tuple[int, int]] = []  # spans of pieces, by index into ``pieces``
    at = 0
    while at < len(texts):
        if not folded[at]:
            at += 1
            continue
        match = next(
            (
                (len(words), choice)
                for words, choice in known
                if folded[at : at + len(words)] == words
            ),
            None,
        )
        if match is not None:
            n, choice = match
            if choice not in found:
                found.append(choice)
            at += n
            continue
        start = at
        if _OTHER_PREFIX.match(pieces[texts[at]]):
            # "Other: ..." is the last box of the question: the rest of the cell is its text,
            # even where it reads like a choice.
            at = len(texts)
        while at < len(texts) and folded[at] and not _starts_choice(folded, at, known):
            at += 1
        other.append((texts[start], texts[max(start, at - 1)]))
        if at == start:
            at += 1
    return Ticked(tuple(found), _other_text(pieces, other), bool(other))


def _starts_choice(folded: list[str], at: int, known: list[tuple[list[str], str]]) -> bool:
    return any(folded[at : at + len(words)] == words for words, _ in known)


def _other_text(pieces: list[str], spans: list[tuple[int, int]]) -> str:
    parts = []
    for first, last in spans:
        text = "".join(pieces[first : last + 1]).strip()
        text = _OTHER_PREFIX.sub("", text)
        if fold(text) == fold(OTHER):
            text = ""
        text = " ".join(text.split())
        if text:
            parts.append(text)
    return "; ".join(parts)
