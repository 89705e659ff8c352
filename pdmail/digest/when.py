"""When a teacher wants something: the dates written in an answer.

:func:`wanted_in` reads the dates a teacher wrote ("Dec 8, 10 and 15", "12/14", "on the 14th",
"by Friday", "next Tuesday", "week of Jan 5", "el 14 de diciembre", "mañana", "ASAP") and
resolves each against the day the answer was submitted (or the cycle's first day), so the
librarian can sort what to do by the date it is needed. Dates are written month first
("12/14"); a first number above 12 reads day first ("14/12"). Vague times ("before winter
break", "in January", "next week") are kept as words with no date: a date is never invented
when none is written. A date that has passed rolls to next year only when it plainly means
that (January in a December answer); an older one ("thanks for the 10/15 visit") is no date
wanted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..cycles import first_day, is_cycle_name
from . import datewords as dw
from .prefilter import Rule, compile_prefiltered, lower_cased, plain_source

__all__ = ["NO_DATE", "Wanted", "day_label", "wanted_in"]

#: A date this far before the answer is still the one wanted ("we start 12/2 so asap",
#: written on the 4th): late, not over.
GRACE = timedelta(days=14)
#: A date that has passed rolls to next year only when that puts it this close ahead (January
#: in a December answer; not September, which the teacher wrote about the past).
AHEAD = timedelta(days=183)
#: A range up to this many days lists each day; a longer one, its two ends.
RANGE_DAYS = 14
#: Characters of an answer read (as pdmail.digest.reading does): a pasted essay stays fast.
READ_LIMIT = 10_000


@dataclass(frozen=True)
class Wanted:
    """The dates an answer names. ``dates``: every concrete day, earliest first; ``words``:
    the phrases they (and any vague time, or "ASAP") came from, in the order written;
    ``asap``: the teacher asked for it as soon as possible; ``earliest``: the first date, or
    None when no date is written."""

    dates: tuple[date, ...] = ()
    words: tuple[str, ...] = ()
    asap: bool = False
    earliest: date | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # Frozen: the dates are put in order (and each kept once) as the record is made.
        object.__setattr__(self, "dates", tuple(sorted(set(self.dates))))
        object.__setattr__(self, "earliest", self.dates[0] if self.dates else None)

    def __bool__(self) -> bool:
        return bool(self.words)

    @property
    def when(self) -> str:
        """A short label: the earliest date ("Tue Dec 8"), else "ASAP", else the first
        vague time as written ("before winter break"), else ``""``."""
        if self.earliest is not None:
            return day_label(self.earliest)
        if self.asap:
            return "ASAP"
        return self.words[0] if self.words else ""

    @property
    def detail(self) -> str:
        """The words as written, joined by "; ", or ``""`` when :attr:`when` already says
        them ("ASAP" for "asap", a vague time on its own)."""
        text = "; ".join(self.words)
        return "" if text.casefold() == self.when.casefold() else text


#: No date written.
NO_DATE = Wanted()


def day_label(day: date) -> str:
    """``Tue Dec 8`` (in English whatever the locale, as the rest of the digest is)."""
    return f"{dw.DOW_NAMES[day.weekday()]} {dw.MONTH_NAMES[day.month - 1]} {day.day}"


# --- resolving a written day against the day the answer was written -------------------------


def _on(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _resolve(month: int, day: int, year: int | None, ref: date | None) -> date | None:
    """The day ``month``/``day`` (of ``year`` when written) most plainly means for an answer
    written on ``ref``; None when it has passed (beyond :data:`GRACE`) and does not plainly
    mean next year, or does not exist."""
    if year is not None:
        year = year + 2000 if year < 100 else year
        # A year far from the answer's is no date wanted ("12/14/99", a birth date).
        if ref is not None and not ref.year - 1 <= year <= ref.year + 2:
            return None
        return _on(year, month, day)
    if ref is None:
        return None
    this = _on(ref.year, month, day)
    if this is None:  # 29 February of a year without one
        nxt = _on(ref.year + 1, month, day)
        return nxt if nxt is not None and nxt - ref <= AHEAD else None
    if this < ref - GRACE:
        nxt = _on(ref.year + 1, month, day)
        return nxt if nxt is not None and nxt - ref <= AHEAD else None
    if this - ref > AHEAD:  # "Dec 30" in a January answer: the one just gone
        last = _on(ref.year - 1, month, day)
        if last is not None and last >= ref - GRACE:
            return last
    return this


def _next_day_of_month(day: int, ref: date | None, weekday: int | None = None) -> date | None:
    """The first ``day``-th of a month on or after ``ref`` ("the 14th"); with ``weekday``, the
    first that falls on it ("Monday the 14th"), else the first whatever its day."""
    if ref is None:
        return None
    found: list[date] = []
    year, month = ref.year, ref.month
    for _ in range(4):
        day_in = _on(year, month, day)
        if day_in is not None and day_in >= ref:
            found.append(day_in)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    same = [f for f in found if weekday is None or f.weekday() == weekday]
    pick = same or found
    return pick[0] if pick else None


def _span(first: date, last: date) -> list[date]:
    if last < first:
        last = _on(last.year + 1, last.month, last.day) or last
    if last < first:
        return [first]
    if (last - first).days < RANGE_DAYS:
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [first, last]


# --- the finders -----------------------------------------------------------------------------


def _month_ok(match: re.Match[str]) -> bool:
    word = match.group("month").rstrip(".")
    return word.lower() not in dw.CAPITAL_ONLY or word[0].isupper()


_MONTH_FIRST = compile_prefiltered(
    dw.LEAD
    + dw.WEEK_OF
    + dw.DOW_FIRST
    + dw.MONTH
    + rf"\s*(?:the\s+)?(?P<day>{dw.DAY}){dw.ORD}"
    + dw.YEAR,
    re.IGNORECASE,
)
_MORE_DAYS = compile_prefiltered(
    rf"(?P<sep>{dw.SEP})(?:the\s+)?(?:(?P<month>{dw.alt(dw.MONTHS)})\.?\s*)?(?P<day>{dw.DAY})"
    r"(?P<ord>st|nd|rd|th)?\b",
    re.IGNORECASE,
)
_MORE_NUMERIC = re.compile(
    rf"(?P<sep>{dw.SEP})(?:(?P<month>1[0-2]|0?[1-9])/)?(?P<day>{dw.DAY})(?P<ord>)(?![/\w])",
    re.IGNORECASE,
)


def _continue(
    text: str, end: int, month: int, first: int, ref: date | None, year: int | None,
    more: re.Pattern[str], month_of: Callable[[str], int | None],
) -> tuple[list[date], int]:  # fmt: skip
    """Days listed after a first one ("Dec 8, 10 and 15", "12/14-18"): their dates and where
    the list ends. A number that is a time, a count or a class ("6-8pm", "3 classes", "4th
    period") ends the list."""
    start = _resolve(month, first, year, ref)
    out = [start] if start else []
    previous = start
    for _ in range(dw.LIST_MAX):
        m = more.match(text, end)
        if m is None or not dw.ok_after(text, m.end(), bool(m.group("ord"))):
            break
        sep = m.group("sep").strip().lower()
        new_month = month_of(m.group("month")) if m.group("month") else month
        if new_month is None:
            break
        day = _resolve(new_month, int(m.group("day")), year, ref)
        if day is not None:
            if sep in dw.RANGE_WORDS and previous is not None:
                out.extend(_span(previous, day)[1:])
            else:
                out.append(day)
        month, previous, end = new_month, day, m.end()
    return out, end


def _month_word(word: str) -> int | None:
    return dw.MONTHS.get(word.lower().rstrip("."))


_DAY_FIRST = compile_prefiltered(
    dw.LEAD
    + dw.WEEK_OF
    + dw.DOW_FIRST
    + rf"(?:the\s+)?(?P<days>{dw.DAY}{dw.ORD}"
    + rf"(?:{dw.SEP}(?:the\s+)?{dw.DAY}{dw.ORD}){{0,{dw.LIST_MAX}}})"
    + rf"\s*(?:de\s+|of\s+|del\s+mes\s+de\s+)?{dw.MONTH}"
    + dw.YEAR,
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+")
_SEP_RX = re.compile(dw.SEP, re.IGNORECASE)

_NUMERIC = re.compile(
    dw.LEAD
    + dw.WEEK_OF
    + dw.DOW_FIRST
    + r"(?<![\d/.:\-\w])(?P<a>[0-3]?\d)/(?P<b>[0-3]?\d)(?:/(?P<year>\d{4}|\d{2}))?(?![\d/])",
    re.IGNORECASE,
)
_COUNTED = re.compile(r"\b(?:grades?|gr|ages?|levels?|lvl|scores?|ratio|score)\.?\s*$", re.I)

# A weekday and a day of the month ("Monday the 14th", "Tuesday 15th", "el lunes 14").
_DOW_DAY = compile_prefiltered(
    dw.LEAD + rf"(?P<dow>{dw.DOW}),?\s+(?:the\s+)?(?P<days>{dw.DAY})(?P<ord>st|nd|rd|th)?\b"
    r"(?!\s*(?:/|de\b|of\b))",
    re.IGNORECASE,
)
_ORDINAL = compile_prefiltered(
    r"(?P<lead>\b(?:no\s+later\s+than|by|before|until|till|on|for|starting|from)\s+)?"
    rf"\bthe\s+(?P<days>{dw.DAY}(?:st|nd|rd|th)\b"
    rf"(?:{dw.SEP}(?:the\s+)?{dw.DAY}(?:st|nd|rd|th)\b){{0,{dw.LIST_MAX}}})",
    re.IGNORECASE,
)
_EL_DAY = compile_prefiltered(
    rf"(?P<lead>\b(?:para|antes\s+del?|desde|hasta)\s+)?\b(?:el|del)\s+(?P<days>{dw.DAY})"
    r"(?=\s*(?:[.,;!?)]|$|\bo\b|\by\b|\ba\s+las\b))",
    re.IGNORECASE,
)

_WEEKDAY = compile_prefiltered(
    r"(?P<lead>\b(?:no\s+later\s+than|by|before|until|till|on|for|this\s+coming|this|"
    r"next|coming|el\s+pr[óo]ximo|el|este|pr[óo]ximo)\s+)?"
    rf"(?P<dow>{dw.DOW})(?P<after>\s+(?:que\s+viene|pr[óo]ximo)\b)?",
    re.IGNORECASE,
)
_RECURRING_AFTER = compile_prefiltered(
    r"(?:s\b|\s*/|\s+(?:mornings|afternoons|evenings|nights)\b)", re.IGNORECASE
)

# A capitalised word just before a weekday, not starting a sentence, makes the day part of a
# name ("Tech Tuesday", "Good Friday"); an acronym does not ("our PLC Tuesday").
_NAMED_DAY = compile_prefiltered(
    r"(?<![.!?\n]\s)(?<![\n(])(?<!^)\b"
    r"(?!(?:Maybe|Perhaps|Or|And|But|Then|Also|Either|Any|Only|Hi|Hello|Thanks|Yes|No|Ok|Okay)\b)"
    r"[A-Z][a-z][\w']*['\"]?\s+$"
)

_RELATIVE = compile_prefiltered(
    r"(?P<lead>\b(?:by|before|until|till|for|later|para|antes\s+de|hasta)\s+)?"
    r"\b(?P<word>the\s+day\s+after\s+tomorrow|pasado\s+mañana|tomorrow|tmrw|mañana|"
    r"today|tonight|hoy)\b",
    re.IGNORECASE,
)
_MORNING = re.compile(r"\b(?:la|esta|por\s+la|en\s+la|de\s+la|cada|toda\s+la|las)\s+$", re.I)

_ASAP = compile_prefiltered(
    r"\b(?:asap|a\.s\.a\.p\.?|as\s+soon\s+as\s+(?:possible|you\s+can|we\s+can|you're\s+able)|"
    r"urgent(?:ly)?|right\s+away|lo\s+(?:antes|m[áa]s\s+pronto)\s+posible|"
    r"cuanto\s+antes|urgente)(?!\w)",
    re.IGNORECASE,
)
_NOT_URGENT = re.compile(
    r"\b(?:not|no|nothing|isn'?t|is\s+not|nada|not\s+super|not\s+that|not\s+very|not\s+too|"
    r"no\s+es|no\s+muy|instead\s+of)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)

_ANY_MONTH = rf"(?:{dw.alt(dw.MONTHS)})\b\.?"
_FULL_MONTH = rf"(?:{dw.alt(dw.FULL_MONTHS)})\b"
_VAGUE = compile_prefiltered(
    "|".join(
        f"(?:{p})"
        for p in (
            r"\b(?:right\s+)?(?:before|after|over|during|by|until|till)\s+(?:the\s+)?"
            r"(?:(?:winter|spring|holiday|christmas|thanksgiving|mid-?winter|february|fall|"
            r"summer|long)\s+)?(?:break|vacation|recess|holidays)\b",
            r"\b(?:antes|despu[ée]s)\s+de\s+(?:las\s+)?(?:vacaciones|fiestas)"
            r"(?:\s+de\s+(?:invierno|navidad|primavera))?",
            r"\b(?:later\s+)?(?:next|this|the\s+following)\s+(?:week|month)\b",
            r"\bin\s+(?:a|one|two|three|four|a\s+couple\s+of|a\s+few|\d)\s+weeks?\b",
            r"\bla\s+(?:pr[óo]xima\s+semana|semana\s+que\s+viene)\b|\besta\s+semana\b|"
            r"\bel\s+(?:pr[óo]ximo\s+mes|mes\s+que\s+viene)\b",
            r"\b(?:the\s+)?(?:end|beginning|start|middle)\s+of\s+(?:the\s+)?"
            rf"(?:month|semester|quarter|term|year|{_FULL_MONTH})",
            r"\b(?:the\s+)?(?:first|second|third|fourth|last|1st|2nd|3rd|4th)\s+week\s+"
            rf"(?:of|in)\s+\b{_ANY_MONTH}",
            r"\b(?:before|after|during|by)\s+(?:the\s+)?(?:midterms?|finals?|exams?|"
            r"state\s+testing|testing|report\s+cards)\b",
            r"\b(?:in|by|before|after|during|until|early|mid-?|late|starting|through|en|"
            r"para|antes\s+de|despu[ée]s\s+de|a\s+principios\s+de|a\s+finales\s+de)\s*"
            rf"\b{_ANY_MONTH}(?:\s*(?:-|–|/|to|through)\s*\b{_ANY_MONTH})?",
            rf"\b{_ANY_MONTH}\s*(?:-|–|/|to|through)\s*\b{_ANY_MONTH}",
            rf"\b{_FULL_MONTH}",
        )
    ),
    re.IGNORECASE,
)


def _weekday(match: re.Match[str], text: str, ref: date | None) -> list[date] | None:
    """The day a weekday names ("by Friday", "next Tuesday", "el martes"), or None when it
    is no date wanted ("Tuesdays", "Tues/Thurs", "any day but Wednesday", "Sun" alone)."""
    dow = match.group("dow").lower().rstrip(".")
    lead = " ".join((match.group("lead") or "").lower().split())
    spanish = dow in dw.SPANISH_DAYS
    if spanish and not lead:
        return None
    if dow not in dw.FULL_DAYS and not spanish and not lead:
        return None
    if lead in {"el", "este"} and not spanish:
        return None
    if dw.before(text, match.start(), dw.NOT_THAT_DAY) or dw.before(
        text, match.start("dow"), dw.NOT_THAT_DAY
    ):
        return None
    if _RECURRING_AFTER.match(text, match.end("dow")) or text[max(0, match.start() - 1)] == "/":
        return None
    if not lead and _NAMED_DAY.search(text[max(0, match.start() - 30) : match.start()]):
        return None  # "Tech Tuesday", "Good Friday": a name, not a day
    if ref is None:
        return []
    target = dw.WEEKDAYS[dow]
    following = lead.startswith("next") or "ximo" in lead or match.group("after") is not None
    if following:  # "next Tuesday": the Tuesday of next week
        monday = ref - timedelta(days=ref.weekday()) + timedelta(days=7)
        return [monday + timedelta(days=target)]
    return [ref + timedelta(days=(target - ref.weekday()) % 7 or 7)]


class _Reader:
    """One answer being read: the spans already claimed, and what was found in them."""

    def __init__(self, text: str, ref: date | None) -> None:
        self.text = text
        self.ref = ref
        self.taken: list[tuple[int, int]] = []
        self.found: list[tuple[int, str, list[date]]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in self.taken)

    def claim(self, start: int, end: int) -> None:
        self.taken.append((start, end))

    def keep(self, start: int, end: int, dates: list[date]) -> None:
        self.claim(start, end)
        words = " ".join(self.text[start:end].split()).strip(",;:.— ")
        self.found.append((start, words, dates))

    def negated(self, match: re.Match[str]) -> bool:
        """A date the teacher rules out ("not the 17th", "except 12/16"): claimed, not kept."""
        if dw.before(self.text, match.start(), dw.NOT_THAT_DAY):
            self.claim(match.start(), match.end())
            return True
        return False

    def dated(self, start: int, end: int, dates: list[date]) -> None:
        """Keep a written date; one that has passed (no date) is claimed and left out."""
        if dates or self.ref is None:
            self.keep(start, end, dates)
        else:
            self.claim(start, end)


def _year(match: re.Match[str]) -> int | None:
    return int(match.group("year")) if match.group("year") else None


def _month_first(r: _Reader) -> None:
    for m in _MONTH_FIRST.finditer(r.text):
        if not r.free(m.start(), m.end()) or not _month_ok(m) or r.negated(m):
            continue
        month = dw.MONTHS[m.group("month").lower().rstrip(".")]
        dates, end = _continue(r.text, m.end(), month, int(m.group("day")), r.ref, _year(m),
                               _MORE_DAYS, _month_word)  # fmt: skip
        r.dated(m.start(), end, dates)


def _day_first(r: _Reader) -> None:
    for m in _DAY_FIRST.finditer(r.text):
        if not r.free(m.start(), m.end()) or not _month_ok(m) or r.negated(m):
            continue
        month = dw.MONTHS[m.group("month").lower().rstrip(".")]
        days_text = m.group("days")
        numbers = [(int(d.group()), d.start(), d.end()) for d in _NUMBER.finditer(days_text)]
        dates: list[date] = []
        previous: date | None = None
        for i, (number, at, _) in enumerate(numbers):
            day = _resolve(month, number, _year(m), r.ref)
            if day is None:
                continue
            joint = days_text[numbers[i - 1][2] : at] if i else ""
            sep = _SEP_RX.search(joint)
            if sep and sep.group().strip().lower() in dw.RANGE_WORDS and previous is not None:
                dates.extend(_span(previous, day)[1:])
            else:
                dates.append(day)
            previous = day
        r.dated(m.start(), m.end(), dates)


def _numeric(r: _Reader) -> None:
    for m in _NUMERIC.finditer(r.text):
        if not r.free(m.start(), m.end()) or dw.before(r.text, m.start("a"), _COUNTED):
            continue
        a, b = int(m.group("a")), int(m.group("b"))
        if not m.group("year") and (
            dw.FRACTION.match(r.text, m.end()) or (a <= 4 and b <= 4 and _DAY_AFTER.match(
                r.text, m.end()))
        ):  # fmt: skip
            continue
        month, day = (a, b) if a <= 12 else (b, a)  # 14/12 can only be day first
        if not (1 <= month <= 12 and 1 <= day <= 31) or r.negated(m):
            continue
        dates, end = _continue(r.text, m.end(), month, day, r.ref, _year(m), _MORE_NUMERIC,
                               int)  # fmt: skip
        r.dated(m.start(), end, dates)


_DAY_AFTER = re.compile(r"\s*(?:-\s*)?days?\b", re.IGNORECASE)


def _weekday_and_day(r: _Reader) -> None:
    for m in _DOW_DAY.finditer(r.text):
        if not r.free(m.start(), m.end()) or r.negated(m):
            continue
        if not dw.ok_after(r.text, m.end(), bool(m.group("ord"))):
            continue  # "Tuesday 4th period", "Thursday 1:30": the weekday alone is read later
        weekday = dw.WEEKDAYS[m.group("dow").lower().rstrip(".")]
        day = _next_day_of_month(int(m.group("days")), r.ref, weekday)
        r.keep(m.start(), m.end(), [day] if day else [])


def _bare_days(r: _Reader) -> None:
    for rx in (_ORDINAL, _EL_DAY):
        for m in rx.finditer(r.text):
            if not r.free(m.start(), m.end()) or not dw.ok_after(r.text, m.end(), True):
                continue
            if r.negated(m):
                continue
            numbers = [int(d.group()) for d in _NUMBER.finditer(m.group("days"))]
            days = {_next_day_of_month(n, r.ref) for n in numbers}
            r.keep(m.start(), m.end(), sorted(d for d in days if d is not None))


def _weekdays(r: _Reader) -> None:
    for m in _WEEKDAY.finditer(r.text):
        if r.free(m.start(), m.end()):
            got = _weekday(m, r.text, r.ref)
            if got is not None:
                r.keep(m.start(), m.end(), got)


def _relative(r: _Reader) -> None:
    for m in _RELATIVE.finditer(r.text):
        word = " ".join(m.group("word").lower().split())
        if not r.free(m.start(), m.end()):
            continue
        if word == "mañana" and dw.before(r.text, m.start("word"), _MORNING):
            continue  # "por la mañana": in the morning
        if word in {"today", "tonight", "hoy"} and not m.group("lead"):
            continue  # "today's kids", "hoy en día"
        step = 2 if " " in word else 1 if word in {"tomorrow", "tmrw", "mañana"} else 0
        r.keep(m.start(), m.end(), [r.ref + timedelta(days=step)] if r.ref else [])


def _asap(r: _Reader) -> bool:
    asap = False
    for m in _ASAP.finditer(r.text):
        if r.free(m.start(), m.end()) and not dw.before(r.text, m.start(), _NOT_URGENT):
            asap = True
            r.keep(m.start(), m.end(), [])
    return asap


def _vague(r: _Reader) -> None:
    for m in _VAGUE.finditer(r.text):
        if not r.free(m.start(), m.end()):
            continue
        months = [w for w in re.findall(r"[^\W\d_]+", m.group()) if w.lower() in dw.MONTHS]
        if any(w.lower() in dw.CAPITAL_ONLY and not w[0].isupper() for w in months):
            continue
        r.keep(m.start(), m.end(), [])


# Only whether an answer holds these counts: each is a Rule, searched lower-cased in an ASCII
# answer without ignoring case, which is quicker.
_ANY_MONTH_WORD = Rule(dw.MONTH, re.IGNORECASE)
_ANY_WEEKDAY = Rule(dw.DOW, re.IGNORECASE)
_SLASHED = re.compile(r"\d/\d")
_DAY_NUMBER = Rule(r"\d(?:st|nd|rd|th)\b|\b(?:el|del)\s+\d", re.IGNORECASE)
# Whether there is a relative day or an "as soon as possible" at all (most answers have
# neither): the full patterns, and the reading of each match, only where there is.
_ANY_RELATIVE = Rule(plain_source(_RELATIVE), _RELATIVE.flags)
_ANY_ASAP = Rule(plain_source(_ASAP), _ASAP.flags)
_VAGUE_WORD = Rule(
    r"\b(?:break|vacation|recess|holidays|vacaciones|fiestas|week|weeks|month|semana|mes|"
    r"midterms?|finals?|exams?|testing|report|semester|quarter|term|year)\b",
    re.IGNORECASE,
)


def wanted_in(
    text: str, submitted: datetime | date | None = None, cycle: str | None = None
) -> Wanted:
    """The dates ``text`` asks for, resolved against ``submitted`` (the answer's timestamp)
    or, without one, the first day of ``cycle`` (``YYYY-MM``). With neither, only dates
    written with their year are resolved; the words are kept all the same."""
    ref = submitted.date() if isinstance(submitted, datetime) else submitted
    if ref is None and cycle:
        ref = first_day(cycle) if is_cycle_name(cycle) else None
    r = _Reader(text[:READ_LIMIT], ref)
    # A cheap look for the words each finder starts from first: most answers name no month
    # or weekday, and the full patterns cost far more than these (a digest reads thousands).
    low = lower_cased(r.text)
    month = _ANY_MONTH_WORD.search(r.text, low)
    weekday = _ANY_WEEKDAY.search(r.text, low)
    # Most specific first: a finder never reads again the words an earlier one claimed.
    if month:
        _month_first(r)
        _day_first(r)
    if _SLASHED.search(r.text):
        _numeric(r)
    if weekday:
        _weekday_and_day(r)
    if _DAY_NUMBER.search(r.text, low):
        _bare_days(r)
    if weekday:
        _weekdays(r)
    if _ANY_RELATIVE.search(r.text, low):
        _relative(r)
    asap = _ANY_ASAP.search(r.text, low) and _asap(r)
    if month or _VAGUE_WORD.search(r.text, low):
        _vague(r)
    r.found.sort(key=lambda f: f[0])
    words: list[str] = []
    for _, phrase, _ in r.found:
        if phrase and phrase not in words:
            words.append(phrase)
    every = sorted({d for _, _, dates in r.found for d in dates})
    return Wanted(dates=tuple(every), words=tuple(words), asap=asap)
