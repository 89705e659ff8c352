"""The year's PD report as numbers: pure counting over the year's records, no I/O.

Every count is of distinct things: a teacher asked twice in a month (a request resent after
a failure) is one request; a need names each kind, format and topic once. A need with two
formats or topics counts under each (the tables say so), but once in every total. Rates are
None where nothing was asked, so no month ever divides by zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ..digest.topics import is_request, split_formats
from ..display import shorten
from ..models import KINDS, MessageKey, Response, Teacher
from ..sources.roster import normalize_email
from ..state.journal import JournalEntry
from ..state.needs import NeedRecord
from .year import SchoolYear, month_label

REQUEST = "request"
NO_TEAM = "(no team)"
NO_FORMAT = "(no format given)"
NO_TOPIC = "(no topic)"
NO_KIND = "(not sorted)"

# Where a month stands: requests went out; the campaign does not run in it; it has not come
# yet; it ran in the calendar but no request is in the ledger (pdmail was not in use yet).
MonthState = str
SENT, NO_CYCLE, NOT_YET, NOT_SENT = "sent", "no cycle", "not yet", "not sent"


def rate(part: int, whole: int) -> float | None:
    """``part`` over ``whole`` (answered over asked), from 0 to 1; None when ``whole`` is 0."""
    return part / whole if whole else None


def percent(part: int, whole: int) -> int | None:
    """``part`` of ``whole`` as a whole percentage, rounded half up; None when ``whole`` is 0.

    Worked out from the counts rather than from :func:`rate`, whose float can fall a hair
    short of a half (29 of 200 is 0.145, times 100 is 14.4999...) and round it down."""
    return int(part * 100 / whole + 0.5) if whole else None


@dataclass(frozen=True)
class MonthRow:
    """One month of the school year: what was asked, answered and needed, and the journal."""

    cycle: str
    label: str
    state: MonthState
    requests: int = 0
    reminders: int = 0
    answered: int = 0
    needs: int = 0
    scheduled: int = 0
    done: int = 0
    journal: tuple[JournalEntry, ...] = ()

    @property
    def rate(self) -> float | None:
        """Teachers who answered over teachers asked; None when nobody was asked."""
        return rate(self.answered, self.requests)

    @property
    def percent(self) -> int | None:
        return percent(self.answered, self.requests)

    @property
    def note(self) -> str:
        """The month's state in words ("" for a month whose requests went out)."""
        return {
            NO_CYCLE: "no cycle: the campaign does not run this month",
            NOT_YET: "not yet",
            NOT_SENT: "no requests sent",
        }.get(self.state, "")


@dataclass(frozen=True)
class KindRow:
    """The needs of one kind (task, learning, lesson) received in the year, by status."""

    kind: str
    received: int
    open: int
    scheduled: int
    done: int


@dataclass(frozen=True)
class Tally:
    """Needs done and scheduled under one name (a format or a topic)."""

    name: str
    done: int
    scheduled: int

    @property
    def total(self) -> int:
        return self.done + self.scheduled


@dataclass(frozen=True)
class TeamRow:
    team: str
    teachers: int  # active on the roster
    asked: int  # distinct teachers with a need this year
    helped: int  # distinct teachers with a need done (those who have left or are inactive too)
    done: int  # needs done
    reached: int = 0  # of ``teachers``, how many had a need done

    @property
    def percent(self) -> int | None:
        """The share of the team's active teachers helped (never over 100)."""
        return percent(self.reached, self.teachers)


@dataclass(frozen=True)
class TeacherRow:
    email: str
    name: str
    team: str
    active: bool
    answered: int  # months answered
    needs: int
    done: int
    on_roster: bool = True

    @property
    def helped(self) -> bool:
        return self.done > 0


@dataclass(frozen=True)
class UnitRow:
    """A unit of study the library supported: a need done or scheduled, and the unit its
    teacher named that month."""

    cycle: str
    team: str
    teacher: str
    unit: str
    topics: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class SurveyQuestion:
    """One question of a PD survey round: each choice and how many teachers ticked it."""

    question: str
    counts: tuple[tuple[str, int], ...]

    @property
    def top(self) -> int:
        """The largest count (0 when nobody ticked anything), the full length of a bar."""
        return max((n for _, n in self.counts), default=0)


@dataclass(frozen=True)
class Survey:
    """One round of a PD survey held this year: ``asked`` teachers sent the request,
    ``responses`` of them answered, the counts question by question, and the teachers' own
    suggestions."""

    name: str
    cycle: str
    asked: int
    responses: int
    questions: tuple[SurveyQuestion, ...]
    suggestions: tuple[str, ...] = ()

    @property
    def percent(self) -> int | None:
        return percent(self.responses, self.asked)

    @property
    def label(self) -> str:
        return month_label(self.cycle)


@dataclass(frozen=True)
class Summary:
    """The year's totals in one record (what ``--json`` gives scripts beside the tables)."""

    year: str
    cycles_run: int
    requests: int
    answered: int
    rate: float | None
    percent: int | None
    needs: int
    done: int
    scheduled: int
    open: int
    active: int
    helped: int
    helped_active: int
    never_helped: int
    teams: int
    teams_reached: int
    units: int  # distinct units (a teacher's unit helped twice counts once)


@dataclass(frozen=True)
class YearReport:
    school: str
    campaign: str
    year: SchoolYear
    generated: datetime
    months: tuple[MonthRow, ...]
    kinds: tuple[KindRow, ...]
    formats: tuple[Tally, ...]
    topics: tuple[Tally, ...]
    teams: tuple[TeamRow, ...]
    teachers: tuple[TeacherRow, ...]
    units: tuple[UnitRow, ...]
    journal: tuple[JournalEntry, ...]
    surveys: tuple[Survey, ...] = ()
    problems: tuple[str, ...] = ()
    librarian: str = ""

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.months)

    @property
    def answered(self) -> int:
        return sum(m.answered for m in self.months)

    @property
    def rate(self) -> float | None:
        """The year's answers over its requests; None when nothing was asked."""
        return rate(self.answered, self.requests)

    @property
    def percent(self) -> int | None:
        return percent(self.answered, self.requests)

    @property
    def needs(self) -> int:
        return sum(m.needs for m in self.months)

    @property
    def done(self) -> int:
        return sum(m.done for m in self.months)

    @property
    def scheduled(self) -> int:
        return sum(m.scheduled for m in self.months)

    @property
    def helped(self) -> int:
        """Distinct teachers with at least one need done (who have left since too)."""
        return sum(t.helped for t in self.teachers)

    @property
    def helped_active(self) -> int:
        """Active roster teachers with at least one need done."""
        return self.active - len(self.never_helped)

    @property
    def active(self) -> int:
        """Active teachers on the roster."""
        return sum(t.active and t.on_roster for t in self.teachers)

    @property
    def never_helped(self) -> tuple[TeacherRow, ...]:
        """Active roster teachers with no need done this year."""
        return tuple(t for t in self.teachers if t.active and t.on_roster and not t.helped)

    @property
    def teams_reached(self) -> int:
        return sum(t.helped > 0 for t in self.teams)

    @property
    def cycles_run(self) -> int:
        return sum(m.state == SENT for m in self.months)

    @property
    def summary(self) -> Summary:
        return Summary(
            year=self.year.label,
            cycles_run=self.cycles_run,
            requests=self.requests,
            answered=self.answered,
            rate=self.rate,
            percent=self.percent,
            needs=self.needs,
            done=self.done,
            scheduled=self.scheduled,
            open=self.needs - self.done - self.scheduled,
            active=self.active,
            helped=self.helped,
            helped_active=self.helped_active,
            never_helped=len(self.never_helped),
            teams=len(self.teams),
            teams_reached=self.teams_reached,
            units=len({(u.teacher.casefold(), u.unit.casefold()) for u in self.units}),
        )


def build_report(
    *,
    school: str,
    campaign: str,
    year: SchoolYear,
    generated: datetime,
    runs: Mapping[str, bool],
    sends: Mapping[str, date],
    sent: Sequence[MessageKey],
    answers: Mapping[str, Mapping[str, Response]],
    needs: Sequence[NeedRecord],
    roster: Sequence[Teacher],
    journal: Sequence[JournalEntry] = (),
    surveys: Sequence[Survey] = (),
    problems: Sequence[str] = (),
    librarian: str = "",
) -> YearReport:
    """Count the school ``year`` of ``campaign``.

    ``runs`` says whether the calendar runs each month and ``sends`` its send day (a month
    not run yet on ``generated``'s day is "not yet"); ``sent`` are the keys of the
    campaign's messages that were sent (:meth:`pdmail.state.ledger.Ledger.sent_keys`);
    ``answers`` each month's latest answer by address (roster teachers and others alike: a
    teacher who has left still answered); ``needs`` the campaign's needs as the
    librarian has marked them; ``roster`` every teacher (active or not); ``journal`` the
    entries about days in the year; ``surveys`` the PD survey rounds held. Rows outside the
    year are ignored.
    """
    names = year.cycles
    in_year = set(names)
    asked: dict[str, set[str]] = {n: set() for n in names}
    reminded: dict[str, set[tuple[str, str]]] = {n: set() for n in names}
    for key in sent:
        if key.cycle not in in_year:
            continue
        who = normalize_email(key.recipient) or key.recipient
        if key.kind == REQUEST:
            asked[key.cycle].add(who)
        elif key.kind.startswith("reminder-"):
            reminded[key.cycle].add((who, key.kind))
    answered = {n: asked[n] & {normalize_email(a) or a for a in answers.get(n, {})} for n in names}
    year_needs = [r for r in needs if r.cycle in in_year]
    by_month: dict[str, list[JournalEntry]] = {}
    kept = [j for j in journal if year.holds(j.day)]
    for j in kept:
        by_month.setdefault(f"{j.day.year:04d}-{j.day.month:02d}", []).append(j)
    today = generated.date()
    months = []
    for n in names:
        mine = [r for r in year_needs if r.cycle == n]
        if asked[n]:
            state = SENT
        elif not runs.get(n, False):
            state = NO_CYCLE
        elif sends.get(n, date.max) > today:
            state = NOT_YET
        else:
            state = NOT_SENT
        months.append(
            MonthRow(
                cycle=n,
                label=month_label(n),
                state=state,
                requests=len(asked[n]),
                reminders=len(reminded[n]),
                answered=len(answered[n]),
                needs=len(mine),
                scheduled=sum(r.status == "scheduled" for r in mine),
                done=sum(r.status == "done" for r in mine),
                journal=tuple(by_month.get(n, ())),
            )
        )
    return YearReport(
        school=school,
        campaign=campaign,
        year=year,
        generated=generated,
        months=tuple(months),
        kinds=_kinds(year_needs),
        formats=_tally(year_needs, lambda r: split_formats(r.format) or (NO_FORMAT,)),
        topics=_tally(year_needs, lambda r: r.topics or (NO_TOPIC,)),
        teams=_teams(year_needs, roster),
        teachers=_teachers(year_needs, roster, answered),
        units=_units(year_needs, answers),
        journal=tuple(kept),
        surveys=tuple(s for s in surveys if s.cycle in in_year),
        problems=tuple(problems),
        librarian=librarian,
    )


def _kinds(needs: Sequence[NeedRecord]) -> tuple[KindRow, ...]:
    rows = []
    for kind in (*KINDS, NO_KIND):
        mine = [r for r in needs if (kind in r.kinds if kind != NO_KIND else not r.kinds)]
        if kind == NO_KIND and not mine:
            continue
        statuses = Counter(r.status for r in mine)
        rows.append(
            KindRow(kind, len(mine), statuses["open"], statuses["scheduled"], statuses["done"])
        )
    return tuple(rows)


def _tally(
    needs: Sequence[NeedRecord], names: Callable[[NeedRecord], Iterable[str]]
) -> tuple[Tally, ...]:
    """Needs done and scheduled under each of the names ``names(need)`` gives, most first."""
    done: Counter[str] = Counter()
    scheduled: Counter[str] = Counter()
    for r in needs:
        if r.status not in ("done", "scheduled"):
            continue
        for name in dict.fromkeys(names(r)):
            (done if r.status == "done" else scheduled)[name] += 1
    order = sorted(set(done) | set(scheduled), key=lambda k: (-done[k] - scheduled[k], k))
    return tuple(Tally(k, done[k], scheduled[k]) for k in order)


def _team(teacher: Teacher | None, need_team: str = "") -> str:
    if teacher is not None:
        return teacher.team.strip() or NO_TEAM
    return need_team.strip() or NO_TEAM


def _teams(needs: Sequence[NeedRecord], roster: Sequence[Teacher]) -> tuple[TeamRow, ...]:
    by_email = {t.email: t for t in roster}
    teachers: Counter[str] = Counter(_team(t) for t in roster if t.active)
    asked: dict[str, set[str]] = {}
    helped: dict[str, set[str]] = {}
    done: Counter[str] = Counter()
    for r in needs:
        team = _team(by_email.get(r.email), r.team)
        asked.setdefault(team, set()).add(r.email)
        if r.status == "done":
            helped.setdefault(team, set()).add(r.email)
            done[team] += 1
    active = {t.email for t in roster if t.active}
    names = sorted(set(teachers) | set(asked), key=lambda t: (t == NO_TEAM, t.casefold()))
    return tuple(
        TeamRow(t, teachers[t], len(asked.get(t, ())), len(helped.get(t, ())), done[t],
                len(helped.get(t, set()) & active))
        for t in names
    )  # fmt: skip


def _teachers(
    needs: Sequence[NeedRecord], roster: Sequence[Teacher], answered: Mapping[str, set[str]]
) -> tuple[TeacherRow, ...]:
    months: Counter[str] = Counter(e for people in answered.values() for e in people)
    mine: dict[str, list[NeedRecord]] = {}
    for r in needs:
        mine.setdefault(r.email, []).append(r)
    rows = [
        TeacherRow(
            email=t.email,
            name=t.display_name,
            team=_team(t),
            active=t.active,
            answered=months[t.email],
            needs=len(mine.get(t.email, ())),
            done=sum(r.status == "done" for r in mine.get(t.email, ())),
        )
        for t in roster
    ]
    # Teachers helped this year who are no longer on the roster still count as reached.
    known = {t.email for t in roster}
    for email, records in mine.items():
        if email in known:
            continue
        rows.append(
            TeacherRow(email, records[-1].teacher or email, _team(None, records[-1].team),
                       False, months[email], len(records),
                       sum(r.status == "done" for r in records), on_roster=False)
        )  # fmt: skip
    rows.sort(key=lambda r: (r.team == NO_TEAM, r.team.casefold(), r.name.casefold()))
    return tuple(rows)


def _units(
    needs: Sequence[NeedRecord], answers: Mapping[str, Mapping[str, Response]]
) -> tuple[UnitRow, ...]:
    rows = []
    for r in needs:
        if r.status not in ("done", "scheduled"):
            continue
        response = answers.get(r.cycle, {}).get(r.email)
        unit = response.units.strip() if response is not None else ""
        if not unit or not is_request(unit):
            continue
        rows.append(UnitRow(r.cycle, r.team.strip() or NO_TEAM, r.teacher, shorten(unit),
                            r.topics, r.status))  # fmt: skip
    rows.sort(key=lambda u: (u.cycle, u.team.casefold(), u.teacher.casefold()))
    return tuple(rows)
