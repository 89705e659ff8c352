"""Read a roster or a responses export from a local file into a :class:`~pdmail.models.Table`.

CSV (and tab or semicolon separated text) and Excel workbooks are read the same way: the first
non-empty row is the header, every cell becomes stripped text, empty rows are skipped, and each
row keeps the number a person sees when the file is opened in a spreadsheet. Anything that makes
the file unusable is raised as :class:`~pdmail.errors.InputError` naming the file.
"""

from __future__ import annotations

import difflib
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..models import Table
from .delimited import DELIMITERS, open_error, read_delimited
from .delimited import column_label as _column

__all__ = ["column_index", "read_table", "require_column", "table_from_rows"]

_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_SUPPORTED = ", ".join(_TEXT_SUFFIXES + _EXCEL_SUFFIXES)


def read_table(path: Path, *, sheet: str | None = None) -> Table:
    """Read ``path`` and return its header and non-empty rows as stripped text.

    ``.csv``, ``.txt`` and ``.tsv`` files are read as delimited text (comma, semicolon or tab,
    whichever splits the header into the most columns); ``.xlsx`` and ``.xlsm`` files are read
    from their first worksheet, or from ``sheet`` when it is given. Rows are padded with ``""``
    to the header's width. ``Table.origin`` is ``str(path)``.

    Raises :class:`InputError` for an unsupported suffix, a missing or unreadable file, a
    corrupt workbook, a missing sheet, an empty file, a duplicated column name, or a row with
    more cells than the header.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _TEXT_SUFFIXES + _EXCEL_SUFFIXES:
        raise InputError(
            f"{path}: unsupported file type '{path.suffix or '(none)'}'; "
            f"supported types are {_SUPPORTED}",
            hint="Save the file from the spreadsheet as CSV (UTF-8) or as an Excel workbook "
            "(.xlsx), and name that file in the config.",
        )
    if suffix in _EXCEL_SUFFIXES:
        rows = _read_excel(path, sheet)
    else:
        if sheet is not None:
            raise InputError(
                f"{path}: a sheet name ({sheet!r}) was given, but a {suffix} file has no sheets",
                hint="Remove the sheet setting, or point at the .xlsx workbook instead.",
            )
        rows = read_delimited(path, prefer_tab=suffix == ".tsv")
    return table_from_rows(str(path), rows)


def table_from_rows(origin: str, rows: Iterable[Sequence[str]]) -> Table:
    """Build a :class:`Table` from raw rows, numbering them from 1 as a spreadsheet does.

    This applies the rules of :func:`read_table` (header is the first non-empty row, cells are
    stripped, empty rows are skipped, short rows are padded) to rows from any source, so every
    backend reports the same problems the same way. Raises :class:`InputError` naming
    ``origin``.
    """
    header: tuple[str, ...] | None = None
    header_number = 0
    body: list[tuple[int, tuple[str, ...]]] = []
    width = -1
    strip = str.strip
    # A year of answers is 100,000 rows: the usual row (as wide as the header) is kept with
    # no call beyond stripping its cells.
    for number, raw in enumerate(rows, start=1):
        cells = tuple(map(strip, raw))
        if len(cells) == width:
            if any(cells):
                body.append((number, cells))
            continue
        if not any(cells):
            continue
        if header is None:
            header, header_number = _make_header(origin, list(cells)), number
            width = len(header)
            continue
        near_top = not body and number - header_number <= 5
        body.append((number, _fit_row(origin, number, list(cells), width, near_top=near_top)))
    if header is None:
        raise InputError(
            f"{origin}: the file is empty; expected a header row",
            hint="Export or save the file again: its first row must hold the column names.",
        )
    return Table(origin=origin, header=header, rows=tuple(body))


def column_index(table: Table, name: str) -> int | None:
    """Return the position of the header called ``name``, or None if there is none.

    Names are compared trimmed, case-insensitively and with runs of whitespace collapsed, so
    ``"email  address"`` finds ``"Email Address "``. An empty name never matches.
    """
    wanted = _normalise(name)
    if not wanted:
        return None
    for index, header in enumerate(table.header):
        if _normalise(header) == wanted:
            return index
    return None


def require_column(table: Table, name: str, *, key: str) -> int:
    """Return the position of the header called ``name`` (as :func:`column_index` finds it).

    ``key`` is the config key that named the column. When the column is absent this raises an
    :class:`InputError` naming the table, the missing name, the key and the columns there are,
    with a hint that suggests the closest header if one looks like a typo.
    """
    index = column_index(table, name)
    if index is not None:
        return index
    named = [header for header in table.header if header]
    listing = ", ".join(f"'{header}'" for header in named) if named else "(none are named)"
    message = f"{table.origin}: no column '{name}' (config key {key}); the columns are: {listing}"
    below = next(
        (
            number
            for number, cells in table.rows[:10]
            if any(_normalise(cell) == _normalise(name) for cell in cells)
        ),
        None,
    )
    guess = _closest(name, named)
    if below is not None:
        # A title or a note above the real header (school name, export date) is common in
        # exports from a student information system.
        hint = f"Row {below} holds '{name}': if that row is the header, delete the rows above it."
    elif guess is not None:
        hint = f"Did you mean '{guess}'? Set {key} to the column name exactly as the file has it."
    else:
        hint = f"Set {key} to one of the column names above."
    raise InputError(message, hint=hint)


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


def _closest(name: str, headers: Sequence[str]) -> str | None:
    by_normal = {_normalise(header): header for header in reversed(headers)}
    wanted = _normalise(name)
    matches = difflib.get_close_matches(wanted, list(by_normal), n=1)
    if matches:
        return by_normal[matches[0]]
    # difflib misses the commonest slip, a name that is a longer or shorter form of the header
    # ("Email Address" for "Email"), so containment counts as close as well.
    for normal, header in by_normal.items():
        if wanted and (wanted in normal or normal in wanted):
            return header
    return None


def _make_header(origin: str, cells: list[str]) -> tuple[str, ...]:
    # Trailing unnamed columns are only the edge of the sheet (a trailing comma, a formatted
    # but empty column); cutting them keeps the header to the columns that exist.
    while cells and not cells[-1]:
        cells.pop()
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if not cell:
            continue
        normal = _normalise(cell)
        if normal in seen:
            first = seen[normal]
            raise InputError(
                f"{origin}: columns {_column(first)} and {_column(index)} are both named '{cell}'",
                hint="Rename or delete one of them so each column name is used once.",
            )
        seen[normal] = index
    return tuple(cells)


def _fit_row(
    origin: str, number: int, cells: list[str], width: int, *, near_top: bool = False
) -> tuple[str, ...]:
    if len(cells) > width:
        extra = next((i for i in range(width, len(cells)) if cells[i]), None)
        if extra is not None:
            hint = "Give that column a name in the header row, or delete the stray cell."
            if near_top:
                # The first row wider than the "header" is often the real header under a title.
                hint = f"If row {number} is the header, delete the rows above it. " + hint
            raise InputError(
                f"{origin}, row {number}: the row has more cells than the header "
                f"({_column(extra)} holds {cells[extra]!r} but the header has {width} columns)",
                hint=hint,
            )
        return tuple(cells[:width])
    return tuple(cells) + ("",) * (width - len(cells))


def _read_excel(path: Path, sheet: str | None) -> list[list[str]]:
    # openpyxl is imported here so that reading CSV files does not pay for loading it.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise open_error(path, exc) from exc
    except Exception as exc:
        # A damaged or mislabelled workbook surfaces from openpyxl as whatever its zip or XML
        # layer tripped on (BadZipFile, InvalidFileException, KeyError, ParseError, ...).
        raise _corrupt(path, exc) from exc
    try:
        worksheet = _pick_sheet(path, workbook, sheet)
        try:
            # The dimension a workbook records can be stale or missing; forgetting it makes
            # openpyxl read every row and cell that is really there.
            worksheet.reset_dimensions()
            return [
                [_cell_text(cell) for cell in row]
                for row in worksheet.iter_rows(min_row=1, values_only=False)
            ]
        except OSError as exc:
            raise open_error(path, exc) from exc
        except Exception as exc:
            # Sheets are parsed lazily, so damage inside one shows up only here.
            raise _corrupt(path, exc) from exc
    finally:
        workbook.close()


def _corrupt(path: Path, exc: Exception) -> InputError:
    # A KeyError's str() is the repr of its key; its own text reads better in a message.
    detail = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    detail = detail or type(exc).__name__
    if isinstance(exc, zipfile.BadZipFile):
        detail = _what_it_is(path) or "it is damaged (cut short?) or not an Excel workbook"
    elif isinstance(exc, KeyError) and "[Content_Types].xml" in detail:
        detail = "it is a zip archive, not an Excel workbook"
    return InputError(
        f"{path}: cannot read the workbook: {detail}",
        hint="Open it in Excel or Google Sheets and save it again as .xlsx "
        "(an old .xls or a password-protected file cannot be read).",
    )


def _what_it_is(path: Path) -> str:
    """What a file that is not a workbook looks like instead, or ``""``."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return ""
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "it is an old Excel 97-2003 (.xls) or a password-protected workbook"
    if not head:
        return "the file is empty"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"it is a Unicode text file with an {path.suffix} name; rename it to .txt"
    sample = head.decode("utf-8-sig", errors="replace")
    if any(sep in sample for sep in DELIMITERS) and "\x00" not in sample:
        return f"it is a text (CSV) file with an {path.suffix} name; rename it to .csv"
    return ""


def _pick_sheet(path: Path, workbook: Any, sheet: str | None) -> Any:
    worksheets: list[Any] = list(workbook.worksheets)
    if not worksheets:
        raise InputError(f"{path}: the workbook has no worksheets")
    if sheet is None:
        return worksheets[0]
    for candidate in worksheets:
        if candidate.title == sheet:
            return candidate
    folded = [ws for ws in worksheets if _normalise(ws.title) == _normalise(sheet)]
    if len(folded) == 1:
        return folded[0]
    names = ", ".join(f"'{ws.title}'" for ws in worksheets)
    raise InputError(
        f"{path}: no sheet named '{sheet}'; the sheets are: {names}",
        hint="Set the sheet name to one of those, exactly as its tab shows it.",
    )


def _cell_text(cell: Any) -> str:
    value = cell.value
    if isinstance(value, datetime) and value.time() == time(0) and _date_only(cell):
        return value.date().isoformat()
    return _value_text(value)


def _date_only(cell: Any) -> bool:
    """True when the cell's number format shows a date without a time of day."""
    fmt = getattr(cell, "number_format", None)
    if not isinstance(fmt, str):
        return False
    # Quoted text, [colour]/[locale] sections and escaped characters are not date parts.
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", fmt).lower()
    return "h" not in bare and "s" not in bare


def _value_text(value: object) -> str:
    """Return a workbook cell value as the text pdmail works with, stripped.

    None is ``""``; whole numbers have no ``.0``; booleans are ``TRUE``/``FALSE``; date-times,
    dates and times are ISO text rounded to the second (``2026-12-03 08:14:22``,
    ``2026-12-03``, ``08:14:22``).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Past 2**53 a float's integer digits are noise, so those keep their exponent form.
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return _round_second(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        moment = _round_second(datetime.combine(date(2000, 1, 1), value))
        return moment.strftime("%H:%M:%S")
    return str(value).strip()


def _round_second(moment: datetime) -> datetime:
    # Excel stores times as fractions of a day, so a whole second can come back a hair short.
    whole = moment.replace(microsecond=0)
    return whole + timedelta(seconds=1) if moment.microsecond >= 500_000 else whole
