"""Local files: the roster and responses as CSV/XLSX, reports as CSV in the state folder."""

from __future__ import annotations

import csv
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from ..atomic import write_atomic
from ..errors import BackendError, InputError
from ..models import Table
from ..sources.tables import read_table
from .base import BuiltinSourceKind, SourceBackend

if TYPE_CHECKING:
    from ..config.reader import Reader
    from ..config.records import Config

# A cell starting with one of these is run as a formula by Excel and LibreOffice when the CSV
# is opened; a leading apostrophe keeps a teacher's answer text (OWASP's CSV-injection advice).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FIRST = frozenset(_FORMULA_START)


def csv_safe(value: str) -> str:
    """``value`` as a CSV cell that a spreadsheet program shows as text, never runs (and
    without NUL characters, which no spreadsheet shows and Python 3.10's csv cannot write)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value == "-":  # a placeholder, not a formula
        return value
    return "'" + value if value.startswith(_FORMULA_START) else value


# A cell starts either the line or right after a comma that joins it to the one before.
_GUARDED = re.compile("," + "[" + re.escape("".join(_FORMULA_START)) + "]")


def write_csv(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write ``header`` and ``rows`` to ``out`` as ``csv.writer`` does (the Excel dialect),
    every cell as text through :func:`csv_safe`.

    A row whose cells need no quoting (no comma, quotation mark or line end in any) and no
    guard is written as its cells joined by commas, which is what ``csv.writer`` writes for
    it: a needs table of a year is tens of thousands of rows, most of them such. Any other
    row goes through ``csv.writer`` itself.
    """
    writer = csv.writer(out)
    writer.writerow(header)
    put, writerow = out.write, writer.writerow
    for row in rows:
        try:
            line: str | None = ",".join(row)
        except TypeError:  # a cell that is not text yet (a number): written as str() of it
            line = None
        # A comma inside a cell can only add false alarms here: they take the slower path.
        if line is None or line[:1] in _FIRST or "\x00" in line or _GUARDED.search(line):
            writerow([csv_safe(c) for c in map(str, row)])
        elif (
            len(row) < 2  # a lone empty cell is written as ""
            or '"' in line
            or "\n" in line
            or "\r" in line
            or line.count(",") != len(row) - 1
        ):
            writerow(row)
        else:
            put(line)
            put("\r\n")


class LocalSource:
    """Reads the roster and the responses export from files."""

    def __init__(
        self,
        roster: Path,
        responses: Path,
        *,
        roster_sheet: str | None = None,
        responses_sheet: str | None = None,
    ) -> None:
        self.roster = roster
        self.responses = responses
        self.roster_sheet = roster_sheet
        self.responses_sheet = responses_sheet

    def read_roster(self) -> Table:
        return read_table(self.roster, sheet=self.roster_sheet)

    def read_responses(self) -> Table | None:
        if not self.responses.exists():
            return None
        return read_table(self.responses, sheet=self.responses_sheet)

    def responses_saved(self) -> datetime | None:
        """The export's modification time (the moment it was downloaded or saved), or None
        when the file is not there."""
        try:
            info = self.responses.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InputError(
                f"{self.responses}: cannot read the responses export ({exc.strerror or exc})",
                hint="check the path in sources.responses and the file's permissions",
            ) from None
        if stat.S_ISDIR(info.st_mode):
            raise InputError(
                f"{self.responses}: a folder, not a responses export",
                hint="set sources.responses to the export file itself (.csv or .xlsx)",
            )
        return datetime.fromtimestamp(info.st_mtime, timezone.utc)


class CsvSink:
    """Writes each table as ``<name>.csv`` in a folder (or at the path ``paths`` gives for
    it), replacing it atomically."""

    def __init__(self, folder: Path, paths: dict[str, Path] | None = None) -> None:
        self.folder = folder
        self.paths = paths or {}

    def path(self, name: str) -> Path:
        return self.paths.get(name, self.folder / f"{name}.csv")

    def read_table(self, name: str) -> Table | None:
        target = self.path(name)
        return read_table(target) if target.exists() else None

    def table_stamp(self, name: str) -> tuple[int, ...]:
        """What changes whenever the table's file does (any edit or replacement): its
        inode, size and times; ``()`` while there is none."""
        try:
            info = self.path(name).stat()
        except OSError:
            return ()
        return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

    def write_table(self, name: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        target = self.path(name)

        def write(out: IO[str]) -> None:
            write_csv(out, header, rows)

        try:
            write_atomic(target, write, encoding="utf-8-sig")
        except OSError as exc:
            raise BackendError(
                f"{target}: cannot write ({exc.strerror or exc})",
                hint="check that the path is a file in a folder you can write to and that the "
                "disk is not full; the next run writes the table again",
            ) from None
        return str(target)


class LocalBackend(SourceBackend):
    """``sources.kind: local`` (the default): the roster and a responses export downloaded
    from the Form, as CSV or XLSX files (``sources.roster``, ``sources.responses``, and for a
    workbook ``sources.roster_sheet`` / ``sources.responses_sheet``)."""

    kind: ClassVar[BuiltinSourceKind] = "local"
    keys = frozenset({"roster", "responses", "roster_sheet", "responses_sheet"})

    @classmethod
    def parse(cls, r: Reader, section: Mapping[str, Any], *, chosen: bool) -> dict[str, Any]:
        return {
            "roster": r.path(section, "roster", "sources", required=chosen),
            "responses": r.path(section, "responses", "sources", required=chosen),
            "roster_sheet": r.text(section, "roster_sheet", "sources") or None,
            "responses_sheet": r.text(section, "responses_sheet", "sources") or None,
        }

    @classmethod
    def build(cls, config: Config) -> LocalSource:
        src = config.sources
        assert src.roster is not None and src.responses is not None  # parse() requires them
        return LocalSource(
            src.roster,
            src.responses,
            roster_sheet=src.roster_sheet,
            responses_sheet=src.responses_sheet,
        )

    @classmethod
    def report_place(cls, config: Config, name: str) -> str:
        return config.digest.needs_file.name if name == "needs" else f"{name}.csv"

    campaign_responses = "a responses export file"

    @classmethod
    def parse_campaign_responses(cls, r: Reader, entry: Mapping[str, Any], key: str) -> str:
        return str(r.path(entry, "responses", key, required=True))

    @classmethod
    def with_campaign_responses(cls, config: Config, responses: str) -> Config:
        options = {**config.sources.options, "responses": Path(responses)}
        return replace(config, sources=replace(config.sources, options=options))
