"""Regular expressions that skip the places in a text where they cannot match.

The reading rules are alternations of dozens of phrases (``\\bcan\\s+you\\b|\\bplease\\b|...``)
matched ignoring case. Python's engine has no quick scan for such a pattern: it tries every
phrase at every position of a sentence. :func:`compile_prefiltered` puts a lookahead in
front, built from the pattern itself, that holds wherever a match can start (at the start of
the text, or at a word boundary before one of the letters a phrase can begin with), so most
positions are passed over after one test. A match is found exactly where, and as, the plain
pattern finds it: the lookahead is zero-width and holds at every place a match starts. A
pattern whose starts cannot be told (one that can match the empty string, a back-reference,
a negated class at the start, an inline flag) is compiled as it is.

:func:`required_words` goes further for a rule run over whole answers: the words one of which
every match holds, so that an answer with none of them is not searched at all.

:func:`lower_case_twin` compiles a pattern matched ignoring case for lower-cased ASCII text
instead, where Python's engine compares characters as they are, which is quicker.

All three read the pattern with the parser Python's ``re`` compiles with (``re._parser``, or
``sre_parse`` before 3.11); anything in it they do not know makes them give up, never guess.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found,unused-ignore]
import functools
import re
from collections.abc import Iterator
from typing import Any

try:  # the parser Python's own re module compiles with
    import re._constants as _c  # type: ignore[import-not-found,unused-ignore]
    import re._parser as _parser  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Python 3.10
    import sre_constants as _c  # type: ignore[no-redef,unused-ignore]
    import sre_parse as _parser  # type: ignore[no-redef,unused-ignore]

__all__ = [
    "Rule",
    "compile_prefiltered",
    "lower_case_twin",
    "lower_cased",
    "plain_source",
    "required_words",
    "start_lookahead",
]


def _parse(pattern: str, flags: int) -> list[Any]:
    """``pattern`` as the parser reads it (a fresh list: the functions here only read it)."""
    return list(_parsed(pattern, flags & ~re.IGNORECASE))


# A rule is read three ways (where it starts, the words it needs, whether its twin matches
# alike), each once it is compiled: the parse is shared. Ignoring case changes no part of it.
@functools.lru_cache(maxsize=256)
def _parsed(pattern: str, flags: int) -> tuple[Any, ...]:
    return tuple(_parser.parse(pattern, flags).data)


class _Unknown(Exception):
    """Where a match of the pattern can start cannot be told."""


_Item = tuple[Any, Any]  # a character class item as the parser writes it: (op, argument)
_REPEATS = {
    getattr(_c, n) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_c, n)
}
_CATEGORIES = {
    _c.CATEGORY_DIGIT: r"\d",
    _c.CATEGORY_NOT_DIGIT: r"\D",
    _c.CATEGORY_SPACE: r"\s",
    _c.CATEGORY_NOT_SPACE: r"\S",
    _c.CATEGORY_WORD: r"\w",
    _c.CATEGORY_NOT_WORD: r"\W",
}


def compile_prefiltered(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, with :func:`start_lookahead` in front when there is
    one: the same matches, found sooner."""
    lookahead = start_lookahead(pattern, flags)
    if lookahead is None:
        return re.compile(pattern, flags)
    compiled = re.compile(f"{lookahead}(?:{pattern})", flags)
    _PLAIN[compiled.pattern] = pattern
    return compiled


_PLAIN: dict[str, str] = {}


def plain_source(compiled: re.Pattern[str]) -> str:
    """The pattern ``compiled`` was made from, without the lookahead put in front of it (to
    compare the two)."""
    return _PLAIN.get(compiled.pattern, compiled.pattern)


def start_lookahead(pattern: str, flags: int = 0) -> str | None:
    """A lookahead that holds at every position where ``pattern`` can start a match
    (``(?=^|\\b[abc]|[?])``), or None when that cannot be told."""
    try:
        starts = _starts(_parse(pattern, flags))
        anchored = any(kind == "^" for kind, _ in starts)
        at_word = _class([item for kind, items in starts if kind == "b" for item in items])
        anywhere = _class([item for kind, items in starts if kind == "" for item in items])
    except (_Unknown, KeyError, re.error, RecursionError):
        return None
    alternatives = ["^"] if anchored else []
    if at_word:
        alternatives.append(rf"\b[{at_word}]")
    if anywhere:
        alternatives.append(f"[{anywhere}]")
    return f"(?={'|'.join(alternatives)})"


def _starts(seq: list[Any]) -> list[tuple[str, list[_Item]]]:
    """How a match of ``seq`` can start: ``("^", [])`` at the start of the text, ``("b",
    items)`` at a word boundary before a character of ``items``, ``("", items)`` before a
    character of ``items``."""
    if not seq:
        raise _Unknown
    op, av = seq[0]
    if op is _c.AT and av is _c.AT_BEGINNING:
        return [("^", [])]
    if op is _c.AT and av is _c.AT_BOUNDARY:
        return [("b", _first(seq[1:]))]
    if op in (_c.ASSERT, _c.ASSERT_NOT):  # a lookaround takes no character: look past it
        return _starts(seq[1:])
    if op is _c.SUBPATTERN and not _nullable_group(av):
        return _starts(list(av[3].data))
    if op is _c.BRANCH:
        return [start for alt in av[1] for start in _starts(list(alt.data))]
    return [("", _first(seq))]


def _nullable_group(av: Any) -> bool:
    _group, add_flags, del_flags, sub = av
    if add_flags or del_flags:
        raise _Unknown
    return _first_of(list(sub.data))[1]


def _first(seq: list[Any]) -> list[_Item]:
    """The characters a match of ``seq`` can start with (it must take one)."""
    items, nullable = _first_of(seq)
    if nullable:
        raise _Unknown
    return items


def _first_of(seq: list[Any]) -> tuple[list[_Item], bool]:
    """The characters a match of ``seq`` can start with, and whether it can match nothing."""
    items: list[_Item] = []
    for op, av in seq:
        found, nullable = _first_op(op, av)
        items.extend(found)
        if not nullable:
            return items, False
    return items, True


def _first_op(op: Any, av: Any) -> tuple[list[_Item], bool]:
    if op is _c.LITERAL:
        return [(op, av)], False
    if op is _c.IN:
        if any(o is not _c.LITERAL and o is not _c.RANGE and o is not _c.CATEGORY for o, _ in av):
            raise _Unknown  # a negated class, or one the parser wrote some other way
        return list(av), False
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return [], True
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise _Unknown
        return _first_of(list(sub.data))
    if op is _c.BRANCH:
        items: list[_Item] = []
        nullable = False
        for alt in av[1]:
            found, empty = _first_of(list(alt.data))
            items.extend(found)
            nullable = nullable or empty
        return items, nullable
    if op in _REPEATS:
        low, _high, sub = av
        found, empty = _first_of(list(sub.data))
        return found, empty or low == 0
    if op is getattr(_c, "ATOMIC_GROUP", None):
        return _first_of(list(av.data))
    raise _Unknown  # any character, a negated literal, a back-reference, a conditional


def _class(items: list[_Item]) -> str:
    """The inside of a character class of ``items`` (each written once)."""
    out: dict[str, None] = {}
    for op, av in items:
        if op is _c.LITERAL:
            out[_char(av)] = None
        elif op is _c.RANGE:
            out[f"{_char(av[0])}-{_char(av[1])}"] = None
        else:
            out[_CATEGORIES[av]] = None  # a KeyError (a locale category): not told
    return "".join(out)


def _char(code: int) -> str:
    return re.escape(chr(code))


def required_words(pattern: str, flags: int = 0) -> frozenset[str] | None:
    """Lower-case ASCII strings one of which is in every text ``pattern`` matches in, as the
    text reads lower-cased, for an ASCII text (``\\b(?:book|reserve)\\s+the\\b`` -> ``{"book",
    "reserve"}``, or ``{" the"}`` if that were longer); None when none can be told. A text
    without any of them is one the pattern cannot match in, and need not be searched."""
    try:
        return _required(_parse(pattern, flags))
    except (re.error, RecursionError):
        return None


def _required(seq: list[Any]) -> frozenset[str] | None:
    """The most telling set of strings one of which every match of ``seq`` takes in a row:
    the one whose shortest string is the longest."""
    best: frozenset[str] | None = None
    run: list[str] = []

    def consider(found: frozenset[str] | None) -> None:
        nonlocal best
        if found and all(found) and (best is None or min(map(len, found)) > min(map(len, best))):
            best = found

    for op, av in seq:
        if op is _c.LITERAL and av < 0x80:
            run.append(chr(av).lower())
            continue
        consider(frozenset(("".join(run),)))
        run = []
        if op is _c.SUBPATTERN:
            consider(_required(list(av[3].data)))
        elif op is _c.BRANCH:
            alternatives = [_required(list(alt.data)) for alt in av[1]]
            if all(alternatives):
                consider(frozenset().union(*(a for a in alternatives if a)))
        elif op in _REPEATS and av[0] >= 1:
            consider(_required(list(av[2].data)))
    consider(frozenset(("".join(run),)))
    return best


class Rule:
    """A pattern, compiled when first used, for the places and presence of its matches. One
    matched ignoring case searches a text (nearly every answer: see :func:`lower_cased`)
    lower-cased with its :func:`lower_case_twin`, which Python's engine runs in about half
    the time; any other text is searched by the pattern itself, as
    :func:`compile_prefiltered` compiles it."""

    __slots__ = ("_pattern", "_twin", "_twin_made", "flags", "source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source = source
        self.flags = flags
        self._pattern: re.Pattern[str] | None = None
        self._twin: re.Pattern[str] | None = None
        self._twin_made = False

    @property
    def pattern(self) -> re.Pattern[str]:
        """The pattern with its flags, prefiltered."""
        if self._pattern is None:
            self._pattern = compile_prefiltered(self.source, self.flags)
        return self._pattern

    @property
    def twin(self) -> re.Pattern[str] | None:
        """The pattern's :func:`lower_case_twin`, if it has one."""
        if not self._twin_made:
            self._twin = lower_case_twin(self.source, self.flags)
            self._twin_made = True
        return self._twin

    def search(self, text: str, low: str | None = None) -> bool:
        """True when ``text`` holds a match (``low``: :func:`lower_cased` of it, if known)."""
        twin = self.twin
        if twin is not None:
            if low is None:
                low = lower_cased(text)
            if low is not None:
                return twin.search(low) is not None
        return self.pattern.search(text) is not None

    def spans(self, text: str, low: str | None = None) -> Iterator[tuple[int, int]]:
        """Where each match in ``text`` starts and ends, as ``pattern.finditer`` finds them
        (``low``: :func:`lower_cased` of it, if known)."""
        twin = self.twin
        if twin is not None and low is None:
            low = lower_cased(text)
        if twin is not None and low is not None:
            for m in twin.finditer(low):
                yield m.span()
        else:
            for m in self.pattern.finditer(text):
                yield m.span()


try:  # the letters Python's engine matches ignoring case beyond their one lower case
    from re._casefix import _EXTRA_CASES  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Python 3.10
    try:
        from sre_compile import (  # type: ignore[attr-defined,no-redef,unused-ignore]
            _ignorecase_fixes as _EXTRA_CASES,
        )
    except ImportError:
        _EXTRA_CASES = None
_ODD_CASES: frozenset[int] | None = (
    None
    if _EXTRA_CASES is None
    else frozenset(_EXTRA_CASES).union(*(frozenset(v) for v in _EXTRA_CASES.values()))
)
_ALIKE: dict[str, bool] = {}  # each character outside ASCII met, and whether it lowers alike


def lower_cased(text: str) -> str | None:
    """``text.lower()`` when a :func:`lower_case_twin` finds in it what its pattern finds in
    ``text`` ignoring case: an ASCII text, or one whose other characters each lower-case
    to one character (as Python's engine lower-cases it, and of the same kind: cased or
    not, letter or digit, space or none), none of them a letter matched in odd ways
    ignoring case (Greek sigma, dotless i, long s…); None for any other text."""
    if text.isascii():
        return text.lower()
    for c in set(text):
        if c > "\x7f":
            alike = _ALIKE.get(c)
            if alike is None:
                alike = _lowers_alike(c)
                if len(_ALIKE) < 4096:  # bounded: answers use a few such letters
                    _ALIKE[c] = alike
            if not alike:
                return None
    return text.lower()


def _lowers_alike(c: str) -> bool:
    low = c.lower()
    if _ODD_CASES is None or len(low) != 1:
        return False
    if ord(c) in _ODD_CASES or ord(low) in _ODD_CASES:
        return False
    return (
        ord(low) == _sre.unicode_tolower(ord(c))
        and _sre.unicode_iscased(ord(low)) == _sre.unicode_iscased(ord(c))
        and low.isalnum() == c.isalnum()
        and low.isdecimal() == c.isdecimal()
        and low.isspace() == c.isspace()
    )


# The characters outside ASCII that a letter of ASCII matches ignoring case: dotted and
# dotless i, the long s and the Kelvin sign (every other one is no ASCII letter's case).
_FOLDS_TO_ASCII = frozenset((0x130, 0x131, 0x17F, 0x212A))


def lower_case_twin(pattern: str, flags: int = 0) -> re.Pattern[str] | None:
    """For a ``pattern`` matched with ``flags`` including ``re.IGNORECASE``: the same pattern
    compiled (with :func:`compile_prefiltered`) without it, which finds in ``text.lower()``
    the matches the first finds in ``text``, at the same places, for a text
    :func:`lower_cased` accepts (an ASCII one among them); None when that cannot be told (a
    letter that is not lower case or a class reaching one, a range outside ASCII, a letter
    matched in odd ways ignoring case, an inline flag, a back-reference)."""
    if not flags & re.IGNORECASE:
        return None
    try:
        if not _caseless(_parse(pattern, flags)):
            return None
    except (re.error, RecursionError):
        return None
    return compile_prefiltered(pattern, flags & ~re.IGNORECASE)


def _caseless(seq: list[Any]) -> bool:
    """True when nothing in ``seq`` matches differently in lower-cased ASCII text without
    ``re.IGNORECASE``: every letter it names is lower case."""
    for op, av in seq:
        if op is _c.LITERAL or op is _c.NOT_LITERAL:
            if not _lower_code(av, av):
                return False
        elif op is _c.IN:
            for item_op, item in av:
                if item_op is _c.LITERAL:
                    if not _lower_code(item, item):
                        return False
                elif item_op is _c.RANGE:
                    if not _lower_code(*item):
                        return False
                elif item_op is not _c.CATEGORY and item_op is not _c.NEGATE:
                    return False
        elif op is _c.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags or not _caseless(list(sub.data)):
                return False
        elif op is _c.BRANCH:
            if not all(_caseless(list(alt.data)) for alt in av[1]):
                return False
        elif op in _REPEATS:
            if not _caseless(list(av[2].data)):
                return False
        elif op is _c.ASSERT or op is _c.ASSERT_NOT:
            if not _caseless(list(av[1].data)):
                return False
        elif op is getattr(_c, "ATOMIC_GROUP", None):
            if not _caseless(list(av.data)):
                return False
        elif op is not _c.AT and op is not _c.ANY:
            return False  # a back-reference, a conditional, or something not known here
    return True


def _lower_code(low: int, high: int) -> bool:
    """True when every character from ``low`` to ``high`` matches, ignoring case, only
    itself and the characters that lower-case to it: no capital letter, no range outside
    ASCII, no letter matched in odd ways ignoring case."""
    if low <= ord("Z") and high >= ord("A"):
        return False
    if high < 0x80:
        return True
    if low != high or low in _FOLDS_TO_ASCII or _ODD_CASES is None or low in _ODD_CASES:
        return False
    return chr(low).lower() == chr(low)
