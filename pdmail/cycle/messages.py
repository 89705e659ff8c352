"""Rendering the teacher messages: the request and its reminders, as replies in one thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ..config.records import Config
from ..cycles import Cycle, parse_cycle_name
from ..errors import InputError, TemplateError
from ..mail.compose import address, header_safe, message_id
from ..mail.templates import Fields, Templates, prefilled_link
from ..mail.wire import compose
from ..models import REQUEST as REQUEST  # the kinds live in models; named here too
from ..models import Clock, LedgerEntry, MessageKey, MessageKind, Teacher
from ..models import reminder_kind as reminder_kind
from .delivery import Outgoing

if TYPE_CHECKING:
    from ..workspace import Workspace

_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def long_date(day: date) -> str:
    """``Friday, December 11`` (English, whatever the machine's locale)."""
    return f"{_DAYS[day.weekday()]}, {_MONTHS[day.month - 1]} {day.day}"


def cycle_context(cycle: Cycle) -> dict[str, Any]:
    """What templates see as ``cycle``."""
    year, month = parse_cycle_name(cycle.name)
    return {
        "name": cycle.name,
        "month": f"{_MONTHS[month - 1]} {year}",
        "month_name": _MONTHS[month - 1],
        "send": cycle.send,
        "due": cycle.due,
        "due_text": long_date(cycle.due),
        "digest": cycle.digest,
        "reminders": cycle.reminders,
        # True when the requests went out after the calendar's due date: ``due``, ``send``
        # and the rest are then counted from the day they really went out.
        "late": cycle.late,
        "planned_send": cycle.planned_send or cycle.send,
    }


@dataclass(frozen=True)
class Composer:
    """What writing a teacher's message takes: the config (school, campaign, librarian, form
    link, sender and Reply-To), the templates, the clock (each message's Date) and where the
    roster came from (named when a row cannot make a safe message)."""

    config: Config
    templates: Templates
    clock: Clock
    roster_origin: str = "the roster"

    @classmethod
    def of(cls, ws: Workspace) -> Composer:
        """The workspace's config, templates, clock and roster origin (the roster is read
        first, so a roster that cannot be read is the error a step reports first)."""
        origin = ws.roster.origin
        return cls(ws.config, ws.templates, ws.now, origin)


def shared_context(config: Config, cycle: Cycle) -> dict[str, Any]:
    """The context every template shares: school, librarian, campaign, cycle."""
    return {
        "school": config.school,
        "campaign": config.campaign,
        "librarian": {"name": config.librarian.name, "email": config.librarian.email},
        "cycle": cycle_context(cycle),
    }


# The shared context of the last (config, cycle) a teacher's message was written for: a run
# writes every message of one cycle with one config, so it is made once, not once a teacher.
# Templates cannot change it (the sandbox is immutable); matched by identity, never by value.
_last_shared: list[tuple[Config, Cycle, dict[str, Any]]] = []


def _shared_for_run(config: Config, cycle: Cycle) -> dict[str, Any]:
    if _last_shared and _last_shared[0][0] is config and _last_shared[0][1] is cycle:
        return _last_shared[0][2]
    shared = shared_context(config, cycle)
    _last_shared[:] = [(config, cycle, shared)]
    return shared


def base_context(ws: Workspace, cycle: Cycle) -> dict[str, Any]:
    """:func:`shared_context` with the workspace's config."""
    return shared_context(ws.config, cycle)


def teacher_context(config: Config, cycle: Cycle, teacher: Teacher) -> dict[str, Any]:
    """What a teacher's templates see: the shared context, the teacher's fields and their
    prefilled form link."""
    return {
        **_shared_for_run(config, cycle),
        "teacher": Fields(teacher),
        "form_link": prefilled_link(config.form, teacher, cycle.name),
    }


def _to_teacher(
    composer: Composer,
    cycle: Cycle,
    teacher: Teacher,
    kind: MessageKind,
    template: str,
    subject: str,
    ctx: dict[str, Any],
    reply_to: LedgerEntry | None = None,
) -> Outgoing:
    """A message of ``kind`` to ``teacher`` from ``template``.{txt,html}.j2; with ``reply_to``,
    a reply in that message's thread."""
    cfg = composer.config
    key = MessageKey(cfg.campaign, cycle.name, teacher.email, kind)
    text = composer.templates.render(f"{template}.txt.j2", ctx)
    html = composer.templates.render(f"{template}.html.j2", ctx)
    # The roster's key is the one recipient; a roster without names gives a bare address.
    name = "" if teacher.display_name == teacher.email else teacher.display_name
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
            in_reply_to=reply_to.message_id if reply_to else "",
        )
    except InputError as exc:
        where = f"{composer.roster_origin}, row {teacher.row}" if teacher.row else "the roster"
        raise InputError(
            f"{where} ({teacher.email}): the {kind} cannot be built safely: {exc.message}",
            hint="check the row's name fields and the subject template; nothing was sent",
        ) from None
    thread = (reply_to.thread_id or reply_to.message_id) if reply_to else None
    return Outgoing(key, msg, thread_id=thread)


def build_request(composer: Composer, cycle: Cycle, teacher: Teacher) -> Outgoing:
    """The cycle's request to ``teacher``, rendered from request.{subject,txt,html}.j2."""
    ctx = teacher_context(composer.config, cycle, teacher)
    templates = composer.templates
    subject = header_safe(templates.render("request.subject.j2", ctx))
    if not subject:
        raise TemplateError(f"{templates.where('request.subject.j2')}: the subject is empty")
    return _to_teacher(composer, cycle, teacher, REQUEST, "request", subject, ctx)


def build_reminder(
    composer: Composer, cycle: Cycle, teacher: Teacher, number: int, request: LedgerEntry
) -> Outgoing:
    """Reminder ``number`` to ``teacher``: a reply in the request's thread, same subject."""
    ctx = {
        **teacher_context(composer.config, cycle, teacher),
        "reminder_number": number,
        "reminders_left": len(cycle.reminders) - number,
    }
    subject = request.subject
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    kind = reminder_kind(number)
    return _to_teacher(composer, cycle, teacher, kind, "reminder", subject, ctx, reply_to=request)
