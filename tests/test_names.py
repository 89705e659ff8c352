"""Email cells: the address inside what people paste, and the teacher a typed name probably is."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail.models import Teacher
from pdmail.sources.names import RosterNames, address_in, clean_cell, probable_teacher

ROSTER = [
    Teacher("ann@school.org", "Ann", "Lee"),
    Teacher("raj@school.org", "Raj", "Patel"),
    Teacher("maria@school.org", "María José", "Gómez-Ruiz"),
    Teacher("lee@school.org", "Lee", "Smith"),
    Teacher("jo@school.org", "Mary Jo", "Van Dyke"),
    Teacher("sean@school.org", "Seán", "O'Brien"),
    Teacher("noname@school.org"),
]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("ann@school.org", "ann@school.org"),
        (" ANN@School.ORG ", "ann@school.org"),
        ("Ann Lee <ann@school.org>", "ann@school.org"),
        ('"Lee, Ann" <ANN@School.org >', "ann@school.org"),
        ("mailto:ann@school.org", "ann@school.org"),
        ("mailto:ann@school.org?subject=Hello", "ann@school.org"),
        ("<ann@school.org>", "ann@school.org"),
        ("ann@school.org.", "ann@school.org"),
        ("ann\uff20school.org", "ann@school.org"),
        ("\u200bann@school.org\u00a0", "ann@school.org"),
        ("ann@school.org <ANN@school.org>", "ann@school.org"),  # the same address twice
        ("Ann Lee", None),
        ("", None),
        ("ann@school", None),  # no domain ending
        ("ann@school.org, raj@school.org", None),  # two people
        ("ann at school dot org", None),
    ],
)
def test_address_in(cell: str, expected: str | None) -> None:
    assert address_in(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("  Ann\u00a0\u00a0Lee\u200b ", "Ann Lee"),
        ("\u202aAnn\u202c\tLee\n", "Ann Lee"),
        ("Ann\x07Lee", "Ann Lee"),
    ],
)
def test_clean_cell(cell: str, expected: str) -> None:
    assert clean_cell(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Ann Lee", "ann@school.org"),
        ("ANN LEE", "ann@school.org"),
        ("Lee, Ann", "ann@school.org"),
        ("Lee Ann", "ann@school.org"),
        ("Ms. Lee", "ann@school.org"),
        ("Dr Lee", "ann@school.org"),
        ("A. Lee", "ann@school.org"),
        ("Lee, A.", "ann@school.org"),
        ("alee", "ann@school.org"),
        ("ann.lee@gmail.com", "ann@school.org"),
        ("Ann Lee <a.lee@home.example>", "ann@school.org"),
        ("ann@home.example", "ann@school.org"),  # the same mailbox name
        ("ann+library@school.org", "ann@school.org"),  # a tagged address
        ("Maria Jose Gomez-Ruiz", "maria@school.org"),
        ("María Gómez-Ruiz", "maria@school.org"),  # first given name + last name
        ("M. Gomez Ruiz", "maria@school.org"),
        ("Mrs Gómez-Ruiz", "maria@school.org"),
        ("Mary Van Dyke", "jo@school.org"),
        ("Sean O'Brien", "sean@school.org"),
        ("sean obrien", "sean@school.org"),
        ("Smith", "lee@school.org"),
        # Too little, or more than one fits.
        ("Lee", None),  # Ann Lee's last name and Lee Smith's first name
        ("Ann", None),
        ("Mr. Jones", None),
        ("The library", None),
        ("", None),
        ("noname@home.example", "noname@school.org"),  # a teacher with no name on the roster
    ],
)
def test_probable_teacher(cell: str, expected: str | None) -> None:
    teacher = probable_teacher(ROSTER, cell)
    assert (teacher.email if teacher else None) == expected


def test_an_index_answers_many_lookups_the_same() -> None:
    names = RosterNames(ROSTER)
    for cell in ("Ann Lee", "Ms. Lee", "Lee", "M. Gomez Ruiz"):
        assert names.probable(cell) is probable_teacher(ROSTER, cell)


# A cell that is a bare address is read without the search for addresses in it: it must give
# what the search gives (the same cell with spaces around it is never a bare address).
@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(r"[A-Za-z0-9.+_'-]{0,6}@[A-Za-z0-9.-]{0,8}(\.[a-z]{1,3})?", fullmatch=True)
    | st.text(alphabet="aB3.@+-_ :<>", max_size=14)
)
def test_a_bare_address_reads_as_the_search_reads_it(cell: str) -> None:
    assert address_in(cell) == address_in(f" {cell} ")


def _words_normalised(text: str) -> tuple[tuple[str, ...], bool]:
    """names._words as first written: every text decomposed and stripped of combining marks."""
    import re
    import unicodedata

    from pdmail.sources.names import _TITLES

    if text.count(",") == 1:
        last, first = text.split(",")
        text = f"{first} {last}"
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = plain.replace("'", "").replace("\u2019", "")
    words = [w for w in re.split(r"[^\w]+|[\d_]+", plain) if w]
    kept = tuple(w for w in words if w not in _TITLES)
    return kept, len(kept) != len(words)


@settings(max_examples=300)
@given(
    st.text(
        st.sampled_from(list("AaEeIiLlOoZz .,'_-9@+<>\u2019\u00e9\u00c9\u0301\u00df\u0130\ufb01"))
        | st.characters(),
        max_size=30,
    )
)
def test_a_name_reads_the_same_with_or_without_the_ascii_shortcut(text: str) -> None:
    from pdmail.sources.names import _words

    assert _words.__wrapped__(text) == _words_normalised(text)
