"""``pdmail doctor``: check a setup end to end and say, in plain words, how to fix it.

Each check reports ok, warn or fail with what it found and, when something is wrong, what to
do. Nothing is sent. Checks that depend on a failed one are skipped, not failed again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from . import cycles
from .backends.base import (
    FAIL,
    OK,
    SEND_TEST,
    SKIP,
    WARN,
    Account,
    Check,
    Mailer,
    MailerBackend,
)
from .config.load import load_config
from .config.records import Config
from .cycle.freshness import answers_problem
from .cycle.messages import Composer
from .cycle.opening import as_opened, first_request_day
from .errors import PdmailError
from .models import Clock, State
from .sources.roster import Roster
from .state.ledger import Ledger
from .wording import count, plural
from .workspace import Workspace, clock_on

__all__ = ["FAIL", "OK", "SEND_TEST", "SKIP", "WARN", "Check", "diagnose", "summary"]


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
    send_test: bool = False,
    workspace: Callable[[Config], Workspace] = Workspace,
) -> list[Check]:
    """Run every check for the config at ``config_path``; ``connect`` also opens the mail
    server connection (without sending) to test the login; ``send_test`` sends the librarian
    one test message through the configured mailer (not recorded in the ledger), the only
    check that reaches Gmail. ``workspace`` opens every workspace the checks look at, the
    top-level campaign's and each other campaign's (a script's own source, mailer or clock);
    by default, one per config whose clock reads ``today``."""
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
    from .backends.registry import chosen

    source, mailer = chosen(config)
    # Credentials two backends share (one Google sign-in) are checked once, first; a backend
    # whose credentials cannot be used is skipped rather than failed again.
    unusable: set[type[Account]] = set()
    source_account, mailer_account = source.account_for(config), mailer.account_for(config)
    for account in dict.fromkeys(a for a in (source_account, mailer_account) if a is not None):
        found, usable = account.checks(config)
        checks += found
        if not usable:
            unusable.add(account)

    def open_workspace(cfg: Config) -> Workspace:
        # Every workspace the checks open (the top-level campaign's and each other one's)
        # comes from here, so a script's own factory (its source, mailer, clock) is what
        # every check sees; --today moves the default one's clock.
        if workspace is Workspace and today is not None:
            return Workspace(cfg, clock=clock_on(today, cfg.timezone))
        return workspace(cfg)

    ws = open_workspace(config)
    try:
        day = today or ws.now().date()
        if source_account in unusable:
            checks.append(Check("roster", SKIP, _needs(source_account)))
        else:
            checks += _inputs(ws, day)
        checks.append(_attempt("calendar", lambda: _calendar(config, ws.ledger, day)))
        roster_ok = not any(c.name == "roster" and c.status in (FAIL, SKIP) for c in checks)
        if roster_ok:
            checks.append(
                _attempt("templates", lambda: _templates(Composer.of(ws), ws.roster, day))
            )
            checks += _campaigns(config, open_workspace, day)
        if mailer_account in unusable:
            checks.append(Check("mail", SKIP, _needs(mailer_account)))
        else:
            mail = _Mail(config, mailer, ws.mailer, ws.now, lambda: ws.ledger)
            checks += _mail(mail, connect=connect, send_test=send_test)
        checks.append(_attempt("ledger", lambda: _ledger(config, ws.ledger, ws.ledger_path)))
    finally:
        ws.close()
    return checks


def _needs(account: type[Account] | None) -> str:
    return f"needs working {account.name if account else ''} credentials"


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
        cycle = as_opened(
            ws.config, ws.ledger, cycles.cycle(ws.config, cycles.current_name(ws.config, day))
        )
        problem = answers_problem(ws.config, ws.ledger, ws.source, cycle)
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


def _calendar(config: Config, ledger: Ledger, today: date) -> Check:
    planned = cycles.cycle(config, cycles.current_name(config, today))
    first = first_request_day(config, ledger, planned.name)
    c = cycles.as_opened(config, planned, first)
    detail = (
        f"cycle {c.name}: send {c.send}, due {c.due}, reminders "
        f"{', '.join(str(d) for d in c.reminders) or 'none'}, digest {c.digest}"
    )
    if not c.runs:
        return Check("calendar", WARN, detail, "this month is not in calendar.months")
    if c.late:
        return Check("calendar", OK, f"{detail} (sent late; the calendar said {c.planned_send})")
    if first is None and today >= c.due:
        late, why_not = cycles.late_opening(config, c, today)
        if late is None:
            return Check("calendar", WARN, f"{detail}; {why_not}", "nothing to do: the next "
                         "month's requests go out on their day")  # fmt: skip
        return Check(
            "calendar",
            WARN,
            f"{detail}; no request went out by the due date",
            f"the next 'pdmail run' on a school day sends them late (due {late.due} if sent "
            "today), or run 'pdmail send --late' now",
        )
    return Check("calendar", OK, detail)


def _templates(composer: Composer, roster: Roster, today: date) -> Check:
    from .cycle.preview import render_previews

    config = composer.config
    cycle = cycles.cycle(config, cycles.current_name(config, today))
    if not roster.active:
        return Check("templates", WARN, "no active teacher to render for")
    render_previews(composer, roster, cycle, (), "request")
    render_previews(composer, roster, cycle, (), "reminder")
    return Check("templates", OK, f"request and reminder render for {roster.active[0].email}")


def _campaigns(
    config: Config, open_workspace: Callable[[Config], Workspace], day: date
) -> list[Check]:
    """A check for each campaign beyond the top-level one, on the workspace
    ``open_workspace`` opens for it: its audience in the roster, its current or next round,
    and its request and reminder rendered for its first teacher."""
    from .config.campaigns import campaign_names, for_campaign

    def check(name: str) -> Check:
        chosen = for_campaign(config, name)
        with open_workspace(chosen) as ws:
            campaign = chosen.active_campaign
            active = ws.roster.require_active()
            cycle: cycles.Cycle | None = cycles.cycle(chosen, cycles.current_name(chosen, day))
            assert cycle is not None
            if not cycle.runs:
                cycle = cycles.following(chosen, cycle.name)
            detail = (
                f"{campaign.kind}, {count(len(active), 'active teacher')} "
                f"({campaign.audience.describe()})"
            )
            if cycle is None:
                return Check(f"campaign {name}", OK, f"{detail}; no round to come")
            composer = Composer.of(ws)
            from .cycle.preview import render_previews

            render_previews(composer, ws.roster, cycle, (), "request")
            render_previews(composer, ws.roster, cycle, (), "reminder")
            return Check(
                f"campaign {name}",
                OK,
                f"{detail}; {cycle.name}: send {cycle.send}, due {cycle.due}, digest "
                f"{cycle.digest}; request and reminder render",
            )

    return [
        _attempt(f"campaign {name}", functools.partial(check, name))
        for name in campaign_names(config)[1:]
    ]


@dataclass(frozen=True)
class _Mail:
    """What the mail checks use: the config, the chosen mailer backend, a way to make its
    mailer, the clock, and the ledger (opened by the daily budget check, so that a ledger
    that cannot be opened fails that check rather than the doctor)."""

    config: Config
    backend: type[MailerBackend]
    new_mailer: Callable[[], Mailer]
    clock: Clock
    ledger: Callable[[], Ledger]


def _mail(mail: _Mail, *, connect: bool, send_test: bool) -> list[Check]:
    """The mail checks, each saying only what was tried: what the mailer checks without
    sending (an outbox folder written to, an SMTP login; Gmail is reached only by a send), or
    (``send_test``) one test message handed over."""
    cfg, backend = mail.config, mail.backend
    out = []
    if send_test:
        out.append(_send_test(mail))
    else:
        out.append(
            _attempt(
                "mail",
                lambda: backend.doctor(cfg, connect=connect, new_mailer=mail.new_mailer),
            )
        )
    out.append(_sender(cfg, backend, tested=send_test and out[-1].status == OK))
    cap = cfg.mail.daily_cap
    if cap:

        def budget() -> Check:
            used = len(mail.ledger().sent_since(mail.clock() - timedelta(days=1)))
            left = max(0, cap - used)
            return Check(
                "daily budget",
                OK if left else WARN,
                f"{left} of {count(cap, 'message')} left in the last 24 hours (mail.daily_cap)",
                "" if left else "the next run sends once the 24 hours have passed",
            )

        out.append(_attempt("daily budget", budget))
    return out


def _sender(cfg: Config, backend: type[MailerBackend], *, tested: bool) -> Check:
    """The From address: ok once a test message went out from it (or for a mailer that only
    writes it into files); otherwise what the config says, marked as not checked."""
    detail = f"messages go out as {cfg.librarian.email}"
    note = backend.sender_note(cfg)
    if tested or not backend.delivers:
        return Check("sender", OK, detail, note)
    return Check("sender", SKIP, f"{detail} (from the config; not checked: {SEND_TEST})", note)


def _send_test(mail: _Mail) -> Check:
    from .testmail import send_test_message

    cfg, backend = mail.config, mail.backend
    sent = send_test_message(cfg, mail.new_mailer, mail.clock)
    to = cfg.librarian.email
    if sent.result is not None:
        return backend.test_sent(cfg, sent.result, str(sent.message["Message-ID"]))
    assert sent.error is not None
    if sent.unknown:
        return Check(
            "mail",
            FAIL,
            f"{cfg.mail.kind}: the test message to {to} may or may not have been accepted: "
            f"{sent.error.message}",
            f"look for '{sent.message['Subject']}' in your inbox; pdmail does not send it again",
        )
    return Check(
        "mail",
        FAIL,
        f"{cfg.mail.kind}: the test message to {to} was not sent: {sent.error.message}",
        sent.error.hint or "",
    )


def _ledger(config: Config, ledger: Ledger, path: Path) -> Check:
    entries = ledger.entries(config.campaign)
    attention = [e for e in entries if e.state in (State.UNKNOWN, State.FAILED, State.PENDING)]
    detail = f"{path}: {count(len(entries), 'message')} recorded"
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
