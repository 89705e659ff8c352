"""The ``pdmail`` command: thin click commands over the library.

Each command parses its options, builds a :class:`~pdmail.workspace.Workspace`, calls one
library function and prints the result (or ``--json``). Errors are shown in one place,
:class:`PdmailGroup`, as a clean message and exit code; ``--debug`` shows the traceback.

The commands are plain functions in :mod:`~pdmail.cli.cycle_commands`,
:mod:`~pdmail.cli.setup_commands` and :mod:`~pdmail.cli.needs_commands`, attached here.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import PdmailError
from .cycle_commands import collect, digest, preview, remind, resolve, run, schedule, send, status
from .needs_commands import needs
from .report_commands import journal, report
from .setup_commands import auth, demo, doctor, form_fields, init


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


for command in (
    auth,
    collect,
    demo,
    digest,
    doctor,
    form_fields,
    init,
    journal,
    needs,
    preview,
    remind,
    report,
    resolve,
    run,
    schedule,
    send,
    status,
):
    main.add_command(command)
