"""What an answer's email cell says: the address in it, or the teacher a name most likely is.

People paste what their mail program shows (``Ann Lee <ann@school.org>``, ``mailto:...``) or
type their name where the form asked for an address. The address in such a cell is the
answer's key; a name is never a key. A name (or an address that is not on the roster) is only
ever a suggestion, shown next to the unmatched answer, and only when exactly one teacher fits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from .models import Teacher
from .roster import is_valid_email

__all__ = ["address_in", "clean_cell", "probable_teacher"]

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_TITLES = frozenset(
    ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "madam", "mme", "mlle",
     "sr", "sra", "srta", "herr", "frau", "coach")
)  # fmt: skip


def clean_cell(text: str) -> str:
    """``text`` in NFKC form (a full-width ``＠`` is ``@``), without the invisible format
    characters a copy from a web page or a chat leaves behind (zero-width spaces, direction
    marks, soft hyphens), control characters read as spaces, and every run of whitespace
    (no-break spaces included) made one space, trimmed."""
    text = unicodedata.normalize("NFKC", text)
    kept = (" " if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join("".join(c for c in kept if unicodedata.category(c) != "Cf").split())


def address_in(text: str) -> str | None:
    """The one email address in a cell, lower-cased, or None when it holds none or several.

    ``ann@school.org``, ``Ann Lee <ann@school.org>``, ``"Lee, Ann" <ANN@School.org >`` and
    ``mailto:ann@school.org`` all give ``ann@school.org``.
    """
    found = {m.group(0).lower().rstrip(".") for m in _ADDRESS.finditer(clean_cell(text))}
    found = {address.removeprefix("mailto:") for address in found}
    if len(found) != 1:
        return None
    address = found.pop()
    return address if is_valid_email(address) else None


def probable_teacher(teachers: Sequence[Teacher], text: str) -> Teacher | None:
    """The one teacher an email cell that matched nobody most likely names, or None.

    Tried from the surest to the loosest, each only when it picks out exactly one teacher
    (a rule that fits two teachers ends the search with None rather than trying a looser one):
    the same mailbox name at another domain (``ann@gmail.com``); the full name in either order
    (``Ann Lee``, ``lee, ann``, ``ann.lee@gmail.com``); the first given name and the last name;
    the first initial and the last name (``A. Lee``); the last name alone (``Ms. Lee``,
    ``Lee``) when no teacher has it as a first name either. Titles and accents are ignored.
    """
    cleaned = clean_cell(text).removeprefix("mailto:").strip()
    if not cleaned or not teachers:
        return None
    address = _single_address(cleaned)
    texts = [cleaned]
    if address is not None:
        local = address.split("@")[0]
        fitting = [t for t in teachers if t.email.split("@")[0] == local]
        if fitting:
            return _one(fitting)
        display = re.sub(r"[<>]", " ", cleaned.lower().replace(address, " "))
        texts = [display, local]
    for candidate in texts:
        fitting = _by_name(teachers, candidate)
        if fitting:
            return _one(fitting)
    return None


def _one(fitting: Sequence[Teacher]) -> Teacher | None:
    return fitting[0] if len(fitting) == 1 else None


def _single_address(text: str) -> str | None:
    found = {m.group(0).lower() for m in _ADDRESS.finditer(text)}
    return found.pop() if len(found) == 1 else None


def _by_name(teachers: Sequence[Teacher], text: str) -> list[Teacher]:
    """The teachers the first rule that fits any finds ``text`` names (none: no rule fits)."""
    words, titled = _words(text)
    if not words:
        return []
    joined = "".join(words)

    def full(first: list[str], last: list[str]) -> bool:
        return words in (first + last, last + first) or joined == "".join(first + last)

    def given(first: list[str], last: list[str]) -> bool:
        return words in ([first[0], *last], [*last, first[0]])

    def initial(first: list[str], last: list[str]) -> bool:
        letter, surname = first[0][0], "".join(last)
        return words in ([letter, *last], [*last, letter]) or joined in (
            letter + surname,
            surname + letter,
        )

    named = [(t, *_parts(t)) for t in teachers]
    for rule in (full, given, initial):
        fitting = [t for t, first, last in named if first and last and rule(first, last)]
        if fitting:
            return fitting
    by_last = [t for t, _, last in named if last == words]
    if by_last and not titled and any(first == words for _, first, _ in named):
        return [*by_last, *by_last]  # "Lee" could as well be a teacher called Lee
    return by_last


def _parts(teacher: Teacher) -> tuple[list[str], list[str]]:
    return _words(teacher.first_name)[0], _words(teacher.last_name)[0]


def _words(text: str) -> tuple[list[str], bool]:
    """The name's words (lower case, accents and punctuation gone, ``Last, First`` turned
    round) and whether a title (Ms, Dr) was dropped."""
    if text.count(",") == 1:
        last, first = text.split(",")
        text = f"{first} {last}"
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = plain.replace("'", "").replace("\u2019", "")
    words = [w for w in re.split(r"[^\w]+|[\d_]+", plain) if w]
    kept = [w for w in words if w not in _TITLES]
    return kept, len(kept) != len(words)
