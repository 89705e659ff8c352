"""The year's report as files: ``report.html`` (for reading and printing) and one CSV table
per section, for anyone who wants to make their own charts.

Cells go through :func:`pdmail.backends.local.csv_safe` as every CSV pdmail writes does, so a
name or an answer starting with ``=``, ``+``, ``-`` or ``@`` opens as text, never a formula.
Each file is replaced atomically; a folder that cannot be written stops with what to do.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..atomic import write_atomic
from ..backends.local import csv_safe
from ..errors import BackendError, UsageError
from ..mail.templates import Templates
from ..workspace import Workspace
from .build import YearReport
from .gather import compile_report
from .survey import year_surveys
from .year import SchoolYear

TEMPLATE = "report.html.j2"
HTML = "report.html"

Rows = tuple[list[str], list[list[str]]]


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written: the folder, the HTML file and each CSV table."""

    folder: Path
    html: Path
    tables: tuple[Path, ...]


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


def tables(report: YearReport) -> dict[str, Rows]:
    """Every section as a table (header, rows), by its file's name without ``.csv``."""
    out: dict[str, Rows] = {}
    out["months"] = (
        ["Month", "Cycle", "State", "Requests sent", "Reminders sent", "Answered",
         "Response rate (%)", "Needs received", "Needs scheduled", "Needs done",
         "Journal entries"],
        [[m.label, m.cycle, m.state, str(m.requests), str(m.reminders),
          str(m.answered), _num(m.percent), str(m.needs), str(m.scheduled), str(m.done),
          str(len(m.journal))] for m in report.months],
    )  # fmt: skip
    out["needs_by_kind"] = (
        ["Kind", "Received", "Open", "Scheduled", "Done"],
        [[k.kind, str(k.received), str(k.open), str(k.scheduled), str(k.done)]
         for k in report.kinds],
    )  # fmt: skip
    out["sessions_by_format"] = (
        ["Format", "Done", "Scheduled"],
        [[t.name, str(t.done), str(t.scheduled)] for t in report.formats],
    )
    out["sessions_by_topic"] = (
        ["Topic", "Done", "Scheduled"],
        [[t.name, str(t.done), str(t.scheduled)] for t in report.topics],
    )
    out["teams"] = (
        ["Team", "Active teachers", "Asked for help", "Helped", "Active teachers helped",
         "Active teachers helped (%)", "Needs done"],
        [[t.team, str(t.teachers), str(t.asked), str(t.helped), str(t.reached), _num(t.percent),
          str(t.done)]
         for t in report.teams],
    )  # fmt: skip
    out["teachers"] = (
        ["Email", "Name", "Team", "Active", "On roster", "Months answered", "Needs",
         "Needs done", "Helped"],
        [[t.email, t.name, t.team, "yes" if t.active else "no",
          "yes" if t.on_roster else "no", str(t.answered), str(t.needs), str(t.done),
          "yes" if t.helped else "no"] for t in report.teachers],
    )  # fmt: skip
    out["units"] = (
        ["Cycle", "Team", "Teacher", "Unit of study", "Topics", "Status"],
        [[u.cycle, u.team, u.teacher, u.unit, "; ".join(u.topics), u.status]
         for u in report.units],
    )  # fmt: skip
    out["journal"] = (
        ["Id", "Date", "Month", "Text"],
        [[str(j.id), j.day.isoformat(), f"{j.day:%Y-%m}", j.text] for j in report.journal],
    )
    out["survey"] = (
        ["Survey", "Round", "Question", "Answer", "Teachers", "Of"],
        [[s.name, s.cycle, q.question, answer, str(n), str(s.responses)]
         for s in report.surveys for q in s.questions for answer, n in q.counts]
        + [[s.name, s.cycle, "Suggestion", text, "", ""]
           for s in report.surveys for text in s.suggestions],
    )  # fmt: skip
    return out


def render_html(report: YearReport, templates: Templates) -> str:
    """The report as one HTML page (``report.html.j2``, the school's own copy first), every
    value escaped; it links to nothing outside itself."""
    return templates.render(TEMPLATE, {"report": report, "school": report.school})


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Callable[[IO[str]], None]:
    def write(out: IO[str]) -> None:
        w = csv.writer(out)
        w.writerow(header)
        w.writerows([[csv_safe(cell) for cell in row] for row in rows])

    return write


def write_report(report: YearReport, html: str, folder: Path) -> ReportFiles:
    """Write ``html`` and the report's tables into ``folder`` (made when missing)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"--out: {folder} is a file, not a folder",
            hint="name a folder for the report's files (it is made when missing)",
        )
    written: list[Path] = []
    target = folder / HTML
    try:
        write_atomic(target, html)
        for name, (header, rows) in tables(report).items():
            target = folder / f"{name}.csv"
            write_atomic(target, _csv(header, rows), encoding="utf-8-sig")
            written.append(target)
    except OSError as exc:
        raise BackendError(
            f"{target}: cannot write ({exc.strerror or exc})",
            hint="check that the folder is one you can write to and that the disk is not full, "
            "or pass --out with another folder",
        ) from None
    return ReportFiles(folder, folder / HTML, tuple(written))


def default_folder(config_folder: Path, report: YearReport) -> Path:
    """Where the report goes without ``--out``: ``report/<year>`` beside the config."""
    return config_folder / "report" / report.year.label


def make_report(
    ws: Workspace, year: SchoolYear, out: Path | None = None
) -> tuple[YearReport, ReportFiles]:
    """Compile ``year``'s report for the workspace's campaign, with the year's PD survey
    rounds, render it and write its files into ``out`` (default: ``report/<year>`` beside the
    config). Nothing else is written: the ledger and the needs table are only read."""
    report = compile_report(ws, year, survey=year_surveys)
    html = render_html(report, ws.templates)
    return report, write_report(report, html, out or default_folder(ws.config.folder, report))
