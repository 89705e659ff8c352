"""Gathering the year's records from a workspace: the ledger, the answers, the needs as the
librarian has marked them (the needs table's edits included), the roster and the journal.

Reading only: the report never writes to the ledger or the needs table, and a project with
no ledger yet gets an empty year rather than a new ledger file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .. import cycles
from ..digest.topics import Tagger
from ..errors import UsageError
from ..models import MessageKey, Response
from ..sources.roster import normalize_email
from ..state.journal import JournalEntry
from ..state.needs import NeedRecord
from ..state.needs_table import keep_needs
from ..workspace import Workspace
from .build import REQUEST, Survey, YearReport, build_report
from .year import SchoolYear

# Where the PD survey rounds come from: a function of the workspace and the year that returns
# the rounds held and what could not be read (pdmail.report.survey.year_surveys).
SurveyReader = Callable[[Workspace, SchoolYear], tuple[Sequence[Survey], Sequence[str]]]


def compile_report(
    ws: Workspace, year: SchoolYear, *, survey: SurveyReader | None = None
) -> YearReport:
    """The report of school ``year`` for the workspace's campaign, as things stand now, with
    the PD survey rounds ``survey`` finds (none without it)."""
    cfg = ws.config
    campaign = cfg.campaign
    if cfg.active_campaign.kind == "survey":
        raise UsageError(
            f"--campaign: {campaign} is a survey; the year's report is of an update campaign",
            hint="leave out --campaign (the survey's rounds are in the report's survey section)",
        )
    sent: list[MessageKey] = []
    needs: list[NeedRecord] = []
    journal: list[JournalEntry] = []
    problems: list[str] = []
    if ws.ledger_path.exists():
        sent = ws.ledger.sent_keys(campaign)
        topics = [t.name for t in Tagger.from_taxonomy(cfg.taxonomy).topics]
        needs, problems = keep_needs(
            ws.ledger.needs, ws.sink, campaign, topics, ws.now(), persist=False
        )
        journal = ws.ledger.journal.entries(year.first_day, year.last_day)
    roster = ws.roster
    problems.extend(str(p) for p in roster.problems)
    planned = {n: cycles.cycle(cfg, n) for n in year.cycles}
    asked = {key.cycle for key in sent if key.kind == REQUEST and key.cycle in planned}
    wanted = asked | {r.cycle for r in needs if r.cycle in planned}
    answers: dict[str, Mapping[str, Response]] = {}
    for name in year.cycles:
        if name not in wanted:
            continue
        collection = ws.collect(planned[name])
        by_address: dict[str, Response] = {
            normalize_email(r.email): r for r in collection.strangers if r.email
        }
        by_address.update({t.email: r for t, r in collection.answered})
        answers[name] = by_address
        problems.extend(str(p) for p in collection.problems)
    surveys: Sequence[Survey] = ()
    if survey is not None:
        surveys, unread = survey(ws, year)
        problems.extend(unread)
    return build_report(
        school=cfg.school,
        campaign=campaign,
        year=year,
        generated=ws.now(),
        runs={n: c.runs for n, c in planned.items()},
        sends={n: c.send for n, c in planned.items()},
        sent=sent,
        answers=answers,
        needs=needs,
        roster=roster.teachers,
        journal=journal,
        surveys=surveys,
        problems=list(dict.fromkeys(problems)),
        librarian=cfg.librarian.name,
    )
