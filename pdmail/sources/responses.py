"""Responses: form submissions read from an export or a sheet, matched to roster and cycle.

Forgiving where people are sloppy: headers and addresses are compared trimmed and ignoring
case. Strict where it matters: a submission counts for a cycle only inside the cycle's window
(or when its prefilled cycle answer names it), the latest one per teacher wins, and a row whose
timestamp cannot be read is reported, never guessed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import compress
from operator import attrgetter, not_
from zoneinfo import ZoneInfo

from ..config.records import Form
from ..cycles import Cycle, is_cycle_name
from ..errors import InputError
from ..models import Ambiguity, Problem, Response, Table, Teacher
from .names import RosterNames, address_in, clean_cell
from .roster import Roster, normalize_email
from .tables import require_column
from .timestamps import OrderConflict, OrderMismatch, order_name, read_column


def parse_responses(table: Table, form: Form, tz: ZoneInfo) -> tuple[list[Response], list[Problem]]:
    """Every submission in ``table`` as a :class:`Response`, and the rows that were skipped.

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
    responses: list[Response] = []
    problems: list[Problem] = []
    senders: dict[str, str] = {}  # each teacher's cell comes back every month: read it once
    header, origin = table.header, table.origin
    at_email = index["email"]
    # Where each answer is (None: the form does not ask it), looked up once, not per row.
    at_units, at_help, at_format = (index.get(role) for role in ("units", "help", "format"))
    named = all(header)  # then a row's answers are its cells by header, none left out
    new, setattr_ = object.__new__, object.__setattr__
    for (row_number, cells), submitted, other in zip(
        table.rows, times.times, times.alternatives, strict=True
    ):
        if isinstance(submitted, ValueError):
            message = str(submitted)
            if times.basis and times.order and "date_order" not in message:
                message += f" (dates are read {order_name(times.order)}: {times.basis})"
            problems.append(Problem(table.origin, row_number, column, message))
            continue
        ambiguity = None
        if other is not None:
            stamp = cells[index["timestamp"]].strip()
            ambiguity = Ambiguity(stamp, column, times.order, other)
        cycle_answer = cells[cycle_index].strip() if cycle_index is not None else ""
        email_cell = cells[at_email]
        sender = senders.get(email_cell)
        if sender is None:
            sender = senders[email_cell] = address_in(email_cell) or clean_cell(email_cell)
        # The record's fields set as its __init__ would set them, at a third of the cost
        # (a frozen dataclass sets each field through object.__setattr__): a year of
        # answers is 100,000 records.
        response = new(Response)
        setattr_(
            response,
            "__dict__",
            {
                "email": sender,
                "submitted": submitted,
                "units": cells[at_units] if at_units is not None else "",
                "help": cells[at_help] if at_help is not None else "",
                "format": cells[at_format] if at_format is not None else "",
                "answers": dict(zip(header, cells, strict=False))
                if named
                else {h: c for h, c in zip(header, cells, strict=False) if h},
                "origin": origin,
                "row": row_number,
                "cycle": cycle_answer if cycle_answer and is_cycle_name(cycle_answer) else "",
                "ambiguity": ambiguity,
            },
        )
        responses.append(response)
    return responses, problems


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


class ResponseIndex:
    """Responses ordered by when they were submitted, once, so that each cycle's are found
    by bisection instead of a pass over every response (:func:`match` takes one for the many
    cycles a digest looks back on)."""

    def __init__(self, responses: Sequence[Response]) -> None:
        self.responses = list(responses)
        self.ambiguous = [r for r in self.responses if r.ambiguity is not None]
        named: dict[str, list[Response]] = {}
        timed: list[Response] = []
        zones = set()
        for response in self.responses:
            zones.add(response.submitted.tzinfo)
            if response.cycle:
                named.setdefault(response.cycle, []).append(response)
            else:
                timed.append(response)
        self._named = named
        # Datetimes that share one tzinfo compare by their clock reading, an order with no
        # exceptions, so a cycle's window is one run of the sorted list; times in several
        # zones (an offset in some cells) are compared the way match() always did.
        self._zone = zones.pop() if len(zones) == 1 else None
        self._timed = sorted(timed, key=_by_time)
        self._times = [r.submitted for r in self._timed]
        self._teachers: _RosterView | None = None

    def __len__(self) -> int:
        return len(self.responses)

    def inside(self, cycle: Cycle) -> list[Response]:
        """The responses that count for ``cycle`` (:func:`in_cycle`), sorted by submission
        time and then row, as :func:`match` goes through them."""
        name, opens, closes = cycle.name, cycle.opens, cycle.closes
        zone = self._zone
        named = self._named.get(name, [])
        if zone is None or opens.tzinfo is not zone or closes.tzinfo is not zone:
            inside = [
                r
                for r in self.responses
                if (r.cycle == name if r.cycle else opens <= r.submitted < closes)
            ]
            return sorted(inside, key=_by_time)
        window = self._timed[bisect_left(self._times, opens) : bisect_left(self._times, closes)]
        if not named:
            return window
        if not window:
            return sorted(named, key=_by_time)
        # Both kinds: in the export's order first, so that equal times stay in it as before.
        position = {id(r): i for i, r in enumerate(self.responses)}
        return sorted(sorted(window + named, key=lambda r: position[id(r)]), key=_by_time)

    def teachers(self, roster: Roster) -> _RosterView:
        """``roster`` as :func:`match` goes through it, kept for the roster last asked about
        (each teacher answers in many cycles)."""
        if self._teachers is None or self._teachers.roster is not roster:
            self._teachers = _RosterView(roster)
        return self._teachers


class _RosterView:
    """A roster's teachers and active teachers with their addresses in lists, so a cycle's
    answered and unanswered teachers are picked out without a Python step per teacher, and
    a memo of :meth:`Roster.get` by the address as an answer wrote it."""

    def __init__(self, roster: Roster) -> None:
        self.roster = roster
        self.found: dict[str, Teacher | None] = {}
        self.teachers = roster.teachers
        self.emails = [t.email for t in self.teachers]
        self.active = roster.active
        self.active_emails = [t.email for t in self.active]

    def answered(self, latest: Mapping[str, Response]) -> tuple[tuple[Teacher, Response], ...]:
        """The teachers with a response in ``latest``, in roster order, each with it."""
        has = list(map(latest.__contains__, self.emails))
        teachers = list(compress(self.teachers, has))
        found = map(latest.__getitem__, compress(self.emails, has))
        return tuple(zip(teachers, found, strict=True))

    def not_answered(self, latest: Mapping[str, Response]) -> tuple[Teacher, ...]:
        """The active teachers with no response in ``latest``, in roster order."""
        return tuple(compress(self.active, map(not_, map(latest.__contains__, self.active_emails))))


# A response's place in time order: when it was submitted, then its row.
_by_time = attrgetter("submitted", "row")


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
