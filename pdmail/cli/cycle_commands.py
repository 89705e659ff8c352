"""The commands of a cycle: preview, send, collect, remind, digest, status, resolve, run and
schedule."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import PdmailError, UsageError
from ..wording import count, local_time, one_line, plural, printable
from .common import (
    campaign_option,
    config_option,
    cycle_of,
    cycle_options,
    echo_problems,
    echo_report,
    fail_with,
    finish,
    parse_today,
    progressbar,
    send_options,
    show_unsettled,
    today_of,
    workspace,
)
from .jsonout import dumps

if TYPE_CHECKING:
    # The library is imported by the command that uses it, so that 'pdmail --help' starts
    # as fast as click itself.
    from ..cycle.publish import PublishOptions
    from ..cycles import Cycle
    from ..workspace import Workspace


@click.command()
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
    campaign: str | None,
    teachers: tuple[str, ...],
    kind: str,
    show_html: bool,
) -> None:
    """Render the request (or reminder) for one or more teachers without sending anything.

    After the cycle's due date, the request is shown as 'send --late' (or the daily run) would
    send it today: with a due date counted from today.
    """
    from ..cycle.opening import for_sending
    from ..cycle.preview import preview_messages

    with workspace(config_path, today, campaign) as ws:
        cycle = cycle_of(ws, cycle_name)
        if kind == "request":
            cycle = for_sending(ws.config, ws.ledger, cycle, today_of(ws), late=True)
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


@click.command()
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
    campaign: str | None,
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
    from ..cycle.delivery import Courier, count_due
    from ..cycle.opening import first_request_day, for_sending
    from ..cycle.steps import hand_over_requests, plan_requests

    with workspace(config_path, today, campaign) as ws:
        cycle = cycle_of(ws, cycle_name)
        opens_late = first_request_day(ws.config, ws.ledger, cycle.name) is None
        cycle = for_sending(ws.config, ws.ledger, cycle, today_of(ws), late=late)
        # The bar's length from the ledger alone: nothing is rendered to count it. The plan
        # that counted is the one handed over (send_requests, planned once).
        plan = plan_requests(ws, cycle, only)
        todo = count_due(ws, plan.items, limit=limit, resend=resend)
        with progressbar(todo, "Sending", as_json or dry_run) as step:
            report = hand_over_requests(
                Courier.of(ws),
                cycle,
                plan,
                dry_run=dry_run,
                limit=limit,
                resend=resend,
                progress=step,
            )
        if as_json:
            click.echo(dumps(report))
        else:
            echo_report(report, "request", ws.config.timezone)
            if cycle.late:
                _echo_late(cycle, opens_late and not dry_run and report.count("sent") > 0)
        echo_problems(ws)
        unknown = show_unsettled(ws, [report], quiet=as_json)
        finish(report.ok and not unknown)


def _echo_late(cycle: Cycle, opened: bool) -> None:
    from ..cycle.messages import long_date
    from ..cycle.opening import describe_late

    if opened:
        click.echo(f"  {describe_late(cycle)}")
    else:
        click.echo(f"  These requests ask for an answer by {long_date(cycle.due)} ({cycle.due}).")


@click.command()
@cycle_options
def collect(
    config_path: Path | None,
    cycle_name: str | None,
    today: date | None,
    as_json: bool,
    campaign: str | None,
) -> None:
    """Read the responses and show who answered, who has not, and unknown senders.

    Once the cycle's requests went out, a missing export, or one saved before they went out,
    is an error (exit 3): it would show every teacher as not having answered.
    """
    from ..cycle.freshness import require_answers
    from ..cycle.status import unmatched, unmatched_line

    with workspace(config_path, today, campaign) as ws:
        cycle = cycle_of(ws, cycle_name)
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
        for u in unmatched(ws.config, c):
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


@click.command()
@cycle_options
@send_options
def remind(
    config_path: Path | None,
    cycle_name: str | None,
    today: date | None,
    as_json: bool,
    campaign: str | None,
    dry_run: bool,
    limit: int | None,
    only: tuple[str, ...],
    resend: bool,
) -> None:
    """Send the reminder due today to teachers who have not answered, in the request's thread."""
    from ..cycle.steps import send_reminders

    with workspace(config_path, today, campaign) as ws:
        cycle = cycle_of(ws, cycle_name)
        report = send_reminders(
            ws, cycle, today_of(ws), dry_run=dry_run, limit=limit, only=only, resend=resend
        )
        if as_json:
            click.echo(dumps(report))
        else:
            echo_report(report, "reminder", ws.config.timezone)
        echo_problems(ws)
        unknown = show_unsettled(ws, [report], quiet=as_json)
        finish(report.ok and not unknown)


@click.command()
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
    campaign: str | None,
    out: Path | None,
    send_it: bool,
    dry_run: bool,
    resend: bool,
) -> None:
    """Compile the digest to digest.html and digest.md; with --send, mail it to the librarian.

    A survey campaign's digest counts its answers instead (survey.html and survey.txt).
    """
    from ..cycle.publish import PublishOptions, publish_digest

    options = PublishOptions(out=out, send=send_it, dry_run=dry_run, resend=resend)
    with workspace(config_path, today, campaign) as ws:
        cycle = cycle_of(ws, cycle_name)
        if ws.config.active_campaign.kind == "survey":
            _survey_digest(ws, cycle, options, as_json)
            return
        done = publish_digest(ws, cycle, options)
        report = done.mail
        if as_json:
            click.echo(dumps({"digest": done.rendered.digest, "files": done.files,
                              "mail": report, "errors": done.errors}))  # fmt: skip
        else:
            click.echo(f"{done.rendered.subject}")
            for p in done.files:
                click.echo(f"  wrote {p}")
            if report is not None:
                echo_report(report, "digest", ws.config.timezone)
        fail_with(done.errors)
        finish(report is None or report.ok)


def _survey_digest(ws: Workspace, cycle: Cycle, options: PublishOptions, as_json: bool) -> None:
    from ..cycle.survey_digest import publish_survey

    done = publish_survey(ws, cycle, options)
    report = done.mail
    if as_json:
        click.echo(dumps({"survey": done.results, "files": done.files, "mail": report,
                          "errors": done.errors}))  # fmt: skip
    else:
        click.echo(printable(done.text))
        for p in done.files:
            click.echo(f"  wrote {p}")
        if report is not None:
            echo_report(report, "digest", ws.config.timezone)
    fail_with(done.errors)
    finish(report is None or report.ok)


@click.command()
@cycle_options
def status(
    config_path: Path | None,
    cycle_name: str | None,
    today: date | None,
    as_json: bool,
    campaign: str | None,
) -> None:
    """Show the cycle: counts, a per-teacher table, and messages that need attention."""
    from ..cycle.freshness import answers_problem
    from ..cycle.opening import describe_late
    from ..cycle.status import cycle_status, status_lines

    with workspace(config_path, today, campaign) as ws:
        st = cycle_status(ws, cycle_of(ws, cycle_name))
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
            stale = answers_problem(ws.config, ws.ledger, ws.source, st.cycle)
            if stale is not None:
                click.secho(
                    f"Warning: {stale.message}; the answers shown cannot be trusted",
                    fg="yellow",
                    err=True,
                )
                click.echo(f"Hint: {stale.hint}", err=True)
        # A message whose outcome is unknown needs the librarian, whatever cycle it is in.
        finish(not show_unsettled(ws, quiet=as_json))


@click.command()
@config_option
@campaign_option
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
    callback=parse_today,
    metavar="YYYY-MM-DD",
    help="Act as if today were this date (for the default cycle).",
)
@click.argument("emails", nargs=-1, required=True, metavar="EMAIL...")
def resolve(
    config_path: Path | None, campaign: str | None, cycle_name: str | None, kind: str,
    sent: bool | None, today: date | None, emails: tuple[str, ...],
) -> None:  # fmt: skip
    """Settle messages whose outcome is unknown, once you have looked for them."""
    from ..cycle.delivery import resolve as settle
    from ..models import MessageKey
    from ..models import message_kind as parse_kind
    from ..sources.roster import normalize_email

    if sent is None:
        raise UsageError(
            "say what you found: --sent (the message arrived) or --not-sent (it did not)"
        )
    try:
        message_kind = parse_kind(kind)
    except ValueError as exc:
        raise UsageError(f"--kind: {exc}", hint="pdmail status lists each message's kind") from None
    with workspace(config_path, today, campaign) as ws:
        cycle = cycle_of(ws, cycle_name)
        keys = [MessageKey(ws.config.campaign, cycle.name, normalize_email(e), message_kind)
                for e in emails]  # fmt: skip
        state = "sent" if sent else "not sent: it goes on the next run"
        for entry in settle(ws, keys, sent=sent):
            click.echo(f"{entry.key.recipient} ({kind}, {cycle.name}): recorded as {state}.")


@click.command()
@config_option
@click.option("--today", callback=parse_today, metavar="YYYY-MM-DD", help="Act as if today.")
@click.option("--dry-run", is_flag=True, help="Show what is due; send and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--campaign",
    "only",
    metavar="NAME",
    help="Only this campaign (default: every campaign of the config, one after the other).",
)
def run(
    config_path: Path | None, today: date | None, dry_run: bool, as_json: bool, only: str | None
) -> None:
    """Do whatever is due today (requests, reminders, digest) in every campaign. For cron,
    once a day.

    A campaign that fails does not stop the others; the exit code is then the first
    failure's.
    """
    from ..config.campaigns import campaign_names, for_campaign
    from ..config.load import load_config
    from ..cycle.tick import tick
    from ..workspace import Workspace, check_audiences, clock_on

    config = load_config(config_path)
    names = [for_campaign(config, only).campaign] if only else campaign_names(config)
    clock = clock_on(today, config.timezone) if today is not None else None
    several = len(names) > 1
    # A campaign's audience names roster columns: one misspelt is a config error that stops
    # the run before any campaign sends, like any other config error.
    check_audiences(config)
    reports: dict[str, object] = {}
    failures: list[PdmailError] = []
    ok = True
    for name in names:
        with Workspace(for_campaign(config, name), clock=clock) as ws:
            try:
                report = tick(ws, today_of(ws), dry_run=dry_run)
            except PdmailError as exc:
                if not several:
                    raise
                # One campaign's trouble (a survey's audience misspelt) must not hold up
                # another's requests: said here, and in the exit code.
                reports[name] = {"error": exc.message, "hint": exc.hint}
                failures.append(exc)
                if not as_json:
                    click.echo(f"pdmail run, {name}: failed before doing anything.")
                continue
            reports[name] = report
            if not as_json:
                title = f"pdmail run for {report.today}" + (f", {name}" if several else "")
                click.echo(f"{title}:")
                if not report.steps:
                    click.echo("  nothing was due.")
                for step_name, step in report.steps:
                    click.echo(f"- {step_name}")
                    echo_report(step, tz=ws.config.timezone)
                for note in report.notes:
                    click.echo(f"  {note}")
                for f in report.files:
                    click.echo(f"  wrote {f}")
            echo_problems(ws)
            unknown = show_unsettled(ws, [step for _, step in report.steps], quiet=as_json)
            failures.extend(report.errors)
            ok = ok and report.ok and not unknown
    if as_json:
        click.echo(dumps(reports[names[0]] if not several else {"campaigns": reports}))
    fail_with(failures)
    finish(ok)


@click.command()
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
