"""``pdmail needs``: list the needs that carry over, and change their status."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..wording import count, one_line, plural, shorten
from .common import campaign_option, config_option, parse_today, workspace
from .jsonout import dumps

if TYPE_CHECKING:
    # The library is imported by the command that uses it, so that 'pdmail --help' starts
    # as fast as click itself.
    pass


@click.group()
def needs() -> None:
    """List the needs that carry over, and mark them scheduled or done."""


@needs.command("list")
@config_option
@campaign_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["open", "scheduled", "done"]),
    help="Only needs with this status (repeatable; default: open and scheduled).",
)
@click.option("--all", "show_all", is_flag=True, help="Every need, done ones included.")
@click.option(
    "--today",
    callback=parse_today,
    metavar="YYYY-MM-DD",
    help="Act as if today were this date (the day a correction or edit is dated).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def needs_list(
    config_path: Path | None,
    campaign: str | None,
    statuses: tuple[str, ...],
    show_all: bool,
    today: date | None,
    as_json: bool,
) -> None:
    """Show the needs, oldest open ones first, with their ids."""
    from .needs_cli import list_needs

    with workspace(config_path, today, campaign) as ws:
        wanted = set(statuses) or ({"open", "scheduled", "done"} if show_all else
                                   {"open", "scheduled"})  # fmt: skip
        records, problems = list_needs(ws)
        shown = [r for r in records if r.status in wanted]
        if as_json:
            click.echo(dumps({"needs": shown, "problems": problems}))
            return
        if not shown:
            click.echo("No needs with that status.")
        for r in shown:
            note = f" ({r.note})" if r.note else ""
            who = one_line(f"{r.teacher} ({r.team}){note}")
            click.echo(f"{r.id}  {r.status:<9} {r.cycle}  {who}")
            click.echo(f"            {shorten(r.text, 100)}")
            if r.is_corrected and r.corrected is not None:
                fixed = [f"topics: {'; '.join(r.topics) or 'none'}"] if (
                    r.corrected_topics is not None) else []  # fmt: skip
                if r.corrected_kinds is not None:
                    fixed.append(f"kinds: {'; '.join(r.kinds)}")
                what = one_line(f"corrected {r.corrected}: {', '.join(fixed)}")
                click.echo(f"            {what}")
        for p in problems:
            click.secho(f"skipped: {p}", fg="yellow", err=True)


@needs.command("set")
@config_option
@click.argument("ids", nargs=-1, required=True)
@campaign_option
@click.option("--status", type=click.Choice(["open", "scheduled", "done"]), help="New status.")
@click.option("--note", default=None, help="A note to keep with it (e.g. the session's date).")
@click.option(
    "--topics",
    default=None,
    metavar="'TOPIC; TOPIC'",
    help="Correct its topics (taxonomy names, separated by ';'; \"\" for none). Later "
    "digests read similar answers the same way.",
)
@click.option(
    "--kinds",
    default=None,
    metavar="'KIND; KIND'",
    help="Correct its kinds: task, learning, lesson (separated by ';').",
)
@click.option(
    "--forget", is_flag=True, help="Take back its correction: pdmail's own reading again."
)
@click.option(
    "--today",
    callback=parse_today,
    metavar="YYYY-MM-DD",
    help="Act as if today were this date (the day a correction or edit is dated).",
)
def needs_set(
    config_path: Path | None,
    ids: tuple[str, ...],
    campaign: str | None,
    status: str | None,
    note: str | None,
    topics: str | None,
    kinds: str | None,
    forget: bool,
    today: date | None,
) -> None:
    """Mark needs IDS as open, scheduled or done, or correct their topics or kinds (the ids
    are in the digest and needs table)."""
    from .needs_cli import set_needs

    with workspace(config_path, today, campaign) as ws:
        changed, where = set_needs(ws, ids, status, note, topics=topics, kinds=kinds,
                                   forget=forget)  # fmt: skip
        n = len(changed)
        if topics is None and kinds is None and not forget and status is not None:
            did = f"{count(n, 'need')} {plural(n, 'is', 'are')} now {status}" if n else (
                f"No need changed (already {status})")  # fmt: skip
        else:
            did = f"{count(n, 'need')} changed" if n else "No need changed (already so)"
        click.echo(f"{did}; the needs table is updated ({where}).")
