"""The roster: teachers keyed by email, read from any table (CSV, XLSX, a sheet tab).

Rows that cannot be used on their own (no valid address, an unreadable active flag) are
reported as problems and skipped, never guessed. A duplicated address is an error for the whole
roster: which of the two rows is right is the librarian's call, not pdmail's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..config.records import RosterColumns
from ..errors import InputError
from ..mail.compose import is_plain_address
from ..models import Problem, Table, Teacher
from .tables import column_index, require_column

_SURROGATE = re.compile("[\ud800-\udfff]")
_TRUE = {"yes", "y", "true", "1", "x", "active", "✓"}
_FALSE = {"no", "n", "false", "0", "inactive", "left", "on leave"}


def normalize_email(text: str) -> str:
    """The roster key of an address: trimmed and lower-cased (``" Ann@X.org "`` -> ann@x.org)."""
    return text.strip().lower()


def is_valid_email(text: str) -> bool:
    """True for one plain ``local@domain.tld`` address with nothing else around it (see
    :func:`pdmail.mail.compose.is_plain_address`): no display name, second address, quotes, spaces
    or control characters, so it can only ever be the one recipient of a message."""
    return is_plain_address(text)


def _why_not(text: str) -> str:
    """What is wrong with an address the roster refuses, in the librarian's words."""
    if "<" in text or ">" in text or '"' in text:
        return "holds a name or quotes; put the bare address (name@school.org) in this column"
    if sum("@" in word for word in re.split(r"[\s,;]+", text)) > 1:
        return "holds more than one address; give each teacher one row"
    if any(not ch.isprintable() or ch.isspace() for ch in text):
        return "holds a space, a line break or a control character"
    if not text.isascii():
        return "holds a character outside plain ASCII, which mail servers may refuse"
    if "=?" in text:
        return "holds '=?', which mail programs read as an encoded word"
    return "is not a plain address like name@school.org"


def _text(cell: str) -> str:
    """``cell`` as text every later step can encode: a lone surrogate (a Sheets cell can hold
    one, JSON allows it) becomes U+FFFD instead of failing the form link or the message."""
    return cell if cell.isascii() else _SURROGATE.sub("\ufffd", cell)


def field_name(header: str) -> str:
    """A header as a template field name: ``"First Name"`` -> ``first_name``, ``"Room #"`` ->
    ``room``; one that starts with a digit gets a ``col_`` prefix."""
    name = re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")
    if name and name[0].isdigit():
        name = "col_" + name
    return name


def _field_names(header: tuple[str, ...]) -> list[str]:
    # "Room #" and "Room" both read as room: the second becomes room_2 rather than one
    # silently hiding the other.
    names: list[str] = []
    for h in header:
        name = base = field_name(h)
        n = 2
        while name and name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


@dataclass(frozen=True)
class Roster:
    """The usable teachers (in roster order) and the rows that were skipped, with why."""

    origin: str
    teachers: tuple[Teacher, ...]
    problems: tuple[Problem, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_email", {t.email: t for t in self.teachers})

    def get(self, email: str) -> Teacher | None:
        """The teacher with this address (compared trimmed and case-insensitively)."""
        by_email: dict[str, Teacher] = getattr(self, "_by_email")  # noqa: B009
        return by_email.get(normalize_email(email))

    @property
    def active(self) -> tuple[Teacher, ...]:
        return tuple(t for t in self.teachers if t.active)

    def require_active(self) -> tuple[Teacher, ...]:
        """The active teachers; raises :class:`InputError` when there is none, since a step
        that writes to teachers would then quietly write to nobody."""
        active = self.active
        if not active:
            raise InputError(
                f"{self.origin}: "
                f"{_none_is(len(self.teachers), 'teacher on the roster', 'active')}, so there "
                "is nobody to write to",
                hint="mark the teachers who should get the request active (yes, or leave the "
                "Active cell empty); to skip a month, leave it out of calendar.months",
            )
        return active

    def __iter__(self) -> Iterator[Teacher]:
        return iter(self.teachers)

    def __len__(self) -> int:
        return len(self.teachers)


def parse_roster(table: Table, columns: RosterColumns) -> Roster:
    """Read ``table`` as a roster. Raises :class:`InputError` for a missing email column, a
    duplicated address, or a roster with no usable teacher (only a header, or only rows that
    cannot be used); rows with other problems are skipped and listed in ``problems``."""
    email_col = require_column(table, columns.email, key="roster.columns.email")
    known = {
        "first_name": column_index(table, columns.first_name),
        "last_name": column_index(table, columns.last_name),
        "team": column_index(table, columns.team),
        "active": column_index(table, columns.active),
        "new": column_index(table, columns.new),
    }
    names = _field_names(table.header)
    teachers: list[Teacher] = []
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    duplicates: list[str] = []
    for row_number, row_cells in table.rows:
        cells = tuple(_text(c) for c in row_cells)
        raw = cells[email_col]
        email = normalize_email(raw)
        header = table.header[email_col]
        if not email:
            problems.append(Problem(table.origin, row_number, header, "no email address"))
            continue
        if not is_valid_email(email):
            problems.append(
                Problem(
                    table.origin,
                    row_number,
                    header,
                    f"{raw!r} is not a valid email address: it {_why_not(email)}",
                )
            )
            continue
        if email in first_row:
            duplicates.append(f"{email} (rows {first_row[email]} and {row_number})")
            continue
        first_row[email] = row_number

        def cell(role: str, cells: tuple[str, ...] = cells) -> str:
            index = known[role]
            return cells[index] if index is not None else ""

        flag = cell("active").strip().lower()
        new_flag = cell("new").strip().lower()
        unreadable = next(
            (
                role
                for role, v in (("active", flag), ("new", new_flag))
                if v and v not in _TRUE | _FALSE
            ),
            None,
        )
        if unreadable:
            column = table.header[known[unreadable] or 0]
            problems.append(
                Problem(
                    table.origin,
                    row_number,
                    column,
                    f"{cell(unreadable)!r} is not yes or no; the row is skipped",
                )
            )
            continue
        fields = {name: value for name, value in zip(names, cells, strict=False) if name}
        fields["email"] = email
        teachers.append(
            Teacher(
                email=email,
                first_name=cell("first_name"),
                last_name=cell("last_name"),
                team=cell("team"),
                active=flag not in _FALSE,
                new=new_flag in _TRUE,
                fields=fields,
                row=row_number,
            )
        )
    if not teachers:
        raise _no_teachers(table, problems)
    if duplicates:
        raise InputError(
            f"{table.origin}: the same address appears more than once: {'; '.join(duplicates)}",
            hint="keep one row per teacher (addresses are compared ignoring case and spaces)",
        )
    return Roster(table.origin, tuple(teachers), tuple(problems))


def _none_is(n: int, noun: str, what: str) -> str:
    """ "none of the 3 rows is WHAT", or "the one row is not WHAT" when there is one; a
    ``noun`` of several words takes its plural on the first ("teachers on the roster")."""
    if n == 1:
        return f"the one {noun} is not {what}"
    head, _, tail = noun.partition(" ")
    return f"none of the {n} {head}s{' ' + tail if tail else ''} is {what}"


def _no_teachers(table: Table, problems: list[Problem]) -> InputError:
    """The error for a roster with no usable teacher: no rows at all, or only bad ones."""
    if not problems:
        return InputError(
            f"{table.origin}: the roster has a header row but no teachers",
            hint="add one row per teacher below the header (at least an email address)",
        )
    listed = "; ".join(
        f"row {p.row}, column '{p.column}': {p.message.removesuffix('; the row is skipped')}"
        for p in problems[:3]
    )
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return InputError(
        f"{table.origin}: {_none_is(len(problems), 'row', 'a usable teacher')}: {listed}{more}",
        hint="fix these rows (each teacher needs a valid email address, and an Active cell "
        "that reads yes or no); pdmail sends nothing until at least one row is usable",
    )
