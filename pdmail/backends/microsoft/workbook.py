"""The answers of a Microsoft Form, read from its responses workbook through Microsoft Graph.

A Form's "Open in Excel" makes a workbook in OneDrive (or the group's SharePoint) that the
Form keeps writing each answer to: ID, Start time, Completion time, Email, Name, then one
column per question, as in a downloaded export. pdmail reads it in place, so no one downloads
anything each month: the workbook is found by its sharing link (``/shares/u!<link>/driveItem``)
or by its drive and item ids, and the sheet is read in one call
(``/workbook/worksheets/<sheet>/usedRange(valuesOnly=true)``). The roster is a local file as
with ``sources.kind: local`` (``sources.roster``), or a sheet of the same workbook.

Dates come back as Excel keeps them, serial numbers, and are turned into the same text the
``.xlsx`` reader gives (``2026-12-03 08:14:22``) from the cell's number format, so a
workbook's locale never decides whether 03/12 is March or December.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from ...errors import BackendError, InputError
from ...models import Table
from ...sources.tables import read_table, table_from_rows
from ..base import BuiltinSourceKind, SourceBackend
from .api import FILES_READ, GRAPH_API, GraphError, require
from .doctor import MicrosoftAccount

if TYPE_CHECKING:
    from ...config.reader import Reader
    from ...config.records import Config
    from .graph import GraphClient

__all__ = ["Microsoft365Source", "WorkbookSettings", "WorkbookSource", "share_id"]

API = GRAPH_API
_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 is 1900-01-01 (with Lotus's leap day)


def share_id(url: str) -> str:
    """Graph's id for a sharing link: ``u!`` and the link in unpadded base64url."""
    encoded = base64.urlsafe_b64encode(url.strip().encode("utf-8")).decode("ascii")
    return "u!" + encoded.rstrip("=")


@dataclass(frozen=True)
class WorkbookSettings:
    """``sources.workbook``: where the Form's responses workbook is, and its sheets."""

    share_url: str = ""
    drive_id: str = ""
    item_id: str = ""
    responses_sheet: str = ""  # "": the workbook's first sheet
    roster_sheet: str = ""  # "": the roster is the local file sources.roster

    @property
    def named(self) -> str:
        """How messages name the workbook."""
        return f"workbook {self.share_url}" if self.share_url else f"workbook item {self.item_id}"


class WorkbookSource:
    """A :class:`~pdmail.backends.base.TableSource` reading the Form's workbook via Graph."""

    def __init__(
        self, client: GraphClient, settings: WorkbookSettings, *, roster: Any = None
    ) -> None:
        self.client = client
        self.settings = settings
        self.roster_file = roster
        self._item: str | None = None
        self._sheets: list[str] | None = None

    def item_path(self) -> str:
        """``/drives/<drive>/items/<item>``, looking a sharing link up once."""
        if self._item is None:
            s = self.settings
            if s.share_url:
                found = self._get(
                    f"/shares/{share_id(s.share_url)}/driveItem?$select=id,name,parentReference",
                    "opening the workbook's sharing link",
                    missing="check sources.workbook.share_url (in Excel for the web: Share, "
                    "Copy link), and that the signed-in account may open it",
                )
                drive = str((found.get("parentReference") or {}).get("driveId") or "")
                item = str(found.get("id") or "")
                if not drive or not item:
                    raise BackendError(
                        f"{API}: the sharing link {s.share_url} leads to no drive item",
                        hint="share the workbook itself, not its folder",
                    )
            else:
                drive, item = s.drive_id, s.item_id
            self._item = f"/drives/{quote(drive, safe='!')}/items/{quote(item, safe='!')}"
        return self._item

    def sheets(self) -> list[str]:
        """The workbook's sheet names, in their order."""
        if self._sheets is None:
            answer = self._get(
                f"{self.item_path()}/workbook/worksheets?$select=name,position",
                "listing the workbook's sheets",
                missing="check sources.workbook (the file may have been moved or deleted)",
            )
            rows = [w for w in answer.get("value", []) if isinstance(w, dict)]
            rows.sort(key=lambda w: int(w.get("position", 0) or 0))
            self._sheets = [str(w.get("name", "")) for w in rows]
        return self._sheets

    def _sheet(self, wanted: str, key: str) -> str:
        names = self.sheets()
        if not wanted:
            if not names:
                raise InputError(f"{self.settings.named}: the workbook has no sheet")
            return names[0]
        for name in names:
            if name == wanted or name.strip().casefold() == wanted.strip().casefold():
                return name
        raise InputError(
            f"{self.settings.named}: no sheet named {wanted!r} (config key {key}); the "
            f"sheets are: {', '.join(repr(n) for n in names) or 'none'}",
            hint="name the sheet exactly as its tab shows it in Excel",
        )

    def read_sheet(self, name: str) -> list[list[str]]:
        """A sheet's used cells as text, dates as ISO text."""
        answer = self._get(
            f"{self.item_path()}/workbook/worksheets/{quote(name, safe='')}"
            "/usedRange(valuesOnly=true)?$select=address,values,numberFormat,text",
            f"reading the sheet {name!r}",
            missing="check sources.workbook",
        )
        values = answer.get("values")
        formats = answer.get("numberFormat")
        texts = answer.get("text")
        if not isinstance(values, list):
            values = texts if isinstance(texts, list) else []
        rows: list[list[str]] = []
        for r, row in enumerate(values):
            if not isinstance(row, list):
                continue
            fmt_row = formats[r] if isinstance(formats, list) and r < len(formats) else []
            rows.append(
                [
                    _cell(v, fmt_row[c] if isinstance(fmt_row, list) and c < len(fmt_row) else "")
                    for c, v in enumerate(row)
                ]
            )
        return rows

    def read_roster(self) -> Table:
        s = self.settings
        if s.roster_sheet:
            name = self._sheet(s.roster_sheet, "sources.workbook.roster_sheet")
            return table_from_rows(f"{s.named}, sheet '{name}'", self.read_sheet(name))
        return read_table(self.roster_file)

    def read_responses(self) -> Table | None:
        s = self.settings
        name = self._sheet(s.responses_sheet, "sources.workbook.responses_sheet")
        rows = self.read_sheet(name)
        if not any(any(c.strip() for c in row) for row in rows):
            return None
        return table_from_rows(f"{s.named}, sheet '{name}'", rows)

    def _get(self, path: str, what: str, *, missing: str) -> dict[str, Any]:
        try:
            return self.client.get_json(path, what=what)
        except GraphError as exc:
            if exc.failure.code == 404:
                raise BackendError(f"{API}: {what}: {exc.failure}", hint=missing) from None
            if exc.failure.code == 403:
                raise BackendError(
                    f"{API}: {what}: {exc.failure}",
                    hint="the signed-in account may not read the workbook: it needs "
                    "Files.Read.All (consented) and access to the file (the Form's owner can "
                    "share it); 'pdmail doctor' shows the permissions",
                ) from None
            raise


_DATE_PARTS = re.compile(r"[dmyhs]")


def _cell(value: Any, number_format: Any) -> str:
    """A cell as the ``.xlsx`` reader gives it: a number in a date format as ISO text."""
    from ...sources.tables import _value_text

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        fmt = number_format if isinstance(number_format, str) else ""
        bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", fmt).lower()
        if bare not in ("", "general") and _DATE_PARTS.search(bare) and 0 <= value < 2958466:
            moment = _EXCEL_EPOCH + timedelta(days=float(value))
            whole = moment.replace(microsecond=0)
            if moment.microsecond >= 500_000:
                whole += timedelta(seconds=1)
            if "h" not in bare and "s" not in bare and whole.time().isoformat() == "00:00:00":
                return whole.date().isoformat()
            if "d" not in bare and "y" not in bare and value < 1:
                return whole.strftime("%H:%M:%S")  # a time of day, as the .xlsx reader gives it
            return whole.strftime("%Y-%m-%d %H:%M:%S")
    return _value_text(value)


class Microsoft365Source(SourceBackend):
    """``sources.kind: microsoft365``: the answers from the Form's responses workbook in
    OneDrive or SharePoint (``sources.workbook``), the roster from ``sources.roster`` (a local
    file) or a sheet of the same workbook. Status and digest tables go to CSV files."""

    kind: ClassVar[BuiltinSourceKind] = "microsoft365"
    keys = frozenset({"workbook"})
    account = MicrosoftAccount
    microsoft_scopes = (FILES_READ,)

    @classmethod
    def parse(cls, r: Reader, section: Mapping[str, Any], *, chosen: bool) -> dict[str, Any]:
        if not chosen and "workbook" not in section:
            return {"workbook": None}
        w = r.mapping(section.get("workbook"), "sources.workbook", required=chosen)
        keys = {"share_url", "drive_id", "item_id", "responses_sheet", "roster_sheet"}
        r.known(w, "sources.workbook", keys)
        found = WorkbookSettings(**{k: r.text(w, k, "sources.workbook") for k in keys})
        if chosen and not found.share_url and not (found.drive_id and found.item_id):
            raise r.error(
                "sources.workbook",
                "needs share_url (the workbook's sharing link), or drive_id and item_id",
                "in the Form: Responses, Open in Excel; then in Excel for the web: Share, "
                "Copy link, and paste it as sources.workbook.share_url",
            )
        if found.share_url and (found.drive_id or found.item_id):
            raise r.error(
                "sources.workbook",
                "give share_url, or drive_id and item_id, not both",
            )
        if found.share_url and not found.share_url.startswith("https://"):
            raise r.error(
                "sources.workbook.share_url",
                f"{found.share_url!r} is not an https link",
                "copy the link from Excel for the web: Share, Copy link",
            )
        return {"workbook": found}

    @classmethod
    def check(cls, r: Reader, root: Mapping[str, Any]) -> None:
        require(r, root, "sources.kind is microsoft365")
        sources = root.get("sources")
        sources = sources if isinstance(sources, Mapping) else {}
        workbook = sources.get("workbook")
        roster_sheet = r.text(workbook, "roster_sheet", "sources.workbook") if isinstance(
            workbook, Mapping) else ""  # fmt: skip
        if not roster_sheet and not r.text(sources, "roster", "sources"):
            raise r.error(
                "sources.roster",
                "is required when sources.kind is microsoft365, unless "
                "sources.workbook.roster_sheet names a sheet of the workbook",
            )

    @classmethod
    def settings(cls, config: Config) -> WorkbookSettings:
        found = config.sources.options.get("workbook")
        assert isinstance(found, WorkbookSettings)  # parse() requires it when chosen
        return found

    @classmethod
    def build(cls, config: Config) -> WorkbookSource:
        from .auth import TokenSource
        from .graph import GraphClient

        client = GraphClient(
            TokenSource(config), [FILES_READ], base_url=config.microsoft.endpoints.graph
        )
        return WorkbookSource(client, cls.settings(config), roster=config.sources.roster)

    @classmethod
    def report_place(cls, config: Config, name: str) -> str:
        return config.digest.needs_file.name if name == "needs" else f"{name}.csv"

    @classmethod
    def responses_place(cls, config: Config) -> tuple[str, str] | None:
        s = cls.settings(config)
        return f"the {s.named}", (
            "set sources.workbook to the workbook the Form writes to (in the Form: Responses, "
            "Open in Excel), and sources.workbook.responses_sheet to its sheet"
        )
