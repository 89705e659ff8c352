"""pdmail: a school librarian's monthly professional-development loop.

Every command of the ``pdmail`` tool is a thin shell over a function here, so a script can run
a cycle step itself::

    from datetime import date
    import pdmail

    with pdmail.Workspace.open("pdmail.yaml") as ws:
        cycle = pdmail.opened_cycle(ws, None, date.today())
        report = pdmail.send_requests(ws, cycle, dry_run=True)
        print(report.count("would-send"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .campaigns.survey import SurveyResults, survey_results
    from .config.campaigns import for_campaign
    from .config.load import load_config
    from .config.records import Campaign, Config
    from .cycle.delivery import DeliveryReport, Outcome
    from .cycle.freshness import require_answers
    from .cycle.opening import resolve as opened_cycle
    from .cycle.preview import Preview, preview_messages
    from .cycle.publish import compile_digest, render_digest, send_digest, write_digest
    from .cycle.status import CycleStatus, cycle_status
    from .cycle.steps import send_reminders, send_requests
    from .cycle.tick import TickReport, tick
    from .cycles import Cycle
    from .cycles import cycle as cycle_named
    from .cycles import resolve as resolve_cycle
    from .digest.build import Digest, Need, build_digest
    from .errors import (
        BackendError,
        ConfigError,
        DeliveryError,
        InputError,
        PdmailError,
        TemplateError,
    )
    from .models import (
        LedgerEntry,
        MessageKey,
        Problem,
        Response,
        SendResult,
        State,
        Table,
        Teacher,
    )
    from .report.build import YearReport
    from .report.gather import compile_report
    from .report.output import make_report
    from .report.year import SchoolYear, parse_year
    from .sources.responses import Collection
    from .sources.roster import Roster, parse_roster
    from .state.ledger import Ledger
    from .workspace import Workspace

# Each name is imported on first use, so that 'pdmail --help' and a script that needs one
# function do not pay for the whole library (Jinja, SQLite, the digest) on start-up.
_LAZY = {
    "BackendError": (".errors", "BackendError"),
    "Campaign": (".config.records", "Campaign"),
    "Collection": (".sources.responses", "Collection"),
    "Config": (".config.load", "Config"),
    "ConfigError": (".errors", "ConfigError"),
    "Cycle": (".cycles", "Cycle"),
    "CycleStatus": (".cycle.status", "CycleStatus"),
    "DeliveryError": (".errors", "DeliveryError"),
    "DeliveryReport": (".cycle.delivery", "DeliveryReport"),
    "Digest": (".digest.build", "Digest"),
    "InputError": (".errors", "InputError"),
    "Ledger": (".state.ledger", "Ledger"),
    "LedgerEntry": (".models", "LedgerEntry"),
    "MessageKey": (".models", "MessageKey"),
    "Need": (".digest.build", "Need"),
    "Outcome": (".cycle.delivery", "Outcome"),
    "PdmailError": (".errors", "PdmailError"),
    "Preview": (".cycle.preview", "Preview"),
    "Problem": (".models", "Problem"),
    "Response": (".models", "Response"),
    "Roster": (".sources.roster", "Roster"),
    "SchoolYear": (".report.year", "SchoolYear"),
    "SendResult": (".models", "SendResult"),
    "State": (".models", "State"),
    "SurveyResults": (".campaigns.survey", "SurveyResults"),
    "Table": (".models", "Table"),
    "Teacher": (".models", "Teacher"),
    "TemplateError": (".errors", "TemplateError"),
    "TickReport": (".cycle.tick", "TickReport"),
    "Workspace": (".workspace", "Workspace"),
    "YearReport": (".report.build", "YearReport"),
    "build_digest": (".digest.build", "build_digest"),
    "compile_digest": (".cycle.publish", "compile_digest"),
    "compile_report": (".report.gather", "compile_report"),
    "cycle_named": (".cycles", "cycle"),
    "cycle_status": (".cycle.status", "cycle_status"),
    "for_campaign": (".config.campaigns", "for_campaign"),
    "load_config": (".config.load", "load_config"),
    "make_report": (".report.output", "make_report"),
    "opened_cycle": (".cycle.opening", "resolve"),
    "parse_roster": (".sources.roster", "parse_roster"),
    "parse_year": (".report.year", "parse_year"),
    "preview_messages": (".cycle.preview", "preview_messages"),
    "render_digest": (".cycle.publish", "render_digest"),
    "require_answers": (".cycle.freshness", "require_answers"),
    "resolve_cycle": (".cycles", "resolve"),
    "send_digest": (".cycle.publish", "send_digest"),
    "send_reminders": (".cycle.steps", "send_reminders"),
    "send_requests": (".cycle.steps", "send_requests"),
    "survey_results": (".campaigns.survey", "survey_results"),
    "tick": (".cycle.tick", "tick"),
    "write_digest": (".cycle.publish", "write_digest"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pdmail' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BackendError",
    "Campaign",
    "Collection",
    "Config",
    "ConfigError",
    "Cycle",
    "CycleStatus",
    "DeliveryError",
    "DeliveryReport",
    "Digest",
    "InputError",
    "Ledger",
    "LedgerEntry",
    "MessageKey",
    "Need",
    "Outcome",
    "PdmailError",
    "Preview",
    "Problem",
    "Response",
    "Roster",
    "SchoolYear",
    "SendResult",
    "State",
    "SurveyResults",
    "Table",
    "Teacher",
    "TemplateError",
    "TickReport",
    "Workspace",
    "YearReport",
    "__version__",
    "build_digest",
    "compile_digest",
    "compile_report",
    "cycle_named",
    "cycle_status",
    "for_campaign",
    "load_config",
    "make_report",
    "opened_cycle",
    "parse_roster",
    "parse_year",
    "preview_messages",
    "render_digest",
    "require_answers",
    "resolve_cycle",
    "send_digest",
    "send_reminders",
    "send_requests",
    "survey_results",
    "tick",
    "write_digest",
]
