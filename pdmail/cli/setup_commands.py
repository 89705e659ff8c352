"""The commands that set pdmail up and check it: init, demo, auth, doctor and form-fields."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import UsageError
from ..wording import count
from .common import config_option, finish, parse_today
from .jsonout import dumps

if TYPE_CHECKING:
    # The library is imported by the command that uses it, so that 'pdmail --help' starts
    # as fast as click itself.
    pass


@click.command()
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


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="pdmail-demo")
@click.option("--force", is_flag=True, help="Replace an earlier demo in FOLDER.")
@click.option("--today", callback=parse_today, metavar="YYYY-MM-DD", help="Rehearse this month.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--campaign",
    type=click.Choice(["monthly-update", "pd-survey"]),
    default="monthly-update",
    show_default=True,
    help="Rehearse the monthly update, or the PD preferences survey.",
)
def demo(folder: Path, force: bool, today: date | None, as_json: bool, campaign: str) -> None:
    """Rehearse a whole month in FOLDER with sample teachers and answers, no account needed
    (with --campaign pd-survey: the PD preferences survey, its digest counting the answers)."""
    from .demo import run_demo, run_survey_demo

    rehearse = run_survey_demo if campaign == "pd-survey" else run_demo
    result = rehearse(
        folder, today=today or date.today(), force=force, log=None if as_json else click.echo
    )
    if as_json:
        click.echo(dumps(result))
        return
    click.echo(
        f"\nThe month is done. Look at:\n  outbox:  {result.outbox}\n  digest:  {result.digest}"
    )
    also = f" --campaign {campaign}" if campaign != "monthly-update" else ""
    click.echo(f"  status:  pdmail status --config {result.config}{also} --today {result.last_day}")


@click.command()
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


@click.command()
@config_option
@click.option("--no-connect", is_flag=True, help="Do not open the mail server connection.")
@click.option(
    "--send-test",
    is_flag=True,
    help="Send yourself one test message through the configured mailer (not recorded).",
)
@click.option("--today", callback=parse_today, metavar="YYYY-MM-DD", help="Act as if today.")
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
    finish(all(c.status != FAIL for c in checks))


@click.command("form-fields")
@config_option
@click.argument("form", required=True)
def form_fields(config_path: Path | None, form: str) -> None:
    """Read FORM's questions (its id or edit address) and print the form: block to paste."""
    from ..backends.google.auth import FORMS_SCOPE, load_credentials
    from ..backends.google.forms import config_block, fetch_form, form_id_from
    from ..config.load import load_config

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
