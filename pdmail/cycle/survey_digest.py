"""A survey campaign's digest: its answers counted (:mod:`pdmail.campaigns.survey`), rendered
as bars, written beside the monthly digests and mailed to the librarian once per round."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..atomic import write_atomic
from ..campaigns.survey import SurveyResults, survey_results
from ..cycles import Cycle
from ..errors import BackendError, ConfigError, PdmailError
from ..mail.compose import header_safe
from .delivery import Courier, DeliveryReport, hand_over
from .freshness import ensure_answers
from .messages import Composer, shared_context
from .publish import DIGEST, Desk, PublishOptions, digest_composer, digest_message

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass
class PublishedSurvey:
    """What :func:`publish_survey` did: the results and their rendering, the files written,
    the mail's report (None without ``send``) and the writes that failed."""

    results: SurveyResults
    subject: str
    html: str
    text: str
    files: list[str] = field(default_factory=list)
    mail: DeliveryReport | None = None
    errors: list[PdmailError] = field(default_factory=list)


def results_of(ws: Workspace, cycle: Cycle) -> SurveyResults:
    """The survey round ``cycle`` counted from ``ws``'s answers (:func:`results_at`)."""
    return results_at(Desk.of(ws), cycle)


def results_at(desk: Desk, cycle: Cycle) -> SurveyResults:
    """The survey round ``cycle`` counted from the desk's answers (its campaign must be a
    survey). Refuses, like the monthly digest, when the answers cannot all be there yet."""
    config = desk.config
    questions = config.active_campaign.survey
    if questions is None:
        raise ConfigError(
            f"campaign {config.campaign}: not a survey, so it has no survey results",
            hint="pass --campaign with a survey campaign (kind: survey)",
        )
    ensure_answers(config, desk.ledger, desk.source, cycle, "no digest was made")
    return survey_results(desk.collect(cycle), questions)


def survey_rows(results: SurveyResults) -> tuple[list[str], list[list[str]]]:
    """The results as one table: a row per team (``All`` first), question and choice, then
    one per suggestion (written as values, never formulas, by the sinks)."""
    header = ["Team", "Question", "Choice", "Teachers", "Of", "Share"]
    rows: list[list[str]] = []
    for team, respondents, questions in [
        ("All", results.respondents, results.questions),
        *((t.team or "(no team)", t.respondents, t.questions) for t in results.teams),
    ]:
        for q in questions:
            for bar in q.bars:
                rows.append(
                    [team, q.title, bar.label, str(bar.count), str(respondents),
                     f"{bar.share:.0%}"]
                )  # fmt: skip
    for s in results.suggestions:
        rows.append([s.team or "(no team)", "Suggestion", s.text, s.teacher, "", ""])
    return header, rows


def publish_survey(
    ws: Workspace,
    cycle: Cycle,
    options: PublishOptions | None = None,
    *,
    files: list[str] | None = None,
    errors: list[PdmailError] | None = None,
) -> PublishedSurvey:
    """Count ``cycle``'s survey answers, write survey.html and survey.txt (by default into
    ``digest.out/<campaign>/<cycle>``) and the ``results`` table, and mail the digest to the
    librarian (once), as ``options`` say: the same options, ``files`` and ``errors`` as
    :func:`pdmail.cycle.publish.publish_digest`, for ``pdmail digest`` and the tick alike. A
    write that fails is collected in ``errors`` and the mail still goes."""
    opts = options or PublishOptions()
    composer = digest_composer(ws)
    courier = Courier.of(ws) if opts.send else None
    return publish_survey_at(
        Desk.of(ws), composer, courier, cycle, opts, files=files, errors=errors
    )


def publish_survey_at(
    desk: Desk,
    composer: Composer,
    courier: Courier | None,
    cycle: Cycle,
    options: PublishOptions,
    *,
    files: list[str] | None = None,
    errors: list[PdmailError] | None = None,
) -> PublishedSurvey:
    """:func:`publish_survey` from its pieces, as
    :func:`pdmail.cycle.publish.publish_at` takes them (a courier only to send)."""
    opts = options
    if opts.send and courier is None:
        raise TypeError("publish_survey_at: sending the survey digest needs a courier")
    errors = [] if errors is None else errors
    results = results_at(desk, cycle)
    ctx = {**shared_context(desk.config, cycle), "survey": results}
    render = composer.templates.render
    done = PublishedSurvey(
        results=results,
        subject=header_safe(render("digest.subject.j2", ctx)),
        html=render("digest.html.j2", ctx),
        text=render("digest.txt.j2", ctx),
        files=[] if files is None else files,
        errors=errors,
    )
    if opts.write:
        folder = opts.folder(desk.config, cycle)
        for name, body in (("survey.html", done.html), ("survey.txt", done.text)):
            target = folder / name
            try:
                write_atomic(target, body)
                done.files.append(str(target))
            except OSError as exc:
                errors.append(
                    BackendError(f"{target}: cannot write the survey digest ({exc.strerror})")
                )
        try:
            done.files.append(desk.sink.write_table("results", *survey_rows(results)))
        except PdmailError as exc:
            errors.append(exc)
    if opts.send and courier is not None:
        config = desk.config
        item = digest_message(
            composer,
            cycle,
            (done.subject, done.text, done.html),
            config.librarian.name,
            config.librarian.email,
            what="the survey digest",
            check="librarian in the config and the survey's digest subject template",
        )
        done.mail = hand_over(
            courier, [item], cycle=cycle.name, kind=DIGEST, dry_run=opts.dry_run,
            resend=opts.resend,
        )  # fmt: skip
    return done
