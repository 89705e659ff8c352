"""``pdmail doctor``: check a setup end to end and say, in plain words, how to fix it.

Each check reports ok, warn or fail with what it found and, when something is wrong, what to
do. Nothing is sent. Checks that depend on a failed one are skipped, not failed again.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from . import cycles
from .config import Config, load_config
from .errors import PdmailError
from .freshness import answers_problem
from .models import State
from .opening import as_opened
from .wording import count, plural
from .workspace import Workspace

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    status: str
    detail: str
    fix: str = ""


def _attempt(name: str, body: Callable[[], Check]) -> Check:
    try:
        return body()
    except PdmailError as exc:
        return Check(name, FAIL, exc.message, exc.hint or "")


def diagnose(
    config_path: Path | None,
    *,
    today: date | None = None,
    connect: bool = True,
    workspace: Callable[[Config], Workspace] = Workspace,
) -> list[Check]:
    """Run every check for the config at ``config_path``; ``connect`` also opens the mail
    server connection (without sending) to test the login."""
    try:
        config = load_config(config_path)
    except PdmailError as exc:
        return [Check("config", FAIL, exc.message, exc.hint or "")]
    checks = [
        Check(
            "config",
            OK,
            f"{config.path}: {config.school}, campaign {config.campaign}, roster from "
            f"{config.sources.kind}, mail by {config.mail.kind}",
        )
    ]
    google = config.sources.kind == "google" or config.mail.kind == "gmail"
    creds_ok = True
    if google:
        found = _credentials(config)
        checks += found
        creds_ok = all(c.status != FAIL for c in found)
    ws = workspace(config)
    try:
        day = today or ws.now().date()
        if config.sources.kind == "google" and not creds_ok:
            checks.append(Check("roster", SKIP, "needs working Google credentials"))
        else:
            checks += _inputs(ws, day)
        checks.append(_attempt("calendar", lambda: _calendar(config, day)))
        roster_ok = not any(c.name == "roster" and c.status in (FAIL, SKIP) for c in checks)
        if roster_ok:
            checks.append(_attempt("templates", lambda: _templates(ws, day)))
        checks += _mail(ws, connect=connect and (creds_ok or config.mail.kind != "gmail"))
        checks.append(_attempt("ledger", lambda: _ledger(ws)))
    finally:
        ws.close()
    return checks


def _credentials(config: Config) -> list[Check]:
    from .backends.google_auth import (
        authorized_at,
        load_credentials,
        loose_permissions,
        refresh,
        scopes_for,
        token_path,
    )

    out: list[Check] = []
    needed = scopes_for(config)
    for key in ("client_secret_file", "service_account_file"):
        path = getattr(config.google, key)
        if path is not None and path.exists() and loose_permissions(path):
            out.append(
                Check(
                    "credentials",
                    FAIL,
                    loose_permissions(path),
                    "key files must be readable by their owner only",
                )
            )
    key_file = config.google.service_account_file
    if key_file is not None:
        subject = config.google.delegated_user or config.librarian.email

        def service_account() -> Check:
            load_credentials(config, needed)
            return Check(
                "credentials",
                OK,
                f"service account key {key_file.name}, acting as "
                f"{subject} (domain-wide delegation)",
            )

        return [*out, _attempt("credentials", service_account)]
    path = token_path(config)
    if not path.exists():
        return [
            *out,
            Check(
                "credentials",
                FAIL,
                f"no Google authorization at {path}",
                "run 'pdmail auth' once on this machine",
            ),
        ]
    loose = loose_permissions(path)
    if loose:
        out.append(Check("credentials", FAIL, loose, "the token must be readable by you only"))
    try:
        creds = load_credentials(config, needed)
        if getattr(creds, "refresh_token", None):
            refresh(creds, path, config)  # proves the refresh token still works
        else:
            out.append(
                Check(
                    "token",
                    WARN,
                    "the token cannot be refreshed (no refresh token)",
                    "run 'pdmail auth' again",
                )
            )
    except PdmailError as exc:
        return [*out, Check("token", FAIL, exc.message, exc.hint or "")]
    granted = set(json.loads(path.read_text(encoding="utf-8")).get("scopes") or [])
    extra = sorted(granted - set(needed) - {"https://www.googleapis.com/auth/forms.body.readonly"})
    out.append(
        Check(
            "scopes",
            WARN if extra else OK,
            f"granted: {', '.join(sorted(granted)) or 'unknown'}",
            f"more than needed ({', '.join(extra)}): run 'pdmail auth' again to narrow them"
            if extra
            else "",
        )
    )
    when = authorized_at(path)
    if when is None:
        out.append(Check("token", OK, "valid and refreshed"))
    else:
        age = (datetime.now(when.tzinfo) - when).days
        if age >= 7:
            out.append(
                Check(
                    "token",
                    OK,
                    f"valid and refreshed; authorized {age} days ago, so "
                    "the OAuth app is not in 'Testing' status",
                )
            )
        else:
            dies = (when + timedelta(days=7)).date()
            out.append(
                Check(
                    "token",
                    WARN,
                    f"valid and refreshed; authorized {count(age, 'day')} ago",
                    "if the OAuth app is in 'Testing' status its refresh tokens stop working after "
                    f"7 days (on {dies}) and the monthly job will fail: set the app to 'In "
                    "production' in the Google Cloud console (OAuth consent screen)",
                )
            )
    return out


def _inputs(ws: Workspace, day: date) -> list[Check]:
    out = []
    roster = _attempt(
        "roster",
        lambda: Check(
            "roster",
            OK,
            f"{ws.roster.origin}: {count(len(ws.roster), 'teacher')}, "
            f"{len(ws.roster.require_active())} active",
        ),
    )
    out.append(roster)
    if roster.status == FAIL:
        return out
    for p in ws.roster.problems:
        out.append(Check("roster", WARN, str(p), "fix the row; it is skipped until then"))

    def responses() -> Check:
        # The same test as remind, the tick and the digest: once the current cycle's requests
        # went out, a missing or stale export fails here before it fails the daily run.
        cycle = as_opened(ws, cycles.cycle(ws.config, cycles.current_name(ws.config, day)))
        problem = answers_problem(ws, cycle)
        if problem is not None:
            return Check("responses", FAIL, problem.message, problem.hint or "")
        table = ws.source.read_responses()
        if table is None:
            return Check("responses", OK, "no responses yet")
        answers, problems = ws.responses
        # A date order the column cannot settle fails here, before the daily run meets it.
        ws.collect(cycles.cycle(ws.config, cycles.current_name(ws.config, day)))
        detail = f"{table.origin}: {count(len(answers), 'response')}; every configured column found"
        if problems:
            return Check(
                "responses",
                WARN,
                f"{detail}; {count(len(problems), 'row')} unreadable",
                str(problems[0]),
            )
        return Check("responses", OK, detail)

    out.append(_attempt("responses", responses))
    return out


def _calendar(config: Config, today: date) -> Check:
    c = cycles.cycle(config, cycles.current_name(config, today))
    detail = (
        f"cycle {c.name}: send {c.send}, due {c.due}, reminders "
        f"{', '.join(str(d) for d in c.reminders) or 'none'}, digest {c.digest}"
    )
    if not c.runs:
        return Check("calendar", WARN, detail, "this month is not in calendar.months")
    return Check("calendar", OK, detail)


def _templates(ws: Workspace, today: date) -> Check:
    from .preview import preview_messages

    cycle = cycles.cycle(ws.config, cycles.current_name(ws.config, today))
    if not ws.roster.active:
        return Check("templates", WARN, "no active teacher to render for")
    preview_messages(ws, cycle, (), "request")
    preview_messages(ws, cycle, (), "reminder")
    return Check("templates", OK, f"request and reminder render for {ws.roster.active[0].email}")


def _mail(ws: Workspace, *, connect: bool) -> list[Check]:
    cfg = ws.config
    out = []
    if cfg.mail.kind == "outbox":

        def writable() -> Check:
            try:
                cfg.mail.outbox.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=cfg.mail.outbox):
                    pass
            except OSError as exc:
                raise PdmailError(f"{cfg.mail.outbox}: cannot write ({exc.strerror})") from None
            return Check(
                "mail",
                OK,
                f"outbox folder {cfg.mail.outbox} (nothing reaches "
                "teachers until mail.kind is smtp or gmail)",
            )

        out.append(_attempt("mail", writable))
    elif connect:

        def opens() -> Check:
            with ws.mailer():
                pass
            where = f"{cfg.mail.smtp.host}:{cfg.mail.smtp.port}" if cfg.mail.smtp else "Gmail API"
            return Check("mail", OK, f"{cfg.mail.kind}: connected to {where}")

        out.append(_attempt("mail", opens))
    else:
        out.append(Check("mail", SKIP, "connection not tried"))
    if cfg.mail.kind == "gmail":
        out.append(
            Check(
                "sender",
                OK,
                f"messages go out as {cfg.librarian.email}",
                "the gmail.send scope cannot read the account's own address: this must"
                " be the authorized account or one of its 'Send mail as' addresses",
            )
        )
    else:
        out.append(Check("sender", OK, f"messages go out as {cfg.librarian.email}"))
    cap = cfg.mail.daily_cap
    if cap:

        def budget() -> Check:
            used = len(ws.ledger.sent_since(ws.now() - timedelta(days=1)))
            left = max(0, cap - used)
            return Check(
                "daily budget",
                OK if left else WARN,
                f"{left} of {count(cap, 'message')} left in the last 24 hours (mail.daily_cap)",
                "" if left else "the next run sends once the 24 hours have passed",
            )

        out.append(_attempt("daily budget", budget))
    return out


def _ledger(ws: Workspace) -> Check:
    entries = ws.ledger.entries(ws.config.campaign)
    attention = [e for e in entries if e.state in (State.UNKNOWN, State.FAILED, State.PENDING)]
    detail = f"{ws.ledger_path}: {count(len(entries), 'message')} recorded"
    if attention:
        return Check(
            "ledger",
            WARN,
            f"{detail}; {len(attention)} {plural(len(attention), 'needs', 'need')} attention",
            "see 'pdmail status'; check the mailbox before any --resend",
        )
    return Check("ledger", OK, detail)


def summary(checks: list[Check]) -> dict[str, Any]:
    return {
        "ok": all(c.status != FAIL for c in checks),
        "checks": [c.__dict__ for c in checks],
    }
