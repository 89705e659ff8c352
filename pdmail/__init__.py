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

__version__ = "0.1.0"

from .config import Config, load_config
from .cycles import Cycle
from .cycles import cycle as cycle_named
from .cycles import resolve as resolve_cycle
from .delivery import DeliveryReport, Outcome
from .digest import Digest, Need, build_digest
from .errors import (
    BackendError,
    ConfigError,
    DeliveryError,
    InputError,
    PdmailError,
    TemplateError,
)
from .freshness import require_answers
from .ledger import Ledger
from .models import LedgerEntry, MessageKey, Problem, Response, SendResult, State, Table, Teacher
from .opening import resolve as opened_cycle
from .preview import Preview, preview_messages
from .publish import compile_digest, render_digest, send_digest, write_digest
from .responses import Collection
from .roster import Roster, parse_roster
from .status import CycleStatus, cycle_status
from .steps import send_reminders, send_requests
from .tick import TickReport, tick
from .workspace import Workspace

__all__ = [
    "BackendError",
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
    "SendResult",
    "State",
    "Table",
    "Teacher",
    "TemplateError",
    "TickReport",
    "Workspace",
    "__version__",
    "build_digest",
    "compile_digest",
    "cycle_named",
    "cycle_status",
    "load_config",
    "opened_cycle",
    "parse_roster",
    "preview_messages",
    "render_digest",
    "require_answers",
    "resolve_cycle",
    "send_digest",
    "send_reminders",
    "send_requests",
    "tick",
    "write_digest",
]
