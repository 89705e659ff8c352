"""A loopback fake of the Google Sheets API v4, for tests that drive the real gspread client.

What a test author gets:

* ``FakeSheets``: a threaded HTTP server on ``127.0.0.1`` (port chosen by the OS) that answers
  the Sheets v4 REST calls gspread makes, with the response shapes, range echoes, trimming rules
  and error envelopes recorded from the live API (gspread's vcrpy cassettes, github.com/burnash/
  gspread tests/cassettes; the test names cited in comments below are those cassettes).
  ``with FakeSheets() as fake:`` starts it; ``fake.base_url`` is ``http://127.0.0.1:PORT``.
* State helpers: ``add_spreadsheet``, ``add_tab``, ``set_values``, ``values``, ``formulas``,
  ``tab_titles``, ``grid_size``, ``sheet_id``.
* Instrumentation: ``requests`` (every request received, with its answer's status), ``writes``
  (every value write with its ``valueInputOption``), ``count``, ``reset_requests``, ``errors``
  (bugs inside the fake itself; a test fixture can assert it stays empty).
* Fault injection: ``fail_next`` answers the next matching request(s) with a real-shaped error
  (429 quota, 5xx, 403 rate limit, ...), a ``Retry-After`` header, a dropped connection, or a
  delay, optionally after the change was applied.
* ``gspread_client(base_url)``: a real ``gspread.Client`` whose transport sends every Google URL
  to the fake instead of the internet.

Supported endpoints (all under ``/v4/spreadsheets``): spreadsheet GET and ``:batchUpdate``
(``addSheet``, ``deleteSheet``, ``updateSheetProperties`` for title/hidden/index/grid size);
``values`` GET, PUT, ``:append``, ``:clear``; ``values:batchGet``, ``values:batchUpdate``,
``values:batchClear``. Anything else answers 400 or 404 with a message naming the fake, so an
unsupported call fails loudly instead of passing by accident.

Known simplifications: formulas are stored and flagged but never evaluated (a read returns the
formula text); every value reads back as a string whatever ``valueRenderOption`` says;
``USER_ENTERED`` parses numbers, booleans, formulas and the leading apostrophe, not dates,
percentages or currencies; no named ranges, R1C1 notation, ``fields`` masks, grid data,
formatting, Drive API, or ``includeValuesInResponse`` payloads.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import re
import socket
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import gspread
from google.oauth2.credentials import Credentials
from gspread.http_client import HTTPClient, ParamsType
from requests import Response

from fakes.loopback import KeepAliveHandler, LoopbackFake, LoopbackServer

__all__ = [
    "DRIVE_ROOT",
    "SHEETS_ROOT",
    "FakeSheets",
    "LoopbackHTTPClient",
    "RecordedRequest",
    "WriteRecord",
    "gspread_client",
]

SHEETS_ROOT = "https://sheets.googleapis.com"
DRIVE_ROOT = "https://www.googleapis.com"

_PREFIX = "/v4/spreadsheets/"
_DEFAULT_ROWS = 1000
_DEFAULT_COLS = 26
_MAX_COLS = 18278  # column ZZZ, the widest A1 reference the parser accepts

Cell = tuple[int, int]  # 0-based (row, column)
Matcher = str | Callable[[str], bool]

# google.rpc canonical codes as the Sheets front end maps them to HTTP statuses.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_DEFAULT_MESSAGES = {
    403: "The caller does not have permission",  # ClientTest.test_access_private_spreadsheet
    404: "Requested entity was not found.",  # ClientTest.test_access_non_existing_spreadsheet
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "Deadline expired before operation could complete.",
}
_AUTH_MISSING = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_AUTH_INVALID = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)

# Copied from SpreadsheetTest.test_worksheets_exclude_hidden: every real spreadsheet GET carries
# these two blocks, so a client that reads them (or a snapshot of the payload) sees real data.
_DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _rgb(red: float, green: float, blue: float) -> dict[str, Any]:
    return {"rgbColor": {"red": red, "green": green, "blue": blue}}


_THEME: dict[str, Any] = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        {"colorType": "TEXT", "color": {"rgbColor": {}}},
        {"colorType": "BACKGROUND", "color": _rgb(1, 1, 1)},
        {"colorType": "ACCENT1", "color": _rgb(0.25882354, 0.52156866, 0.95686275)},
        {"colorType": "ACCENT2", "color": _rgb(0.91764706, 0.2627451, 0.20784314)},
        {"colorType": "ACCENT3", "color": _rgb(0.9843137, 0.7372549, 0.015686275)},
        {"colorType": "ACCENT4", "color": _rgb(0.20392157, 0.65882355, 0.3254902)},
        {"colorType": "ACCENT5", "color": _rgb(1, 0.42745098, 0.003921569)},
        {"colorType": "ACCENT6", "color": _rgb(0.27450982, 0.7411765, 0.7764706)},
        {"colorType": "LINK", "color": _rgb(0.06666667, 0.33333334, 0.8)},
    ],
}


# --------------------------------------------------------------------------------------------
# Public records


@dataclass
class RecordedRequest:
    """One request as the fake received it.

    ``path`` is percent-decoded and has no query string; ``raw_target`` is the request target
    exactly as sent (still encoded, with the query). ``query`` maps each parameter to all its
    values (``ranges`` repeats in batchGet); ``param`` returns the first one. ``body`` is the
    parsed JSON body, the raw text if it was not JSON, or None when empty. ``status`` is the
    HTTP status of the answer, None if the connection was dropped without one.
    """

    method: str
    path: str
    raw_target: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    status: int | None = None

    @property
    def line(self) -> str:
        """``"METHOD /decoded/path"``, the text ``fail_next(match=...)`` is tested against."""
        return f"{self.method} {self.path}"

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``, or None."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class WriteRecord:
    """One value write that the fake applied.

    ``kind`` is ``"update"``, ``"append"`` or ``"batchUpdate"`` (one record per data entry);
    ``updated_range`` is the echo the API returned (e.g. ``Roster!A2:C2``);
    ``value_input_option`` is ``"RAW"`` or ``"USER_ENTERED"``; ``values`` is what the client
    sent (rows, after any COLUMNS transposition).
    """

    kind: str
    spreadsheet_id: str
    updated_range: str
    value_input_option: str
    values: list[list[Any]]


# --------------------------------------------------------------------------------------------
# State


@dataclass
class _Tab:
    sheet_id: int
    title: str
    row_count: int
    column_count: int
    hidden: bool = False
    # Sparse: only non-empty cells, as the text a FORMATTED_VALUE read returns.
    cells: dict[Cell, str] = field(default_factory=dict)
    formulas: dict[Cell, str] = field(default_factory=dict)

    def put(self, cell: Cell, text: str, formula: bool) -> None:
        if text == "":
            self.cells.pop(cell, None)
            self.formulas.pop(cell, None)
            return
        self.cells[cell] = text
        if formula:
            self.formulas[cell] = text
        else:
            self.formulas.pop(cell, None)

    def clear(self, area: _Area) -> None:
        for cell in [c for c in self.cells if area.contains(c)]:
            self.put(cell, "", False)

    def truncate(self) -> None:
        for cell in [c for c in self.cells if c[0] >= self.row_count or c[1] >= self.column_count]:
            self.put(cell, "", False)

    def properties(self, index: int) -> dict[str, Any]:
        props: dict[str, Any] = {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": index,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": self.row_count, "columnCount": self.column_count},
        }
        # test_worksheets_exclude_hidden: "hidden" appears only when true, never as false.
        if self.hidden:
            props["hidden"] = True
        return props


@dataclass
class _Spreadsheet:
    spreadsheet_id: str
    title: str
    locale: str
    time_zone: str
    tabs: list[_Tab]

    def tab_by_title(self, title: str) -> _Tab | None:
        return next((t for t in self.tabs if t.title == title), None)

    def tab_by_id(self, sheet_id: Any) -> _Tab | None:
        return next((t for t in self.tabs if t.sheet_id == sheet_id), None)

    def title_taken(self, title: str, ignore: _Tab | None = None) -> bool:
        # Sheets refuses two tabs whose names differ only in case.
        return any(t.title.casefold() == title.casefold() and t is not ignore for t in self.tabs)

    def metadata(self) -> dict[str, Any]:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {
                "title": self.title,
                "locale": self.locale,
                "autoRecalc": "ON_CHANGE",
                "timeZone": self.time_zone,
                "defaultFormat": copy.deepcopy(_DEFAULT_FORMAT),
                "spreadsheetTheme": copy.deepcopy(_THEME),
            },
            "sheets": [{"properties": t.properties(i)} for i, t in enumerate(self.tabs)],
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit",
        }


@dataclass(frozen=True)
class _Area:
    """A rectangle of cells, 0-based and inclusive on both ends."""

    top: int
    left: int
    bottom: int
    right: int

    def contains(self, cell: Cell) -> bool:
        return self.top <= cell[0] <= self.bottom and self.left <= cell[1] <= self.right

    def a1(self) -> str:
        start = f"{_col_letters(self.left)}{self.top + 1}"
        if (self.top, self.left) == (self.bottom, self.right):
            # A single cell echoes as "A2", never "A2:A2" (test_update_cell, test_insert_row).
            return start
        return f"{start}:{_col_letters(self.right)}{self.bottom + 1}"


@dataclass(frozen=True)
class _Ref:
    """A parsed A1 range: a tab plus bounds, where None means open-ended (up to the grid)."""

    tab: _Tab
    text: str  # the range as sent, for error messages
    a1: str | None  # the part after "!", None for a whole tab
    top: int
    left: int
    bottom: int | None
    right: int | None
    single_cell: bool


@dataclass
class _Fault:
    status: int | None
    remaining: int
    retry_after: float | str | None
    reason: str | None
    drop: bool
    delay: float | None
    match: Matcher | None
    after_apply: bool
    body: str | bytes | None

    def matches(self, line: str) -> bool:
        if self.match is None:
            return True
        if isinstance(self.match, str):
            return self.match in line
        return bool(self.match(line))


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


class _ApiError(Exception):
    """An error the fake answers with, rendered as Google's JSON error envelope."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: str | None = None,
        details: list[dict[str, Any]] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS_NAMES.get(code, "UNKNOWN")
        self.details = details
        self.errors = errors

    def prefixed(self, prefix: str) -> _ApiError:
        return _ApiError(
            self.code,
            prefix + self.message,
            status=self.status,
            details=self.details,
            errors=self.errors,
        )

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            error["errors"] = self.errors
        error["status"] = self.status
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def _bad_request(message: str) -> _ApiError:
    return _ApiError(400, message)


def _unsupported(what: str) -> _ApiError:
    return _bad_request(f"{what} is not supported by the fake Sheets server (tests/fakes).")


def _render(payload: Any) -> bytes:
    # Every recorded body is pretty-printed with a 2-space indent, non-ASCII kept
    # as is, and ends with a newline.
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _json_reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> _Reply:
    return _Reply(
        status,
        _render(payload),
        [("Content-Type", "application/json; charset=UTF-8"), *headers],
    )


# --------------------------------------------------------------------------------------------
# A1 notation


_ENDPOINT = re.compile(r"([A-Za-z]{1,3})?([0-9]{1,9})?")
# A title is echoed unquoted only when it reads as an identifier and not as a cell reference:
# "Sheet1" comes back bare, "D3" and titles with spaces or emoji come back quoted
# (test_get_all_values_title_is_a1_notation, test_values_get).
# Non-ASCII letters ("Réponses") are treated as identifier characters: no cassette shows it.
_BARE_TITLE = re.compile(r"[^\W\d]\w*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*")


def _col_letters(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - ord("A") + 1)
    return n - 1


def _quote_title(title: str) -> str:
    if _BARE_TITLE.fullmatch(title) and not _CELL_LIKE.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def _echo(tab: _Tab, area: _Area) -> str:
    return f"{_quote_title(tab.title)}!{area.a1()}"


def _parse_endpoint(text: str) -> tuple[int | None, int | None] | None:
    match = _ENDPOINT.fullmatch(text)
    if match is None or not text:
        return None
    col = _col_index(match.group(1)) if match.group(1) else None
    row = int(match.group(2)) - 1 if match.group(2) else None
    if row is not None and row < 0:
        return None
    return col, row


def _parse_a1(text: str) -> tuple[int, int, int | None, int | None, bool] | None:
    """(top, left, bottom, right, single_cell) for an A1 range, None if it is not one."""
    parts = text.split(":")
    if len(parts) == 1:
        point = _parse_endpoint(parts[0])
        if point is None:
            return None
        col, row = point
        if col is None or row is None:
            return None
        return row, col, row, col, True
    if len(parts) != 2:
        return None
    start, end = _parse_endpoint(parts[0]), _parse_endpoint(parts[1])
    if start is None or end is None:
        return None
    # "A:B" and "1:2" need the same kind on both sides; "A1:C" and "A1:1" are open on one.
    if start[1] is None and end[1] is not None and end[0] is None:
        return None
    if start[0] is None and end[0] is not None and end[1] is None:
        return None
    top: int = start[1] or 0
    left: int = start[0] or 0
    bottom, right = end[1], end[0]
    # A reversed range ("D4:A1") is the same rectangle (test_range_reversed).
    if bottom is not None and bottom < top:
        top, bottom = bottom, top
    if right is not None and right < left:
        left, right = right, left
    return top, left, bottom, right, False


def _split_title(text: str) -> tuple[str | None, str | None]:
    """Split ``'Tab'!A1:B2`` into (title, a1). A title without "!" comes back as (title, None);
    an unquoted string without "!" as (None, text), since it may be a range or a title."""
    if text.startswith("'"):
        title: list[str] = []
        i = 1
        while i < len(text):
            if text[i] == "'":
                if text[i + 1 : i + 2] == "'":
                    title.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(title), None
                if rest.startswith("!") and len(rest) > 1:
                    return "".join(title), rest[1:]
                raise ValueError(text)
            title.append(text[i])
            i += 1
        raise ValueError(text)
    if "!" in text:
        title_text, a1 = text.split("!", 1)
        if not title_text or not a1:
            raise ValueError(text)
        return title_text, a1
    return None, text


def _parse_range(spreadsheet: _Spreadsheet, text: str) -> _Ref:
    error = _bad_request(f"Unable to parse range: {text}")
    try:
        title, a1 = _split_title(text)
    except ValueError:
        raise error from None
    if title is None:
        assert a1 is not None
        bounds = _parse_a1(a1)
        if bounds is not None:
            # A bare A1 range refers to the first visible tab (Sheets API "A1 notation" docs).
            tab = next((t for t in spreadsheet.tabs if not t.hidden), spreadsheet.tabs[0])
            return _Ref(tab, text, a1, *bounds)
        title, a1 = a1, None
    found = spreadsheet.tab_by_title(title)
    if found is None:
        raise error
    if a1 is None:
        return _Ref(found, text, None, 0, 0, None, None, False)
    bounds = _parse_a1(a1)
    if bounds is None:
        raise error
    return _Ref(found, text, a1, *bounds)


def _grid_error(tab: _Tab, a1: str) -> _ApiError:
    # Not in any cassette; the wording is the one quoted in public issue threads.
    return _bad_request(
        f"Range ({_quote_title(tab.title)}!{a1}) exceeds grid limits. "
        f"Max rows: {tab.row_count}, max columns: {tab.column_count}"
    )


def _resolve(ref: _Ref) -> _Area:
    """The rectangle a range covers, open ends clamped to the grid (test_range_unbounded)."""
    tab = ref.tab
    bottom = tab.row_count - 1 if ref.bottom is None else ref.bottom
    right = tab.column_count - 1 if ref.right is None else ref.right
    if max(ref.top, bottom) >= tab.row_count or max(ref.left, right) >= tab.column_count:
        raise _grid_error(tab, ref.a1 or "")
    return _Area(ref.top, ref.left, bottom, right)


# --------------------------------------------------------------------------------------------
# Values


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ADD_SHEET_FIELDS = {"title", "sheetType", "gridProperties", "index", "hidden", "sheetId"}
_RENDER_OPTIONS = {"FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"}
_DATETIME_OPTIONS = {"SERIAL_NUMBER", "FORMATTED_STRING"}


def _format_number(number: float) -> str:
    # test_get_all_records: JSON 1, 1.45, 0.4 written RAW read back as "1", "1.45", "0.4".
    if isinstance(number, int):
        return str(number)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number).upper() if "e" in repr(number) else repr(number)


def _to_cell(value: Any, option: str, where: str) -> tuple[str, bool] | None:
    """(display text, is_formula) for one input value; None means "leave the cell alone"."""
    if value is None:
        # The API skips null cells on input rather than clearing them.
        return None
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), False
    if isinstance(value, int | float):
        return _format_number(value), False
    if not isinstance(value, str):
        raise _bad_request(f"Invalid {where}: {json.dumps(value)}")
    if option == "RAW":
        return value, False
    # USER_ENTERED: parsed as if typed into the UI ("0042" reads back "42": test_update_cell).
    if value.startswith("=") and len(value) > 1:
        return value, True
    if value.startswith("'"):
        return value[1:], False
    if _NUMBER.fullmatch(value):
        return _format_number(float(value) if any(c in value for c in ".eE") else int(value)), False
    if value.lower() in ("true", "false"):
        return value.upper(), False
    return value, False


def _rows_of(payload: Any, field_name: str) -> list[list[Any]]:
    values = payload.get("values") if isinstance(payload, Mapping) else None
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(row, list) for row in values):
        # WorksheetTest.test_add_validation: the field is named "data.values" in the message.
        message = (
            f"Invalid value at '{field_name}' (type.googleapis.com/google.protobuf.ListValue), "
            f"{json.dumps(values)}"
        )
        raise _ApiError(
            400,
            message,
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": field_name, "description": message}],
                }
            ],
        )
    major = payload.get("majorDimension")
    if major in (None, "ROWS", "DIMENSION_UNSPECIFIED"):
        return [list(row) for row in values]
    if major == "COLUMNS":
        height = max((len(col) for col in values), default=0)
        return [[col[r] if r < len(col) else None for col in values] for r in range(height)]
    raise _bad_request(
        "Invalid value at 'data.major_dimension' "
        f"(type.googleapis.com/google.apps.sheets.v4.Dimension), {json.dumps(major)}"
    )


def _input_option(value: Any, *, from_body: bool = False) -> str:
    if value == "RAW" or value == "USER_ENTERED":
        return str(value)
    if value is None or value == "INPUT_VALUE_OPTION_UNSPECIFIED":
        if from_body:
            raise _bad_request("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        raise _bad_request("'valueInputOption' is required but not specified")
    raise _bad_request(
        "Invalid value at 'value_input_option' "
        f"(type.googleapis.com/google.apps.sheets.v4.ValueInputOption), {json.dumps(value)}"
    )


def _read(tab: _Tab, area: _Area, major: str) -> list[list[str]]:
    """Cell texts of ``area`` trimmed like the API: trailing blanks of each line and trailing
    empty lines dropped, leading and interior blanks kept (test_get_all_values,
    test_get_all_records_different_header, test_get_values_and_maintain_size)."""
    inside = [c for c in tab.cells if area.contains(c)]
    if not inside:
        return []
    if major == "COLUMNS":
        last_col = max(c[1] for c in inside)
        lines = [
            [tab.cells.get((r, c), "") for r in range(area.top, area.bottom + 1)]
            for c in range(area.left, last_col + 1)
        ]
    else:
        last_row = max(c[0] for c in inside)
        lines = [
            [tab.cells.get((r, c), "") for c in range(area.left, area.right + 1)]
            for r in range(area.top, last_row + 1)
        ]
    for line in lines:
        while line and line[-1] == "":
            line.pop()
    return lines


def _value_range(tab: _Tab, area: _Area, major: str) -> dict[str, Any]:
    result: dict[str, Any] = {"range": _echo(tab, area), "majorDimension": major}
    lines = _read(tab, area, major)
    if lines:
        # test_clear: an empty range has no "values" key at all, never "values": [].
        result["values"] = lines
    return result


def _find_table(tab: _Tab, ref: _Ref) -> _Area | None:
    """The "logical table" values.append writes under.

    Reproduces WorksheetTest.test_append_row_with_empty_value(_and_table_range): with row 1 =
    ["x 1", "", "x 3"], appending to the whole tab finds the block holding the *last* filled
    cell (C1) and writes C2:E2, while appending to the single cell A1 finds the block holding A1
    and writes A2:C2. An empty anchor cell means no table, even with data below it
    (test_insert_row). Blocks are 8-connected regions of filled cells.
    """
    if ref.single_cell:
        start = (ref.top, ref.left)
        if start not in tab.cells:
            return None
        region = set(tab.cells)
    else:
        area = _resolve(ref)
        region = {c for c in tab.cells if area.contains(c)}
        if not region:
            return None
        start = max(region)
    seen = {start}
    stack = [start]
    while stack:
        row, col = stack.pop()
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                near = (row + dr, col + dc)
                if near in region and near not in seen:
                    seen.add(near)
                    stack.append(near)
    return _Area(
        min(c[0] for c in seen),
        min(c[1] for c in seen),
        max(c[0] for c in seen),
        max(c[1] for c in seen),
    )


@dataclass
class _Planned:
    """A validated rectangular write, ready to apply."""

    tab: _Tab
    top: int
    left: int
    rows: list[list[Any]]
    option: str

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return max((len(row) for row in self.rows), default=0)

    def area(self) -> _Area:
        return _Area(self.top, self.left, self.top + self.height - 1, self.left + self.width - 1)

    def convert(self) -> list[list[tuple[str, bool] | None]]:
        return [
            [_to_cell(v, self.option, f"values[{r}][{c}]") for c, v in enumerate(row)]
            for r, row in enumerate(self.rows)
        ]

    def apply(self, converted: list[list[tuple[str, bool] | None]]) -> int:
        written = 0
        for r, row in enumerate(converted):
            for c, cell in enumerate(row):
                if cell is not None:
                    self.tab.put((self.top + r, self.left + c), *cell)
                    written += 1
        return written


def _plan_update(ref: _Ref, rows: list[list[Any]], option: str) -> _Planned:
    """Check a values.update against its range and the grid."""
    plan = _Planned(ref.tab, ref.top, ref.left, rows, option)
    if not rows or plan.width == 0:
        _resolve(ref)
        return plan
    written = plan.area()
    if ref.single_cell:
        # A single cell is an anchor: the data may extend past it, but not past the grid.
        if written.bottom >= ref.tab.row_count or written.right >= ref.tab.column_count:
            raise _grid_error(ref.tab, written.a1())
        return plan
    bounds = _resolve(ref)
    # Not in any cassette; wording from a public issue thread (pygsheets #132).
    within = f"Requested writing within range [{_echo(ref.tab, bounds)}], but tried writing to"
    if written.right > bounds.right:
        raise _bad_request(f"{within} column [{_col_letters(bounds.right + 1)}]")
    if written.bottom > bounds.bottom:
        raise _bad_request(f"{within} row [{bounds.bottom + 2}]")
    return plan


# --------------------------------------------------------------------------------------------
# The server


class _Server(LoopbackServer):
    thread_name = "fake-sheets-connection"

    def __init__(self, fake: FakeSheets) -> None:
        super().__init__(_Handler)
        self.fake = fake


class _Handler(KeepAliveHandler):
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.server.fake._serve(self.command, self.path, dict(self.headers.items()), raw)
        if reply is None:
            # Close without a status line: the client sees the connection drop mid-request.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        # A client that timed out during an injected delay has gone away: nothing to report.
        with contextlib.suppress(ConnectionError):
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()


class FakeSheets(LoopbackFake):
    """A loopback Google Sheets v4 server. Use as ``with FakeSheets() as fake: ...``.

    ``token``: when given, only ``Authorization: Bearer <token>`` is accepted; otherwise any
    non-empty bearer token is. ``seed`` makes the random sheetIds of added tabs reproducible.
    State and logs may be read and changed from the test thread while the server runs.
    """

    def __init__(self, *, token: str | None = None, seed: int = 0) -> None:
        self.token = token
        self.requests: list[RecordedRequest] = []
        self.writes: list[WriteRecord] = []
        self.errors: list[str] = []
        self._spreadsheets: dict[str, _Spreadsheet] = {}
        self._faults: list[_Fault] = []
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        super().__init__("FakeSheets", lambda: _Server(self))

    # -- state helpers -------------------------------------------------------------------------

    def add_spreadsheet(
        self,
        spreadsheet_id: str,
        title: str = "Untitled spreadsheet",
        tabs: Mapping[str, Sequence[Sequence[Any]]] | None = None,
        *,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
    ) -> None:
        """Create a spreadsheet. ``tabs`` maps tab titles to rows, in tab order; the default is
        one empty "Sheet1", like a new spreadsheet. The first tab gets sheetId 0, later ones a
        random positive 32-bit id; grids are 1000×26, or larger to fit the rows. Values that are
        not strings are stored as a RAW write would store them (numbers as their text)."""
        with self._lock:
            if spreadsheet_id in self._spreadsheets:
                raise ValueError(f"spreadsheet {spreadsheet_id!r} already exists")
            self._spreadsheets[spreadsheet_id] = _Spreadsheet(
                spreadsheet_id, title, locale, time_zone, []
            )
            for tab_title, rows in (tabs or {"Sheet1": []}).items():
                self.add_tab(spreadsheet_id, tab_title, rows)

    def add_tab(
        self,
        spreadsheet_id: str,
        title: str,
        rows: Sequence[Sequence[Any]] = (),
        *,
        row_count: int | None = None,
        column_count: int | None = None,
        hidden: bool = False,
    ) -> int:
        """Append a tab and return its sheetId. Without ``row_count``/``column_count`` the grid
        is 1000×26 or just large enough for ``rows``; explicit sizes must fit ``rows``."""
        with self._lock:
            sheet = self._get(spreadsheet_id)
            if sheet.title_taken(title):
                raise ValueError(f"tab {title!r} already exists in {spreadsheet_id!r}")
            height = len(rows)
            width = max((len(r) for r in rows), default=0)
            if (row_count is not None and row_count < height) or (
                column_count is not None and column_count < width
            ):
                raise ValueError(f"{height}×{width} rows do not fit the requested grid")
            tab = _Tab(
                sheet_id=self._new_sheet_id(sheet),
                title=title,
                row_count=row_count if row_count is not None else max(_DEFAULT_ROWS, height),
                column_count=column_count
                if column_count is not None
                else max(_DEFAULT_COLS, width),
                hidden=hidden,
            )
            self._fill(tab, rows)
            sheet.tabs.append(tab)
            return tab.sheet_id

    def set_values(self, spreadsheet_id: str, tab: str, rows: Sequence[Sequence[Any]]) -> None:
        """Replace a tab's content (formulas included), growing its grid to fit."""
        with self._lock:
            found = self._tab(spreadsheet_id, tab)
            found.cells.clear()
            found.formulas.clear()
            found.row_count = max(found.row_count, len(rows))
            found.column_count = max(found.column_count, max((len(r) for r in rows), default=0))
            self._fill(found, rows)

    def values(self, spreadsheet_id: str, tab: str) -> list[list[str]]:
        """The tab's cells as ``get_all_values`` would return them: strings, trailing blanks of
        each row and trailing empty rows trimmed, formulas as their source text."""
        with self._lock:
            found = self._tab(spreadsheet_id, tab)
            area = _Area(0, 0, found.row_count - 1, found.column_count - 1)
            return _read(found, area, "ROWS")

    def formulas(self, spreadsheet_id: str, tab: str) -> dict[str, str]:
        """Cells that hold a formula (written with USER_ENTERED and starting with "="), as
        ``{"B2": "=1+1"}``. Empty when every write was RAW."""
        with self._lock:
            found = self._tab(spreadsheet_id, tab)
            return {_Area(r, c, r, c).a1(): text for (r, c), text in sorted(found.formulas.items())}

    def tab_titles(self, spreadsheet_id: str) -> list[str]:
        """Tab titles in tab order, hidden ones included."""
        with self._lock:
            return [t.title for t in self._get(spreadsheet_id).tabs]

    def grid_size(self, spreadsheet_id: str, tab: str) -> tuple[int, int]:
        """(rowCount, columnCount) of a tab's grid."""
        with self._lock:
            found = self._tab(spreadsheet_id, tab)
            return found.row_count, found.column_count

    def sheet_id(self, spreadsheet_id: str, tab: str) -> int:
        """The sheetId (gid) of a tab."""
        with self._lock:
            return self._tab(spreadsheet_id, tab).sheet_id

    # -- instrumentation -----------------------------------------------------------------------

    def reset_requests(self) -> None:
        """Forget the recorded requests and writes (not the state, not pending faults)."""
        with self._lock:
            self.requests.clear()
            self.writes.clear()

    def count(self, method: str | None = None, contains: str | None = None) -> int:
        """How many recorded requests have this method and contain this text in
        ``"METHOD /decoded/path"``; both filters optional."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (contains is None or contains in r.line)
            )

    def fail_next(
        self,
        status: int | None = None,
        *,
        count: int = 1,
        retry_after: float | str | None = None,
        reason: str | None = None,
        drop: bool = False,
        delay: float | None = None,
        match: Matcher | None = None,
        after_apply: bool = False,
        body: str | bytes | None = None,
    ) -> None:
        """Make the next ``count`` matching requests fail.

        ``status``: answer with this HTTP status and a real-shaped JSON error: 429 is the quota
        error (Read or Write variant by method) with status RESOURCE_EXHAUSTED; 403 is
        PERMISSION_DENIED, or with ``reason="rateLimitExceeded"`` (or any reason) a rate-limit
        403 carrying ``errors[].reason`` and an ErrorInfo detail; 500 INTERNAL, 503
        UNAVAILABLE, others by their canonical name. ``reason`` adds a legacy
        ``errors: [{"reason": ...}]`` list to any status. ``body`` replaces the JSON body
        verbatim (e.g. an HTML 502 page).
        ``retry_after``: add a ``Retry-After`` header (the real 429s carry none).
        ``drop``: close the connection without any answer (requests raises ConnectionError).
        ``delay``: sleep this many seconds before answering (for client timeouts); with no
        ``status`` and no ``drop`` the request is then served normally.
        ``after_apply``: perform the request's change first, then fail, drop or delay: "the
        server did it, the client never heard".
        ``match``: only requests whose ``"METHOD /decoded/path"`` contains this text, or for
        which this predicate returns True, consume the fault; others pass untouched.
        Faults queue in order; a request consumes at most one (the first that matches).
        Authentication is checked first: a 401 does not consume a fault.
        """
        if status is None and not drop and delay is None:
            raise ValueError("fail_next needs a status, drop=True or a delay")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(
                _Fault(status, count, retry_after, reason, drop, delay, match, after_apply, body)
            )

    def pending_faults(self) -> int:
        """How many injected failures have not been consumed yet."""
        with self._lock:
            return sum(f.remaining for f in self._faults)

    def clear_faults(self) -> None:
        """Drop every injected failure not consumed yet."""
        with self._lock:
            self._faults.clear()

    # -- internals: state ----------------------------------------------------------------------

    def _get(self, spreadsheet_id: str) -> _Spreadsheet:
        try:
            return self._spreadsheets[spreadsheet_id]
        except KeyError:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r} in the fake") from None

    def _tab(self, spreadsheet_id: str, title: str) -> _Tab:
        found = self._get(spreadsheet_id).tab_by_title(title)
        if found is None:
            raise KeyError(f"no tab {title!r} in spreadsheet {spreadsheet_id!r}")
        return found

    def _new_sheet_id(self, sheet: _Spreadsheet) -> int:
        if not sheet.tabs:
            return 0
        while True:
            candidate = self._random.randint(1, 2**31 - 1)
            if sheet.tab_by_id(candidate) is None:
                return candidate

    @staticmethod
    def _fill(tab: _Tab, rows: Sequence[Sequence[Any]]) -> None:
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                cell = _to_cell(value, "RAW", f"values[{r}][{c}]")
                if cell is not None:
                    tab.put((r, c), *cell)

    # -- internals: request handling -----------------------------------------------------------

    def _serve(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> _Reply | None:
        split = urlsplit(target)
        text = raw.decode("utf-8", errors="replace")
        body: Any = None
        if raw:
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        request = RecordedRequest(
            method=method.upper(),
            path=unquote(split.path),
            raw_target=target,
            query=parse_qs(split.query, keep_blank_values=True),
            body=body,
            headers={k.lower(): v for k, v in headers.items()},
        )
        with self._lock:
            self.requests.append(request)
        try:
            reply = self._answer(request, raw)
        except Exception:
            # A bug in the fake: say so loudly in the answer and keep it for the test to assert.
            trace = traceback.format_exc()
            with self._lock:
                self.errors.append(trace)
            reply = _json_reply(500, _ApiError(500, f"fake Sheets server bug:\n{trace}").envelope())
        request.status = None if reply is None else reply.status
        return reply

    def _answer(self, request: RecordedRequest, raw: bytes) -> _Reply | None:
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        fault = self._take_fault(request.line)
        if fault is None:
            return self._dispatch(request, raw)
        applied = self._dispatch(request, raw) if fault.after_apply else None
        if fault.delay and self._stopping.wait(fault.delay):
            return None  # the server is shutting down: answer nothing
        if fault.drop:
            return None
        if fault.status is not None:
            return self._fault_reply(fault, request)
        return applied if applied is not None else self._dispatch(request, raw)

    def _check_auth(self, request: RecordedRequest) -> _Reply | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            if self.token is None or token.strip() == self.token:
                return None
            message, reason = _AUTH_INVALID, "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        else:
            message, reason = _AUTH_MISSING, "CREDENTIALS_MISSING"
        # Not in any cassette (they never recorded a 401); the message and ErrorInfo reason are
        # the ones Google front ends return for a missing or rejected OAuth token.
        error = _ApiError(
            401,
            message,
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": reason,
                    "domain": "googleapis.com",
                    "metadata": {"service": "sheets.googleapis.com"},
                }
            ],
        )
        return _json_reply(
            401,
            error.envelope(),
            [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')],
        )

    def _take_fault(self, line: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(line):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _fault_reply(self, fault: _Fault, request: RecordedRequest) -> _Reply:
        assert fault.status is not None
        headers: list[tuple[str, str]] = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", str(fault.retry_after)))
        if fault.body is not None:
            payload = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
            return _Reply(fault.status, payload, headers)
        error = self._fault_error(fault.status, fault.reason, request.method)
        return _json_reply(fault.status, error.envelope(), headers)

    @staticmethod
    def _fault_error(status: int, reason: str | None, method: str) -> _ApiError:
        if status == 429:
            # Historical cassettes (WorksheetTest.test_range_get_all_values @c2483753 for
            # writes, test_insert_row @5a69f705 for reads).
            kind, metric = ("Read", "read") if method == "GET" else ("Write", "write")
            error = _ApiError(
                429,
                f"Quota exceeded for quota metric '{kind} requests' and limit '{kind} requests "
                "per minute per user' of service 'sheets.googleapis.com' for consumer "
                "'project_number:1071851248496'.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                        "domain": "googleapis.com",
                        "metadata": {
                            "quota_metric": f"sheets.googleapis.com/{metric}_requests",
                            "service": "sheets.googleapis.com",
                            "consumer": "projects/1071851248496",
                            "quota_limit": f"{kind}RequestsPerMinutePerUser",
                        },
                    }
                ],
            )
        elif status == 403 and reason is not None:
            # The older rate-limit shape (Gmail and pre-2020 v4): a legacy errors[] list.
            limit = "Rate Limit Exceeded"
            if reason.startswith("user"):
                limit = "User " + limit
            error = _ApiError(
                403,
                limit,
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                        "domain": "googleapis.com",
                        "metadata": {"service": "sheets.googleapis.com"},
                    }
                ],
            )
        else:
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            error = _ApiError(status, _DEFAULT_MESSAGES.get(status, phrase))
        if reason is not None:
            domain = "usageLimits" if "RateLimit" in reason or "rateLimit" in reason else "global"
            error.errors = [{"message": error.message, "domain": domain, "reason": reason}]
        return error

    def _dispatch(self, request: RecordedRequest, raw: bytes) -> _Reply:
        try:
            if raw and isinstance(request.body, str):
                raise _bad_request("Invalid JSON payload received.")
            with self._lock:
                payload = self._route(request)
            return _json_reply(200, payload)
        except _ApiError as error:
            return _json_reply(error.code, error.envelope())

    def _route(self, request: RecordedRequest) -> Any:
        path, method = request.path, request.method
        if not path.startswith(_PREFIX):
            raise _ApiError(404, f"The fake Sheets server has no route for {method} {path}")
        rest = path[len(_PREFIX) :]
        spreadsheet_id = re.split(r"[/:]", rest, maxsplit=1)[0]
        tail = rest[len(spreadsheet_id) :]
        sheet = self._spreadsheets.get(spreadsheet_id)
        if sheet is None:
            raise _ApiError(404, _DEFAULT_MESSAGES[404])
        routes: dict[tuple[str, str], Callable[[_Spreadsheet, RecordedRequest], Any]] = {
            ("GET", ""): self._get_spreadsheet,
            ("POST", ":batchUpdate"): self._batch_update,
            ("GET", "/values:batchGet"): self._values_batch_get,
            ("POST", "/values:batchUpdate"): self._values_batch_update,
            ("POST", "/values:batchClear"): self._values_batch_clear,
        }
        handler = routes.get((method, tail))
        if handler is not None:
            return handler(sheet, request)
        if tail.startswith("/values/") and len(tail) > len("/values/"):
            rng = tail[len("/values/") :]
            # The path is decoded first, so only the known verbs count as suffixes:
            # "'Sheet1'!A1:D4" must not be split at the colon inside the range.
            if method == "POST" and rng.endswith(":append"):
                return self._values_append(sheet, rng[: -len(":append")], request)
            if method == "POST" and rng.endswith(":clear"):
                return self._values_clear(sheet, rng[: -len(":clear")])
            if method == "GET":
                return self._values_get(sheet, rng, request)
            if method == "PUT":
                return self._values_update(sheet, rng, request)
        raise _ApiError(404, f"The fake Sheets server has no route for {method} {path}")

    def _commit(self, work: _Spreadsheet) -> None:
        self._spreadsheets[work.spreadsheet_id] = work

    # -- endpoints -----------------------------------------------------------------------------

    def _get_spreadsheet(self, sheet: _Spreadsheet, request: RecordedRequest) -> Any:
        if (request.param("includeGridData") or "false").lower() != "false":
            raise _unsupported("includeGridData=true")
        return sheet.metadata()

    @staticmethod
    def _read_options(request: RecordedRequest) -> str:
        major = request.param("majorDimension") or "ROWS"
        if major == "DIMENSION_UNSPECIFIED":
            major = "ROWS"
        if major not in ("ROWS", "COLUMNS"):
            raise _bad_request(
                "Invalid value at 'major_dimension' "
                f"(type.googleapis.com/google.apps.sheets.v4.Dimension), {json.dumps(major)}"
            )
        render = request.param("valueRenderOption")
        if render is not None and render not in _RENDER_OPTIONS:
            raise _bad_request(
                "Invalid value at 'value_render_option' "
                f"(type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), "
                f"{json.dumps(render)}"
            )
        when = request.param("dateTimeRenderOption")
        if when is not None and when not in _DATETIME_OPTIONS:
            raise _bad_request(
                "Invalid value at 'date_time_render_option' "
                f"(type.googleapis.com/google.apps.sheets.v4.DateTimeRenderOption), "
                f"{json.dumps(when)}"
            )
        return major

    def _values_get(self, sheet: _Spreadsheet, rng: str, request: RecordedRequest) -> Any:
        major = self._read_options(request)
        ref = _parse_range(sheet, rng)
        return _value_range(ref.tab, _resolve(ref), major)

    def _values_batch_get(self, sheet: _Spreadsheet, request: RecordedRequest) -> Any:
        major = self._read_options(request)
        ranges = request.query.get("ranges", [])
        result: dict[str, Any] = {"spreadsheetId": sheet.spreadsheet_id}
        if ranges:
            refs = [_parse_range(sheet, rng) for rng in ranges]
            result["valueRanges"] = [_value_range(r.tab, _resolve(r), major) for r in refs]
        return result

    def _values_update(self, sheet: _Spreadsheet, rng: str, request: RecordedRequest) -> Any:
        option = _input_option(request.param("valueInputOption"))
        work = copy.deepcopy(sheet)
        ref = _parse_range(work, rng)
        plan = _plan_update(ref, _rows_of(request.body, "data.values"), option)
        converted = plan.convert()
        result: dict[str, Any] = {"spreadsheetId": sheet.spreadsheet_id}
        if plan.height and plan.width:
            cells = plan.apply(converted)
            updated = _echo(plan.tab, plan.area())
            result |= {
                "updatedRange": updated,
                "updatedRows": plan.height,
                "updatedColumns": plan.width,
                "updatedCells": cells,
            }
            self.writes.append(
                WriteRecord("update", sheet.spreadsheet_id, updated, option, plan.rows)
            )
        self._commit(work)
        return result

    def _values_append(self, sheet: _Spreadsheet, rng: str, request: RecordedRequest) -> Any:
        option = _input_option(request.param("valueInputOption"))
        insert = request.param("insertDataOption") or "OVERWRITE"
        if insert not in ("OVERWRITE", "INSERT_ROWS"):
            raise _bad_request(
                "Invalid value at 'insert_data_option' "
                "(type.googleapis.com/google.apps.sheets.v4.InsertDataOption), "
                f"{json.dumps(insert)}"
            )
        work = copy.deepcopy(sheet)
        ref = _parse_range(work, rng)
        tab = ref.tab
        rows = _rows_of(request.body, "data.values")
        table = _find_table(tab, ref)
        if table is None:
            _resolve(ref)
            top, left = ref.top, ref.left
        else:
            top, left = table.bottom + 1, table.left
        plan = _Planned(tab, top, left, rows, option)
        converted = plan.convert()
        result: dict[str, Any] = {"spreadsheetId": sheet.spreadsheet_id}
        if table is not None:
            # test_append_row_with_empty_value: "tableRange" comes before "updates", and is
            # absent when no table was found (test_append_row).
            result["tableRange"] = _echo(tab, table)
        updates: dict[str, Any] = {"spreadsheetId": sheet.spreadsheet_id}
        if plan.height and plan.width:
            written = plan.area()
            if insert == "INSERT_ROWS":
                moved = {
                    (r + plan.height if r >= top else r, c): v for (r, c), v in tab.cells.items()
                }
                moved_f = {
                    (r + plan.height if r >= top else r, c): v for (r, c), v in tab.formulas.items()
                }
                tab.cells, tab.formulas = moved, moved_f
                tab.row_count += plan.height
            # Appending past the end grows the grid, even with OVERWRITE (InsertDataOption
            # docs: "adding data to the end of the sheet will still insert new rows or columns").
            tab.row_count = max(tab.row_count, written.bottom + 1)
            tab.column_count = max(tab.column_count, written.right + 1)
            cells = plan.apply(converted)
            updated = _echo(tab, written)
            updates |= {
                "updatedRange": updated,
                "updatedRows": plan.height,
                "updatedColumns": plan.width,
                "updatedCells": cells,
            }
            self.writes.append(
                WriteRecord("append", sheet.spreadsheet_id, updated, option, plan.rows)
            )
        result["updates"] = updates
        self._commit(work)
        return result

    def _values_batch_update(self, sheet: _Spreadsheet, request: RecordedRequest) -> Any:
        body = request.body if isinstance(request.body, Mapping) else {}
        option = _input_option(body.get("valueInputOption"), from_body=True)
        data = body.get("data") or []
        if not isinstance(data, list):
            raise _bad_request("Invalid value at 'data'")
        work = copy.deepcopy(sheet)
        plans: list[tuple[_Planned, list[list[tuple[str, bool] | None]]]] = []
        for i, item in enumerate(data):
            try:
                if not isinstance(item, Mapping) or not isinstance(item.get("range"), str):
                    raise _bad_request("Unable to parse range: ")
                ref = _parse_range(work, item["range"])
                plan = _plan_update(ref, _rows_of(item, f"data[{i}].values"), option)
                plans.append((plan, plan.convert()))
            except _ApiError as error:
                if error.details is not None:
                    raise
                raise error.prefixed(f"Invalid data[{i}]: ") from None
        result: dict[str, Any] = {"spreadsheetId": sheet.spreadsheet_id}
        responses: list[dict[str, Any]] = []
        rows: set[tuple[int, int]] = set()
        cols: set[tuple[int, int]] = set()
        tabs: set[int] = set()
        total = 0
        for plan, converted in plans:
            if not (plan.height and plan.width):
                responses.append({"spreadsheetId": sheet.spreadsheet_id})
                continue
            cells = plan.apply(converted)
            area = plan.area()
            updated = _echo(plan.tab, area)
            responses.append(
                {
                    "spreadsheetId": sheet.spreadsheet_id,
                    "updatedRange": updated,
                    "updatedRows": plan.height,
                    "updatedColumns": plan.width,
                    "updatedCells": cells,
                }
            )
            # WorksheetTest.test_batch_update: A1:D1 + A4:D4 report totalUpdatedRows 2 but
            # totalUpdatedColumns 4, so the totals count distinct rows and columns.
            rows.update((plan.tab.sheet_id, r) for r in range(area.top, area.bottom + 1))
            cols.update((plan.tab.sheet_id, c) for c in range(area.left, area.right + 1))
            tabs.add(plan.tab.sheet_id)
            total += cells
            self.writes.append(
                WriteRecord("batchUpdate", sheet.spreadsheet_id, updated, option, plan.rows)
            )
        if tabs:
            result |= {
                "totalUpdatedRows": len(rows),
                "totalUpdatedColumns": len(cols),
                "totalUpdatedCells": total,
                "totalUpdatedSheets": len(tabs),
            }
        if responses:
            result["responses"] = responses
        self._commit(work)
        return result

    def _values_clear(self, sheet: _Spreadsheet, rng: str) -> Any:
        work = copy.deepcopy(sheet)
        ref = _parse_range(work, rng)
        area = _resolve(ref)
        ref.tab.clear(area)
        self._commit(work)
        # test_clear: the whole tab echoes as the full grid, "Sheet1!A1:Z1000".
        return {"spreadsheetId": sheet.spreadsheet_id, "clearedRange": _echo(ref.tab, area)}

    def _values_batch_clear(self, sheet: _Spreadsheet, request: RecordedRequest) -> Any:
        body = request.body if isinstance(request.body, Mapping) else {}
        ranges = body.get("ranges") or []
        work = copy.deepcopy(sheet)
        cleared = []
        for rng in ranges:
            ref = _parse_range(work, str(rng))
            area = _resolve(ref)
            ref.tab.clear(area)
            cleared.append(_echo(ref.tab, area))
        self._commit(work)
        return {"spreadsheetId": sheet.spreadsheet_id, "clearedRanges": cleared}

    def _batch_update(self, sheet: _Spreadsheet, request: RecordedRequest) -> Any:
        body = request.body if isinstance(request.body, Mapping) else {}
        requests = body.get("requests") or []
        if not isinstance(requests, list) or not requests:
            raise _bad_request("Must specify at least one request.")
        work = copy.deepcopy(sheet)
        replies = []
        for i, item in enumerate(requests):
            kinds = list(item) if isinstance(item, Mapping) else []
            kind = kinds[0] if len(kinds) == 1 else "?"
            prefix = f"Invalid requests[{i}].{kind}: "
            try:
                if kind == "addSheet":
                    replies.append(self._add_sheet(work, item[kind]))
                elif kind == "deleteSheet":
                    replies.append(self._delete_sheet(work, item[kind]))
                elif kind == "updateSheetProperties":
                    replies.append(self._update_sheet_properties(work, item[kind]))
                else:
                    raise _unsupported(f"The request {kind!r}")
            except _ApiError as error:
                raise error.prefixed(prefix) from None
        self._commit(work)
        return {"spreadsheetId": sheet.spreadsheet_id, "replies": replies}

    def _add_sheet(self, work: _Spreadsheet, spec: Any) -> dict[str, Any]:
        props = spec.get("properties", {}) if isinstance(spec, Mapping) else {}
        unknown = set(props) - _ADD_SHEET_FIELDS
        if unknown or props.get("sheetType", "GRID") != "GRID":
            raise _unsupported(f"addSheet with {sorted(unknown) or props.get('sheetType')}")
        title = props.get("title")
        if title is None:
            n = len(work.tabs) + 1
            while work.title_taken(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        if work.title_taken(title):
            raise _bad_request(
                f'A sheet with the name "{title}" already exists. Please enter another name.'
            )
        sheet_id = props.get("sheetId")
        if sheet_id is None:
            sheet_id = self._new_sheet_id(work)
        elif work.tab_by_id(sheet_id) is not None:
            raise _bad_request(f"A sheet with id {sheet_id} already exists.")
        grid = props.get("gridProperties", {})
        tab = _Tab(
            sheet_id=sheet_id,
            title=title,
            row_count=int(grid.get("rowCount", _DEFAULT_ROWS)),
            column_count=int(grid.get("columnCount", _DEFAULT_COLS)),
            hidden=bool(props.get("hidden", False)),
        )
        index = props.get("index")
        work.tabs.insert(len(work.tabs) if index is None else int(index), tab)
        # test_add_del_worksheet: the reply carries the assigned sheetId and final index.
        return {"addSheet": {"properties": tab.properties(work.tabs.index(tab))}}

    @staticmethod
    def _delete_sheet(work: _Spreadsheet, spec: Any) -> dict[str, Any]:
        sheet_id = spec.get("sheetId") if isinstance(spec, Mapping) else None
        tab = work.tab_by_id(sheet_id)
        if tab is None:
            raise _bad_request(f"No sheet with id: {sheet_id}")
        if len(work.tabs) == 1:
            raise _bad_request("You can't remove all the sheets in a document.")
        work.tabs.remove(tab)
        # test_add_del_worksheet: requests without a payload still get one empty reply.
        return {}

    @staticmethod
    def _update_sheet_properties(work: _Spreadsheet, spec: Any) -> dict[str, Any]:
        props = spec.get("properties", {}) if isinstance(spec, Mapping) else {}
        fields = [f.strip() for f in str(spec.get("fields", "")).split(",") if f.strip()]
        tab = work.tab_by_id(props.get("sheetId"))
        if tab is None:
            raise _bad_request(f"No grid with id: {props.get('sheetId')}")
        if not fields:
            raise _bad_request("At least one field must be updated, but none are specified.")
        grid = props.get("gridProperties", {})
        for name in fields:
            if name == "title":
                title = str(props.get("title", ""))
                if work.title_taken(title, ignore=tab):
                    raise _bad_request(
                        f'A sheet with the name "{title}" already exists. '
                        "Please enter another name."
                    )
                tab.title = title
            elif name == "hidden":
                hidden = bool(props.get("hidden", False))
                if hidden and all(t.hidden or t is tab for t in work.tabs):
                    # WorksheetTest.test_hide_show_worksheet, verbatim.
                    raise _bad_request("You can't hide all the sheets in a document.")
                tab.hidden = hidden
            elif name == "index":
                work.tabs.remove(tab)
                work.tabs.insert(min(int(props.get("index", 0)), len(work.tabs)), tab)
            elif name in ("gridProperties/rowCount", "gridProperties.rowCount"):
                tab.row_count = int(grid.get("rowCount", 0))
            elif name in ("gridProperties/columnCount", "gridProperties.columnCount"):
                tab.column_count = int(grid.get("columnCount", 0))
            else:
                raise _unsupported(f"updateSheetProperties of field {name!r}")
        if tab.row_count < 1 or tab.column_count < 1 or tab.column_count > _MAX_COLS:
            raise _bad_request("Invalid grid size.")
        tab.truncate()
        return {}


# --------------------------------------------------------------------------------------------
# Pointing the real gspread client at the fake


class LoopbackHTTPClient(HTTPClient):
    """gspread's transport with every Google URL sent to ``base_url`` instead.

    gspread copies its URLs into module constants at import, so they cannot be patched; it
    does accept a transport class and checks it with ``isinstance(HTTPClient)``. Set
    ``base_url`` after construction (``gspread_client`` does). A URL that is neither Sheets
    nor Drive raises instead of leaving the machine.
    """

    base_url: str | None = None

    def request(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Any = None,
    ) -> Response:
        return super().request(
            method,
            self._rewrite(endpoint),
            params=params,
            data=data,
            json=json,
            files=files,
            headers=headers,
        )

    def _rewrite(self, endpoint: str) -> str:
        if not self.base_url:
            raise RuntimeError("LoopbackHTTPClient.base_url is not set")
        for root in (SHEETS_ROOT, DRIVE_ROOT):
            if endpoint.startswith(root + "/"):
                return self.base_url.rstrip("/") + endpoint[len(root) :]
        raise RuntimeError(f"refusing to send {endpoint} outside the loopback server")


def gspread_client(
    base_url: str, *, token: str = "test", timeout: float | None = None
) -> gspread.Client:
    """A real ``gspread.Client`` talking to ``base_url`` (e.g. ``fake.base_url``).

    Authenticates with ``google.oauth2.credentials.Credentials(token=token)``, which sends
    ``Authorization: Bearer <token>`` and cannot refresh (a 401 from the server surfaces as
    google.auth's ``RefreshError``). ``timeout`` is gspread's per-request timeout in seconds.
    Proxy environment variables are ignored so that 127.0.0.1 is always reached directly.
    """
    credentials = Credentials(token=token)  # type: ignore[no-untyped-call]
    client = gspread.Client(auth=credentials, http_client=LoopbackHTTPClient)
    transport = cast(LoopbackHTTPClient, client.http_client)
    transport.base_url = base_url
    transport.session.trust_env = False
    if timeout is not None:
        client.set_timeout(timeout)
    return client
