from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from pdmail.errors import InputError
from pdmail.models import Table
from pdmail.sources.tables import column_index, read_table, require_column

Rows = tuple[tuple[int, tuple[str, ...]], ...]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _xlsx(path: Path, sheets: dict[str, Sequence[Sequence[object]]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for row in rows:
            worksheet.append(list(row))
    workbook.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "data", "header", "rows"),
    [
        pytest.param(
            "bom.csv",
            "\ufeffEmail,Name\na@x.org,Ann\n".encode(),
            ("Email", "Name"),
            ((2, ("a@x.org", "Ann")),),
            id="utf8-bom",
        ),
        pytest.param(
            "windows.csv",
            "Email,Name\r\nb@x.org,Ren\u00e9e\r\n".encode("cp1252"),
            ("Email", "Name"),
            ((2, ("b@x.org", "Ren\u00e9e")),),
            id="cp1252",
        ),
        pytest.param(
            "utf16.txt",
            "Email\tName\r\nc@x.org,x\tZo\u00eb\r\n".encode("utf-16"),
            ("Email", "Name"),
            ((2, ("c@x.org,x", "Zo\u00eb")),),
            id="excel-unicode-text",
        ),
        pytest.param(
            "quoted.csv",
            b'Email,Notes,Units\na@x.org,"line one\nline two, with comma",3\nb@x.org,plain,4\n',
            ("Email", "Notes", "Units"),
            (
                (2, ("a@x.org", "line one\nline two, with comma", "3")),
                (3, ("b@x.org", "plain", "4")),
            ),
            id="quoted-multiline",
        ),
        pytest.param(
            "semi.csv",
            b"Email;Name;Units\na@x.org;Ann;1,5\n",
            ("Email", "Name", "Units"),
            ((2, ("a@x.org", "Ann", "1,5")),),
            id="semicolon",
        ),
        pytest.param(
            "tabbed.tsv",
            b"Email\tName\na@x.org\tAnn, Lee\n",
            ("Email", "Name"),
            ((2, ("a@x.org", "Ann, Lee")),),
            id="tsv",
        ),
        pytest.param(
            "tabbed.txt",
            b"Email\tName\ta;b\na@x.org\tAnn\tx\n",
            ("Email", "Name", "a;b"),
            ((2, ("a@x.org", "Ann", "x")),),
            id="txt-sniffed-tab",
        ),
        pytest.param(
            "blank.csv",
            b"\n,,\nEmail,Name\n\na@x.org,Ann\n  ,  \nb@x.org,Bo\n\n",
            ("Email", "Name"),
            ((5, ("a@x.org", "Ann")), (7, ("b@x.org", "Bo"))),
            id="blank-rows-keep-numbers",
        ),
        pytest.param(
            "short.csv",
            b"Email,Name,Team\na@x.org\nb@x.org,Bo\n",
            ("Email", "Name", "Team"),
            ((2, ("a@x.org", "", "")), (3, ("b@x.org", "Bo", ""))),
            id="short-rows-padded",
        ),
        pytest.param(
            "spaces.csv",
            b"  Email , Name\n  a@x.org  ,  Ann Lee \n",
            ("Email", "Name"),
            ((2, ("a@x.org", "Ann Lee")),),
            id="cells-stripped",
        ),
        pytest.param(
            "gap.csv",
            b"Email,,Name,,\na@x.org,note,Ann,,\n",
            ("Email", "", "Name"),
            ((2, ("a@x.org", "note", "Ann")),),
            id="unnamed-middle-column-and-trailing-commas",
        ),
        pytest.param(
            "UPPER.CSV",
            b"Email\na@x.org\n",
            ("Email",),
            ((2, ("a@x.org",)),),
            id="suffix-case",
        ),
    ],
)
def test_read_text_tables(
    tmp_path: Path, name: str, data: bytes, header: tuple[str, ...], rows: Rows
) -> None:
    path = _write(tmp_path / name, data)
    table = read_table(path)
    assert table == Table(origin=str(path), header=header, rows=rows)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        pytest.param(
            "long.csv",
            b"Email,Name\na@x.org,Ann\nb@x.org,Bo,stray\n",
            r"long\.csv, row 3: the row has more cells than the header",
            id="too-long-row",
        ),
        pytest.param(
            "dup.csv",
            b"Email,Name,Team, email \n",
            r"dup\.csv: columns A \(1\) and D \(4\) are both named 'email'",
            id="duplicate-header",
        ),
        pytest.param(
            "dupspace.csv",
            b"First  Name,Email,first name\n",
            r"columns A \(1\) and C \(3\)",
            id="duplicate-header-whitespace",
        ),
        pytest.param(
            "empty.csv", b"", r"empty\.csv: the file is empty; expected a header row", id="empty"
        ),
        pytest.param(
            "blank.csv",
            b"\n , \n\n",
            r"blank\.csv: the file is empty; expected a header row",
            id="only-blank-rows",
        ),
        pytest.param(
            "bytes.csv",
            b"Email\n\x81\x8d\x8f\x90\x9d\n",
            r"bytes\.csv: the file is neither UTF-8 nor Windows-1252",
            id="undecodable",
        ),
        pytest.param(
            "roster.pdf", b"%PDF", r"roster\.pdf: unsupported file type '\.pdf'", id="pdf"
        ),
        pytest.param("roster", b"Email\n", r"unsupported file type '\(none\)'", id="no-suffix"),
        pytest.param("old.xls", b"Email\n", r"\.csv, \.txt, \.tsv, \.xlsx, \.xlsm", id="xls"),
    ],
)
def test_read_text_errors(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = _write(tmp_path / name, data)
    with pytest.raises(InputError, match=message) as caught:
        read_table(path)
    assert str(path) in caught.value.message


def test_too_long_row_ignores_empty_extra_cells(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", b"Email,Name\na@x.org,Ann,, \n")
    assert read_table(path).rows == ((2, ("a@x.org", "Ann")),)


def test_too_long_row_names_the_stray_cell(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", b"Email,Name\na@x.org,Ann,,oops\n")
    with pytest.raises(InputError, match=r"row 2.*D \(4\) holds 'oops'"):
        read_table(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "roster.csv"
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert caught.value.message == f"{path}: no such file"
    assert caught.value.hint


@pytest.mark.parametrize("name", ["roster.csv", "responses.xlsx"])
def test_missing_file_of_either_kind(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / name)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "looks.csv"
    folder.mkdir()
    with pytest.raises(InputError, match=r"looks\.csv: is a folder, not a file"):
        read_table(folder)


@pytest.mark.skipif(
    sys.platform == "win32" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="file permissions do not stop this user",
)
def test_permission_denied(tmp_path: Path) -> None:
    path = _write(tmp_path / "locked.csv", b"Email\n")
    path.chmod(0)
    try:
        with pytest.raises(InputError, match=r"locked\.csv: cannot read the file"):
            read_table(path)
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param("random.xlsx", os.urandom(256), id="random-bytes"),
        pytest.param("text.xlsm", b"Email,Name\n", id="csv-named-xlsm"),
        pytest.param("empty.xlsx", b"", id="empty"),
    ],
)
def test_corrupt_workbook(tmp_path: Path, name: str, data: bytes) -> None:
    path = _write(tmp_path / name, data)
    with pytest.raises(InputError, match="cannot read the workbook") as caught:
        read_table(path)
    assert str(path) in caught.value.message
    assert caught.value.hint


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(InputError, match=r"archive\.xlsx: cannot read the workbook"):
        read_table(path)


def test_xlsx_values_become_text(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "values.xlsx",
        {
            "Form Responses 1": [
                ["Timestamp", " Email ", "Units", "Ratio", "Done", "Start", "At", "Note"],
                [
                    datetime(2026, 12, 3, 8, 14, 22),
                    "  a@x.org ",
                    7,
                    0.25,
                    True,
                    date(2026, 1, 2),
                    time(9, 5, 0),
                    None,
                ],
                [datetime(2026, 12, 4), "b@x.org", 7.0, 1.5, False, None, None, "x"],
            ]
        },
    )
    table = read_table(path)
    assert table.origin == str(path)
    assert table.header == ("Timestamp", "Email", "Units", "Ratio", "Done", "Start", "At", "Note")
    assert table.rows == (
        (
            2,
            ("2026-12-03 08:14:22", "a@x.org", "7", "0.25", "TRUE", "2026-01-02", "09:05:00", ""),
        ),
        (3, ("2026-12-04 00:00:00", "b@x.org", "7", "1.5", "FALSE", "", "", "x")),
    )


@pytest.mark.parametrize(
    ("value", "number_format", "expected"),
    [
        (42, "General", "42"),
        (-3, "General", "-3"),
        (7.0, "General", "7"),
        (1e15, "General", "1000000000000000"),
        (0.1, "General", "0.1"),
        (2.5e-07, "General", "2.5e-07"),
        (True, "General", "TRUE"),
        (False, "General", "FALSE"),
        ("  padded  ", "General", "padded"),
        (datetime(2026, 12, 3, 8, 14, 22), "yyyy-mm-dd h:mm:ss", "2026-12-03 08:14:22"),
        (datetime(2026, 12, 3, 8, 14, 22, 600000), "yyyy-mm-dd h:mm:ss", "2026-12-03 08:14:23"),
        (datetime(2026, 12, 3), "yyyy-mm-dd", "2026-12-03"),
        (datetime(2026, 12, 3), "DD/MM/YYYY", "2026-12-03"),
        (datetime(2026, 12, 3), "m/d/yyyy h:mm", "2026-12-03 00:00:00"),
        (datetime(2026, 12, 3, 8, 0), "yyyy-mm-dd", "2026-12-03 08:00:00"),
        (time(23, 59, 59), "h:mm:ss", "23:59:59"),
    ],
)
def test_xlsx_cell_conversion(
    tmp_path: Path, value: object, number_format: str, expected: str
) -> None:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet["A1"] = "Value"
    worksheet["A2"] = value
    worksheet["A2"].number_format = number_format
    path = tmp_path / "cell.xlsx"
    workbook.save(path)
    assert read_table(path).rows == ((2, (expected,)),)


def test_xlsx_row_numbers_count_blank_rows_and_offset_header(tmp_path: Path) -> None:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet["B3"] = "Email"
    worksheet["C3"] = "Name"
    worksheet["B4"] = "a@x.org"
    worksheet["C4"] = "Ann"
    worksheet["B7"] = "b@x.org"
    worksheet["C5"] = "   "
    path = tmp_path / "offset.xlsx"
    workbook.save(path)
    table = read_table(path)
    # Column A stays (unnamed) so positions keep matching the sheet's letters.
    assert table.header == ("", "Email", "Name")
    assert table.rows == ((4, ("", "a@x.org", "Ann")), (7, ("", "b@x.org", "")))


def test_xlsx_stray_cell_right_of_header(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "stray.xlsx", {"S": [["Email", "Name"], ["a@x.org", "Ann", "stray"]]})
    with pytest.raises(InputError, match=r"stray\.xlsx, row 2: the row has more cells"):
        read_table(path)


def test_xlsx_duplicate_header(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "dup.xlsx", {"S": [["Email", "Name", "EMAIL"]]})
    with pytest.raises(InputError, match=r"columns A \(1\) and C \(3\) are both named 'EMAIL'"):
        read_table(path)


def test_xlsx_empty_sheet(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "blank.xlsx", {"Empty": []})
    with pytest.raises(InputError, match=r"blank\.xlsx: the file is empty; expected a header row"):
        read_table(path)


def test_xlsx_first_sheet_by_default_and_named_sheet(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "two.xlsm",
        {
            "Roster": [["Email"], ["first@x.org"]],
            "Form Responses 1": [["Email"], [None], ["second@x.org"]],
        },
    )
    assert read_table(path).rows == ((2, ("first@x.org",)),)
    assert read_table(path, sheet="Form Responses 1").rows == ((3, ("second@x.org",)),)
    assert read_table(path, sheet="form responses 1").rows == ((3, ("second@x.org",)),)


def test_xlsx_missing_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "two.xlsx", {"Roster": [["Email"]], "Responses": [["Email"]]})
    with pytest.raises(InputError) as caught:
        read_table(path, sheet="Answers")
    message = caught.value.message
    assert str(path) in message
    assert "'Answers'" in message
    assert "'Roster', 'Responses'" in message


def test_sheet_name_with_a_csv_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "roster.csv", b"Email\n")
    with pytest.raises(InputError, match="has no sheets"):
        read_table(path, sheet="Roster")


HEADERS = ("Timestamp", "Email Address", "", "First  Name", "Units Completed")
TABLE = Table(origin="responses.csv", header=HEADERS, rows=())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Timestamp", 0),
        ("timestamp", 0),
        ("  TIMESTAMP  ", 0),
        ("email address", 1),
        ("Email   Address", 1),
        ("first name", 3),
        ("First\tName", 3),
        ("Units Completed", 4),
        ("Units", None),
        ("", None),
        ("   ", None),
        ("Name", None),
    ],
)
def test_column_index(name: str, expected: int | None) -> None:
    assert column_index(TABLE, name) == expected


def test_require_column_found() -> None:
    assert require_column(TABLE, "units completed", key="form.columns.units") == 4


@pytest.mark.parametrize(
    ("name", "key", "guess"),
    [
        ("Email Adress", "form.columns.email", "Email Address"),
        ("Email", "form.columns.email", "Email Address"),
        ("Units completd", "form.columns.units", "Units Completed"),
        ("Help wanted", "form.columns.help", None),
    ],
)
def test_require_column_missing(name: str, key: str, guess: str | None) -> None:
    with pytest.raises(InputError) as caught:
        require_column(TABLE, name, key=key)
    error = caught.value
    assert error.message == (
        f"responses.csv: no column '{name}' (config key {key}); the columns are: "
        "'Timestamp', 'Email Address', 'First  Name', 'Units Completed'"
    )
    assert error.hint is not None
    assert key in error.hint
    if guess is None:
        assert "Did you mean" not in error.hint
    else:
        assert f"Did you mean '{guess}'?" in error.hint


def test_require_column_on_a_read_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "roster.csv", b"Timestamp,Email\n")
    table = read_table(path)
    with pytest.raises(InputError) as caught:
        require_column(table, "Email Address", key="form.columns.email")
    assert caught.value.message == (
        f"{path}: no column 'Email Address' (config key form.columns.email); "
        "the columns are: 'Timestamp', 'Email'"
    )
    assert "Did you mean 'Email'?" in str(caught.value)


@pytest.mark.parametrize("name", ["locked.csv", "locked.xlsx"])
def test_permission_denied_reported_for_either_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # Simulated, because a test run as root can read any file whatever its mode.
    import openpyxl

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    monkeypatch.setattr(openpyxl, "load_workbook", refuse)
    path = tmp_path / name
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert caught.value.message == f"{path}: cannot read the file: Permission denied"


# -- encodings: read right when they can be told, refused naming the byte when not --------------

_NAMES = "Email,Name\r\nann@x.org,Zo\u00eb\r\nraj@x.org,Ren\u00e9e \u2013 Fran\u00e7ois\r\n"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_NAMES.encode("utf-8"), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + _NAMES.encode("utf-8"), id="utf-8-bom"),
        pytest.param(_NAMES.encode("utf-16"), id="utf-16-bom"),
        pytest.param(_NAMES.encode("utf-16-le"), id="utf-16-le-no-bom"),
        pytest.param(_NAMES.encode("utf-16-be"), id="utf-16-be-no-bom"),
        pytest.param(_NAMES.encode("cp1252"), id="cp1252"),
    ],
)
def test_every_encoding_excel_saves_reads_the_same(tmp_path: Path, data: bytes) -> None:
    table = read_table(_write(tmp_path / "r.csv", data))
    assert table.rows == (
        (2, ("ann@x.org", "Zo\u00eb")),
        (3, ("raj@x.org", "Ren\u00e9e \u2013 Fran\u00e7ois")),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            "Email,Name\nann@x.org,Zo\u00eb\n".encode() + b"raj@x.org,Ren\xe9e\n",
            r"mixes UTF-8 with another encoding; the first byte that is not UTF-8 is 0xe9 at "
            r"byte offset 39, line 3",
            id="utf-8-and-cp1252-mixed",
        ),
        pytest.param(
            b"Email,Name\nann@x.org,A\x00nn\n",
            r"NUL \(zero\) byte at byte offset 22, line 2",
            id="nul-byte",
        ),
        pytest.param(b"PK\x03\x04rest", r"Excel workbook .*not \.csv text", id="xlsx-named-csv"),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1", r"old Excel 97-2003 workbook", id="xls-named-csv"
        ),
        pytest.param(b"%PDF-1.7\n", r"a PDF document", id="pdf-named-csv"),
        pytest.param(
            b"Email\n\x81\x8d\n",
            r"neither UTF-8 nor Windows-1252 text \(byte 0x81 at byte "
            r"offset 6, line 2\)",
            id="undefined-cp1252-byte",
        ),
    ],
)
def test_undecidable_bytes_are_named(tmp_path: Path, data: bytes, message: str) -> None:
    path = _write(tmp_path / "r.csv", data)
    with pytest.raises(InputError, match=message) as caught:
        read_table(path)
    assert caught.value.message.startswith(f"{path}: ")
    assert caught.value.hint


def test_a_csv_named_xlsx_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path / "roster.xlsx", b"Email,Name\nann@x.org,Ann\n")
    with pytest.raises(InputError, match=r"a text \(CSV\) file with an \.xlsx name"):
        read_table(path)


# -- a stray quote that swallows the rows after it ---------------------------------------------

_HEADER = "Email,First Name,Last Name,Team,Active\n"
_ROWS = [f"t{i}@school.org,T{i},Last{i},Grade {6 + i % 3},yes\n" for i in range(30)]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        pytest.param(
            _HEADER + _ROWS[0] + 'ann@x.org,Ann,"Lee,Grade 6,yes\n' + "".join(_ROWS[1:]),
            "row 3, column 'Last Name'",
            "line 3 opens a cell that is never closed, so the rest of the file (lines 4 to 32)",
            id="runs-to-the-end",
        ),
        pytest.param(
            _HEADER + _ROWS[0] + 'ann@x.org,Ann,"Lee,Grade 6,yes\n' + "".join(_ROWS[1:10])
            + 'bob@x.org,Bob,"Smith, Jr",Grade 6,yes\n' + "".join(_ROWS[10:]),
            "row 3, column 'Last Name'",
            "line 3 opens a cell that runs on over 11 lines and swallows what look like 9 more "
            "rows (lines 4 to 12)",
            id="closed-by-a-later-quote",
        ),
        pytest.param(
            _HEADER + '"ann@x.org,Ann,Lee,Grade 6,yes\n' + "".join(_ROWS),
            "row 2, column 'Email'",
            "never closed",
            id="at-the-start-of-a-line",
        ),
        pytest.param(
            _HEADER.replace(",", ";") + 'ann@x.org;Ann;Lee;"Grade 6;yes\n'
            + "".join(r.replace(",", ";") for r in _ROWS),
            "row 2, column 'Team'",
            "never closed",
            id="semicolon-delimited",
        ),
        pytest.param(
            'Email,"First Name,Last Name,Team,Active\n' + "".join(_ROWS),
            "row 1, column B (2)",
            "never closed",
            id="in-the-header",
        ),
        pytest.param(
            _HEADER + "".join(_ROWS) + 'zed@x.org,Zed,"Zed,Grade 6,yes',
            "row 32, column 'Last Name'",
            "never closed",
            id="on-the-last-line-without-a-newline",
        ),
        pytest.param(
            "\n\n" + _HEADER + "".join(_ROWS[:3]) + "\n" + 'ann@x.org,Ann,"Lee,Grade 6,yes\n'
            + "".join(_ROWS[3:]),
            "row 8, column 'Last Name'",
            "line 8 opens",
            id="after-blank-lines",
        ),
        # Only rows over several lines are looked into: a line break is a line break however
        # it is written.
        pytest.param(
            (_HEADER + _ROWS[0] + 'ann@x.org,Ann,"Lee,Grade 6,yes\n' + "".join(_ROWS[1:10])
             + 'bob@x.org,Bob,"Smith, Jr",Grade 6,yes\n' + "".join(_ROWS[10:])
             ).replace("\n", "\r\n"),
            "row 3, column 'Last Name'",
            "runs on over 11 lines and swallows what look like 9 more rows (lines 4 to 12)",
            id="windows-line-ends",
        ),
        pytest.param(
            (_HEADER + "".join(_ROWS[:20]) + 'ann@x.org,Ann,"Lee,Grade 6,yes\n'
             + "".join(_ROWS[20:25]) + 'bob@x.org,Bob,"Smith, Jr",Grade 6,yes\n'
             + "".join(_ROWS[25:])).replace("\n", "\r"),
            "row 22, column 'Last Name'",
            "line 22 opens a cell that runs on over 7 lines and swallows what look like 5 more "
            "rows (lines 23 to 27)",
            id="old-mac-line-ends-late-in-the-file",
        ),
    ],
)  # fmt: skip
def test_a_stray_quote_is_reported_where_it_starts(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    path = _write(tmp_path / "roster.csv", text.encode())
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert caught.value.message.startswith(f"{path}, {where}: a quotation mark on ")
    assert what in caught.value.message
    assert "stray" in (caught.value.hint or "")


_ANSWER = (
    "Fractions, decimals, percents, ratios, rates\n"
    "Geometry, area, volume, nets, surface area\n"
    "Write to ann@school.org, or raj@school.org, or me, any day, any time"
)


@pytest.mark.parametrize("rows", [1, 2, 12])
def test_answers_typed_over_several_lines_are_read_as_they_are(tmp_path: Path, rows: int) -> None:
    header = "Timestamp,Email Address,Units,Help,Format\n"
    body = "".join(
        f'12/{i + 1}/2026 9:00:00,t{i}@x.org,"{_ANSWER}","He said ""hi""\nthen left",Small group\n'
        for i in range(rows)
    )
    table = read_table(_write(tmp_path / "responses.csv", (header + body).encode()))
    assert len(table.rows) == rows
    assert table.rows[-1][1][2] == _ANSWER
    assert table.rows[-1][1][3] == 'He said "hi"\nthen left'
    # Row numbers count records, as a spreadsheet shows them, not lines.
    assert [number for number, _ in table.rows] == list(range(2, rows + 2))


def test_an_answer_longer_than_the_csv_module_allows_is_read(tmp_path: Path) -> None:
    long = "x" * 300_000
    text = f'Timestamp,Email Address,Help\n12/1/2026 9:00:00,a@x.org,"{long}"\n'
    table = read_table(_write(tmp_path / "responses.csv", text.encode()))
    assert table.rows[0][1][2] == long


def test_excels_sep_line_names_the_separator_and_is_not_a_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", b"sep=;\r\nEmail;Name, full\r\na@x.org;Lee, Ann\r\n")
    table = read_table(path)
    assert table.header == ("Email", "Name, full")
    assert table.rows == ((2, ("a@x.org", "Lee, Ann")),)
    stray = _write(tmp_path / "s.csv", b'sep=;\r\nEmail;Name\r\na@x.org;"Ann\r\nb@x.org;Bo\r\n')
    with pytest.raises(InputError, match=r"row 2, column 'Name': a quotation mark on line 3 "):
        read_table(stray)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(b"Email,Name\n", r"a text \(CSV\) file with an \.xlsx name", id="csv"),
        pytest.param("Email\tName\n".encode("utf-16"), r"a Unicode text file with an \.xlsx name",
                     id="unicode-text"),
        pytest.param(b"\xd0\xcf\x11\xe0" + bytes(600), r"old Excel 97-2003 \(\.xls\) or a "
                     r"password-protected workbook", id="xls-or-password"),
        pytest.param(b"", r"the file is empty", id="empty"),
    ],
)  # fmt: skip
def test_a_workbook_that_is_something_else_says_what(
    tmp_path: Path, data: bytes, says: str
) -> None:
    with pytest.raises(InputError, match=says):
        read_table(_write(tmp_path / "roster.xlsx", data))


def test_a_stray_quote_in_a_one_column_roster_is_found(tmp_path: Path) -> None:
    text = 'Email\na@x.org\n"b@x.org\nc@x.org\nd@x.org"\ne@x.org\n'
    with pytest.raises(InputError, match=r"row 3, column 'Email'.*swallows what look like 2 more"):
        read_table(_write(tmp_path / "roster.csv", text.encode()))


# -- properties: what a spreadsheet writes is read back; nothing else ever escapes -------------

_CELL = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
)
_HEADER_ROW = ["Timestamp", "Email Address", "Units", "Help", "Format"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(_CELL, min_size=5, max_size=5), max_size=8))
def test_any_csv_a_writer_quotes_properly_is_read_back_exactly(
    tmp_path: Path, rows: list[list[str]]
) -> None:
    # Quotes, separators and line breaks inside answers are the writer's business: a file
    # written correctly is never taken for one with a stray quote.
    import csv
    import io

    out = io.StringIO(newline="")
    csv.writer(out).writerows([_HEADER_ROW, *rows])
    path = _write(tmp_path / "responses.csv", out.getvalue().encode("utf-8"))
    table = read_table(path)
    expected = [tuple(c.strip() for c in row) for row in rows]
    assert [cells for _, cells in table.rows] == [r for r in expected if any(r)]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300), name=st.sampled_from(["r.csv", "r.tsv", "r.xlsx"]))
def test_any_bytes_are_read_or_refused_with_an_input_error(
    tmp_path: Path, data: bytes, name: str
) -> None:
    try:
        read_table(_write(tmp_path / name, data))
    except InputError as exc:
        assert exc.message.startswith(str(tmp_path / name))


def test_a_title_row_above_the_header_is_pointed_out(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "r.csv", b"Lincoln staff list,exported 2026-08-20\n\nEmail,Name\na@x.org,Ann\n"
    )
    with pytest.raises(InputError) as caught:
        require_column(read_table(path), "Email", key="roster.columns.email")
    assert (
        caught.value.hint
        == "Row 3 holds 'Email': if that row is the header, delete the rows above it."
    )


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_a_header_longer_than_the_first_part_read_still_picks_the_delimiter(
    tmp_path: Path, sep: str
) -> None:
    """The delimiter is found from the start of a big file, unless its first row goes on
    past that start (here a quoted note of 70,000 characters over many lines)."""
    note = "line\n" * 14_000
    header = sep.join(["Email", f'"{note}"', "Team"])
    rows = [sep.join([f"t{i}@school.org", "x", "Grade 6"]) for i in range(3)]
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    table = read_table(path)
    assert table.header == ("Email", note.strip(), "Team")
    assert [cells[2] for _, cells in table.rows] == ["Grade 6"] * 3


def _rows_one_by_one(text: str, delimiter: str, offset: int, strict: bool) -> object:
    """delimited._rows as first written: each row's line read off the reader in turn."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    rows: list[list[str]] = []
    lines: list[int] = []
    previous = 0
    try:
        for row in reader:
            lines.append(previous + 1 + offset)
            rows.append(row)
            previous = reader.line_num
    except csv.Error as exc:
        return ("failed", rows, previous + 1 + offset, str(exc))
    return rows, lines, previous + 1 + offset


@settings(max_examples=400)
@given(
    text=st.text(st.sampled_from(list('ab,;"\n\r \t')), max_size=40),
    delimiter=st.sampled_from([",", ";", "\t"]),
    offset=st.sampled_from([0, 1]),
    strict=st.booleans(),
)
def test_rows_and_their_lines_read_at_once_as_row_by_row(
    text: str, delimiter: str, offset: int, strict: bool
) -> None:
    from pdmail.sources import delimited

    try:
        got: object = delimited._rows(text, delimiter, offset, strict=strict)
    except delimited._Failed as failed:
        got = ("failed", failed.rows, failed.line, str(failed.error))
    assert got == _rows_one_by_one(text, delimiter, offset, strict)
