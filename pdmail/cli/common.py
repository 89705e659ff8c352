"""What the ``pdmail`` commands share: the options, the workspace they open, and how a
delivery report, a problem or an error is printed."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import PdmailError
from ..wording import count, day, plural

if TYPE_CHECKING:
    # The library is imported by the command that uses it, so that 'pdmail --help' starts
    # as fast as click itself.
    from ..cycle.delivery import DeliveryReport, Outcome
    from ..cycles import Cycle
    from ..models import MessageKey
    from ..workspace import Workspace


F = TypeVar("F", bound=Callable[..., Any])


# -- shared options -------------------------------------------------------------------------


def parse_today(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    from ..sources.timestamps import parse_date

    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def config_option(f: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Config file (default: $PDMAIL_CONFIG or ./pdmail.yaml).",
    )(f)


def campaign_option(f: F) -> F:
    return click.option(
        "--campaign",
        metavar="NAME",
        help="The campaign (default: the config's top-level one, the monthly update).",
    )(f)


def cycle_options(f: F) -> F:
    """--config, --campaign, --cycle, --today and --json, as every cycle command takes them."""
    f = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(f)
    f = campaign_option(f)
    f = click.option(
        "--today",
        callback=parse_today,
        metavar="YYYY-MM-DD",
        help="Act as if today were this date (rehearse or replay a month).",
    )(f)
    f = click.option(
        "--cycle", "cycle_name", metavar="YYYY-MM", help="The cycle (default: the current one)."
    )(f)
    return config_option(f)


def send_options(f: F) -> F:
    f = click.option(
        "--resend",
        is_flag=True,
        help="Send again messages whose outcome is unknown (check the mailbox first).",
    )(f)
    f = click.option(
        "--only", multiple=True, metavar="EMAIL", help="Only these teachers (repeatable)."
    )(f)
    f = click.option(
        "--limit", type=click.IntRange(min=1), help="Send at most N messages in this run."
    )(f)
    return click.option(
        "--dry-run", is_flag=True, help="Show what would be sent; send and record nothing."
    )(f)


@contextmanager
def workspace(
    config_path: Path | None, today: date | None, campaign: str | None = None
) -> Iterator[Workspace]:
    """A workspace for ``campaign`` (default: the config's top-level one) whose clock reads
    ``today`` (at the current time of day) when given."""
    from ..config.campaigns import for_campaign
    from ..config.load import load_config
    from ..workspace import Workspace, clock_on

    config = for_campaign(load_config(config_path), campaign)
    clock = clock_on(today, config.timezone) if today is not None else None
    with Workspace(config, clock=clock) as ws:
        yield ws


def today_of(ws: Workspace) -> date:
    return ws.now().date()


def cycle_of(ws: Workspace, name: str | None) -> Cycle:
    """The cycle named (or the current one) as it really runs: late, when its requests went
    out after their due date."""
    from ..cycle.opening import resolve

    return resolve(ws, name, today_of(ws))


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


@contextmanager
def progressbar(length: int, label: str, quiet: bool) -> Iterator[Callable[[MessageKey], None]]:
    """A progress bar on stderr when stderr is a terminal; none for --json, for cron logs
    and pipes, or when nothing is to be sent."""
    if quiet or length == 0 or not _is_terminal(sys.stderr):
        yield lambda key: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield lambda key: bar.update(1)


def echo_report(report: DeliveryReport, what: str = "", tz: tzinfo | None = None) -> None:
    """Print ``report``; ``what`` is the singular noun of its messages (default: from its
    kind), ``tz`` the school's zone for the days things were sent."""
    what = what or _noun(report.kind)
    from ..models import OUTCOME_RESULTS

    counts = {r: report.count(r) for r in OUTCOME_RESULTS}
    # A rerun with nothing left to do says why instead of "Sent 0".
    idle = not report.dry_run and all(o.result == "already-sent" for o in report.outcomes)
    # Nothing went because the only messages left have an unknown outcome: say that, not "0".
    only_unknown = counts["skipped-unknown"] and all(
        o.result in ("already-sent", "skipped-unknown") for o in report.outcomes
    )
    if report.dry_run:
        n = counts["would-send"]
        click.echo(f"Dry run: {count(n, what)} would be sent; nothing was sent.")
        for r in report.recipients("would-send"):
            click.echo(f"  would send to {r}")
    elif idle and report.outcomes:
        click.echo(_all_sent_before(report, what, tz))
    elif idle:
        why = report.note or "nothing is due"
        click.echo(f"No {plural(0, what)} to send for {report.cycle}: {why}.")
    elif only_unknown:
        n = counts["skipped-unknown"]
        click.echo(
            f"No {plural(0, what)} sent for {report.cycle}: the {count(n, what)} left "
            f"{plural(n, 'has', 'have')} an unknown outcome and {plural(n, 'is', 'are')} not "
            "sent again on its own (see below)."
        )
    else:
        click.echo(f"Sent {count(counts['sent'], what)} for {report.cycle}.")
    if counts["already-sent"] and not idle:
        click.echo(f"  {counts['already-sent']} already sent earlier (not sent again).")
    if counts["held"]:
        click.echo(f"  {counts['held']} left for a later run (--limit or the run stopped).")
    for o in report.outcomes:
        if o.result == "failed":
            click.secho(f"  FAILED {o.recipient}: {o.detail}", fg="red", err=True)
        elif o.result in ("unknown", "skipped-unknown"):
            click.secho(f"  UNKNOWN {o.recipient} ({o.kind}): {_unknown_text(o)}", fg="yellow",
                        err=True)  # fmt: skip
            if o.find:
                click.echo(f"      {o.find}", err=True)
            click.echo(f"      {_resolve_line(report.cycle, o.kind, o.recipient)}", err=True)
    if counts["unknown"] or counts["skipped-unknown"]:
        click.echo(
            "  Messages with an unknown outcome are never resent on their own: check the "
            "mailbox, then pass --resend to send them again.",
            err=True,
        )
    if report.stopped:
        click.secho(f"  Stopped: {report.stopped}", fg="red", err=True)
    if report.note and not (idle and not report.outcomes):
        click.echo(f"  {report.note}")


def _unknown_text(o: Outcome) -> str:
    """What is known about an unknown outcome, and what the mailer said."""
    said = o.detail if o.detail and o.detail != o.cause else ""
    return f"{o.cause} ({said})" if o.cause and said else o.cause or said


def show_unsettled(
    ws: Workspace, shown: Sequence[DeliveryReport] = (), *, quiet: bool = False
) -> bool:
    """Say which of the campaign's messages (any cycle, any kind) still have an unknown
    outcome, beyond those ``shown`` above, and how to settle each; True when there are any,
    so the command exits 1."""
    from ..cycle.delivery import how_to_find, known, unsettled

    entries = unsettled(ws)
    if quiet or not entries:
        return bool(entries)
    seen = {(r.cycle, o.recipient, o.kind) for r in shown for o in r.outcomes
            if o.result in ("unknown", "skipped-unknown")}  # fmt: skip
    rest = [e for e in entries if (e.key.cycle, e.key.recipient, e.key.kind) not in seen]
    if rest:
        n = len(rest)
        click.secho(
            f"{count(n, 'message')} {plural(n, 'has', 'have')} an unknown outcome:",
            fg="yellow",
            err=True,
        )
    for e in rest:
        k = e.key
        click.secho(f"  UNKNOWN {k.recipient} ({k.kind}, {k.cycle}): {known(e)}", fg="yellow",
                    err=True)  # fmt: skip
        click.echo(f"      {how_to_find(e.mailer, e.message_id)}", err=True)
        click.echo(f"      {_resolve_line(k.cycle, k.kind, k.recipient)}", err=True)
    click.echo(
        f"  pdmail exits 1 until {plural(len(entries), 'it is', 'each is')} settled, by "
        "'pdmail resolve' or by sending again with --resend.",
        err=True,
    )
    return True


def _resolve_line(cycle: str, kind: str, recipient: str) -> str:
    return (
        f"then: pdmail resolve --cycle {cycle} --kind {kind} {recipient} --sent (it is there) "
        "or --not-sent (it is not: the next run sends it)"
    )


def _noun(kind: str) -> str:
    """The word for a ledger kind's messages: request, reminder, digest."""
    return kind.split("-", 1)[0] if kind.startswith(("request", "reminder", "digest")) else (
        "message")  # fmt: skip


def _all_sent_before(report: DeliveryReport, what: str, tz: tzinfo | None) -> str:
    """ "All 42 requests for 2026-12 were already sent on 2026-12-01; nothing to do." """
    days = sorted({day(o.at.astimezone(tz)) for o in report.outcomes if o.at is not None})
    when = "" if not days else f" on {days[0]}" if len(days) == 1 else (
        f" between {days[0]} and {days[-1]}")  # fmt: skip
    n = len(report.outcomes)
    if n == 1:
        to = report.outcomes[0].recipient
        return f"The {what} for {report.cycle} to {to} was already sent{when}; nothing to do."
    return f"All {count(n, what)} for {report.cycle} were already sent{when}; nothing to do."


def echo_problems(ws: Workspace) -> None:
    """Report the roster and response rows this run read and skipped (file, row, column).

    Only what the run already read is reported (the cached inputs), so this never reads a
    file the step itself did not need.
    """
    read = vars(ws)
    problems = [
        *(read["roster"].problems if "roster" in read else ()),
        *(read["responses"][1] if "responses" in read else ()),
        # Rows matching set aside (an answer whose date order decides its month).
        *(p for c in read.get("_collections", {}).values() for p in c.problems),
    ]
    for p in dict.fromkeys(problems):
        click.secho(f"  skipped: {p}", fg="yellow", err=True)


def fail_with(errors: Sequence[PdmailError]) -> None:
    """Show what failed after the command had acted, below the report of what it did (which
    stays the record of what was sent), and exit with the first failure's code."""
    for exc in errors:
        click.secho(f"Error: {exc.message}", fg="red", err=True)
        if exc.hint:
            click.echo(f"Hint: {exc.hint}", err=True)
    if errors:
        raise click.exceptions.Exit(errors[0].exit_code)


def finish(report_ok: bool) -> None:
    if not report_ok:
        raise click.exceptions.Exit(1)
