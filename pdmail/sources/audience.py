"""A campaign's audience: the roster narrowed by the values of its columns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config.records import Audience
from ..errors import ConfigError
from ..models import Table, Teacher
from .roster import Roster, _field_names
from .tables import column_index


def in_audience(roster: Roster, table: Table, audience: Audience, config: Path) -> Roster:
    """``roster`` (read from ``table``) with only the teachers ``audience`` takes in.

    A teacher is in when, for every ``include`` column, the row's value is one of the listed
    values, and for no ``exclude`` column it is; values and column headers are compared
    trimmed and ignoring case. Raises :class:`ConfigError` naming the config file and key for
    a column the roster does not have (with the roster's columns), and when the filter leaves
    no active teacher (a value misspelt, most likely).
    """
    if audience.everyone:
        return roster
    names = _field_names(table.header)

    def field_of(column: str, kind: str) -> str:
        index = column_index(table, column)
        if index is None:
            raise ConfigError(
                f"{config.name}: {audience.key}.{kind}.{column}: the roster ({table.origin}) "
                f"has no column {column!r} (columns: {', '.join(h for h in table.header if h)})",
                hint="name a column of the roster as its header row spells it",
            )
        return names[index]

    include = [(field_of(c, "include"), {_fold(v) for v in vals}) for c, vals in audience.include]
    exclude = [(field_of(c, "exclude"), {_fold(v) for v in vals}) for c, vals in audience.exclude]

    def takes(teacher: Teacher) -> bool:
        def value(name: str) -> str:
            return _fold(teacher.fields.get(name, ""))

        return all(value(n) in vals for n, vals in include) and not any(
            value(n) in vals for n, vals in exclude
        )

    kept = tuple(t for t in roster.teachers if takes(t))
    if not any(t.active for t in kept):
        seen = sorted({t.fields.get(include[0][0], "") for t in roster.teachers} - {""})
        values = f" (values in the roster: {', '.join(seen[:12])})" if include and seen else ""
        raise ConfigError(
            f"{config.name}: {audience.key}: no active teacher of the roster ({table.origin}) "
            f"is in the audience: {audience.describe()}{values}",
            hint="check the values against the roster's cells (compared ignoring case)",
        )
    return replace(roster, teachers=kept)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()
