"""The words of dates, in English and Spanish, as the patterns :mod:`pdmail.digest.when` reads:
month and weekday names, the pieces of a written day ("Dec 8", "the 14th", "12/14"), what may
join the days of a list or range, and the words around a number that make it no day at all
("periods 1, 2", "6-8pm", "3 classes", "not the 17th")."""

from __future__ import annotations

import re
from collections.abc import Iterable

# For labels ("Tue Dec 8"): English, as the rest of the digest is.
DOW_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan enero ene",
        "february feb febrero",
        "march mar marzo",
        "april apr abril abr",
        "may mayo",
        "june jun junio",
        "july jul julio",
        "august aug agosto",  # not "ago": "two weeks ago"
        "september sept sep septiembre setiembre",
        "october oct octubre",
        "november nov noviembre",
        "december dec diciembre dic",
    ),
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _number
# English words that are months only with a capital (or a day right after): "I may 3D print".
CAPITAL_ONLY = {"may", "mar", "march"}
FULL_MONTHS = sorted((n for n in MONTHS if len(n) > 3 and n not in {"sept"}), key=len, reverse=True)

WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "monday mon lunes",
        "tuesday tues tue martes",
        "wednesday weds wed miércoles miercoles",
        "thursday thurs thur thu jueves",
        "friday fri viernes",
        "saturday sat sábado sabado",
        "sunday sun domingo",
    )
):
    for _name in _names.split():
        WEEKDAYS[_name] = _number
SPANISH_DAYS = {"lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado",
                 "sabado", "domingo"}  # fmt: skip
FULL_DAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}


def alt(names: Iterable[str]) -> str:
    """A regex alternation of ``names``, longest first (so "sept" is tried before "sep")."""
    return "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))


MONTH = rf"\b(?P<month>{alt(MONTHS)})\b\.?"
DOW = rf"\b(?:{alt(WEEKDAYS)})\b\.?"
DAY = r"(?:[12]\d|3[01]|0?[1-9])(?!\d)"
ORD = r"(?:st|nd|rd|th|º|°|ro|do|to|vo|mo)?\b"
LEAD = (
    r"(?P<lead>\b(?:no\s+later\s+than|by|before|until|till|til|on|for|starting|from|"
    r"antes\s+del?|para\s+el|desde\s+el|el)\s+(?:the\s+)?)?"
)
WEEK_OF = r"(?P<weekof>\b(?:the\s+)?week\s+of\s+(?:the\s+)?|\bla\s+semana\s+del?\s+)?"
DOW_FIRST = rf"(?:(?P<dow>{DOW}),?\s+(?:the\s+)?)?"
YEAR = r"(?:,?\s+(?:de\s+|del\s+)?(?P<year>20\d\d)(?!\d))?"
# Between two days of one list or range.
# Each way through it is unique (the comma never takes the spaces after it), so a long list
# of numbers cannot make the match backtrack without end.
SEP = (
    r"\s*(?:,(?:\s*(?:and|or|y|o)\b)?|&|\band\b|\bor\b|\by\b|\bo\b|-|–|—|\bto\b|\bthrough\b|"
    r"\bthru\b|\bal\b|\ba\b)\s*"
)
#: Days in one list at most ("Dec 8, 10 and 15"): a longer run of numbers is no list of days.
LIST_MAX = 12
RANGE_WORDS = {"-", "–", "—", "to", "through", "thru", "al", "a"}
# Words after a number that make it a time or a count, not a day ("6-8pm", "3 classes").
TIME_OR_COUNT = re.compile(
    r"\s*(?:[:.]\d|%|/|\d|[-–]\s*\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m|p\.m)\b|"
    r"(?:am|pm|a\.m\.?|p\.m\.?|hrs?|hours|min(?:ute)?s?|students?|kids|copies|books|titles|"
    r"pages?|teachers?|class(?:es)?|sections?|sets?|times|years|days|weeks|"
    r"of\s+(?:the|my|our|them|these|those|each|every))\b)",
    re.IGNORECASE,
)
# Words after an ordinal that make it a class or a place, not a day ("4th period").
CLASS = re.compile(
    r"\s*(?:periods?|pds?|blocks?|grades?|graders?|gr|floors?|quarters?|qtrs?|semesters?|"
    r"trimesters?|terms?|centur(?:y|ies)|editions?|places?|rows?|units?|chapters?|lessons?|"
    r"sessions?|amendment|birthday|anniversary|street|st|ave|avenue|hour|week|day|time|"
    r"year|graders?|class|draft|edition|try|attempt)\b",
    re.IGNORECASE,
)
# After a first "12/14": the words that make it a fraction or a ratio ("1/2 day", "3/4 of").
FRACTION = re.compile(r"\s*(?:of|split|combo|cups?|time|inch(?:es)?|miles?|%)\b|\.\d", re.I)
# Before a date: the words that make it no date wanted ("not the 17th", "instead of Wed").
NOT_THAT_DAY = re.compile(
    r"\b(?:but|except|not|no|instead\s+of|every|each|other\s+than|besides|los|todos\s+los|"
    r"cada|black|good|ash|cyber|super|giving)\s+(?:on\s+)?(?:the\s+)?$",
    re.IGNORECASE,
)


def ok_after(text: str, end: int, ordinal: bool) -> bool:
    if TIME_OR_COUNT.match(text, end):
        return False
    return not (ordinal and CLASS.match(text, end))


def before(text: str, start: int, pattern: re.Pattern[str]) -> bool:
    return pattern.search(text[max(0, start - 40) : start]) is not None
