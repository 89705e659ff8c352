"""The PD survey rounds of a school year, for the year's report.

Every survey campaign of the config (``kind: survey``) is read: each round whose requests
went out in the year is counted from its own answers by
:func:`pdmail.campaigns.survey.survey_results`, the function its digest uses. A round whose
answers cannot be read is named among the report's problems instead of stopping the report.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import cycles
from ..campaigns.survey import SurveyResults, survey_results
from ..config.campaigns import for_campaign
from ..config.load import load_config
from ..errors import PdmailError
from ..workspace import Workspace
from .build import REQUEST, Survey, SurveyQuestion
from .year import SchoolYear


def as_survey(name: str, results: SurveyResults, asked: int) -> Survey:
    """A survey round's results as the report shows them: each question's choices counted
    (the "Other" choice included), and the suggestions."""
    return Survey(
        name=name,
        cycle=results.cycle,
        asked=asked,
        responses=results.respondents,
        questions=tuple(
            SurveyQuestion(q.title, tuple((b.label, b.count) for b in q.bars))
            for q in results.questions
        ),
        suggestions=tuple(s.text for s in results.suggestions),
    )


def year_surveys(ws: Workspace, year: SchoolYear) -> tuple[Sequence[Survey], Sequence[str]]:
    """The rounds of every survey campaign held in ``year`` (by their requests in the ledger),
    and what could not be read (one line per round)."""
    config = ws.config
    if config.campaign != config.default_campaign:
        # Each campaign's settings are worked out from the config as loaded, not from another
        # campaign's (pdmail.config.campaigns.for_campaign).
        config = load_config(config.path)
    out: list[Survey] = []
    problems: list[str] = []
    if not ws.ledger_path.exists():
        return out, problems
    for campaign in config.campaigns:
        if campaign.kind != "survey" or campaign.survey is None:
            continue
        sent = ws.ledger.count_sent(campaign.name, REQUEST)
        rounds = [n for n in year.cycles if sent.get(n)]
        if not rounds:
            continue
        try:
            derived = for_campaign(config, campaign.name)
            with Workspace(derived, clock=ws.now) as survey_ws:
                for name in rounds:
                    try:
                        collection = survey_ws.collect(cycles.cycle(derived, name))
                        results = survey_results(collection, campaign.survey)
                    except PdmailError as exc:
                        problems.append(f"survey {campaign.name} {name}: {exc.message}")
                        continue
                    out.append(as_survey(campaign.name, results, sent[name]))
        except PdmailError as exc:
            problems.append(f"survey {campaign.name}: {exc.message}")
    return out, problems
