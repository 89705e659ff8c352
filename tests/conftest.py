"""Shared fixtures: a real working folder (config, roster, responses) in ``tmp_path``.

Everything is real: files on disk, the SQLite ledger, the outbox mailer writing ``.eml``
files. Tests change the files to set up a case and read the outbox and ledger to check it.
"""

from __future__ import annotations

import csv
import email
import email.policy
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from pdmail.cli.commands import main
from pdmail.config.load import load_config
from pdmail.config.records import Config
from pdmail.models import LedgerEntry
from pdmail.state.ledger import Ledger
from pdmail.workspace import Workspace

# Every server a test talks to is on this machine: a proxy set for the machine (HTTPS_PROXY in a
# CI runner) must not carry the loopback calls of requests, gspread, googleapiclient or MSAL.
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
for _name in ("NO_PROXY", "no_proxy"):
    _kept = [h for h in os.environ.get(_name, "").split(",") if h.strip()]
    os.environ[_name] = ",".join([*_kept, *(h for h in _LOOPBACK if h not in _kept)])

ROSTER_HEADER = ["Email", "First Name", "Last Name", "Team", "Active"]
ROSTER_ROWS = [
    ["ann@school.example.org", "Ann", "Lee", "Grade 6", "yes"],
    ["raj@school.example.org", "Raj", "Patel", "Grade 6", "yes"],
    ["maria@school.example.org", "María", "Gómez", "Grade 7", "yes"],
    ["sam@school.example.org", "Sam", "Haddad", "Related Arts", ""],
    ["old@school.example.org", "Old", "Timer", "Grade 7", "no"],
]
# The roster's teachers by address, named once for every test (Sam has no Active cell, so is
# active; Old is not).
ANN, RAJ, MARIA, SAM, OLD = (row[0] for row in ROSTER_ROWS)
RESPONSE_HEADER = [
    "Timestamp",
    "Email Address",
    "What units of study are coming up?",
    "How can the library help?",
    "Preferred format",
]

BASE_CONFIG: dict[str, Any] = {
    "school": "Test School",
    "timezone": "America/Chicago",
    "librarian": {"name": "Lib Rarian", "email": "librarian@school.example.org"},
    "sources": {"kind": "local", "roster": "roster.csv", "responses": "responses.csv"},
    "mail": {"kind": "outbox", "outbox": "outbox"},
    "form": {
        "url": "https://docs.google.com/forms/d/e/FORMID/viewform",
        "prefill": {"email": "entry.111", "first_name": "entry.222", "cycle": "entry.333"},
        "columns": {
            "timestamp": "Timestamp",
            "email": "Email Address",
            "units": "What units of study are coming up?",
            "help": "How can the library help?",
            "format": "Preferred format",
        },
        # The fixtures write dates as a US Google Sheet does (12/3/2026 is 3 December).
        "date_order": "month-first",
    },
    # December 2026: the 1st is a Tuesday. Send Tue 1, reminders Mon 7 (1+4 = Sat 5 moved to
    # Mon 7) and Wed 9, due Tue 8, digest Fri 11.
    "calendar": {
        "send_day": 1,
        "due_after_days": 7,
        "reminders_after_days": [4, 8],
        "digest_after_days": 10,
        "skip": ["2026-12-21..2027-01-01"],
    },
    "state": ".pdmail",
}


# The tests play 2026-2027 on injected clocks, whatever the real date. pdmail refuses an export
# saved before a cycle's requests went out (it cannot hold their answers), so an export a test
# writes counts as downloaded after every request the tests send, unless the test says when.
FRESH = datetime(2030, 1, 1, tzinfo=timezone.utc)


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class Project:
    """A working folder on disk, with helpers to change it and to read what pdmail did."""

    folder: Path

    @property
    def config_path(self) -> Path:
        return self.folder / "pdmail.yaml"

    @property
    def outbox(self) -> Path:
        return self.folder / "outbox"

    @property
    def responses_path(self) -> Path:
        return self.folder / "responses.csv"

    def write_config(self, extra: dict[str, Any] | None = None) -> Path:
        data = deep_merge(BASE_CONFIG, extra or {})
        self.config_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return self.config_path

    def write_roster(self, rows: Iterable[Sequence[str]] = ROSTER_ROWS,
                     header: Sequence[str] = ROSTER_HEADER) -> None:  # fmt: skip
        write_csv(self.folder / "roster.csv", header, rows)

    def write_responses(
        self,
        rows: Iterable[Sequence[str]],
        header: Sequence[str] = RESPONSE_HEADER,
        *,
        saved: datetime | None = None,
    ) -> None:
        """Write the export, its modification time ``saved`` (default :data:`FRESH`)."""
        write_csv(self.responses_path, header, rows)
        stamp = (saved or FRESH).timestamp()
        os.utime(self.responses_path, (stamp, stamp))

    def config(self) -> Config:
        return load_config(self.config_path)

    def workspace(self, day: date, at: time = time(7, 30)) -> Workspace:
        """A workspace whose clock reads ``day`` at ``at``, school time."""
        config = self.config()
        return Workspace(config, clock=lambda: datetime.combine(day, at, config.timezone))

    def sent(self) -> list[EmailMessage]:
        """Every message in the outbox, parsed, sorted by file name."""
        return [read_eml(p) for p in sorted(self.outbox.rglob("*.eml"))]

    def sent_to(self, kind: str) -> list[str]:
        """The recipients of the outbox messages of ``kind`` (request, reminder-1, digest)."""
        out = []
        for p in sorted(self.outbox.rglob(f"{kind}-*.eml")):
            out.append(str(read_eml(p)["To"].addresses[0].addr_spec))
        return out


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def read_eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def answer(email_addr: str, when: str, units: str = "Unit", help_text: str = "Help with "
           "citations", fmt: str = "Small group") -> list[str]:  # fmt: skip
    """One response row; ``when`` as the Sheets export writes it, e.g. ``12/3/2026 8:14:22``."""
    return [when, email_addr, units, help_text, fmt]


def need_of(email: str, cycle: str = "2026-12", campaign: str = "monthly-update") -> str:
    """The id of ``email``'s need in ``cycle`` (as the digest and needs table show it)."""
    from pdmail.digest.build import need_id

    return need_id(campaign, cycle, email)


def needs_csv(project: Project) -> dict[str, dict[str, str]]:
    """needs.csv as the librarian sees it: each row by its need id, in the file's order."""
    with (project.folder / "needs.csv").open(encoding="utf-8-sig", newline="") as f:
        return {r["Need id"]: r for r in csv.DictReader(f)}


def edit_needs_csv(project: Project, changes: dict[str, dict[str, str]]) -> None:
    """Change cells of needs.csv as the librarian would (``{need id: {column: value}}``)."""
    from pdmail.state.needs import HEADER

    rows = list(needs_csv(project).values())
    for row in rows:
        row.update(changes.get(row["Need id"], {}))
    with (project.folder / "needs.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)


def run_cli(project: Project, *args: str, today: str | None = None) -> Result:
    """Run ``pdmail ARGS --config <project> [--today TODAY]``; never lets a traceback by."""
    argv = [*args, "--config", str(project.config_path)]
    if today is not None:
        argv += ["--today", today]
    result = CliRunner().invoke(main, argv)
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pdmail raised {result.exception!r}\n{result.output}")
    return result


def ledger_entries(project: Project, campaign: str = "monthly-update") -> list[LedgerEntry]:
    """Every ledger entry of ``campaign`` in the project (none if there is no ledger yet)."""
    path = project.folder / ".pdmail" / "ledger.sqlite3"
    if not path.exists():
        return []
    with Ledger(path) as ledger:
        return ledger.entries(campaign)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A ready folder: config, the five-teacher roster, no responses yet."""
    p = Project(tmp_path)
    p.write_config()
    p.write_roster()
    return p


# -- a request run killed midway ---------------------------------------------------------------

_KILLED_AFTER_SECOND = """
import os
import sys
from datetime import datetime

from pdmail import cycles
from pdmail.backends.outbox import OutboxMailer
from pdmail.config.campaigns import for_campaign
from pdmail.config.load import load_config
from pdmail.cycle.steps import send_requests
from pdmail.workspace import Workspace

config_path, campaign, mailer_name = sys.argv[1:4]
config = load_config(config_path)
if campaign:
    config = for_campaign(config, campaign)


class DiesAfterSecond:
    name = mailer_name

    def __init__(self, inner):
        self.inner = inner
        self.handed = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def send(self, message, *, thread_id=None):
        result = self.inner.send(message, thread_id=thread_id)
        self.handed += 1
        if self.handed == 2:
            os._exit(9)  # killed: the message is out, its ledger row still pending
        return result


ws = Workspace(
    config,
    mailer_factory=lambda cfg: DiesAfterSecond(OutboxMailer(cfg.mail.outbox)),
    clock=lambda: datetime(2026, 12, 1, 7, 30, tzinfo=config.timezone),
)
send_requests(ws, cycles.cycle(config, "2026-12"))
sys.exit(0)
"""


def send_killed_after_second(
    project: Project, tmp_path: Path, *, campaign: str = "", mailer: str = "dies-after-second"
) -> None:
    """December's requests of ``campaign`` (default: the top-level one) sent by a process that
    dies right after handing over the second message, its ledger row still pending."""
    import subprocess
    import sys

    import pdmail

    script = tmp_path / "child.py"
    script.write_text(_KILLED_AFTER_SECOND, encoding="utf-8")
    root = str(Path(pdmail.__file__).resolve().parent.parent)
    proc = subprocess.run(
        [sys.executable, str(script), str(project.config_path), campaign, mailer],
        env={**os.environ, "PYTHONPATH": root},
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 9, proc.stderr
