"""The roster and responses from a Google Sheet; status and digest tabs written back.

A constant number of Sheets calls whatever the roster size: one metadata read and one
``values:batchGet`` for both tabs; each report tab is one ``values:batchUpdate`` (plus one
``addSheet`` the first time). Writes are ``RAW``, so an answer that starts with ``=`` stays
text and never becomes a formula.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from ...display import shorten
from ...errors import BackendError, InputError
from ...models import Table
from ...sources.tables import table_from_rows
from ..base import BuiltinSourceKind, SourceBackend
from .api import (
    SHEETS_API,
    SHEETS_SCOPE,
    GoogleApiError,
    NoAnswer,
    RetryPolicy,
    google_errors,
)
from .doctor import GoogleAccount

if TYPE_CHECKING:
    import gspread

    from ...config.reader import Reader
    from ...config.records import Config

API = SHEETS_API
CELL_LIMIT = 50_000  # characters Sheets holds in one cell


def a1_tab(title: str) -> str:
    """A tab title as an A1 range (quoted, inner quotes doubled): ``'Form Responses 1'``."""
    return "'" + title.replace("'", "''") + "'"


class SheetsBook:
    """One spreadsheet: reads the roster and responses tabs, writes report tabs.

    ``tabs`` maps the report names pdmail writes (``status``, ``digest``) to tab titles.
    Titles match whatever their case, as in Sheets itself, which refuses two tabs whose names
    differ only in case: ``status`` finds a tab named ``Status``.
    gspread's ``Spreadsheet`` object fetches the metadata again for every tab lookup, so this
    class uses gspread's transport calls directly and keeps the one metadata answer it read.
    """

    def __init__(
        self,
        client: gspread.Client,
        spreadsheet_id: str,
        *,
        roster_tab: str,
        responses_tab: str,
        tabs: dict[str, str],
    ) -> None:
        self.http = client.http_client
        self.spreadsheet_id = spreadsheet_id
        self.roster_tab = roster_tab
        self.responses_tab = responses_tab
        self.tabs = tabs
        self._grid: dict[str, tuple[int, int]] | None = None  # title -> (rows, columns)
        self._ids: dict[str, int] = {}  # title -> sheetId, to grow a report tab's grid
        self._values: dict[str, list[list[str]]] | None = None
        self.locale = ""  # the spreadsheet's locale (en_US, en_GB): how its dates are written

    @property
    def calls(self) -> int:
        """Sheets requests made so far, retries included."""
        return int(getattr(self.http, "calls", 0))

    def grid(self) -> dict[str, tuple[int, int]]:
        """Every tab's title and grid size, from one metadata read."""
        if self._grid is None:
            missing = (
                f"{API}: spreadsheet {self.spreadsheet_id} was not found (404)",
                "check google.spreadsheet_id, and that the sheet is shared with the account "
                "pdmail is authorized as",
            )
            with google_errors(API, "opening the spreadsheet", says={404: missing}):
                meta = self.http.fetch_sheet_metadata(self.spreadsheet_id)
            self._grid = {}
            # FORMATTED_VALUE reads give dates as the spreadsheet's locale writes them
            # (03/12/2026 is 3 December in en_GB, 12 March in en_US).
            self.locale = str(meta.get("properties", {}).get("locale", "") or "")
            for sheet in meta.get("sheets", []):
                props = sheet.get("properties", {})
                size = props.get("gridProperties", {})
                self._ids[props.get("title", "")] = int(props.get("sheetId", 0))
                self._grid[props.get("title", "")] = (
                    int(size.get("rowCount", 0)),
                    int(size.get("columnCount", 0)),
                )
        return self._grid

    def title(self, wanted: str) -> str | None:
        """The spreadsheet's own spelling of the tab ``wanted`` (matched ignoring case), or
        None when there is no such tab."""
        grid = self.grid()
        if wanted in grid:
            return wanted
        folded = wanted.casefold()
        return next((t for t in grid if t.casefold() == folded), None)

    def _read(self) -> dict[str, list[list[str]]]:
        if self._values is None:
            titles = self.grid()
            for tab, key in ((self.roster_tab, "google.roster_tab"),
                             (self.responses_tab, "google.responses_tab")):  # fmt: skip
                if self.title(tab) is None:
                    hint = (
                        "responses land in the tab the Form is linked to (in the Form: "
                        "Responses, Link to Sheets)"
                        if key == "google.responses_tab"
                        else "name the tab that holds the teachers"
                    )
                    raise InputError(
                        f"spreadsheet {self.spreadsheet_id}: no tab named {tab!r} "
                        f"(config key {key}); the tabs are: {', '.join(sorted(titles))}",
                        hint=hint,
                    )
            # The tabs pdmail writes and the librarian edits (the needs) come in the same call.
            tabs = [str(self.title(self.roster_tab)), str(self.title(self.responses_tab))]
            reports = (self.title(t) for t in self.tabs.values())
            tabs += [t for t in reports if t is not None and t not in tabs]
            with google_errors(API, "reading the roster and responses"):
                answer = self.http.values_batch_get(
                    self.spreadsheet_id,
                    [a1_tab(t) for t in tabs],
                    params={"valueRenderOption": "FORMATTED_VALUE", "majorDimension": "ROWS"},
                )
            ranges = [r.get("values", []) for r in answer.get("valueRanges", [])]
            ranges += [[]] * (len(tabs) - len(ranges))
            self._values = {tab: _strings(values) for tab, values in zip(tabs, ranges, strict=True)}
        return self._values

    def read_table(self, name: str) -> Table | None:
        """A tab pdmail wrote and the librarian may have edited (the needs), or None."""
        wanted = self.tabs.get(name, name)
        title = self.title(wanted) or wanted
        rows = self._read().get(title)
        if not rows or not any(any(c.strip() for c in row) for row in rows):
            return None
        return table_from_rows(f"sheet '{title}'", rows)

    def read_roster(self) -> Table:
        title = str(self.title(self.roster_tab))
        return table_from_rows(f"sheet '{title}'", self._read()[title])

    def read_responses(self) -> Table | None:
        title = str(self.title(self.responses_tab))
        rows = self._read()[title]
        if not any(any(c.strip() for c in row) for row in rows):
            return None
        return replace(table_from_rows(f"sheet '{title}'", rows), locale=self.locale)

    def write_table(self, name: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        """Replace tab ``tabs[name]`` with ``header`` and ``rows`` in one RAW value write
        (and one ``addSheet`` the first time). Rows below the new data, up to the tab's size,
        are blanked in the same write, so a shorter table leaves nothing stale behind."""
        wanted = self.tabs.get(name, name)
        # Sheets refuses a whole write over one cell past 50,000 characters (a pasted essay).
        data = [list(header), *[[shorten(str(c), CELL_LIMIT) for c in row] for row in rows]]
        width = max(len(r) for r in data)
        title = self.title(wanted) or self._add_tab(wanted, (max(len(data), 100), max(width, 8)))
        grid = self.grid()
        rows_in_grid, cols_in_grid = grid[title]
        if len(data) > rows_in_grid or width > cols_in_grid:
            # A value write past the grid is refused (400 "exceeds grid limits"): a table that
            # outgrew its tab (more teachers, more needs) first grows the grid, in one call.
            rows_in_grid, cols_in_grid = max(len(data), rows_in_grid), max(width, cols_in_grid)
            resize: dict[str, Any] = {"requests": [{"updateSheetProperties": {
                "properties": {"sheetId": self._ids[title], "gridProperties": {
                    "rowCount": rows_in_grid, "columnCount": cols_in_grid}},
                "fields": "gridProperties.rowCount,gridProperties.columnCount",
            }}]}  # fmt: skip
            with google_errors(API, f"growing the tab {title!r}"):
                self.http.batch_update(self.spreadsheet_id, resize)
            grid[title] = (rows_in_grid, cols_in_grid)
        height = max(len(data), rows_in_grid)
        width = max(width, min(cols_in_grid, 26))
        padded = [r + [""] * (width - len(r)) for r in data]
        padded += [[""] * width for _ in range(height - len(padded))]
        grid[title] = (height, max(width, cols_in_grid))
        target = f"{a1_tab(title)}!A1:{_a1(height, width)}"
        with google_errors(API, f"writing the tab {title!r}"):
            self.http.values_batch_update(
                self.spreadsheet_id,
                {"valueInputOption": "RAW", "data": [{"range": target, "values": padded}]},
            )
        return f"sheet tab '{title}'"

    def _add_tab(self, title: str, size: tuple[int, int]) -> str:
        """Add the tab ``title`` with a grid of ``size``; return the title it now has.

        ``addSheet`` cannot be repeated blindly: after a 5xx or a lost answer the tab may
        exist already, and a second ``addSheet`` is refused ("already exists"). So after
        such a failure, and after that refusal (another run or the librarian added the tab
        since the metadata was read), the metadata is read again: a tab found there is used;
        only a tab still missing is added again, within the retry policy's attempts.
        """
        body = {"requests": [{"addSheet": {"properties": {
            "title": title,
            "gridProperties": {"rowCount": size[0], "columnCount": size[1]},
        }}}]}  # fmt: skip
        policy: RetryPolicy = getattr(self.http, "policy", RetryPolicy())
        for attempt in range(policy.attempts):
            error: BackendError
            try:
                with google_errors(API, f"adding the tab {title!r}"):
                    reply = self.http.batch_update(self.spreadsheet_id, body)
            except GoogleApiError as exc:
                taken = exc.failure.code == 400 and "already exists" in exc.failure.message
                if exc.failure.code < 500 and not taken:
                    raise
                error = exc
            except NoAnswer as exc:
                error = exc
            else:
                self.grid()[title] = size
                added = (reply.get("replies") or [{}])[0].get("addSheet", {}).get("properties", {})
                self._ids[title] = int(added.get("sheetId", 0))
                return title
            self._grid = None  # look again: the tab may be there now
            found = self.title(title)
            if found is not None:
                return found
            if attempt < policy.attempts - 1:
                policy.wait(attempt, None)
        raise error


def _strings(rows: list[list[Any]]) -> list[list[str]]:
    return [["" if c is None else str(c) for c in row] for row in rows]


def _a1(row: int, column: int) -> str:
    """The A1 name of a cell: ``_a1(3, 28)`` is ``AB3``."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row}"


def open_book(config: Config, credentials: Any, *, policy: RetryPolicy | None = None) -> SheetsBook:
    """A :class:`SheetsBook` for ``config``'s spreadsheet, through pdmail's transport."""
    import gspread

    from .http import SheetsHTTPClient, configure

    client = gspread.Client(auth=credentials, http_client=SheetsHTTPClient)
    configure(client, config.google.endpoints.sheets, policy or RetryPolicy(), timeout=60.0)
    g = config.google
    return SheetsBook(
        client,
        g.spreadsheet_id,
        roster_tab=g.roster_tab,
        responses_tab=g.responses_tab,
        tabs={"status": g.status_tab, "digest": g.digest_tab, "needs": g.needs_tab},
    )


class SheetsBackend(SourceBackend):
    """``sources.kind: google``: the roster tab and the Form's responses tab of the Google
    Sheet ``google.spreadsheet_id``; the status, digest and needs tabs are written there too."""

    kind: ClassVar[BuiltinSourceKind] = "google"
    account = GoogleAccount
    google_scopes = (SHEETS_SCOPE,)

    @classmethod
    def check(cls, r: Reader, root: Mapping[str, Any]) -> None:
        google = root.get("google")
        if not (isinstance(google, Mapping) and r.text(google, "spreadsheet_id", "google")):
            raise r.error("google.spreadsheet_id", "is required when sources.kind is google")

    @classmethod
    def build(cls, config: Config) -> SheetsBook:
        from .auth import load_credentials, scopes_for

        return open_book(config, load_credentials(config, scopes_for(config)))

    campaign_responses = "a tab of the Sheet"

    @classmethod
    def with_campaign_responses(cls, config: Config, responses: str) -> Config:
        return replace(config, google=replace(config.google, responses_tab=responses))

    @classmethod
    def report_place(cls, config: Config, name: str) -> str:
        g = config.google
        tab = {"status": g.status_tab, "digest": g.digest_tab, "needs": g.needs_tab}.get(name, name)
        return f"the '{tab}' tab"

    @classmethod
    def responses_place(cls, config: Config) -> tuple[str, str] | None:
        return f"the responses tab '{config.google.responses_tab}'", (
            "set google.responses_tab to the tab the Form is linked to (in the Form: "
            "Responses > Link to Sheets)"
        )
