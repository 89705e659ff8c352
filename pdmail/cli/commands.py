"""The ``pdmail`` command: thin click commands over the library.

Each command parses its options, builds a :class:`~pdmail.workspace.Workspace`, calls one
library function and prints the result (or ``--json``). Errors are shown in one place,
:class:`PdmailGroup`, as a clean message and exit code; ``--debug`` shows the traceback.

The commands are plain functions in :mod:`~pdmail.cli.cycle_commands`,
:mod:`~pdmail.cli.setup_commands` and :mod:`~pdmail.cli.needs_commands`, attached here.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import PdmailError

# Each command's module, function and summary (the first paragraph of its help). The modules are
# imported only when their command runs or shows its own help, so 'pdmail --help' lists every
# command from here without building them (click's lazily loaded subcommands); a test holds
# each summary to its command's help.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "auth": (
        "setup_commands",
        "auth",
        "Authorize pdmail with Google once (Sheets and/or Gmail, as the config needs), or with "
        "--microsoft sign in to Microsoft 365 once (Graph mail, SMTP with OAuth, the Form's "
        "workbook); later runs, cron included, refresh the sign-in silently.",
    ),
    "collect": (
        "cycle_commands",
        "collect",
        "Read the responses and show who answered, who has not, and unknown senders.",
    ),
    "demo": (
        "setup_commands",
        "demo",
        "Rehearse a whole month in FOLDER with sample teachers and answers, no account needed "
        "(with --campaign pd-survey: the PD preferences survey, its digest counting the answers).",
    ),
    "digest": (
        "cycle_commands",
        "digest",
        "Compile the digest to digest.html and digest.md; with --send, mail it to the librarian.",
    ),
    "doctor": (
        "setup_commands",
        "doctor",
        "Check the config, credentials, sheet, templates and mail, and say how to fix them.",
    ),
    "form-fields": (
        "setup_commands",
        "form_fields",
        "Read FORM's questions (its id or edit address) and print the form: block to paste.",
    ),
    "init": (
        "setup_commands",
        "init",
        "Set up FOLDER (default: here) with pdmail.yaml, a sample roster.csv and templates.",
    ),
    "journal": (
        "report_commands",
        "journal",
        "Keep dated reflections; the year's report shows each beside its month.",
    ),
    "needs": (
        "needs_commands",
        "needs",
        "List the needs that carry over, and mark them scheduled or done.",
    ),
    "preview": (
        "cycle_commands",
        "preview",
        "Render the request (or reminder) for one or more teachers without sending anything.",
    ),
    "remind": (
        "cycle_commands",
        "remind",
        "Send the reminder due today to teachers who have not answered, in the request's thread.",
    ),
    "report": (
        "report_commands",
        "report",
        "Compile the school year's PD report: requests and answers by month, needs received and "
        "done, sessions by format and topic, teachers and teams reached, units of study "
        "supported, the survey and the journal.",
    ),
    "resolve": (
        "cycle_commands",
        "resolve",
        "Settle messages whose outcome is unknown, once you have looked for them.",
    ),
    "run": (
        "cycle_commands",
        "run",
        "Do whatever is due today (requests, reminders, digest) in every campaign.",
    ),
    "schedule": (
        "cycle_commands",
        "schedule",
        "Keep running, and do 'pdmail run' once a day at the configured time (Ctrl-C stops).",
    ),
    "send": (
        "cycle_commands",
        "send",
        "Send this cycle's request to every active teacher who has not had one.",
    ),
    "status": (
        "cycle_commands",
        "status",
        "Show the cycle: counts, a per-teacher table, and messages that need attention.",
    ),
}


class PdmailGroup(click.Group):
    """Shows a :class:`PdmailError` as ``Error: ...`` with its hint and exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            module, name, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"{__package__}.{module}"), name)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, from the summaries above for commands not yet imported."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.commands or name not in COMMANDS:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                # Shortened exactly as click shortens a command's own help.
                summary = click.Command(name, help=COMMANDS[name][2])
                rows.append((name, summary.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
    _tune_gc()


_gc_tuned = False


def _tune_gc() -> None:
    """Collect cyclic garbage less often in the command's process (once per process).

    A digest makes millions of small, mostly acyclic objects (rows, cells, needs); the
    collector's default of a pass every 700 allocations spends a tenth of a large digest
    walking them. The modules loaded so far live as long as the process, so they are moved out
    of the collector's sight (``gc.freeze``), as long-running Python tools do. Only the command
    line does this: a script importing pdmail keeps its own settings.
    """
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
