"""Compiling the digest from everything pdmail knows, rendering it, and mailing it: the full
digest to the librarian, and to each integration specialist only their part, once per cycle."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .. import cycles
from ..atomic import write_atomic
from ..config.records import Config
from ..cycles import Cycle
from ..digest.build import (
    Digest,
    as_records,
    build_digest,
    carried_by_kind,
    current_needs,
    digest_rows,
    for_specialist,
    reading_key,
)
from ..digest.topics import Tagger
from ..errors import BackendError, InputError, PdmailError
from ..mail.compose import address, compose, header_safe, message_id
from ..models import DIGEST as DIGEST  # the kind lives in models; named here too
from ..models import LEARNING, REQUEST, Clock, MessageKey
from ..sources.responses import Collection
from ..state.ledger import Ledger
from ..state.needs import ByKind, NeedRecord, merge
from ..state.needs_table import TableRead, keep_needs, read_table_edits
from .delivery import Courier, DeliveryReport, Outgoing, hand_over
from .freshness import ensure_answers
from .messages import Composer, shared_context

if TYPE_CHECKING:
    from ..backends.base import ReportSink, TableSource
    from ..sources.roster import Roster
    from ..workspace import Workspace


@dataclass(frozen=True)
class RenderedDigest:
    digest: Digest
    subject: str
    html: str
    markdown: str
    text: str


@dataclass(frozen=True)
class Desk:
    """What making a digest reads and keeps: the config, the roster (read when first asked),
    each cycle's answers matched to it (``collect``), the ledger (requests sent, needs kept),
    the responses source (whether the answers can be there yet), where tables go (``sink``:
    needs.csv or the needs tab) and the clock."""

    config: Config
    roster: Callable[[], Roster]
    collect: Callable[[Cycle], Collection]
    ledger: Ledger
    source: TableSource
    sink: ReportSink
    clock: Clock

    @classmethod
    def of(cls, ws: Workspace) -> Desk:
        """The workspace's pieces (nothing is read until the digest asks for it)."""
        return cls(ws.config, lambda: ws.roster, ws.collect, ws.ledger, ws.source, ws.sink, ws.now)


def history(
    cfg: Config,
    ledger: Ledger,
    collect: Callable[[Cycle], Collection],
    cycle: Cycle,
    sent: dict[str, int] | None = None,
) -> list[Collection]:
    """The earlier cycles the digest looks back on (trends, the year view), oldest first:
    the last ``digest.trend_cycles`` and every cycle since the school year began, each as
    ``collect`` matches its answers (``sent``: :func:`requests_sent`, read from ``ledger``
    when not given)."""
    # The year of the month the requests went out in (a send moved past a month's end counts
    # in the month it went out).
    start_of_year = cycles.school_year(cycles.name_of(cycle.send), cfg.calendar.year_starts)
    first = min(cycles.shift(cycle.name, -(cfg.digest.trend_cycles - 1)), start_of_year)
    sent = requests_sent(cfg, ledger) if sent is None else sent
    out: list[Collection] = []
    name = first
    while name < cycle.name:
        earlier = cycles.cycle(cfg, name)
        if earlier.runs:
            collected = collect(earlier)
            # Months before pdmail was in use (nothing sent, nothing answered) are not history.
            if out or sent.get(name) or collected.answered:
                out.append(collected)
        name = cycles.shift(name, 1)
    return out


def requests_sent(config: Config, ledger: Ledger) -> dict[str, int]:
    """How many requests went out in each cycle (the trend's "asked")."""
    return ledger.count_sent(config.campaign, REQUEST)


def sync_needs(
    ws: Workspace,
    fresh: list[NeedRecord],
    *,
    persist: bool = True,
    errors: list[PdmailError] | None = None,
    tagger: Tagger | None = None,
    read: TableRead | None = None,
) -> tuple[list[NeedRecord], list[str]]:
    """Apply the librarian's edits (needs.csv or the needs tab: status, note, and corrections
    of topics and kinds), add ``fresh`` needs as open, and write the table back; return every
    need and the rows that could not be read.

    Without ``persist`` nothing is written: the result is what would be kept. With an
    ``errors`` list, a table that cannot be written back is added to it instead of raised
    (the needs are kept in the ledger all the same, and written on the next run). ``tagger``
    names the topics a correction may use (default: the config's taxonomy). ``read`` is the
    table as read earlier in the run, used again if nothing changed since (see
    :func:`pdmail.state.needs_table.keep_needs`).
    """
    return keep_desk_needs(
        Desk.of(ws), fresh, persist=persist, errors=errors, tagger=tagger, read=read
    )


def keep_desk_needs(
    desk: Desk,
    fresh: list[NeedRecord],
    *,
    persist: bool = True,
    errors: list[PdmailError] | None = None,
    tagger: Tagger | None = None,
    read: TableRead | None = None,
) -> tuple[list[NeedRecord], list[str]]:
    """:func:`sync_needs` with the desk's config, ledger, table and clock."""
    config = desk.config
    topics = [t.name for t in (tagger or Tagger.from_taxonomy(config.taxonomy)).topics]
    return keep_needs(
        desk.ledger.needs,
        desk.sink,
        config.campaign,
        topics,
        desk.clock(),
        fresh,
        persist=persist,
        errors=errors,
        read=read,
    )


def compile_digest(
    ws: Workspace,
    cycle: Cycle,
    *,
    persist: bool = True,
    errors: list[PdmailError] | None = None,
) -> Digest:
    """The digest of ``cycle`` as it stands now, with the needs kept in step (a needs table
    that cannot be written goes to ``errors`` when one is given, see :func:`sync_needs`)."""
    return compile_at(Desk.of(ws), cycle, persist=persist, errors=errors)


def compile_at(
    desk: Desk,
    cycle: Cycle,
    *,
    persist: bool = True,
    errors: list[PdmailError] | None = None,
) -> Digest:
    """:func:`compile_digest` from the desk's pieces."""
    digest, keep = _compile(desk, cycle)
    if persist:
        keep(errors)
    return digest


def prepare_digest(
    ws: Workspace,
    cycle: Cycle,
    *,
    persist: bool = True,
    errors: list[PdmailError] | None = None,
) -> RenderedDigest:
    """:func:`compile_digest` and :func:`render_digest` in one, keeping the needs only once
    every digest template has rendered: a broken template stops the step with nothing
    written."""
    return prepare_at(Desk.of(ws), digest_composer(ws), cycle, persist=persist, errors=errors)


def prepare_at(
    desk: Desk,
    composer: Composer,
    cycle: Cycle,
    *,
    persist: bool = True,
    errors: list[PdmailError] | None = None,
) -> RenderedDigest:
    """:func:`prepare_digest` from the desk's pieces, rendered by ``composer``."""
    digest, keep = _compile(desk, cycle)
    rendered = render_digest_with(composer, cycle, digest)
    if persist:
        keep(errors)
    return rendered


def _compile(
    desk: Desk, cycle: Cycle
) -> tuple[Digest, Callable[[list[PdmailError] | None], object]]:
    """The digest as it will stand once its needs are kept, and the call that keeps them
    (nothing is written before that call)."""
    cfg = desk.config
    ledger = desk.ledger
    # Its response rate and non-responders are only true if the answers can be there.
    ensure_answers(cfg, ledger, desk.source, cycle, "no digest was made")
    tagger = Tagger.from_taxonomy(cfg.taxonomy)
    collection = desk.collect(cycle)
    # The needs with the librarian's latest edits, corrections among them, read first: the
    # month's answers are read with what those corrections teach.
    # The table is read once: keeping the needs below uses this reading again unless the
    # table or the ledger changed in between.
    read = read_table_edits(ledger.needs, desk.sink, cfg.campaign, [t.name for t in tagger.topics])
    kept, problems = keep_desk_needs(desk, [], persist=False, tagger=tagger, read=read)
    month = current_needs(collection, tagger, cfg.campaign, kept, cfg.digest.learn_threshold)
    fresh = as_records(month, cfg.campaign)
    now = desk.clock()
    needs = merge(kept, fresh, now.date())
    sent = requests_sent(cfg, ledger)
    # Open learning needs carried over are read as the digests before read them, if kept.
    store = ledger.needs
    readings = store.readings(
        reading_key(tagger, r.text, r.topics, r.kinds)
        for r in needs
        if r.cycle < cycle.name and r.status == "open" and LEARNING in r.kinds
    )
    digest = build_digest(
        desk.roster(),
        collection,
        tagger,
        school=cfg.school,
        campaign=cfg.campaign,
        generated=now,
        needs=needs,
        history=history(cfg, ledger, desk.collect, cycle, sent),
        asked=sent,
        sessions=cfg.digest.sessions,
        specialists=cfg.digest.specialists,
        librarian=cfg.librarian.name,
        year_starts=cfg.calendar.year_starts,
        trend_cycles=cfg.digest.trend_cycles,
        current=month,
        learn_threshold=cfg.digest.learn_threshold,
        readings=readings,
    )
    if problems:
        digest = replace(digest, problems=(*digest.problems, *problems))

    def keep(errors: list[PdmailError] | None) -> object:
        kept = keep_desk_needs(desk, fresh, persist=True, errors=errors, tagger=tagger, read=read)
        # The readings the next digests will look for: the carried needs read here, and this
        # month's needs, which carry over from the next month on (their words are read
        # already, so this costs little).
        new: dict[str, ByKind] = {}
        for n in (*digest.carried_over, *month):
            if LEARNING in n.kinds:
                key = reading_key(tagger, n.text, n.topics, n.kinds)
                if key not in readings and key not in new:
                    new[key] = (
                        n.by_kind
                        if n.cycle < cycle.name
                        else carried_by_kind(tagger, n.text, n.topics, n.kinds)
                    )
        with contextlib.suppress(BackendError):  # a cache: the next digest reads them again
            store.keep_readings(new)
        return kept

    return digest, keep


def needs_table(config: Config) -> str:
    """Where the librarian finds (and edits) every need, for the digest to point to."""
    from ..backends.registry import source_backend

    return source_backend(config.sources.kind).report_place(config, "needs")


def digest_composer(ws: Workspace) -> Composer:
    """What writing a digest (the monthly update's or a survey's) takes from the workspace
    (its roster is not needed)."""
    return Composer(ws.config, ws.templates, ws.now)


def render_digest(ws: Workspace, cycle: Cycle, digest: Digest) -> RenderedDigest:
    """:func:`render_digest_with` the workspace's config and templates."""
    return render_digest_with(digest_composer(ws), cycle, digest)


def render_digest_with(composer: Composer, cycle: Cycle, digest: Digest) -> RenderedDigest:
    """The digest rendered by digest.{subject,html,md,txt}.j2 (a specialist's slice too:
    ``digest.audience`` names them, and the templates leave out the librarian's parts)."""
    config = composer.config
    ctx = {**shared_context(config, cycle), "digest": digest, "needs_table": needs_table(config)}
    render = composer.templates.render
    return RenderedDigest(
        digest=digest,
        subject=header_safe(render("digest.subject.j2", ctx)),
        html=render("digest.html.j2", ctx),
        markdown=render("digest.md.j2", ctx),
        text=render("digest.txt.j2", ctx),
    )


def write_digest(rendered: RenderedDigest, out: Path) -> list[Path]:
    """Write digest.html and digest.md into ``out`` (each replaced atomically)."""
    written = []
    for name, body in (("digest.html", rendered.html), ("digest.md", rendered.markdown)):
        target = out / name
        try:
            write_atomic(target, body)
        except OSError as exc:
            raise BackendError(
                f"{target}: cannot write the digest ({exc.strerror or exc})"
            ) from None
        written.append(target)
    return written


@dataclass(frozen=True)
class PublishOptions:
    """What a digest step does, the monthly digest's (:func:`publish_digest`) and a survey's
    (:func:`pdmail.cycle.survey_digest.publish_survey`) alike, for ``pdmail digest`` and the
    tick: ``write`` the files (into ``out``, default ``digest.out/<cycle>``) and the table;
    ``send`` the digest to the librarian (once); ``dry_run`` sends nothing and keeps the needs
    as they are; ``resend`` sends again a digest whose outcome is unknown."""

    out: Path | None = None
    write: bool = True
    send: bool = False
    dry_run: bool = False
    resend: bool = False

    def folder(self, config: Config, cycle: Cycle) -> Path:
        """Where the files go: ``out``, else the cycle's folder under ``digest.out``."""
        return self.out or config.digest_out / cycle.name


@dataclass
class Published:
    """What :func:`publish_digest` did: the rendered digest, where it was written, the mail's
    report (None without ``send``), and the writes that failed (which stopped nothing)."""

    rendered: RenderedDigest
    files: list[str] = field(default_factory=list)
    mail: DeliveryReport | None = None
    errors: list[PdmailError] = field(default_factory=list)


def publish_digest(
    ws: Workspace,
    cycle: Cycle,
    options: PublishOptions | None = None,
    *,
    files: list[str] | None = None,
    errors: list[PdmailError] | None = None,
) -> Published:
    """Compile ``cycle``'s digest, write digest.html and digest.md and the digest table, and
    mail it, as ``options`` say (by default: write, do not send). This is the whole digest
    step, for ``pdmail digest`` and the tick alike.

    A write that fails (the needs or digest tab, a digest file) is collected in ``errors``
    and the mail still goes: the digest itself is what the librarian needs.

    ``files`` and ``errors``, when given, are the caller's lists, filled as the step goes:
    what was written, or failed, stays in them even if sending then raises.
    """
    opts = options or PublishOptions()
    courier = Courier.of(ws) if opts.send else None
    return publish_at(
        Desk.of(ws), digest_composer(ws), courier, cycle, opts, files=files, errors=errors
    )


def publish_at(
    desk: Desk,
    composer: Composer,
    courier: Courier | None,
    cycle: Cycle,
    options: PublishOptions,
    *,
    files: list[str] | None = None,
    errors: list[PdmailError] | None = None,
) -> Published:
    """:func:`publish_digest` from its pieces: the desk to compile from, the composer that
    renders and writes the mail, and the courier that hands it over (needed only when
    ``options.send``)."""
    opts = options
    if opts.send and courier is None:
        raise TypeError("publish_at: sending the digest needs a courier")
    errors = [] if errors is None else errors
    rendered = prepare_at(desk, composer, cycle, persist=not opts.dry_run, errors=errors)
    done = Published(rendered, files=[] if files is None else files, errors=errors)
    if opts.write:
        try:
            done.files.extend(
                str(p) for p in write_digest(rendered, opts.folder(desk.config, cycle))
            )
        except PdmailError as exc:
            errors.append(exc)
        try:
            done.files.append(desk.sink.write_table("digest", *digest_rows(rendered.digest)))
        except PdmailError as exc:
            errors.append(exc)
    if opts.send and courier is not None:
        done.mail = hand_over_digest(
            courier, composer, cycle, rendered, dry_run=opts.dry_run, resend=opts.resend
        )
    return done


def _message(
    composer: Composer, cycle: Cycle, rendered: RenderedDigest, name: str, email: str
) -> Outgoing:
    return digest_message(
        composer,
        cycle,
        (rendered.subject, rendered.text, rendered.html),
        name,
        email,
        what=f"the digest to {email}",
        check="librarian and digest.specialists in the config and the digest subject template",
    )


def digest_message(
    composer: Composer,
    cycle: Cycle,
    parts: tuple[str, str, str],
    name: str,
    email: str,
    *,
    what: str,
    check: str,
) -> Outgoing:
    """The cycle's digest message (``parts``: subject, text, HTML) from the librarian to
    ``name`` <``email``>, the monthly one and a survey's alike; one that cannot be written
    safely is an :class:`InputError` saying ``what`` it was and what to ``check``."""
    cfg = composer.config
    subject, text, html = parts
    key = MessageKey(cfg.campaign, cycle.name, email.lower(), DIGEST)
    try:
        msg = compose(
            sender=address(cfg.mail.sender_name, cfg.librarian.email),
            to=address(name, key.recipient),
            subject=subject,
            text=text,
            html=html,
            message_id=message_id(key, cfg.librarian.email.rpartition("@")[2]),
            date=composer.clock(),
            reply_to=cfg.mail.reply_to,
        )
    except InputError as exc:
        raise InputError(
            f"{what} cannot be built safely: {exc.message}",
            hint=f"check {check}; nothing was sent",
        ) from None
    return Outgoing(key, msg)


def send_digest(
    ws: Workspace,
    cycle: Cycle,
    rendered: RenderedDigest,
    *,
    dry_run: bool = False,
    resend: bool = False,
) -> DeliveryReport:
    """:func:`hand_over_digest` with the workspace's pieces."""
    composer = digest_composer(ws)
    return hand_over_digest(
        Courier.of(ws), composer, cycle, rendered, dry_run=dry_run, resend=resend
    )


def hand_over_digest(
    courier: Courier,
    composer: Composer,
    cycle: Cycle,
    rendered: RenderedDigest,
    *,
    dry_run: bool = False,
    resend: bool = False,
) -> DeliveryReport:
    """Mail the digest (HTML and text) to the librarian, and each specialist's part to them,
    at most once per cycle each. A specialist with nothing to lead this month gets nothing."""
    items = digest_messages(composer, cycle, rendered)
    return hand_over(courier, items, cycle=cycle.name, kind=DIGEST, dry_run=dry_run, resend=resend)


def digest_messages(composer: Composer, cycle: Cycle, rendered: RenderedDigest) -> list[Outgoing]:
    """The digest's messages, built and checked but not sent: the librarian's first, then
    each specialist's part (only for a specialist with something to lead)."""
    cfg = composer.config
    items = [_message(composer, cycle, rendered, cfg.librarian.name, cfg.librarian.email)]
    for specialist in cfg.digest.specialists:
        part = for_specialist(rendered.digest, specialist)
        if part.proposals:
            mine = render_digest_with(composer, cycle, part)
            items.append(_message(composer, cycle, mine, specialist.name, specialist.email))
    return items
