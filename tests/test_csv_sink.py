"""The CSV tables pdmail writes (needs.csv, the status and digest tables): written as
``csv.writer`` writes them, every cell guarded against formulas, read back as written."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pdmail.backends.local import CsvSink, csv_safe, write_csv
from pdmail.sources.tables import read_table


def reference(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """What every table was written as before: csv.writer over each cell's csv_safe text."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[csv_safe(str(c)) for c in row] for row in rows])
    return out.getvalue()


def written(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO(newline="")
    write_csv(out, header, rows)
    return out.getvalue()


HEADER = ["Need id", "Status", "Note"]


@pytest.mark.parametrize(
    "row",
    [
        ["a1", "open", ""],
        ["a1", "open", "Tue, 3rd period"],  # a comma: quoted
        ["a1", "open", 'the "big" one'],  # quotes: doubled
        ["a1", "open", "two\nlines"],
        ["a1", "open", "carriage\rreturn"],
        ["=SUM(A1)", "open", ""],  # a formula in the first cell
        ["a1", "open", "=HYPERLINK(x)"],
        ["a1", "+1 555", "@me"],
        ["a1", "-", "-"],  # placeholders stay as they are
        ["a1", "-5", "-,-"],
        ["a1", "\tx", "\rx"],
        ["a1", "", ""],
        ["", "", ""],
        [""],  # a lone empty cell is written quoted
        ["only"],
        [],
        ["a1", "open", ",=not a formula start"],  # a comma in a cell, then "="
        ["a,1", "=x", ""],
        ["a1", " spaced ", "é ñ 中文 😀"],
        ["a1", "open", "'quoted already"],
    ],
)
def test_a_row_is_written_as_csv_writer_writes_it(row: list[str]) -> None:
    assert written(HEADER, [row]) == reference(HEADER, [row])


@pytest.mark.parametrize(
    ("cell", "kept"),
    [("a\x00b", "ab"), ("\x00", ""), ("\x00=1", "'=1"), ("-\x00", "-"), ("x,\x00y", "x,y")],
)
def test_a_nul_is_dropped_from_a_cell(cell: str, kept: str) -> None:
    # No spreadsheet shows one, and Python 3.10's csv module cannot write one at all.
    text = written(HEADER, [["a1", cell]])
    assert "\x00" not in text
    assert list(csv.reader(io.StringIO(text)))[1] == ["a1", kept]


def test_cells_that_are_not_text_are_written_as_their_text() -> None:
    rows: list[list[object]] = [["a1", 3, None], ["a2", -4.5, "x"]]
    assert written(HEADER, rows) == reference(HEADER, rows)  # type: ignore[arg-type]


CELL = st.text(alphabet=st.sampled_from([*"ab ,\"'=+-@\t\r\n;\\é\x00\x0b", "\u2028"]), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, max_size=5), max_size=6))
@example([["-"], ["-", "-"], [",-"], ["a", ""], [""]])
def test_any_table_is_written_as_csv_writer_writes_it(rows: list[list[str]]) -> None:
    assert written(HEADER, rows) == reference(HEADER, rows)


def test_a_needs_table_reads_back_as_it_was_written(tmp_path: Path) -> None:
    sink = CsvSink(tmp_path)
    rows = [
        ["n1", "open", "Tue, 3rd period", "2027-04", "Ann Lee"],
        ["n2", "done", '"Databases" guide sent', "2027-04", "Raj Patel"],
        ["n3", "scheduled", "=1+1", "2027-03", "Ann Lee"],
        ["n4", "open", "", "2027-03", "Zoë Brandt"],
    ]
    where = sink.write_table("needs", ["Need id", "Status", "Note", "Cycle", "Teacher"], rows)
    assert where == str(tmp_path / "needs.csv")
    table = read_table(tmp_path / "needs.csv")
    assert [cells for _, cells in table.rows] == [tuple(csv_safe(c) for c in r) for r in rows]
    assert (tmp_path / "needs.csv").read_bytes().startswith(b"\xef\xbb\xbfNeed id,")
