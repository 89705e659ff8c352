"""Whether the responses can hold a cycle's answers at all.

A missing export, or one saved before the cycle's requests went out, reads exactly like "nobody
answered": every teacher would be reminded, and the digest would list them all as
non-responders. So the steps that act on who has not answered check first, and refuse with a
clear message rather than do the wrong thing quietly.

Times are absolute instants: the export's modification time (the moment it was downloaded or
saved, whatever the machine's time zone) against the moment the ledger recorded the cycle's
first sent request (on the workspace clock, which ``--today`` sets). A rehearsal with
``--today`` in the future therefore needs an export saved "after" its rehearsed requests, as
``pdmail demo`` writes it. Before any request was sent there is nothing to check: the first
month has no export yet, and requests never need one.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from ..backends.base import SavedExport, TableSource
from ..config.records import Config
from ..cycles import Cycle
from ..errors import InputError
from ..models import State
from ..state.ledger import Ledger
from .messages import REQUEST

if TYPE_CHECKING:
    from ..workspace import Workspace


def requests_went_out(config: Config, ledger: Ledger, cycle: Cycle) -> datetime | None:
    """When the first request of ``cycle`` that was sent was handed over, or None when no
    request of it was sent."""
    return ledger.first_created(config.campaign, REQUEST, cycle=cycle.name, state=State.SENT)


def _where(cfg: Config, source: TableSource) -> tuple[str, str]:
    """How to name the responses source in a message, and how to fix it."""
    if isinstance(source, SavedExport) and cfg.sources.responses is not None:
        return str(cfg.sources.responses), (
            "download a fresh export from the Form (Responses > Download responses (.csv)) and "
            f"save it as {cfg.sources.responses}, or set sources.responses in {cfg.path.name} "
            "to where the export is"
        )
    from ..backends.registry import source_backend

    place = source_backend(cfg.sources.kind).responses_place(cfg)
    return place or ("the responses source", "check that the responses can be read")


def answers_problem(
    config: Config, ledger: Ledger, source: TableSource, cycle: Cycle
) -> InputError | None:
    """Why the responses in ``source`` cannot tell who answered ``cycle`` (an error to raise
    or report), or None when they can: the source is missing, or an export was saved before
    the cycle's first request went out (as ``ledger`` recorded it). An unreadable source
    raises its own :class:`InputError`."""
    since = requests_went_out(config, ledger, cycle)
    if since is None:
        return None
    tz = config.timezone
    where, fix = _where(config, source)
    sent = f"the {cycle.name} requests went out on {since.astimezone(tz):%Y-%m-%d at %H:%M}"
    if isinstance(source, SavedExport):
        saved = source.responses_saved()
        if saved is None:
            return InputError(f"{where}: the responses export is not there, but {sent}", hint=fix)
        if saved < since:
            # The file's time is the machine's real clock; the ledger's is the workspace's.
            # Requests recorded after the real now were sent in a --today rehearsal.
            if since > datetime.now(timezone.utc):
                after = (since + timedelta(minutes=1)).astimezone(tz)
                fix += (
                    "; rehearsing with --today, give the export a time after the rehearsed "
                    f"requests: touch -d '{after.isoformat(timespec='minutes')}' "
                    f"{config.sources.responses}"
                )
            return InputError(
                f"{where}: saved {saved.astimezone(tz):%Y-%m-%d at %H:%M} (the file's "
                f"modification time), before {sent}, so it cannot hold any answer to them",
                hint=fix,
            )
        return None
    if source.read_responses() is None:
        return InputError(f"{where}: no responses there (not even a header), but {sent}", hint=fix)
    return None


def require_answers(ws: Workspace, cycle: Cycle, refused: str) -> None:
    """:func:`ensure_answers` with the workspace's config, ledger and responses source."""
    ensure_answers(ws.config, ws.ledger, ws.source, cycle, refused)


def ensure_answers(
    config: Config, ledger: Ledger, source: TableSource, cycle: Cycle, refused: str
) -> None:
    """Raise :class:`InputError` (see :func:`answers_problem`), saying ``refused`` (what was
    not done, e.g. ``"no reminder was sent"``) so the reader knows nothing happened."""
    problem = answers_problem(config, ledger, source, cycle)
    if problem is not None:
        raise InputError(
            f"{problem.message}; pdmail cannot tell who answered, so {refused}",
            hint=problem.hint,
        )
