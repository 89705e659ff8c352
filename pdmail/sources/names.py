"""What an answer's email cell says: the address in it, or the teacher a name most likely is.

People paste what their mail program shows (``Ann Lee <ann@school.org>``, ``mailto:...``) or
type their name where the form asked for an address. The address in such a cell is the
answer's key; a name is never a key. A name (or an address that is not on the roster) is only
ever a suggestion, shown next to the unmatched answer, and only when exactly one teacher fits.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from ..models import Teacher
from .roster import is_valid_email

__all__ = ["RosterNames", "address_in", "clean_cell", "probable_teacher"]

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
    if text.isascii() and text.isprintable():
        return " ".join(text.split())  # the usual cell: nothing to normalise or drop
    text = unicodedata.normalize("NFKC", text)
    kept = (" " if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join("".join(c for c in kept if unicodedata.category(c) != "Cf").split())


def address_in(text: str) -> str | None:
    """The one email address in a cell, lower-cased, or None when it holds none or several.

    ``ann@school.org``, ``Ann Lee <ann@school.org>``, ``"Lee, Ann" <ANN@School.org >`` and
    ``mailto:ann@school.org`` all give ``ann@school.org``.
    """
    if text.isascii() and _ADDRESS.fullmatch(text):
        # The usual cell, a bare address: the one match below would be the whole of it.
        address = text.lower()
        return address if is_valid_email(address) else None
    found = {m.group(0).lower().rstrip(".") for m in _ADDRESS.finditer(clean_cell(text))}
    found = {address.removeprefix("mailto:") for address in found}
    if len(found) != 1:
        return None
    address = found.pop()
    return address if is_valid_email(address) else None


class RosterNames:
    """The roster's names indexed once, so each unmatched answer is looked up in constant
    time whatever the size of the roster (:meth:`probable`)."""

    def __init__(self, teachers: Sequence[Teacher]) -> None:
        self._local: dict[str, list[Teacher]] = {}
        # One index per rule, surest first: full name, first given name + last name, first
        # initial + last name; then the last names alone and the first names alone.
        self._rules: tuple[dict[str, list[Teacher]], ...] = ({}, {}, {})
        self._last: dict[str, list[Teacher]] = {}
        self._first: dict[str, list[Teacher]] = {}
        for teacher in teachers:
            _add(self._local, teacher.email.split("@")[0], teacher)
            first, last = _words(teacher.first_name)[0], _words(teacher.last_name)[0]
            if last:
                _add(self._last, " ".join(last), teacher)
            if first:
                _add(self._first, " ".join(first), teacher)
            if not (first and last):
                continue
            given, letter = first[0], first[0][0]
            for rule, keys in zip(
                self._rules,
                (
                    [first + last, last + first, ("".join(first + last),)],
                    [(given, *last), (*last, given)],
                    [(letter, *last), (*last, letter), (letter + "".join(last),),
                     ("".join(last) + letter,)],
                ),
                strict=True,
            ):  # fmt: skip
                for key in keys:  # never empty: the words are not
                    rule.setdefault(" ".join(key), []).append(teacher)

    def probable(self, text: str) -> Teacher | None:
        """The one teacher an email cell that matched nobody most likely names, or None.

        Tried from the surest to the loosest, each only when it picks out exactly one teacher
        (a rule that fits two teachers ends the search with None rather than trying a looser
        one): the same mailbox name at another domain or with a ``+tag`` (``ann@gmail.com``,
        ``ann+pd@school.org``); the full name in either order (``Ann Lee``, ``lee, ann``,
        ``ann.lee@gmail.com``); the first given name and the last name; the first initial and
        the last name (``A. Lee``); the last name alone (``Ms. Lee``, ``Lee``) when no teacher
        has it as a first name either. Titles and accents are ignored.
        """
        cleaned = clean_cell(text).removeprefix("mailto:").strip()
        if not cleaned:
            return None
        address = _single_address(cleaned)
        texts = [cleaned]
        if address is not None:
            local = address.split("@")[0]
            # ann+library@ is Ann's mailbox with a tag most providers deliver to it.
            for mailbox in dict.fromkeys((local, local.split("+")[0])):
                if mailbox in self._local:
                    return _one(self._local[mailbox])
            display = re.sub(r"[<>]", " ", cleaned.lower().replace(address, " "))
            texts = [display, local]
        for candidate in texts:
            fitting = self._by_name(candidate)
            if fitting:
                return _one(fitting)
        return None

    def _by_name(self, text: str) -> list[Teacher]:
        """The teachers the first rule that fits any finds ``text`` names (none: none fits)."""
        words, titled = _words(text)
        if not words:
            return []
        key, joined = " ".join(words), "".join(words)
        for rule in self._rules:
            named = rule.get(key, ())
            run_on = rule.get(joined, ())
            if named or run_on:  # (most addresses name nobody: no list is made for them)
                return _distinct([*named, *run_on])
        by_last = self._last.get(key, [])
        if by_last and not titled and key in self._first:
            return [*by_last, *self._first[key]]  # "Lee" could as well be a teacher called Lee
        return by_last


def probable_teacher(teachers: Sequence[Teacher], text: str) -> Teacher | None:
    """:meth:`RosterNames.probable` for one lookup (index a roster once for many)."""
    return RosterNames(teachers).probable(text)


def _add(index: dict[str, list[Teacher]], key: str, teacher: Teacher) -> None:
    if key:
        index.setdefault(key, []).append(teacher)


def _distinct(teachers: Sequence[Teacher]) -> list[Teacher]:
    return list({t.email: t for t in teachers}.values())


def _one(fitting: Sequence[Teacher]) -> Teacher | None:
    fitting = _distinct(fitting)
    return fitting[0] if len(fitting) == 1 else None


def _single_address(text: str) -> str | None:
    found = {m.group(0).lower() for m in _ADDRESS.finditer(text)}
    return found.pop() if len(found) == 1 else None


@functools.lru_cache(maxsize=4096)  # a roster repeats its first and last names many times
def _words(text: str) -> tuple[tuple[str, ...], bool]:
    """The name's words (lower case, accents and punctuation gone, ``Last, First`` turned
    round) and whether a title (Ms, Dr) was dropped."""
    if text.count(",") == 1:
        last, first = text.split(",")
        text = f"{first} {last}"
    plain = text.casefold()
    if not plain.isascii():  # ASCII has nothing to decompose and no combining marks
        plain = unicodedata.normalize("NFKD", plain)
        plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = plain.replace("'", "").replace("\u2019", "")
    words = [w for w in re.split(r"[^\w]+|[\d_]+", plain) if w]
    kept = tuple(w for w in words if w not in _TITLES)
    return kept, len(kept) != len(words)
