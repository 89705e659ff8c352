"""The ``pdmail`` command: thin click commands over the library.

Each command parses its options, builds a :class:`~pdmail.workspace.Workspace`, calls one
library function and prints the result (or ``--json``). Errors are shown in one place,
:class:`PdmailGroup`, as a clean message and exit code; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..errors import PdmailError, UsageError
from ..wording import count, day, local_time, one_line, plural, printable, shorten
from .jsonout import dumps

if TYPE_CHECKING:
    # The library is imported by the command that uses it, so that 'pdmail --help' starts
    # as fast as click itself.
    from ..cycle.cycles import Cycle
    from ..cycle.delivery import DeliveryReport, Outcome
    from ..models import MessageKey
    from ..workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])


class PdmailGroup(click.Group):
    """Shows a :class:`PdmailError` as ``Error: ...`` with its hint and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PdmailError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"Hint: {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # The reader went away (pdmail ... | head): nothing more to say to it.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit
            ctx.exit(0)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(f"Internal error: {type(exc).__name__}: {exc}", fg="red", err=True)
            click.echo("This is a bug in pdmail; run again with --debug for details.", err=True)
            ctx.exit(70)


@click.group(name="pdmail", cls=PdmailGroup)
@click.version_option(__version__, prog_name="pdmail")
@click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Monthly library check-ins: request, collect, remind, digest.

    Start with 'pdmail demo' to see a whole month, or 'pdmail init' to set up a folder.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# -- shared options -------------------------------------------------------------------------


def _parse_today(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
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


def cycle_options(f: F) -> F:
    """--config, --cycle, --today and --json, as every cycle command takes them."""
    f = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(f)
    f = click.option(
        "--today",
        callback=_parse_today,
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
def workspace(config_path: Path | None, today: date | None) -> Iterator[Workspace]:
    """A workspace whose clock reads ``today`` (at the current time of day) when given."""
    from ..config.load import load_config
    from ..workspace import Workspace, clock_on

    config = load_config(config_path)
    clock = clock_on(today, config.timezone) if today is not None else None
    with Workspace(config, clock=clock) as ws:
        yield ws


def _today(ws: Workspace) -> date:
    return ws.now().date()


def _cycle(ws: Workspace, name: str | None) -> Cycle:
    """The cycle named (or the current one) as it really runs: late, when its requests went
    out after their due date."""
    from ..cycle.opening import resolve

    return resolve(ws, name, _today(ws))


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


def _echo_report(report: DeliveryReport, what: str = "", tz: tzinfo | None = None) -> None:
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


def _unsettled(ws: Workspace, shown: Sequence[DeliveryReport] = (), *, quiet: bool = False) -> bool:
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


def _echo_problems(ws: Workspace) -> None:
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


def _fail_with(errors: Sequence[PdmailError]) -> None:
    """Show what failed after the command had acted, below the report of what it did (which
    stays the record of what was sent), and exit with the first failure's code."""
    for exc in errors:
        click.secho(f"Error: {exc.message}", fg="red", err=True)
        if exc.hint:
            click.echo(f"Hint: {exc.hint}", err=True)
    if errors:
        raise click.exceptions.Exit(errors[0].exit_code)


def _finish(report_ok: bool) -> None:
    if not report_ok:
        raise click.exceptions.Exit(1)


# -- commands ---------------------------------------------------------------------------


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--force",
    is_flag=True,
    help="Replace files that already exist with the defaults; each one that differs is first "
    "kept beside it as FILE.bak-YYYY-MM-DDTHHMMSS (an older backup is never overwritten).",
)
def init(folder: Path, force: bool) -> None:
    """Set up FOLDER (default: here) with pdmail.yaml, a sample roster.csv and templates.

    Existing files are never overwritten without --force, and never lost with it: each one
    you changed is kept as a .bak- copy first.
    """
    from .scaffold import scaffold

    done = scaffold(folder, force=force)
    for original, backup in done.backups:
        click.echo(f"  kept your {original} as {backup}")
    for path in done.written:
        click.echo(f"  wrote {path}")
    click.echo(
        "\nNext:\n"
        f"  1. Edit {folder / 'pdmail.yaml'}: school, librarian, form.url and form.prefill.\n"
        f"  2. Replace {folder / 'roster.csv'} with your teachers (keep the Email column).\n"
        "  3. pdmail preview     # see the request as a teacher will\n"
        "  4. pdmail send --dry-run, then pdmail send   # mail goes to the outbox folder until\n"
        "     you set mail.kind to smtp or gmail\n"
        "  5. Add 'pdmail run' to cron to do the rest each day (see the README)."
    )


@main.command()
@cycle_options
@click.option("--teacher", "teachers", multiple=True, metavar="EMAIL", help="Preview for these.")
@click.option(
    "--kind",
    type=click.Choice(["request", "reminder"]),
    default="request",
    show_default=True,
    help="Which message to preview.",
)
@click.option("--html", "show_html", is_flag=True, help="Print the HTML part too.")
def preview(
    config_path: Path | None,
    cycle_name: str | None,
    today: date | None,
    as_json: bool,
    teachers: tuple[str, ...],
    kind: str,
    show_html: bool,
) -> None:
    """Render the request (or reminder) for one or more teachers without sending anything.

    After the cycle's due date, the request is shown as 'send --late' (or the daily run) would
    send it today: with a due date counted from today.
    """
    from ..cycle.opening import for_sending
    from ..mail.preview import preview_messages

    with workspace(config_path, today) as ws:
        cycle = _cycle(ws, cycle_name)
        if kind == "request":
            cycle = for_sending(ws, cycle, _today(ws), late=True)
        previews = preview_messages(ws, cycle, teachers, kind)
        if as_json:
            click.echo(dumps(previews))
            return
        for p in previews:
            # The roster's values reach the terminal here: never its control sequences.
            click.echo(printable(f"To: {p.to}\nSubject: {p.subject}\n"))
            click.echo(printable(p.text))
            if show_html:
                click.echo("--- HTML ---")
                click.echo(printable(p.html))
            click.echo("=" * 72)


@main.command()
@cycle_options
@send_options
@click.option(
    "--late",
    is_flag=True,
    help="Once the due date has passed: send anyway, with a due date counted from today "
    "(without a request sent yet, the cycle's reminders and digest move to match).",
)
def send(
    config_path: Path | None,
    cycle_name: str | None,
    today: date | None,
    as_json: bool,
    dry_run: bool,
    limit: int | None,
    only: tuple[str, ...],
    resend: bool,
    late: bool,
) -> None:
    """Send this cycle's request to every active teacher who has not had one.

    After the cycle's due date it refuses (exit 2) unless --late, rather than ask for an
    answer by a day already gone.
    """
    from ..cycle.delivery import count_due
    from ..cycle.opening import first_request_day, for_sending
    from ..cycle.steps import plan_requests, send_requests

    with workspace(config_path, today) as ws:
        cycle = _cycle(ws, cycle_name)
        opens_late = first_request_day(ws, cycle.name) is None
        cycle = for_sending(ws, cycle, _today(ws), late=late)
        # The bar's length from the ledger alone: nothing is rendered to count it.
        todo = count_due(ws, plan_requests(ws, cycle, only).items, limit=limit, resend=resend)
        with progressbar(todo, "Sending", as_json or dry_run) as step:
            report = send_requests(
                ws, cycle, dry_run=dry_run, limit=limit, only=only, resend=resend, progress=step
            )
        if as_json:
            click.echo(dumps(report))
        else:
            _echo_report(report, "request", ws.config.timezone)
            if cycle.late:
                _echo_late(cycle, opens_late and not dry_run and report.count("sent") > 0)
        _echo_problems(ws)
        unknown = _unsettled(ws, [report], quiet=as_json)
        _finish(report.ok and not unknown)


def _echo_late(cycle: Cycle, opened: bool) -> None:
    from ..cycle.opening import describe_late
    from ..mail.messages import long_date

    if opened:
        click.echo(f"  {describe_late(cycle)}")
    else:
        click.echo(f"  These requests ask for an answer by {long_date(cycle.due)} ({cycle.due}).")


@main.command()
@cycle_options
def collect(
    config_path: Path | None, cycle_name: str | None, today: date | None, as_json: bool
) -> None:
    """Read the responses and show who answered, who has not, and unknown senders.

    Once the cycle's requests went out, a missing export, or one saved before they went out,
    is an error (exit 3): it would show every teacher as not having answered.
    """
    from ..cycle.freshness import require_answers
    from ..cycle.status import unmatched, unmatched_line

    with workspace(config_path, today) as ws:
        cycle = _cycle(ws, cycle_name)
        require_answers(ws, cycle, "nothing is listed")
        c = ws.collect(cycle)
        problems = [*ws.roster.problems, *c.problems]
        if as_json:
            click.echo(
                dumps(
                    {
                        "cycle": cycle.name,
                        "rate": c.rate,
                        "answered": [
                            {
                                "email": t.email,
                                "name": t.display_name,
                                "team": t.team,
                                "submitted": r.submitted,
                                "units": r.units,
                                "help": r.help,
                                "format": r.format,
                            }
                            for t, r in c.answered
                        ],
                        "not_answered": [t.email for t in c.not_answered],
                        "strangers": [
                            {
                                "email": r.email,
                                "submitted": r.submitted,
                                "row": r.row,
                                "probably": getattr(c.probably(r), "email", None),
                            }
                            for r in c.strangers
                        ],
                        "superseded": len(c.superseded),
                        "outside_cycle": c.outside,
                        "problems": [str(p) for p in problems],
                        "notes": list(c.notes),
                    }
                )
            )
            return
        total = len(c.answered) + len(c.not_answered)
        tz = ws.config.timezone
        click.echo(f"{cycle.name}: {len(c.answered)} of {count(total, 'teacher')} answered.")
        for t, r in c.answered:
            name = one_line(t.display_name)
            click.echo(f"  answered  {name} <{t.email}>  {local_time(r.submitted, tz)}")
        for t in c.not_answered:
            click.echo(f"  waiting   {one_line(t.display_name)} <{t.email}>")
        for u in unmatched(ws, c):
            click.echo(f"  not on the roster: {unmatched_line(u, tz)}")
        if c.superseded:
            n = len(c.superseded)
            click.echo(
                f"  {count(n, 'earlier submission')} {plural(n, 'was', 'were')} superseded "
                "by a later one."
            )
        if c.outside:
            n = c.outside
            click.echo(
                f"  {count(n, 'submission')} {plural(n, 'belongs', 'belong')} to other cycles."
            )
        for note in c.notes:
            click.echo(f"  note: {note}")
        for p in problems:
            click.secho(f"  skipped: {p}", fg="yellow", err=True)


@main.command()
@cycle_options
@send_options
def remind(
    config_path: Path | None,
    cycle_name: str | None,
    today: date | None,
    as_json: bool,
    dry_run: bool,
    limit: int | None,
    only: tuple[str, ...],
    resend: bool,
) -> None:
    """Send the reminder due today to teachers who have not answered, in the request's thread."""
    from ..cycle.steps import send_reminders

    with workspace(config_path, today) as ws:
        cycle = _cycle(ws, cycle_name)
        report = send_reminders(
            ws, cycle, _today(ws), dry_run=dry_run, limit=limit, only=only, resend=resend
        )
        if as_json:
            click.echo(dumps(report))
        else:
            _echo_report(report, "reminder", ws.config.timezone)
        _echo_problems(ws)
        unknown = _unsettled(ws, [report], quiet=as_json)
        _finish(report.ok and not unknown)


@main.command()
@cycle_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for digest.html and digest.md (default: digest.out/<cycle>).",
)
@click.option("--send", "send_it", is_flag=True, help="Also mail it to the librarian (once).")
@click.option("--dry-run", is_flag=True, help="With --send: show, but do not send.")
@click.option("--resend", is_flag=True, help="With --send: send again if the outcome is unknown.")
def digest(
    config_path: Path | None,
    cycle_name: str | None,
    today: date | None,
    as_json: bool,
    out: Path | None,
    send_it: bool,
    dry_run: bool,
    resend: bool,
) -> None:
    """Compile the digest to digest.html and digest.md; with --send, mail it to the librarian."""
    from ..digest.publish import publish_digest

    with workspace(config_path, today) as ws:
        cycle = _cycle(ws, cycle_name)
        done = publish_digest(ws, cycle, out=out, send=send_it, dry_run=dry_run, resend=resend)
        report = done.mail
        if as_json:
            click.echo(dumps({"digest": done.rendered.digest, "files": done.files,
                              "mail": report, "errors": done.errors}))  # fmt: skip
        else:
            click.echo(f"{done.rendered.subject}")
            for p in done.files:
                click.echo(f"  wrote {p}")
            if report is not None:
                _echo_report(report, "digest", ws.config.timezone)
        _fail_with(done.errors)
        _finish(report is None or report.ok)


@main.command()
@cycle_options
def status(
    config_path: Path | None, cycle_name: str | None, today: date | None, as_json: bool
) -> None:
    """Show the cycle: counts, a per-teacher table, and messages that need attention."""
    from ..cycle.freshness import answers_problem
    from ..cycle.opening import describe_late
    from ..cycle.status import cycle_status, status_lines

    with workspace(config_path, today) as ws:
        st = cycle_status(ws, _cycle(ws, cycle_name))
        if as_json:
            click.echo(dumps(st))
        else:
            for line in status_lines(st):
                click.echo(line)
            if st.cycle.late:
                click.echo(describe_late(st.cycle))
            for p in st.problems:
                click.secho(f"skipped: {p}", fg="yellow", err=True)
            # Status only shows; but who "answered" is only as good as the export.
            stale = answers_problem(ws, st.cycle)
            if stale is not None:
                click.secho(
                    f"Warning: {stale.message}; the answers shown cannot be trusted",
                    fg="yellow",
                    err=True,
                )
                click.echo(f"Hint: {stale.hint}", err=True)
        # A message whose outcome is unknown needs the librarian, whatever cycle it is in.
        _finish(not _unsettled(ws, quiet=as_json))


@main.command()
@config_option
@click.option(
    "--cycle", "cycle_name", metavar="YYYY-MM", help="The cycle (default: the current one)."
)
@click.option(
    "--kind",
    default="request",
    show_default=True,
    metavar="KIND",
    help="request, reminder-1, reminder-2, … or digest.",
)
@click.option(
    "--sent/--not-sent",
    "sent",
    default=None,
    required=True,
    help="It arrived (record it as sent), or it did not (the next run sends it).",
)
@click.option(
    "--today",
    callback=_parse_today,
    metavar="YYYY-MM-DD",
    help="Act as if today were this date (for the default cycle).",
)
@click.argument("emails", nargs=-1, required=True, metavar="EMAIL...")
def resolve(
    config_path: Path | None, cycle_name: str | None, kind: str, sent: bool | None,
    today: date | None, emails: tuple[str, ...],
) -> None:  # fmt: skip
    """Settle messages whose outcome is unknown, once you have looked for them."""
    from ..cycle.delivery import resolve as settle
    from ..models import MessageKey
    from ..sources.roster import normalize_email

    if sent is None:
        raise UsageError(
            "say what you found: --sent (the message arrived) or --not-sent (it did not)"
        )
    with workspace(config_path, today) as ws:
        cycle = _cycle(ws, cycle_name)
        keys = [MessageKey(ws.config.campaign, cycle.name, normalize_email(e), kind)
                for e in emails]  # fmt: skip
        state = "sent" if sent else "not sent: it goes on the next run"
        for entry in settle(ws, keys, sent=sent):
            click.echo(f"{entry.key.recipient} ({kind}, {cycle.name}): recorded as {state}.")


@main.command()
@config_option
@click.option("--today", callback=_parse_today, metavar="YYYY-MM-DD", help="Act as if today.")
@click.option("--dry-run", is_flag=True, help="Show what is due; send and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def run(config_path: Path | None, today: date | None, dry_run: bool, as_json: bool) -> None:
    """Do whatever is due today (requests, reminders, digest). For cron, once a day."""
    from ..cycle.tick import tick

    with workspace(config_path, today) as ws:
        report = tick(ws, _today(ws), dry_run=dry_run)
        if as_json:
            click.echo(dumps(report))
        else:
            click.echo(f"pdmail run for {report.today}:")
            if not report.steps:
                click.echo("  nothing was due.")
            for name, step in report.steps:
                click.echo(f"- {name}")
                _echo_report(step, tz=ws.config.timezone)
            for note in report.notes:
                click.echo(f"  {note}")
            for f in report.files:
                click.echo(f"  wrote {f}")
        _echo_problems(ws)
        unknown = _unsettled(ws, [step for _, step in report.steps], quiet=as_json)
        _fail_with(report.errors)
        _finish(report.ok and not unknown)


@main.command()
@config_option
@click.option("--at", "at_time", metavar="HH:MM", help="Time of day (default: calendar.run_at).")
def schedule(config_path: Path | None, at_time: str | None) -> None:
    """Keep running, and do 'pdmail run' once a day at the configured time (Ctrl-C stops)."""
    from ..config.load import default_config_path, load_config
    from ..cycle.scheduler import run_forever

    path = config_path or default_config_path()
    load_config(path)  # fail now, not at the first tick, on a broken config
    try:
        run_forever(path, at=at_time, log=click.echo)
    except KeyboardInterrupt:
        click.echo("Stopped.")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="pdmail-demo")
@click.option("--force", is_flag=True, help="Replace an earlier demo in FOLDER.")
@click.option("--today", callback=_parse_today, metavar="YYYY-MM-DD", help="Rehearse this month.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def demo(folder: Path, force: bool, today: date | None, as_json: bool) -> None:
    """Rehearse a whole month in FOLDER with sample teachers and answers, no account needed."""
    from .demo import run_demo

    result = run_demo(
        folder, today=today or date.today(), force=force, log=None if as_json else click.echo
    )
    if as_json:
        click.echo(dumps(result))
        return
    click.echo(
        f"\nThe month is done. Look at:\n  outbox:  {result.outbox}\n  digest:  {result.digest}"
    )
    click.echo(f"  status:  pdmail status --config {result.config} --today {result.last_day}")


@main.command()
@config_option
@click.option(
    "--client-secret",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The OAuth client JSON (default: google.client_secret_file).",
)
@click.option("--no-browser", is_flag=True, help="Print the address instead of opening it.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Local port (0: any).")
@click.option("--forms", is_flag=True, help="Also allow reading the form (for form-fields).")
@click.option(
    "--microsoft",
    is_flag=True,
    help="Sign in to Microsoft 365 instead (a device code to type on any device).",
)
@click.option(
    "--browser", is_flag=True, help="With --microsoft: sign in in this machine's browser."
)
def auth(
    config_path: Path | None,
    client_secret: Path | None,
    no_browser: bool,
    port: int,
    forms: bool,
    microsoft: bool,
    browser: bool,
) -> None:
    """Authorize pdmail with Google once (Sheets and/or Gmail, as the config needs), or
    with --microsoft sign in to Microsoft 365 once (Graph mail, SMTP with OAuth, the Form's
    workbook); later runs, cron included, refresh the sign-in silently."""
    from ..backends.google.auth import authorize, read_token, scopes_for
    from ..config.load import load_config

    config = load_config(config_path)
    if browser and not microsoft:
        raise UsageError("--browser goes with --microsoft (Google's sign-in opens a browser)")
    if microsoft:
        from ..backends.microsoft import api as ms
        from ..backends.microsoft.auth import sign_in

        path, who, granted = sign_in(
            config, ms.scopes_for(config), browser=browser, echo=click.echo
        )
        click.echo(f"Microsoft granted: {', '.join(granted) or '(not said)'}")
        if path is None:
            click.echo(
                f"The app {config.microsoft.client_id} acts for {who} with its own permissions; "
                "nothing was saved. Next: pdmail doctor"
            )
        else:
            click.echo(
                f"Signed in as {who or 'the account'}; saved the sign-in to {path} (readable "
                "by you only). Next: pdmail doctor"
            )
        return
    from ..backends.microsoft.api import uses_microsoft

    if not scopes_for(config) and uses_microsoft(config):
        raise UsageError(
            "this config signs in to Microsoft 365, not Google",
            hint="run 'pdmail auth --microsoft' (a device code to type on any device; add "
            "--browser to sign in in this machine's browser)",
        )
    if config.google.service_account_file is not None:
        click.echo(
            "This config uses a service account (google.service_account_file); it needs no "
            "'pdmail auth'. Run 'pdmail doctor' to check it."
        )
        return
    secret = client_secret or config.google.client_secret_file
    if secret is None:
        raise UsageError(
            "no OAuth client: pass --client-secret or set google.client_secret_file",
            hint="create an OAuth client of type 'Desktop app' in the Google Cloud console",
        )
    if no_browser:
        click.echo(
            "On a machine without a browser: forward the port first, e.g. "
            "ssh -L PORT:localhost:PORT this-machine, then open the address below."
        )
    path = authorize(config, secret, forms=forms, open_browser=not no_browser, port=port)
    granted = read_token(path).get("scopes") or scopes_for(config, forms=forms)
    click.echo(f"Google granted: {', '.join(granted)}")
    click.echo(f"Saved the token to {path} (readable by you only). Next: pdmail doctor")


@main.command()
@config_option
@click.option("--no-connect", is_flag=True, help="Do not open the mail server connection.")
@click.option(
    "--send-test",
    is_flag=True,
    help="Send yourself one test message through the configured mailer (not recorded).",
)
@click.option("--today", callback=_parse_today, metavar="YYYY-MM-DD", help="Act as if today.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def doctor(
    config_path: Path | None, no_connect: bool, send_test: bool, today: date | None, as_json: bool
) -> None:
    """Check the config, credentials, sheet, templates and mail, and say how to fix them.

    Only --send-test reaches Gmail or proves an SMTP server takes mail: without it, doctor
    says what it did not check.
    """
    from ..doctor import FAIL, diagnose, summary

    if send_test and no_connect:
        raise UsageError("--send-test needs the mail connection: leave out --no-connect")
    checks = diagnose(config_path, today=today, connect=not no_connect, send_test=send_test)
    if as_json:
        click.echo(dumps(summary(checks)))
    else:
        marks = {"ok": ("ok  ", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "red"),
                 "skip": ("skip", None)}  # fmt: skip
        for c in checks:
            mark, colour = marks[c.status]
            click.secho(f"[{mark}] {c.name}: {c.detail}", fg=colour)
            if c.fix and c.status != "ok":
                click.echo(f"       fix: {c.fix}")
            elif c.fix:
                click.echo(f"       note: {c.fix}")
    _finish(all(c.status != FAIL for c in checks))


@main.command("form-fields")
@config_option
@click.argument("form", required=True)
def form_fields(config_path: Path | None, form: str) -> None:
    """Read FORM's questions (its id or edit address) and print the form: block to paste."""
    from ..backends.google.auth import FORMS_SCOPE, load_credentials
    from ..config.load import load_config
    from ..sources.forms import config_block, fetch_form, form_id_from

    config = load_config(config_path)
    info = fetch_form(config, load_credentials(config, [FORMS_SCOPE]), form_id_from(form))
    title = " ".join(info.title.split())  # a comment line: a line break must not end it
    click.echo(f"# {title}: {count(len(info.questions), 'question')}. Paste into pdmail.yaml and")
    click.echo("# check each guessed role; the comments name each question.")
    if info.linked_sheet_id:
        click.echo(f"# Responses go to spreadsheet {info.linked_sheet_id} (google.spreadsheet_id)")
    else:
        click.echo(
            "# The form is not linked to a sheet yet: in the form, Responses > Link to Sheets"
        )
    click.echo(config_block(info), nl=False)


@main.group()
def needs() -> None:
    """List the needs that carry over, and mark them scheduled or done."""


@needs.command("list")
@config_option
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
    callback=_parse_today,
    metavar="YYYY-MM-DD",
    help="Act as if today were this date (the day a correction or edit is dated).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def needs_list(
    config_path: Path | None,
    statuses: tuple[str, ...],
    show_all: bool,
    today: date | None,
    as_json: bool,
) -> None:
    """Show the needs, oldest open ones first, with their ids."""
    from .needs_cli import list_needs

    with workspace(config_path, today) as ws:
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
    callback=_parse_today,
    metavar="YYYY-MM-DD",
    help="Act as if today were this date (the day a correction or edit is dated).",
)
def needs_set(
    config_path: Path | None,
    ids: tuple[str, ...],
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

    with workspace(config_path, today) as ws:
        changed, where = set_needs(ws, ids, status, note, topics=topics, kinds=kinds,
                                   forget=forget)  # fmt: skip
        n = len(changed)
        if topics is None and kinds is None and not forget and status is not None:
            did = f"{count(n, 'need')} {plural(n, 'is', 'are')} now {status}" if n else (
                f"No need changed (already {status})")  # fmt: skip
        else:
            did = f"{count(n, 'need')} changed" if n else "No need changed (already so)"
        click.echo(f"{did}; the needs table is updated ({where}).")
