"""The PD preferences survey's results: how teachers want professional development offered
(formats, times of day) and what interests them (topics), counted overall and by team, and
their own suggestions.

:func:`survey_results` is pure: it takes a cycle's matched answers and the Form's questions,
and returns frozen records that the survey digest renders and a year report can reuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config.records import SurveyQuestions
from ..errors import InputError
from ..models import Response, Teacher
from ..sources.responses import Collection
from ..wording import one_line
from .choices import OTHER, Ticked, read_ticked
from .layout import QUESTIONS

# The width, in characters, of a full bar in the text digest.
BAR_WIDTH = 20
_BLOCKS = " ▏▎▍▌▋▊▉█"


@dataclass(frozen=True)
class Bar:
    """One choice's count: ``count`` of the ``of`` teachers who answered the survey ticked it."""

    label: str
    count: int
    of: int

    @property
    def share(self) -> float:
        """``count`` over ``of`` (0.0 when nobody answered)."""
        return self.count / self.of if self.of else 0.0

    @property
    def text_bar(self) -> str:
        """The share as a bar of block characters, :data:`BAR_WIDTH` wide when everyone
        ticked it (eighths of a character for the rest)."""
        eighths = round(self.share * BAR_WIDTH * 8)
        full, part = divmod(eighths, 8)
        return "█" * full + (_BLOCKS[part] if part else "")


@dataclass(frozen=True)
class QuestionCounts:
    """One question's bars, most ticked first (then in the Form's order), an ``Other`` bar
    last when someone ticked it or wrote an answer that is no choice; ``others`` are those
    answers' words."""

    key: str
    title: str
    bars: tuple[Bar, ...]
    others: tuple[str, ...]
    answered: int  # teachers who ticked anything for it


@dataclass(frozen=True)
class TeamCounts:
    """The counts of the teachers of one team (``""``: no team on the roster)."""

    team: str
    respondents: int
    questions: tuple[QuestionCounts, ...]


@dataclass(frozen=True)
class Suggestion:
    """One teacher's free-text suggestion, as they wrote it (on one line)."""

    teacher: str
    email: str
    team: str
    text: str


@dataclass(frozen=True)
class SurveyResults:
    """What a survey round comes to: ``asked`` teachers in its audience, ``respondents`` who
    answered (their latest answer counts), the counts overall and by team, and the
    suggestions. ``strangers`` counts answers from addresses not on the roster (left out)."""

    cycle: str
    asked: int
    respondents: int
    questions: tuple[QuestionCounts, ...]
    teams: tuple[TeamCounts, ...]
    suggestions: tuple[Suggestion, ...]
    strangers: int = 0

    @property
    def rate(self) -> float:
        return self.respondents / self.asked if self.asked else 0.0


def survey_results(collection: Collection, questions: SurveyQuestions) -> SurveyResults:
    """Count ``collection``'s answers (a survey cycle's, matched to the roster) against the
    survey's ``questions``: each counted question's choices, overall and by team, and every
    suggestion.

    Checkbox answers are read with :func:`pdmail.campaigns.choices.read_ticked` (several
    choices in one cell, "Other" answers kept with their words). Only roster teachers' latest
    answers count; the teams are the roster's, in name order.

    Raises :class:`~pdmail.errors.InputError` naming the export and the missing header when
    an answer has no column for one of the questions.
    """
    answered = list(collection.answered)
    _check_columns(answered, questions)
    ticked = [(teacher, _ticks(response, questions)) for teacher, response in answered]
    overall = _count(ticked, questions, order=None)
    order = {q.key: [b.label for b in q.bars] for q in overall}
    teams = sorted({teacher.team.strip() for teacher, _ in ticked}, key=str.casefold)
    by_team = tuple(
        TeamCounts(
            team=team,
            respondents=len(members),
            questions=_count(members, questions, order=order),
        )
        for team in teams
        if (members := [(t, k) for t, k in ticked if t.team.strip() == team])
    )
    suggestions = tuple(
        Suggestion(teacher.display_name, teacher.email, teacher.team, text)
        for teacher, response in answered
        if (text := one_line(_cell(response, questions.suggestion)))
    )
    return SurveyResults(
        cycle=collection.cycle.name,
        asked=len(answered) + len(collection.not_answered),
        respondents=len(answered),
        questions=overall,
        teams=by_team,
        suggestions=suggestions,
        strangers=len(collection.strangers),
    )


def _header(questions: SurveyQuestions, key: str) -> str:
    return str(getattr(questions, key))


def _cell(response: Response, header: str) -> str:
    wanted = header.strip().casefold()
    for name, value in response.answers.items():
        if name.strip().casefold() == wanted:
            return value
    return ""


def _check_columns(
    answered: Sequence[tuple[Teacher, Response]], questions: SurveyQuestions
) -> None:
    if not answered:
        return
    response = answered[0][1]
    have = {name.strip().casefold() for name in response.answers}
    for key in (*QUESTIONS, "suggestion"):
        header = _header(questions, key)
        if header.strip().casefold() not in have:
            raise InputError(
                f"{response.origin}: no column '{header}' (the survey's {key} question)",
                hint=f"set form.columns.{key} in the survey campaign to the export's header "
                f"for it (columns: {', '.join(response.answers)})",
            )


def _ticks(response: Response, questions: SurveyQuestions) -> dict[str, Ticked]:
    return {
        key: read_ticked(_cell(response, _header(questions, key)), questions.choices[key])
        for key in QUESTIONS
    }


def _count(
    ticked: Sequence[tuple[Teacher, Mapping[str, Ticked]]],
    questions: SurveyQuestions,
    *,
    order: Mapping[str, list[str]] | None,
) -> tuple[QuestionCounts, ...]:
    """Each question's bars over ``ticked``: in ``order`` when given (a team's bars in the
    overall order, so teams compare at a glance), else most ticked first."""
    n = len(ticked)
    out = []
    for key, title in QUESTIONS.items():
        choices = list(questions.choices[key])
        counts = {c: sum(c in t[key].choices for _, t in ticked) for c in choices}
        others = tuple(one_line(t[key].other) for _, t in ticked if one_line(t[key].other))
        with_other = sum(t[key].has_other for _, t in ticked)
        labels = (
            order[key]
            if order is not None
            else sorted(choices, key=lambda c: (-counts[c], choices.index(c)))
            + ([OTHER] if with_other else [])
        )
        bars = tuple(
            Bar(label, with_other if label == OTHER else counts.get(label, 0), n)
            for label in labels
            if label != OTHER or with_other or order is not None
        )
        out.append(
            QuestionCounts(
                key=key,
                title=title,
                bars=bars,
                others=others,
                answered=sum(not t[key].blank for _, t in ticked),
            )
        )
    return tuple(out)
