"""``pdmail report`` (the school year's PD report) and ``pdmail journal`` (the librarian's
dated reflections, which the report shows beside their month)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from ..wording import count, one_line, plural, shorten
from .common import campaign_option, config_option, parse_today, workspace
from .jsonout import dumps

_YEAR_HELP = "The school year, e.g. 2026-27 or 2026-2027 (it starts in calendar.year_starts)."


@click.command()
@config_option
@campaign_option
@click.option("--year", "year_text", metavar="YYYY-YY", help=_YEAR_HELP + " Default: this one.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    metavar="DIR",
    default=None,
    help="Folder for report.html and the CSV tables (default: report/YEAR beside the config).",
)
@click.option(
    "--today",
    callback=parse_today,
    metavar="YYYY-MM-DD",
    help="Act as if today were this date (which months have come, the default year).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def report(
    config_path: Path | None,
    campaign: str | None,
    year_text: str | None,
    out: Path | None,
    today: date | None,
    as_json: bool,
) -> None:
    """Compile the school year's PD report: requests and answers by month, needs received
    and done, sessions by format and topic, teachers and teams reached, units of study
    supported, the survey and the journal. Writes report.html (it prints well, and the
    browser's "Save as PDF" makes a PDF of it) and one CSV table per section."""
    from ..report.output import make_report
    from ..report.year import parse_year, year_of

    with workspace(config_path, today, campaign) as ws:
        starts = ws.config.calendar.year_starts
        year = parse_year(year_text, starts) if year_text else year_of(ws.now().date(), starts)
        compiled, files = make_report(ws, year, out)
    if as_json:
        click.echo(dumps({"report": compiled, "files": files}))
        return
    r = compiled
    asked = (
        f"{count(r.requests, 'request')} in {count(r.cycles_run, 'month')}, {r.percent}% answered"
        if r.requests
        else "no requests sent"
    )
    click.echo(
        f"The {r.year.label} report for {r.school}: {asked}; {count(r.needs, 'need')}, "
        f"{r.done} done; {r.helped_active} of {count(r.active, 'active teacher')} helped."
    )
    click.echo(f"  report: {files.html}")
    click.echo(f"  tables: {files.folder} ({', '.join(p.name for p in files.tables)})")
    for p in r.problems:
        click.secho(f"  skipped: {p}", fg="yellow", err=True)


@click.group()
def journal() -> None:
    """Keep dated reflections; the year's report shows each beside its month."""


@journal.command("add")
@config_option
@click.argument("text")
@click.option(
    "--date",
    "day",
    callback=parse_today,
    metavar="YYYY-MM-DD",
    help="The day it is about (default: today).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def journal_add(config_path: Path | None, text: str, day: date | None, as_json: bool) -> None:
    """Keep TEXT in the journal ('-' reads it from standard input)."""
    from ..report.journal import add_entry

    if text == "-":
        text = sys.stdin.read()
    with workspace(config_path, None) as ws:
        entry = add_entry(ws, text, day)
    if as_json:
        click.echo(dumps(entry))
        return
    click.echo(f"Kept journal entry {entry.id} for {entry.day.isoformat()}.")


@journal.command("list")
@config_option
@click.option("--year", "year_text", metavar="YYYY-YY", help=_YEAR_HELP + " Default: all.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def journal_list(config_path: Path | None, year_text: str | None, as_json: bool) -> None:
    """Show the journal's entries by day, with their ids."""
    from ..report.journal import list_entries
    from ..report.year import parse_year

    with workspace(config_path, None) as ws:
        year = parse_year(year_text, ws.config.calendar.year_starts) if year_text else None
        entries = list_entries(ws, year)
    if as_json:
        click.echo(dumps({"entries": entries}))
        return
    if not entries:
        click.echo("No journal entries" + (f" in {year.label}." if year else " yet."))
        return
    for e in entries:
        click.echo(f"{e.id:>4}  {e.day.isoformat()}  {one_line(shorten(e.text, 200))}")
    n = len(entries)
    click.echo(f"{count(n, 'entry', 'entries')} {plural(n, 'is', 'are')} shown.", err=True)


@journal.command("remove")
@config_option
@click.argument("entry_id", metavar="ID", type=click.IntRange(min=1))
def journal_remove(config_path: Path | None, entry_id: int) -> None:
    """Remove the journal entry ID (the ids are in 'pdmail journal list')."""
    from ..report.journal import remove_entry

    with workspace(config_path, None) as ws:
        entry = remove_entry(ws, entry_id)
    click.echo(f"Removed journal entry {entry.id} ({entry.day.isoformat()}).")
