"""A responses export read once and indexed by time, its records made as cycles ask for them.

A year's export holds 100,000 rows and a digest looks back on ten cycles: each row's time is
read once (every row's, since one that cannot be read is reported), the rows are put in time
order once, and each cycle finds its own by bisection. A row becomes a
:class:`~pdmail.models.Response` only when some cycle (or a caller wanting them all) asks for
it, so rows of past school years cost little more than reading the file.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from itertools import compress
from operator import le, lt, not_
from typing import cast

from ..cycles import Cycle, is_cycle_name
from ..models import Ambiguity, Problem, Response, Table, Teacher
from .names import address_in, clean_cell
from .roster import Roster
from .timestamps import ColumnTimes, order_name

__all__ = ["Answers", "ResponseIndex"]


class Answers:
    """The submissions of a responses table whose times were read (``times``, one a row),
    with the rows that could not be read as ``problems``.

    ``columns`` maps the roles ``timestamp`` and ``email`` (and those of ``units``, ``help``
    and ``format`` the form asks) to their positions in ``table``; ``cycle_at`` is the
    position of the prefilled cycle column, if there is one.
    """

    def __init__(
        self,
        table: Table,
        times: ColumnTimes,
        columns: Mapping[str, int],
        cycle_at: int | None,
    ) -> None:
        self.table = table
        self.times = times
        at_stamp = columns["timestamp"]
        column = table.header[at_stamp]
        self._column = column
        self._at_stamp = at_stamp
        self._at_email = columns["email"]
        self._at = tuple(columns.get(role) for role in ("units", "help", "format"))
        self._all_named = all(table.header)  # then a row's answers are all its cells
        rows = table.rows
        moments = times.times
        # The usual export reads whole: then the records are the rows, one for one.
        bad = [i for i, moment in enumerate(moments) if isinstance(moment, ValueError)]
        self.problems: list[Problem] = []
        for i in bad:
            message = str(moments[i])
            if times.basis and times.order and "date_order" not in message:
                message += f" (dates are read {order_name(times.order)}: {times.basis})"
            self.problems.append(Problem(table.origin, rows[i][0], column, message))
        if bad:
            skipped = set(bad)
            self._where = [i for i in range(len(rows)) if i not in skipped]
        else:
            self._where = list(range(len(rows)))
        where = self._where
        #: Each record's time, row number and prefilled cycle ("" for none), in table order.
        self.submitted = cast("list[datetime]", [moments[i] for i in where])
        self.rows = [rows[i][0] for i in where]
        self.cycles = [""] * len(where)
        if cycle_at is not None:
            self.cycles = [_cycle_named(rows[i][1][cycle_at]) for i in where]
        alternatives = times.alternatives
        #: The records whose time depends on a guessed date order.
        self.ambiguous = (
            [n for n, i in enumerate(where) if alternatives[i] is not None] if times.guessed else []
        )
        self._made: list[Response | None] = [None] * len(where)
        self._senders: dict[str, str] = {}  # a teacher's cell comes back every month

    def __len__(self) -> int:
        return len(self._where)

    @property
    def in_doubt(self) -> bool:
        """Whether some record's time depends on a guessed order and no prefilled cycle
        answer makes that irrelevant."""
        return any(not self.cycles[n] for n in self.ambiguous)

    def all(self) -> list[Response]:
        """Every record, in the table's order."""
        return self.records(range(len(self._where)))

    def response(self, n: int) -> Response:
        """The ``n``-th record (counting the rows whose time was read), made once."""
        return self.records((n,))[0]

    def records(self, ns: Sequence[int]) -> list[Response]:
        """The ``n``-th record for each of ``ns``, each made once."""
        made = self._made
        missing = [n for n in ns if made[n] is None]
        if missing:
            self._make(missing)
        return cast("list[Response]", [made[n] for n in ns])  # all made now

    def _make(self, ns: list[int]) -> None:
        """Make the records ``ns`` (the work of a cycle's rows at once, names looked up
        once)."""
        table, times, made, senders = self.table, self.times, self._made, self._senders
        header, origin, rows = table.header, table.origin, table.rows
        where, submitted, cycles = self._where, self.submitted, self.cycles
        alternatives = times.alternatives
        at_stamp, at_email, (at_units, at_help, at_format) = (
            self._at_stamp,
            self._at_email,
            self._at,
        )
        all_named = self._all_named
        new, set_fields = object.__new__, object.__setattr__
        for n in ns:
            i = where[n]
            row_number, cells = rows[i]
            other = alternatives[i]
            ambiguity = None
            if other is not None:
                stamp = cells[at_stamp].strip()
                ambiguity = Ambiguity(stamp, self._column, times.order, other)
            email_cell = cells[at_email]
            sender = senders.get(email_cell)
            if sender is None:
                sender = senders[email_cell] = address_in(email_cell) or clean_cell(email_cell)
            # The record's fields set as its __init__ would set them, at a third of the
            # cost (a frozen dataclass sets each field through object.__setattr__): a year
            # of answers is 100,000 records.
            response = new(Response)
            set_fields(
                response,
                "__dict__",
                {
                    "email": sender,
                    "submitted": submitted[n],
                    "units": cells[at_units] if at_units is not None else "",
                    "help": cells[at_help] if at_help is not None else "",
                    "format": cells[at_format] if at_format is not None else "",
                    # By header, none left out; an unnamed column has no answer to give.
                    "answers": dict(zip(header, cells, strict=False))
                    if all_named
                    else {h: c for h, c in zip(header, cells, strict=False) if h},
                    "origin": origin,
                    "row": row_number,
                    "cycle": cycles[n],
                    "ambiguity": ambiguity,
                },
            )
            made[n] = response


def _cycle_named(cell: str) -> str:
    answer = cell.strip()
    return answer if answer and is_cycle_name(answer) else ""


class ResponseIndex:
    """Responses put in time order once, so that each cycle's are found by bisection
    instead of a pass over every response (:func:`~pdmail.sources.responses.match` takes one
    for the many cycles a digest looks back on). Built from records, or from
    :class:`Answers` (:meth:`of`), whose records are then made only as cycles ask for them.
    """

    def __init__(self, responses: Sequence[Response]) -> None:
        records = list(responses)
        self._setup(
            [r.submitted for r in records],
            [r.row for r in records],
            [r.cycle for r in records],
            [n for n, r in enumerate(records) if r.ambiguity is not None],
            lambda ns: [records[n] for n in ns],
        )

    @classmethod
    def of(cls, answers: Answers) -> ResponseIndex:
        """The index of ``answers``' records (made when first asked for)."""
        index = cls.__new__(cls)
        index._setup(
            answers.submitted, answers.rows, answers.cycles, answers.ambiguous, answers.records
        )
        return index

    def _setup(
        self,
        submitted: list[datetime],
        rows: list[int],
        cycles: list[str],
        ambiguous: list[int],
        records: Callable[[Sequence[int]], list[Response]],
    ) -> None:
        self._submitted, self._rows, self._cycles = submitted, rows, cycles
        self._ambiguous = ambiguous
        self._records = records
        named: dict[str, list[int]] = {}
        for n, name in enumerate(cycles):
            if name:
                named.setdefault(name, []).append(n)
        self._named = named
        # The list is put in order once and bisected only where every comparison a cycle
        # makes agrees with that order: datetimes that share one tzinfo compare by their
        # clock reading, and those of different tzinfos (or of fixed offsets, as a Forms
        # download's "GMT-5" gives) by the instant. Times in a zone with clock changes mixed
        # with others are compared the way match() always did, one by one.
        zones = {moment.tzinfo for moment in submitted}
        self._fixed = bool(zones) and all(type(zone) is timezone for zone in zones)
        self._zone = zones.pop() if len(zones) == 1 else None
        timed: Sequence[int] = range(len(cycles))
        times, ordered = submitted, rows
        if named:
            timed = [n for n, name in enumerate(cycles) if not name]
            times, ordered = [submitted[n] for n in timed], [rows[n] for n in timed]
        if not (all(map(le, times, times[1:])) and all(map(lt, ordered, ordered[1:]))):
            # Not already in time order (an export is, a sheet sorted by hand need not be).
            timed = sorted(timed, key=lambda n: (submitted[n], rows[n]))
            times = [submitted[n] for n in timed]
        self._timed = list(timed)
        self._times = times
        self._teachers: _RosterView | None = None

    def __len__(self) -> int:
        return len(self._submitted)

    @property
    def responses(self) -> list[Response]:
        """Every record, in the order given."""
        return self._records(range(len(self._submitted)))

    @property
    def ambiguous(self) -> list[Response]:
        """The records whose time depends on a guessed date order, in the order given."""
        return self._records(self._ambiguous)

    def inside(self, cycle: Cycle) -> list[Response]:
        """The responses that count for ``cycle`` (:func:`~pdmail.sources.responses.in_cycle`),
        sorted by submission time and then row, as ``match`` goes through them."""
        name, opens, closes = cycle.name, cycle.opens, cycle.closes
        zone = self._zone
        named = self._named.get(name, [])
        submitted, cycles, rows = self._submitted, self._cycles, self._rows

        def by_time(n: int) -> tuple[datetime, int]:
            return submitted[n], rows[n]

        if not self._fixed and (
            zone is None or opens.tzinfo is not zone or closes.tzinfo is not zone
        ):
            inside = [
                n
                for n in range(len(submitted))
                if (cycles[n] == name if cycles[n] else opens <= submitted[n] < closes)
            ]
            chosen = sorted(inside, key=by_time)
        else:
            start, end = bisect_left(self._times, opens), bisect_left(self._times, closes)
            chosen = self._timed[start:end]
            if named:
                # In the order given first, so that equal times stay in it, as before.
                chosen = sorted(sorted(chosen + named), key=by_time)
        return self._records(chosen)

    def teachers(self, roster: Roster) -> _RosterView:
        """``roster`` as ``match`` goes through it, kept for the roster last asked about
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
