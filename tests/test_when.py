"""Reading when a teacher wants something: the dates written in an answer, resolved against
the day it was submitted, and never a date that is not written."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from pdmail.cli.jsonout import plain
from pdmail.digest.when import NO_DATE, Wanted, day_label, wanted_in

CHICAGO = ZoneInfo("America/Chicago")
# Tuesday 1 December 2026, 9:00: the day the December answers come in.
DEC_1 = datetime(2026, 12, 1, 9, 0, tzinfo=CHICAGO)


def d(text: str) -> date:
    return date.fromisoformat(text)


# (answer, every date it names, the words they came from)
WRITTEN = [
    ("Dates: Dec 8, 10 and 15 at 1:00. Let me know",
     ["2026-12-08", "2026-12-10", "2026-12-15"], ["Dec 8, 10 and 15"]),
    ("Could we have the library 12/14?", ["2026-12-14"], ["12/14"]),
    ("Could you teach it on the 14th?", ["2026-12-14"], ["on the 14th"]),
    ("Movie day planned for the 18th lol", ["2026-12-18"], ["for the 18th"]),
    ("I need them by Friday", ["2026-12-04"], ["by Friday"]),
    ("next Tuesday works", ["2026-12-08"], ["next Tuesday"]),
    ("Could we start the week of Jan 5?", ["2027-01-05"], ["the week of Jan 5"]),
    ("Any day week of 12/7", ["2026-12-07"], ["week of 12/7"]),
    ("el 14 de diciembre, por favor", ["2026-12-14"], ["el 14 de diciembre"]),
    ("del 14 al 16 de diciembre", ["2026-12-14", "2026-12-15", "2026-12-16"],
     ["14 al 16 de diciembre"]),
    ("¿Puedes venir mañana?", ["2026-12-02"], ["mañana"]),
    ("el martes que viene", ["2026-12-08"], ["el martes que viene"]),
    ("laptop cart dec 17-18 pls", ["2026-12-17", "2026-12-18"], ["dec 17-18"]),
    ("Dates: 12/7-12/9", ["2026-12-07", "2026-12-08", "2026-12-09"], ["12/7-12/9"]),
    ("deadline week (12/14-12/16, 3-5pm)", ["2026-12-14", "2026-12-15", "2026-12-16"],
     ["12/14-12/16"]),
    ("Dec 9, 10 — periods 1, 2, 5, 7.", ["2026-12-09", "2026-12-10"], ["Dec 9, 10"]),
    ("Dec 8 & 9, periods 3-4 (block)", ["2026-12-08", "2026-12-09"], ["Dec 8 & 9"]),
    ("FAFSA night on Jan 13, 6-8pm?", ["2027-01-13"], ["on Jan 13"]),
    ("Tuesday 12/8, 4th period", ["2026-12-08"], ["Tuesday 12/8"]),
    ("Tues 12/15 and Wed 12/16, all my classes", ["2026-12-15", "2026-12-16"],
     ["Tues 12/15", "Wed 12/16"]),
    ("Thursday Dec 10 B block, Friday Dec 11 A block",
     ["2026-12-10", "2026-12-11"], ["Thursday Dec 10", "Friday Dec 11"]),
    ("Periods 1,3,5,7 on Dec 14 if possible, otherwise the 15th",
     ["2026-12-14", "2026-12-15"], ["on Dec 14", "the 15th"]),
    ("reserve it Dec 18 (not the 17th), periods 5-6?", ["2026-12-18"], ["Dec 18"]),
    ("on THURSDAY Dec 10 instead of Wed (we have an assembly Wed)?", ["2026-12-10"],
     ["on THURSDAY Dec 10"]),
    ("a lesson in January before the 1/22 due date?", ["2027-01-22"],
     ["in January", "before the 1/22"]),
    ("December 14th, 15th and 16th", ["2026-12-14", "2026-12-15", "2026-12-16"],
     ["December 14th, 15th and 16th"]),
    ("the 8th and 10th of December", ["2026-12-08", "2026-12-10"],
     ["the 8th and 10th of December"]),
    ("14/12 si se puede", ["2026-12-14"], ["14/12"]),  # day first: there is no 14th month
    ("Dec 14, 2026", ["2026-12-14"], ["Dec 14, 2026"]),
    ("the PD day on 1/4/2027", ["2027-01-04"], ["on 1/4/2027"]),
    ("tomorrow if you can", ["2026-12-02"], ["tomorrow"]),
    # A weekday with a day of the month: the first such day that falls on it.
    ("Monday the 14th", ["2026-12-14"], ["Monday the 14th"]),
    ("Could you come Tuesday 15th?", ["2026-12-15"], ["Tuesday 15th"]),
    ("el lunes 14, por favor", ["2026-12-14"], ["el lunes 14"]),
    ("Friday the 1st", ["2027-01-01"], ["Friday the 1st"]),  # 1 January is the Friday
    ("Tuesday 4th period", ["2026-12-08"], ["Tuesday"]),
    ("Thursday 1:30 works", ["2026-12-03"], ["Thursday"]),
    ("could you come to our PLC Thursday?", ["2026-12-03"], ["Thursday"]),
    ("Books on volcanoes\nMaybe Thursday?", ["2026-12-03"], ["Thursday"]),
    ("from Dec 14 to 16", ["2026-12-14", "2026-12-15", "2026-12-16"], ["from Dec 14 to 16"]),
    ("Dec 14th-16th", ["2026-12-14", "2026-12-15", "2026-12-16"], ["Dec 14th-16th"]),
    ("We start 12/2 so asap, sorry", ["2026-12-02"], ["12/2", "asap"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "dates", "words"), WRITTEN)
def test_the_dates_an_answer_names(text: str, dates: list[str], words: list[str]) -> None:
    got = wanted_in(text, DEC_1)
    assert got.dates == tuple(d(x) for x in dates)
    assert got.words == tuple(words)
    assert got.earliest == d(dates[0])


# Vague times are kept as the teacher wrote them, with no date.
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("before winter break if possible", ["before winter break"]),
        ("Before break would be awesome but January is fine too.", ["Before break", "January"]),
        ("any day next week", ["next week"]),
        ("Need them by January", ["by January"]),
        ("We compare them the 2nd week of Dec.", ["the 2nd week of Dec"]),
        ("a reading challenge for Jan-Feb?", ["Jan-Feb"]),
        ("antes de las vacaciones de invierno", ["antes de las vacaciones de invierno"]),
        ("la próxima semana", ["la próxima semana"]),
        ("in two weeks or so", ["in two weeks"]),
        ("before the end of the semester", ["the end of the semester"]),
        ("after the holidays", ["after the holidays"]),
    ],
)
def test_vague_times_are_words_without_a_date(text: str, words: list[str]) -> None:
    got = wanted_in(text, DEC_1)
    assert (got.dates, got.earliest, got.words) == ((), None, tuple(words))
    assert got.when == words[0]


@pytest.mark.parametrize(
    "text",
    [
        "Could you pull books on volcanoes?",
        "My grade 7 kids need 30 copies, periods 1, 2 and 5",
        "pages 80-100 are missing; level J-L; HSK 1-2",
        "1:1 help with Canvas, 9-11:30 works",
        "The 8th grade team meets Tuesdays after school",
        "Maybe Friday mornings?",
        "Tues/Thurs 4th period",
        "3/4 of my kids and the grades 3/4 combo",
        "a 1/2 day schedule",
        "I may 3D print the models",
        "Nos vemos por la mañana",
        "hoy en día los chicos usan IA",
        "Could we collaborate on a 'Tech Tuesday' tips email?",
        "the 5th grade team and the 4th floor lab",
        "Any day but Wednesday works for us",
        "Not urgent at all",
        "nothing urgent, no rush",
        # A date that has passed and is no January: the teacher writes about the past.
        "Thanks for the 10/15 visit! Could you pull books for our 9/11 unit?",
        "The Sept 20 lesson was great",
    ],
)
def test_no_date_is_invented(text: str) -> None:
    got = wanted_in(text, DEC_1)
    assert got.dates == () and got.earliest is None
    assert (got.words, got.asap, got.when) == ((), False, "")


@pytest.mark.parametrize(
    ("text", "asap"),
    [
        ("ASAP please", True),
        ("as soon as possible", True),
        ("this is urgent!", True),
        ("lo antes posible por favor", True),
        ("cuanto antes", True),
        ("Not urgent at all", False),
        ("not super urgent", False),
        ("no es urgente", False),
        ("release scores instead of right away", False),
    ],
)
def test_asap(text: str, asap: bool) -> None:
    got = wanted_in(text, DEC_1)
    assert got.asap is asap
    assert got.when == ("ASAP" if asap else "")


@pytest.mark.parametrize(
    ("submitted", "text", "expected"),
    [
        # January in a December answer means next January.
        (date(2026, 12, 3), "Jan 19-22", "2027-01-19"),
        (date(2026, 12, 3), "1/11", "2027-01-11"),
        # A date just gone is still the one wanted (an answer sent late).
        (date(2026, 12, 4), "we start 12/2", "2026-12-02"),
        # "Dec 30" in a January answer is the one just gone, not next December.
        (date(2027, 1, 4), "the Dec 30 pull", "2026-12-30"),
        # A bare day of the month is the next one: the 5th asked on the 20th is next month's.
        (date(2026, 12, 20), "on the 5th", "2027-01-05"),
        (date(2026, 11, 30), "on the 14th", "2026-12-14"),
        # Weekdays count from the day of the answer (Mon 7 December 2026).
        (date(2026, 12, 7), "Tuesday", "2026-12-08"),
        (date(2026, 12, 7), "next Tuesday", "2026-12-15"),
        (date(2026, 12, 5), "next Tuesday", "2026-12-08"),  # a Saturday: the coming week
        (date(2026, 12, 4), "by Friday", "2026-12-11"),  # asked on a Friday: the next one
        (date(2026, 12, 7), "el próximo viernes", "2026-12-18"),
        (date(2026, 12, 31), "mañana", "2027-01-01"),
        # A year written is kept.
        (date(2026, 12, 1), "Dec 14, 2027", "2027-12-14"),
    ],
)
def test_dates_resolve_against_the_day_of_the_answer(
    submitted: date, text: str, expected: str
) -> None:
    assert wanted_in(text, submitted).earliest == d(expected)


@pytest.mark.parametrize(
    ("submitted", "text"),
    [
        (date(2026, 12, 3), "Sept 11"),  # nine months on: no plain "next year"
        (date(2026, 12, 20), "Dec 1"),  # nineteen days gone
        (date(2026, 12, 1), "Feb 30"),  # no such day
        (date(2026, 12, 1), "born 12/14/99"),  # a year far from the answer's
        (date(2026, 12, 1), "Dec 14, 2031"),
    ],
)
def test_a_date_that_has_passed_or_does_not_exist_is_no_date(submitted: date, text: str) -> None:
    got = wanted_in(text, submitted)
    assert got.dates == () and got.words == ()


def test_without_a_timestamp_the_cycle_is_the_reference() -> None:
    assert wanted_in("on the 14th", None, "2027-01").earliest == date(2027, 1, 14)
    assert wanted_in("Dec 8", None, "2026-12").earliest == date(2026, 12, 8)


def test_without_any_reference_only_a_written_year_resolves() -> None:
    assert wanted_in("Dec 14, 2026").dates == (date(2026, 12, 14),)
    got = wanted_in("Dec 14 and by Friday")
    assert got.dates == ()
    assert got.words == ("Dec 14", "by Friday")  # kept as written, never guessed


def test_labels_and_json() -> None:
    got = wanted_in("Dec 8, 10 and 15, asap", DEC_1)
    assert got.when == "Tue Dec 8" == day_label(date(2026, 12, 8))
    assert plain(got) == {
        "dates": ["2026-12-08", "2026-12-10", "2026-12-15"],
        "words": ["Dec 8, 10 and 15", "asap"],
        "asap": True,
        "earliest": "2026-12-08",
    }
    assert not NO_DATE and Wanted() == NO_DATE and NO_DATE.when == ""
    made = Wanted(dates=(date(2027, 1, 5), date(2026, 12, 9), date(2027, 1, 5)))
    assert made.dates == (date(2026, 12, 9), date(2027, 1, 5))
    assert made.earliest == date(2026, 12, 9)


def test_a_pasted_essay_is_read_quickly() -> None:
    text = ("Our unit on volcanoes starts soon and the kids need books, periods 1, 2 and 3. " * 3000
            + "Dec 8")  # fmt: skip
    start = time.perf_counter()
    got = wanted_in(text, DEC_1)
    assert time.perf_counter() - start < 2.0
    assert got.dates == ()  # the date is past the part that is read


@pytest.mark.parametrize(
    "text", ["1, " * 4000, "1 y " * 3000, "the 1st and 2nd and " * 600, "12/14-" * 2000]
)
def test_long_runs_of_numbers_are_read_quickly(text: str) -> None:
    """A run of numbers once made the list pattern backtrack without end."""
    start = time.perf_counter()
    wanted_in(text, DEC_1)
    assert time.perf_counter() - start < 2.0


def test_a_list_of_days_is_at_most_a_dozen_long() -> None:
    days = ", ".join(str(n) for n in range(1, 29))
    got = wanted_in(f"Dec {days}", DEC_1)
    assert got.dates == tuple(date(2026, 12, n) for n in range(1, 14))
