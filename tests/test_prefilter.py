"""The reading rules' lookahead only skips places where no match starts: every rule (of
reading an answer, and of finding the dates it asks for) finds the same matches, at the same
places, as the plain pattern does; and a rule searched lower-cased without ignoring case (its
twin, for ASCII text) finds them too."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail.digest import reading, when
from pdmail.digest.prefilter import (
    Rule,
    compile_prefiltered,
    lower_case_twin,
    lower_cased,
    plain_source,
    required_words,
    start_lookahead,
)
from pdmail.digest.taxonomy import CONTEXT_RULES

# The reading rules, and the compiled patterns of the dates rules.
READING_RULES = {
    f"{module.__name__}.{name}": value
    for module in (reading, when)
    for name, value in vars(module).items()
    if isinstance(value, Rule)
}
RULES = {
    name: value
    for name, value in [
        *((n, r.pattern) for n, r in READING_RULES.items()),
        *(
            (f"{module.__name__}.{name}", value)
            for module in (reading, when)
            for name, value in vars(module).items()
            if isinstance(value, re.Pattern)
        ),
    ]
    if plain_source(value) != value.pattern
}


@pytest.mark.parametrize(
    "name",
    [*(f"pdmail.digest.reading.{n}" for n in ("_DECLINE", "_ASK", "_LEARNING", "_LESSON")),
     *(f"pdmail.digest.when.{n}" for n in ("_MONTH_FIRST", "_RELATIVE", "_ANY_WEEKDAY"))],
)  # fmt: skip
def test_the_busy_rules_are_prefiltered(name: str) -> None:
    assert name in RULES


PLAIN = {rule: re.compile(plain_source(rule), rule.flags) for rule in RULES.values()}


def _same(fast: re.Pattern[str], text: str) -> None:
    plain = PLAIN[fast]
    found = [(m.span(), m.groups()) for m in fast.finditer(text)]
    assert found == [(m.span(), m.groups()) for m in plain.finditer(text)]
    hit, expected = fast.search(text), plain.search(text)
    assert (hit and (hit.span(), hit.groups())) == (
        expected and (expected.span(), expected.groups())
    )
    assert fast.sub("|", text) == plain.sub("|", text)


# Words the rules are written with, letters whose case folds oddly (Turkish dotted I, the long
# s, the Kelvin sign, sharp s), accents, digits, punctuation and line ends.
_WORDS = sorted(
    {w for rule in RULES.values() for w in re.findall(r"[a-z']{2,}", plain_source(rule))}
)
_PIECES = st.sampled_from(
    [*_WORDS, "İ", "ſ", "\u212a", "ß", "é", "¿", "?", ".", "!", ",", ";", "-", " — ", "/",
     "3", "14", "12/3", "3rd", "2027", "\n", "\t", " ", "  ", "I'm", "CAN YOU", "Dec 14",
     "no", "n/a", "mañana", "Tues.", "next week", "the 14th", "el 5"]
)  # fmt: skip
_TEXT = st.lists(_PIECES, max_size=25).map(lambda parts: " ".join(parts).replace("  ", " "))


@settings(max_examples=150, deadline=None)
@given(text=_TEXT, glue=st.sampled_from(["", " ", "x"]))
def test_each_rule_matches_as_its_plain_pattern(text: str, glue: str) -> None:
    for rule in RULES.values():
        _same(rule, glue + text)
        _same(rule, text.upper())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Nothing right now.",
        "nothing",
        "Thanks! Could you pull books on volcanoes for my 3rd graders? Dec 14 works.",
        "All good, thanks! Maybe in January.",
        "Not this month, swamped with grading — but can you show me Canva?",
        "Can we talk about lesson planning? A research lesson on the 14th?",
        "Todo bien este mes. ¿Puedes ayudar?",
        "ÉTÉ İSTANBUL ſtudents K-12 STRASSE",
        "x" * 50 + "please",
        "co-teach a workshop for my kids; reserve the lab\nthen print copies",
    ],
)
def test_answers_as_teachers_write_them(text: str) -> None:
    for rule in RULES.values():
        _same(rule, text)


@pytest.mark.parametrize(
    ("pattern", "lookahead"),
    [
        (r"\bcan\b|^no|\?", r"(?=^|\b[c]|[\?])"),
        (r"\b(?:pull|print)\b|\b(?:fix)", r"(?=\b[pf])"),
        (r"(?<!classroom\s)\blessons?\b", r"(?=\b[l])"),
        (r"\W*no", r"(?=[\Wn])"),
        (r"[a-c]x|\dy", r"(?=[a-c\d])"),
    ],
)
def test_the_lookahead_names_where_a_match_can_start(pattern: str, lookahead: str) -> None:
    assert start_lookahead(pattern, re.IGNORECASE) == lookahead


@pytest.mark.parametrize(
    "pattern",
    [
        r"a*",  # matches nothing at all as well
        r"\b",  # takes no character
        r"(a)?\1b|c",  # a back-reference first
        r"[^a]b|c",  # a negated class can start with nearly anything
        r".x",  # any character
        r"(?i:a)b|c",  # a flag set inside
        r"(?:x|)y?",  # a branch that can be empty
        r"(",  # not a pattern at all
    ],
)
def test_a_pattern_whose_starts_cannot_be_told_is_compiled_as_it_is(pattern: str) -> None:
    assert start_lookahead(pattern) is None
    if pattern != "(":
        assert compile_prefiltered(pattern).pattern == pattern


# -- the words a rule needs: a text without any of them is not searched -----------------------

_ASCII = st.lists(
    st.sampled_from([w for w in _WORDS if w.isascii()] + ["Book", "READ", "the", "a", "?", ".",
                                                         "3d", "7", ",", "-", "'s", "\n"]),
    max_size=20,
).map(" ".join)  # fmt: skip
_NEEDING = [
    (rule, words)
    for rule in [p for p, _ in CONTEXT_RULES]
    + [re.compile(plain_source(r), r.flags) for r in RULES.values()]
    if (words := required_words(rule.pattern, rule.flags)) is not None
]


def test_most_rules_need_words() -> None:
    assert len(_NEEDING) > len(CONTEXT_RULES)


@settings(max_examples=150, deadline=None)
@given(text=_ASCII)
def test_a_rule_matches_only_where_a_word_it_needs_is(text: str) -> None:
    for rule, words in _NEEDING:
        for variant in (text, text.upper(), text.title()):
            if rule.search(variant):
                assert any(w in variant.lower() for w in words), (rule.pattern, variant)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"\b(?:book|reserve)\s+the\b", {"book", "reserve"}),
        (r"\bbook\s+creator\b", {"creator"}),  # the longest is the most telling
        (r"\bCanva\b", {"canva"}),
        (r"a*b|c+d", {"b", "c"}),  # of two as telling, the first
        (r"(?:x|)yz", {"yz"}),
        (r"\bcafé\b", {"caf"}),  # only ASCII letters are compared
        (r"\d+|x", None),  # a branch with no word in it
        (r"[ab]*", None),
        (r"(", None),
    ],
)
def test_the_words_a_pattern_needs(pattern: str, words: set[str] | None) -> None:
    found = required_words(pattern, re.IGNORECASE)
    assert (None if found is None else set(found)) == words


def test_each_tagger_reads_by_its_own_rules() -> None:
    # Rules are prepared per tagger (and compiled once per pattern): two taggers in one
    # process, with different rules for the same words, keep to their own.
    from pdmail.config.records import Topic
    from pdmail.digest.topics import Tagger

    topics = (Topic("Booking", ("lab",)), Topic("Books", ("book",)))
    claim = ((re.compile(r"\bbook\s+the\s+lab\b", re.IGNORECASE), "Booking"),)
    text = "Could I book the lab? And a book list please"
    assert Tagger(topics, rules=claim).tag(text) == ("Booking", "Books")
    assert Tagger(topics, rules=()).tag(text) == ("Booking", "Books")
    assert Tagger(topics, rules=claim).explain("BOOK THE LAB") == (("Booking", ("BOOK THE LAB",)),)
    assert Tagger(topics, rules=()).explain("BOOK THE LAB") == (
        ("Booking", ("LAB",)),
        ("Books", ("BOOK",)),
    )
    dropped = ((re.compile(r"\bbook\b", re.IGNORECASE), None),)  # words read as no topic
    assert Tagger(topics, rules=dropped).tag("book the lab") == ("Booking",)


# -- the lower-case twin: an ASCII text lower-cased, searched without ignoring case -----------

# Every reading rule, and every context rule of the tagger, as a Rule.
_ALL_RULES = [*READING_RULES.values(), *(Rule(p.pattern, p.flags) for p, _ in CONTEXT_RULES)]


def test_every_built_in_rule_has_a_twin() -> None:
    assert len(READING_RULES) >= 15
    for rule in _ALL_RULES:
        assert lower_case_twin(rule.source, rule.flags) is not None, rule.source


def _same_as_plain(rule: Rule, text: str) -> None:
    plain = re.compile(rule.source, rule.flags)
    assert list(rule.spans(text)) == [m.span() for m in plain.finditer(text)], (rule.source, text)
    assert rule.search(text) == bool(plain.search(text))
    low = lower_cased(text)
    assert rule.search(text, low) == bool(plain.search(text))
    assert list(rule.spans(text, low)) == [m.span() for m in plain.finditer(text)]


# Letters outside ASCII that lower-case plainly (accents, ñ, the capital sharp s, Cherokee,
# a titlecase digraph, Roman numerals) and ones that do not (dotted I, dotless i, the long s,
# final sigma, the Kelvin sign, the fi ligature), with curly quotes, dashes and an emoji.
_ODD = ["Ñ", "ñ", "É", "é", "Á", "Í", "Ó", "ẞ", "ß", "Ꭰ", "ǅ", "Ⅻ", "①", "İ", "ı", "ſ", "ς",
        "Σ", "µ", "\u212a", "ﬁ", "\u0345", "’", "“", "—", "–", "😀", "¿", "\xa0", "٣"]  # fmt: skip
_MIXED = st.lists(st.sampled_from([*_WORDS, *_ODD, " ", ".", "?", "3"]), max_size=25).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=_TEXT, glue=st.sampled_from(["", " ", "x", "’", "É"]))
def test_each_rule_searched_as_its_plain_pattern(text: str, glue: str) -> None:
    for rule in _ALL_RULES:
        for variant in (glue + text, text.upper(), text.title()):
            _same_as_plain(rule, variant)


@settings(max_examples=200, deadline=None)
@given(text=_MIXED)
def test_letters_outside_ascii_are_searched_as_the_pattern_does(text: str) -> None:
    for rule in _ALL_RULES:
        for variant in (text, text.upper()):
            _same_as_plain(rule, variant)


_SMALL_RULES = [
    Rule(p, re.IGNORECASE)
    for p in (r"\bs\w+", r"[a-z]+", r"\bki\b", r"[^\W\d_]+", r"ñ|é|¿", r"\d\s\w", r"(?<!\w)i\W")
]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_any_text_is_searched_as_the_pattern_does(text: str) -> None:
    for rule in _SMALL_RULES:
        _same_as_plain(rule, text)


@pytest.mark.parametrize(
    ("text", "lowered"),
    [
        ("Can You", "can you"),
        ("I’d love Canva — ASAP", "i’d love canva — asap"),
        ("¿Puedes AYUDAR? Mañana", "¿puedes ayudar? mañana"),
        ("ISTANBUL İ", None),  # "İ" lower-cases to two characters
        ("kılıç", None),  # the dotless i matches "i" ignoring case
        ("ſtudents", None),  # the long s matches "s"
        ("ΟΔΟΣ", None),  # sigma has two lower cases
    ],
)
def test_which_texts_a_twin_reads(text: str, lowered: str | None) -> None:
    assert lower_cased(text) == lowered


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Nothing right now.",
        "NOTHING RIGHT NOW. CAN YOU PULL BOOKS?",
        "Thanks! Could you pull books on volcanoes for my 3rd graders? Dec 14 works.",
        "Can we talk about lesson planning? A research lesson on the 14th?",
        "Book the Lab for Grade 7 on Tues. Google it.",
        "ÉTÉ İSTANBUL ſtudents K-12 STRASSE \u212aids",
        "Co-Teach a Workshop for my KIDS; reserve the lab\nthen print copies",
    ],
)
def test_answers_as_teachers_write_them_searched_by_twins(text: str) -> None:
    for rule in _ALL_RULES:
        _same_as_plain(rule, text)


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        (r"\bfoo\b", 0),  # not matched ignoring case: nothing to gain
        (r"[A-Z]\w+", re.IGNORECASE),  # a capital letter
        (r"\bCanva\b", re.IGNORECASE),
        (r"[@-Z]x", re.IGNORECASE),  # a range reaching capitals
        (r"\u017ftudent", re.IGNORECASE),  # the long s matches "s" ignoring case
        (r"[\u0100-\u0200]", re.IGNORECASE),  # a range holding dotless i and the long s
        (r"\u212a", re.IGNORECASE),  # the Kelvin sign matches "k"
        (r"(?-i:x)y", re.IGNORECASE),  # a flag set inside
        (r"(a)\1", re.IGNORECASE),  # a back-reference
        (r"Ñ", re.IGNORECASE),  # a capital letter outside ASCII
        (r"[à-ÿ]", re.IGNORECASE),  # a range outside ASCII
        (r"σ", re.IGNORECASE),  # sigma matches two other letters ignoring case
        (r"(", re.IGNORECASE),  # not a pattern at all
    ],
)
def test_no_twin_where_lower_casing_could_change_a_match(pattern: str, flags: int) -> None:
    assert lower_case_twin(pattern, flags) is None


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        (r"[^\W\d_]+", "Ab1 Cd", [(0, 2), (4, 6)]),
        (r"(?<![a-z])ab", "xAB AB", [(4, 6)]),
        (r"\bcafé\b|ñ", "CAFÉ Ñ", [(0, 4), (5, 6)]),  # not ASCII: the pattern itself
        (r"sí|s", "ſí", [(0, 2)]),
    ],
)
def test_a_rule_finds_what_its_pattern_finds(
    pattern: str, text: str, found: list[tuple[int, int]]
) -> None:
    rule = Rule(pattern, re.IGNORECASE)
    assert list(rule.spans(text)) == found
    _same_as_plain(rule, text)
