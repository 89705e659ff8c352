"""Read delimited text (CSV, tab or semicolon separated) into rows, refusing what is not.

The encoding is found, never guessed blind: UTF-16 and UTF-8 (with or without a byte order
mark), or Windows-1252 when nothing in the file reads as UTF-8; a file that mixes them, holds
NUL bytes, or is a workbook or PDF under a text name is refused naming the byte and line. A
stray quotation mark that would swallow the rows after it is refused at the row it starts.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
from pathlib import Path

from ..errors import InputError

__all__ = ["DELIMITERS", "column_label", "open_error", "read_delimited"]

DELIMITERS = (",", ";", "\t")


def column_label(index: int) -> str:
    """Name a 0-based column the way a spreadsheet shows it: ``B (2)``."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters} ({index + 1})"


def open_error(path: Path, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(
            f"{path}: no such file",
            hint="Check the file name and folder in the config, or export the file again.",
        )
    if isinstance(exc, IsADirectoryError):
        return InputError(
            f"{path}: is a folder, not a file",
            hint="Point the config at the file itself, not at the folder that holds it.",
        )
    reason = exc.strerror or str(exc)
    return InputError(f"{path}: cannot read the file: {reason}")


# Python's csv refuses a cell past 128 KB by default; a long answer is still an answer, and a
# stray quote that swallows the file must be found, not stopped as "field larger than ...".
_FIELD_LIMIT = 256 * 1024 * 1024


def read_delimited(path: Path, *, prefer_tab: bool = False) -> list[list[str]]:
    """The rows of the text file at ``path``, each a list of its cells as written.

    Raises :class:`InputError` naming the file (and the byte, line, row or column where it
    can) for a file that cannot be read, is not text, is in an encoding that cannot be told,
    or has a quotation mark that runs on over the rows after it.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise open_error(path, exc) from exc
    _refuse_binary(path, data)
    text = _decode(path, data)
    # Excel writes (and reads) a first line "sep=;" naming the separator; it is not a row.
    sep = _SEP_LINE.match(text)
    offset = 1 if sep else 0
    if sep:
        text = text[sep.end() :]
    delimiter = sep.group(1) if sep else _sniff(text, prefer_tab=prefer_tab)
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    # A strict reading gives the same rows as the forgiving one, or fails where a quote is
    # out of place: most files are read once, and only one that fails is read again.
    try:
        rows, lines, end = _rows(text, delimiter, offset, strict=True)
        strict = None
    except _Failed as failed:
        strict = (len(failed.rows), str(failed.error))
        try:
            rows, lines, end = _rows(text, delimiter, offset, strict=False)
        except _Failed as exc:
            raise InputError(
                f"{path}, row {len(exc.rows) + 1} (line {exc.line}): cannot read the file as "
                f"delimited text: {exc.error}"
            ) from exc.error
    _find_runaway_quote(path, delimiter, rows, lines, end, strict)
    return rows


class _Failed(Exception):
    """A reading stopped by ``error`` after ``rows``, in the row starting on ``line``."""

    def __init__(self, error: csv.Error, rows: list[list[str]], line: int) -> None:
        self.error, self.rows, self.line = error, rows, line


def _rows(
    text: str, delimiter: str, offset: int, *, strict: bool
) -> tuple[list[list[str]], list[int], int]:
    """The rows of ``text``, the line each starts on, and the line after the last (lines
    numbered from 1, ``offset`` lines above ``text`` counted in); :class:`_Failed` if the
    csv module stops."""
    # newline="" leaves line endings to the csv module, so a quoted cell may hold them.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    with contextlib.suppress(csv.Error):  # read again below, row by row, to say where
        every = list(reader)
        end = reader.line_num + 1 + offset
        if reader.line_num == len(every):  # every row on a line of its own: row n on line n
            return every, list(range(1 + offset, end)), end
        # A row runs over as many more lines as its cells hold line breaks (one outside
        # quotes would have ended it; the reader counts \r\n as one line, as here).
        steps = [1] * len(every)
        for index, joined in enumerate(map("\0".join, every)):
            if "\n" in joined or "\r" in joined:
                steps[index] += len(_LINE_BREAK.findall(joined))
        return every, list(itertools.accumulate(steps[:-1], initial=1 + offset)), end
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    rows: list[list[str]] = []
    lines = []  # the line each row starts on
    previous = 0
    try:
        for row in reader:
            lines.append(previous + 1 + offset)
            rows.append(row)
            previous = reader.line_num
    except csv.Error as exc:
        raise _Failed(exc, rows, previous + 1 + offset) from exc
    return rows, lines, previous + 1 + offset


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SEP_LINE = re.compile(r"\A[ \t]*sep=([^\r\n])[ \t]*(?:\r\n|\n|\r)", re.IGNORECASE)


def _refuse_binary(path: Path, data: bytes) -> None:
    """Refuse a file that is not text at all, saying what it looks like instead."""
    if data.startswith(b"PK\x03\x04"):
        raise InputError(
            f"{path}: this is an Excel workbook (or another zip file), not {path.suffix} text",
            hint="Rename it to .xlsx (and change the config to match), or save it from the "
            "spreadsheet as 'CSV UTF-8'.",
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"{path}: this is an old Excel 97-2003 workbook (.xls), not {path.suffix} text",
            hint="Open it in Excel or Google Sheets and save it as 'CSV UTF-8' or .xlsx.",
        )
    if data.startswith(b"%PDF"):
        raise InputError(
            f"{path}: this is a PDF document, not {path.suffix} text",
            hint="Export the table from the spreadsheet as 'CSV UTF-8' or .xlsx instead.",
        )


def _where(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"byte offset {offset}, line {line}"


def _decode(path: Path, data: bytes) -> str:
    """The file's text: UTF-16 with a byte order mark, UTF-8 (with or without one), UTF-16
    without one when its zero bytes say so, else Windows-1252 when nothing in the file reads
    as UTF-8. Anything else is refused, naming the first byte that does not fit."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        try:
            return _refuse_nul(path, data, data.decode("utf-32"), text_nul=True)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}: the file is not valid UTF-32 text ({_where(data, exc.start)})",
                hint="Save it again from the spreadsheet as 'CSV UTF-8'.",
            ) from exc
    # Excel's "Unicode Text" export is UTF-16 with a byte order mark; nothing else starts so.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            # Lines are counted in the text before the bad bytes, not in raw UTF-16 bytes.
            line = data[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise InputError(
                f"{path}: the file is not valid UTF-16 text (byte offset {exc.start}, line {line})",
                hint="Save it again from the spreadsheet as 'CSV UTF-8'.",
            ) from exc
    utf16 = _utf16_without_bom(data)
    if utf16:
        # Checked before UTF-8, which the zero bytes of UTF-16 Latin text also pass as.
        try:
            return _refuse_nul(path, data, data.decode(utf16), text_nul=True)
        except UnicodeDecodeError:
            pass
    try:
        # utf-8-sig drops the byte order mark Excel writes in front of "CSV UTF-8" files.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = exc.start
    else:
        return _refuse_nul(path, data, text)
    if _UTF8_SEQUENCE.search(data):
        # Some of the file is UTF-8 and some is not (rows pasted from two sources): reading
        # it as either would garble names, so the byte is named instead.
        raise InputError(
            f"{path}: the file mixes UTF-8 with another encoding; the first byte that is not "
            f"UTF-8 is {data[bad]:#04x} at {_where(data, bad)}",
            hint="Fix or retype that row, then save the file as 'CSV UTF-8'.",
        )
    try:
        # Excel on Windows saves plain "CSV" in the system code page, which for the schools
        # this serves is Windows-1252; a file with no UTF-8 in it is almost always that.
        return _refuse_nul(path, data, data.decode("cp1252"))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: the file is neither UTF-8 nor Windows-1252 text (byte "
            f"{data[exc.start]:#04x} at {_where(data, exc.start)})",
            hint="Save it again from the spreadsheet as 'CSV UTF-8'.",
        ) from exc


# A multi-byte UTF-8 character; Windows-1252 text almost never holds one by chance.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _utf16_without_bom(data: bytes) -> str | None:
    # Text in UTF-16 has a zero byte in every other place (for the Latin letters a roster is
    # written in); which place says the byte order.
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.4 * half and even == 0:
        return "utf-16-le"
    if even > 0.4 * half and odd == 0:
        return "utf-16-be"
    return None


def _refuse_nul(path: Path, data: bytes, text: str, *, text_nul: bool = False) -> str:
    # In UTF-16 and UTF-32 zero bytes are part of every character; there, only a decoded NUL
    # character is damage.
    nul = text.find("\x00") if text_nul else data.find(b"\x00")
    if nul >= 0 and text_nul:
        line = text.count("\n", 0, nul) + 1
        raise InputError(
            f"{path}: the file holds a NUL (zero) character on line {line}; it is not plain "
            "text, or it was damaged",
            hint="Open it in the spreadsheet and save it again as 'CSV UTF-8'.",
        )
    if nul >= 0:
        raise InputError(
            f"{path}: the file holds a NUL (zero) byte at {_where(data, nul)}; it is not "
            "plain text, or it was damaged",
            hint="Open it in the spreadsheet and save it again as 'CSV UTF-8'.",
        )
    return text


def _find_runaway_quote(
    path: Path,
    delimiter: str,
    rows: list[list[str]],
    lines: list[int],
    end: int,
    strict: tuple[int, str] | None,
) -> None:
    """Refuse a file in which a stray quotation mark swallows the rows after it.

    A quote at the start of a cell makes everything up to the next quote one cell, new lines
    included; a stray one turns hundreds of rows into a single cell, and they would be lost
    without a word. A cell is taken for that when it is never closed (it runs to the end of
    the file), or when it runs over lines that read as rows of this file: as many cells as
    the header, with an address or a timestamp where the other rows have one. A long answer
    typed over several lines (Forms exports have them) is neither, and is read as it is.

    ``lines`` holds the line each row starts on and ``end`` the line after the last row;
    ``strict`` is where a strict reading of the quotes fails (the row's index and the
    reason), or None.
    """
    if not rows:
        return
    start = next((i for i, row in enumerate(rows) if any(c.strip() for c in row)), None)
    if start is None:
        return
    header = rows[start]
    width = len(header)

    def refuse(index: int, column: int, line: int, what: str) -> None:
        name = header[column].strip() if index != start and column < width else ""
        where = f"column '{name}'" if name else f"column {column_label(column)}"
        raise InputError(
            f"{path}, row {index + 1}, {where}: a quotation mark on line {line} {what}",
            hint='Remove the stray " in that cell (or add the closing one), then save the file '
            'again; a quote inside a quoted cell is written twice ("").',
        )

    # Only a row over several lines has a cell that holds a line break (a line break outside
    # quotes ends the row), so the rows on one line are passed over unread, unless it is the
    # row the strict reading stops at.
    suspects: list[int] = []
    if end - lines[0] > len(rows):  # else every row is on a line of its own
        starts = [*lines[1:], end]
        suspects = [
            i
            for i, (first, after) in enumerate(zip(lines, starts, strict=True))
            if after - first > 1
        ]
    if strict is not None and strict[0] < len(rows):
        suspects = sorted({*suspects, strict[0]})
    if not suspects:
        return
    # The column profile is drawn from the first rows under the header.
    profile = _column_profile(rows[start + 1 : start + 501], header)
    for index in suspects:
        row = rows[index]
        line = lines[index]
        broken = strict is not None and strict[0] == index
        for column, cell in enumerate(row):
            if not broken and "\n" not in cell and "\r" not in cell:
                continue  # the common case: a cell on one line, in a row that reads strictly
            inner = cell.splitlines() or [""]
            if (
                broken
                and strict
                and strict[1] == "unexpected end of data"
                and column == len(row) - 1
            ):
                # The strict reading ran out of file inside this cell: it is never closed.
                last = line + len(inner) - 1
                tail = f" (lines {line + 1} to {last})" if last > line + 1 else ""
                tail = f" (line {last})" if last == line + 1 else tail
                refuse(
                    index,
                    column,
                    line,
                    "opens a cell that is never closed, so the rest of the file"
                    f"{tail} would be read as that one cell",
                )
            if len(inner) > 1:
                rowlike = [
                    n
                    for n, part in enumerate(inner[1:], 1)
                    if _reads_as_row(part, delimiter, width, profile)
                ]
                if len(rowlike) >= 2 or (rowlike and broken):
                    first, last = line + rowlike[0], line + rowlike[-1]
                    lines_named = f"lines {first} to {last}" if last > first else f"line {first}"
                    rows_named = "1 more row" if len(rowlike) == 1 else f"{len(rowlike)} more rows"
                    refuse(
                        index,
                        column,
                        line,
                        f"opens a cell that runs on over {len(inner)} lines and swallows what "
                        f"look like {rows_named} ({lines_named})",
                    )
            line += len(inner) - 1


def _column_profile(body: list[list[str]], header: list[str]) -> dict[int, str]:
    """Columns whose cells share a kind the rows of this file can be known by: ``"@"`` (an
    address) or ``"0"`` (starts with a digit, as a timestamp does), as nine in ten of the
    rows have them, or as the header names them when there are too few rows to tell."""
    # A sample is enough to know a column by (and keeps a 50,000-row export quick).
    filled = [row for row in body[:500] if any(c.strip() for c in row)]
    profile: dict[int, str] = {}
    for column, name in enumerate(header):
        cells = [row[column].strip() for row in filled if column < len(row)]
        if len(cells) >= 3:
            if sum("@" in c for c in cells) >= 0.9 * len(cells):
                profile[column] = "@"
            elif sum(c[:1].isdigit() for c in cells) >= 0.9 * len(cells):
                profile[column] = "0"
        elif re.search(r"e-?mail", name, re.IGNORECASE):
            profile[column] = "@"
    return profile


def _reads_as_row(line: str, delimiter: str, width: int, profile: dict[int, str]) -> bool:
    if width < 2 and not profile:
        return False  # a one-column file without addresses: any line would pass for a row
    if line.count(delimiter) < width - 1:
        return False  # too few separators to be a row (the quick test for a line of prose)
    try:
        cells = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return False
    if len(cells) < width:
        return False
    for column, kind in profile.items():
        cell = cells[column].strip()
        if kind == "@" and "@" not in cell:
            return False
        if kind == "0" and not cell[:1].isdigit():
            return False
    return True


def _sniff(text: str, *, prefer_tab: bool) -> str:
    """Pick the delimiter that splits the first non-empty row into the most cells."""
    order = ("\t", ",", ";") if prefer_tab else DELIMITERS
    best, best_width = order[0], 0
    for delimiter in order:
        try:
            first = _first_row(text[:_SNIFF_SPAN], delimiter, whole=len(text) <= _SNIFF_SPAN)
        except csv.Error:
            first = None
        try:
            if first is None:  # no whole row in the first part: read the whole text
                first = _first_row(text, delimiter, whole=True) or []
        except csv.Error:
            continue
        if len(first) > best_width:
            best, best_width = delimiter, len(first)
    return best


# The header is in the first lines: a file of 100,000 rows need not be copied three times to
# find it.
_SNIFF_SPAN = 64 * 1024


def _first_row(text: str, delimiter: str, *, whole: bool) -> list[str] | None:
    """The first row of ``text`` that is not all separators. Unless ``text`` is the
    ``whole`` file, only a row that ends (a line end outside quotes) before ``text`` does
    counts: else None, as the row may go on past it."""
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    # A row of nothing but separators is empty whichever separator the file uses.
    first = next((row for row in reader if any(c.strip(" ,;\t") for c in row)), None)
    if not whole and (first is None or stream.tell() >= len(text)):
        return None
    return first
