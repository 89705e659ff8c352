"""Responses: form submissions read from an export or a sheet, matched to roster and cycle.

Forgiving where people are sloppy: headers and addresses are compared trimmed and ignoring
case. Strict where it matters: a submission counts for a cycle only inside the cycle's window
(or when its prefilled cycle answer names it), the latest one per teacher wins, and a row whose
timestamp cannot be read is reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..config.records import Form
from ..cycles import Cycle
from ..errors import InputError
from ..models import Problem, Response, Table, Teacher
from .answers import Answers, ResponseIndex
from .names import RosterNames
from .roster import Roster, normalize_email
from .tables import require_column
from .timestamps import OrderConflict, OrderMismatch, read_column


def parse_responses(table: Table, form: Form, tz: ZoneInfo) -> tuple[list[Response], list[Problem]]:
    """Every submission in ``table`` as a :class:`Response`, and the rows that were skipped,
    as :func:`read_responses` reads them."""
    answers = read_responses(table, form, tz)
    return answers.all(), list(answers.problems)


def read_responses(table: Table, form: Form, tz: ZoneInfo) -> Answers:
    """The submissions in ``table`` with their times read, and the rows skipped as
    ``problems``; each becomes a :class:`Response` when first asked for
    (:class:`~pdmail.sources.answers.Answers`).

    The timestamps are read as one column (:func:`pdmail.sources.timestamps.read_column`): with
    ``form.timestamp_format`` or ``form.date_order`` when the config sets them, else with the
    order the table's locale (a Google Sheet's) or the column itself settles. A response whose
    time depends on a guessed order carries an :class:`~pdmail.models.Ambiguity`, which
    :func:`match` turns into an error when the guess decides the cycle.

    The email cell may hold a bare address, ``Name <address>`` or ``mailto:address``; the
    address in it (lower-cased) becomes ``Response.email``. A cell with no address (a name) is
    kept as written, tidied, and never matches a roster address.

    Raises :class:`pdmail.errors.InputError` naming the column and its config key when a
    configured column is missing from the header, and naming rows when the column writes
    dates both day first and month first.
    """
    cols = form.columns
    # A Form without the monthly update's questions (a survey's) names none of units, help
    # and format: their values are then "", and the answers are read by header instead.
    index = {
        role: require_column(table, getattr(cols, role), key=f"form.columns.{role}")
        for role in ("timestamp", "email", "units", "help", "format")
        if getattr(cols, role)
    }
    cycle_index = (
        require_column(table, cols.cycle, key="form.columns.cycle") if cols.cycle else None
    )
    column = table.header[index["timestamp"]]
    stamps = [cells[index["timestamp"]] for _, cells in table.rows]
    try:
        times = read_column(
            stamps, tz, order=form.date_order, fmt=form.timestamp_format, locale=table.locale
        )
    except OrderMismatch as exc:
        row = [number for number, _ in table.rows][exc.index]
        setting = "month-first" if exc.order == "dmy" else "day-first"
        raise InputError(
            f"{table.origin}, row {row}, column '{column}': {exc}",
            hint=f"If the export writes dates that way, set form.date_order to {setting} in "
            "the config; if the cell was typed the wrong way round, correct it.",
        ) from None
    except OrderConflict as exc:
        rows = [number for number, _ in table.rows]
        raise InputError(
            f"{table.origin}, column '{column}': row {rows[exc.day_first]} has a date that can "
            f"only be day first ({stamps[exc.day_first].strip()!r}) and row "
            f"{rows[exc.month_first]} one that can only be month first "
            f"({stamps[exc.month_first].strip()!r}), so no order reads them all",
            hint="Correct the row that was typed the other way round, or set form.date_order "
            "(day-first or month-first) and the rows that do not fit are listed and skipped.",
        ) from None
    return Answers(table, times, index, cycle_index)


def in_cycle(response: Response, cycle: Cycle) -> bool:
    """True when ``response`` counts for ``cycle``: its prefilled cycle answer names it, or,
    without one, it was submitted inside the cycle's window."""
    if response.cycle:
        return response.cycle == cycle.name
    return cycle.opens <= response.submitted < cycle.closes


@dataclass(frozen=True)
class Collection:
    """What a cycle's responses come to.

    ``answered`` holds the latest response of each roster teacher (a later submission
    supersedes an earlier one, listed in ``superseded``); ``not_answered`` lists the active
    teachers with none; ``strangers`` are answers from addresses not on the roster (or
    from a name typed where the address belongs), each with the roster teacher it most
    likely is in ``probable`` when exactly one fits (:meth:`probably`); ``outside`` counts
    submissions that belong to other cycles; ``notes`` says how anything was settled that
    the export alone did not settle (see :func:`settle_order`).
    """

    cycle: Cycle
    answered: tuple[tuple[Teacher, Response], ...]
    not_answered: tuple[Teacher, ...]
    superseded: tuple[Response, ...]
    strangers: tuple[Response, ...]
    outside: int
    problems: tuple[Problem, ...]
    probable: Mapping[tuple[str, int], Teacher] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def probably(self, response: Response) -> Teacher | None:
        """The roster teacher an unmatched ``response`` most likely came from, if one fits.

        A suggestion to show, never a match: the answer stays unmatched."""
        return self.probable.get((response.origin, response.row))

    def response_for(self, email: str) -> Response | None:
        key = normalize_email(email)
        return next((r for t, r in self.answered if t.email == key), None)

    @property
    def rate(self) -> float:
        """Answered teachers over active teachers asked (0.0 for an empty roster)."""
        answered = sum(t.active for t, _ in self.answered)
        total = answered + len(self.not_answered)
        return answered / total if total else 0.0


def settle_order(
    responses: Sequence[Response], *, now: datetime, first_request: datetime | None
) -> tuple[list[Response], str]:
    """Settle a date order no date in the column could settle, by when answers can exist.

    An answer cannot be later than ``now``, nor (once the campaign has sent requests) earlier
    than its first request: a reading that puts some answer there while the other reading
    does not is ruled out, and every date of the column is read the other way. Only a reading
    that some row rules out and no row supports is dropped; when rows point both ways, or none
    does, nothing changes (and :func:`match` refuses where the order matters).

    Returns the responses (settled where it could be done) and a note saying how the order
    was settled ("" when it was not).
    """
    doubtful = [r for r in responses if r.ambiguity is not None and not r.cycle]
    if not doubtful:
        return list(responses), ""
    slack = timedelta(days=1)  # clocks and zones: a wrong order moves a date by months

    def possible(moment: datetime) -> bool:
        if moment > now + slack:
            return False
        return first_request is None or moment >= first_request - slack

    against_guess = [r for r in doubtful if not possible(r.submitted) and possible(_other(r))]
    against_other = [r for r in doubtful if possible(r.submitted) and not possible(_other(r))]
    if bool(against_guess) == bool(against_other):
        return list(responses), ""
    flip = bool(against_guess)
    witness = (against_guess or against_other)[0]
    ambiguity = witness.ambiguity
    assert ambiguity is not None
    kept = ambiguity.order if not flip else ("dmy" if ambiguity.order == "mdy" else "mdy")
    ruled_out = _other(witness) if not flip else witness.submitted
    why = "is after today" if ruled_out > now + slack else "is before the first request went out"
    note = (
        f"{witness.origin}: dates in column '{ambiguity.column}' read "
        f"{'day' if kept == 'dmy' else 'month'} first: read the other way, "
        f"{ambiguity.text!r} (row {witness.row}) would be {_day(ruled_out)}, which {why}; "
        "set form.date_order to say so for certain"
    )
    settled = [
        replace(r, submitted=_other(r) if flip else r.submitted, ambiguity=None)
        if r in doubtful
        else r
        for r in responses
    ]
    return settled, note


def _other(response: Response) -> datetime:
    assert response.ambiguity is not None
    return response.ambiguity.other


def match(
    roster: Roster,
    responses: Sequence[Response] | ResponseIndex,
    cycle: Cycle,
    problems: Sequence[Problem] = (),
) -> Collection:
    """Match ``responses`` to ``roster`` for ``cycle``. A :class:`ResponseIndex` of them,
    built once, makes each of many cycles quick to match.

    Raises :class:`pdmail.errors.InputError` when a response's date could be read day first
    or month first, nothing settles which (see :func:`settle_order`), and the two readings
    disagree on whether it belongs to ``cycle`` or on which of a teacher's answers is the
    latest: the message names the rows and the config key that settles it.
    """
    index = responses if isinstance(responses, ResponseIndex) else ResponseIndex(responses)
    undecided = [r for r in index.ambiguous if _order_decides(r, cycle)]
    # Only a teacher's answer decides who is asked and reminded: that one stops the command.
    # An answer from someone not on the roster is set aside as a row problem instead, so the
    # librarian's own test answer does not hold up the month (nor is it guessed).
    asked = [r for r in undecided if roster.get(r.email) is not None]
    if asked:
        raise _undecided(asked, cycle)
    if undecided:
        aside = {(r.origin, r.row) for r in undecided}
        index = ResponseIndex([r for r in index.responses if (r.origin, r.row) not in aside])
        problems = [*problems, *(_set_aside(r, cycle) for r in undecided)]
    latest: dict[str, Response] = {}
    superseded: list[Response] = []
    strangers: dict[str, Response] = {}
    by_sender: dict[str, list[Response]] = {}
    # Only the cycle's own answers need an order (a year's export is matched once a cycle).
    inside = index.inside(cycle)
    outside = len(index) - len(inside)
    view = index.teachers(roster)
    found = view.found
    for response in inside:
        email = response.email
        if email in found:
            teacher = found[email]
        else:
            teacher = found[email] = roster.get(email)
        if teacher is None:
            key = normalize_email(email) or f"(no address, row {response.row})"
            if key in strangers:
                superseded.append(strangers[key])
            strangers[key] = response
            by_sender.setdefault(key, []).append(response)
            continue
        if teacher.email in latest:
            superseded.append(latest[teacher.email])
        latest[teacher.email] = response
        by_sender.setdefault(teacher.email, []).append(response)
    for sent in by_sender.values():
        _check_latest(sent, cycle)
    return Collection(
        cycle=cycle,
        answered=view.answered(latest),
        not_answered=view.not_answered(latest),
        superseded=tuple(superseded),
        strangers=tuple(strangers.values()),
        outside=outside,
        problems=tuple(problems),
        probable=_probable(roster, list(strangers.values())),
    )


def _check_latest(sent: Sequence[Response], cycle: Cycle) -> None:
    """Refuse when which of one sender's answers is the latest depends on a guessed order
    (a cycle long enough for both readings of a date to fall in it, as over a summer)."""
    if len(sent) < 2 or all(r.ambiguity is None for r in sent):
        return
    chosen = max(sent, key=lambda r: (r.submitted, r.row))
    other = max(sent, key=lambda r: (r.ambiguity.other if r.ambiguity else r.submitted, r.row))
    if chosen is other:
        return
    doubtful = next(r for r in (chosen, other) if r.ambiguity is not None)
    assert doubtful.ambiguity is not None
    raise InputError(
        f"{doubtful.origin}, rows {min(chosen.row, other.row)} and "
        f"{max(chosen.row, other.row)}, column '{doubtful.ambiguity.column}': which of "
        f"these answers from {chosen.email or 'the same sender'} is the later one in cycle "
        f"{cycle.name} depends on reading {doubtful.ambiguity.text!r} day first or month "
        "first, and no date in the column settles the order",
        hint="Set form.date_order in the config to day-first (03/12/2026 is 3 December) or "
        "month-first (12/03/2026 is 3 December), as the export writes dates.",
    )


def _names(roster: Roster) -> RosterNames:
    """The roster's name index, built once per roster (every cycle's match asks for it)."""
    names: RosterNames | None = roster.__dict__.get("_names")
    if names is None:
        names = RosterNames(roster.teachers)
        object.__setattr__(roster, "_names", names)  # a frozen record's private cache
    return names


def _probable(roster: Roster, strangers: Sequence[Response]) -> dict[tuple[str, int], Teacher]:
    if not strangers:
        return {}
    names = _names(roster)
    return {
        (r.origin, r.row): teacher
        for r in strangers
        if (teacher := names.probable(r.email)) is not None
    }


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def _order_decides(response: Response, cycle: Cycle) -> bool:
    if response.cycle or response.ambiguity is None:
        return False
    other = cycle.opens <= response.ambiguity.other < cycle.closes
    return other != in_cycle(response, cycle)


def _set_aside(response: Response, cycle: Cycle) -> Problem:
    ambiguity = response.ambiguity
    assert ambiguity is not None
    return Problem(
        response.origin,
        response.row,
        ambiguity.column,
        f"{ambiguity.text!r} is {_day(response.submitted)} or {_day(ambiguity.other)} and only "
        f"one falls in cycle {cycle.name}; this answer (from {response.email or 'no address'}, "
        "not on the roster) is left out until form.date_order says which",
    )


def _undecided(responses: Sequence[Response], cycle: Cycle) -> InputError:
    first = responses[0]
    assert first.ambiguity is not None
    ambiguity = first.ambiguity
    other_order = "dmy" if ambiguity.order == "mdy" else "mdy"
    rows = ", ".join(str(r.row) for r in responses[:10])
    if len(responses) > 10:
        rows += f" and {len(responses) - 10} more"
    inside = first.submitted if in_cycle(first, cycle) else ambiguity.other
    readings = {ambiguity.order: first.submitted, other_order: ambiguity.other}
    return InputError(
        f"{first.origin}, row {first.row}, column '{ambiguity.column}': "
        f"{ambiguity.text!r} is {_day(readings['mdy'])} read month first but "
        f"{_day(readings['dmy'])} read day first, and only {_day(inside)} falls in cycle "
        f"{cycle.name}; no date in the column settles the order "
        f"(rows that depend on it: {rows})",
        hint="Set form.date_order in the config to day-first (03/12/2026 is 3 December) or "
        "month-first (12/03/2026 is 3 December), as the export writes dates.",
    )
