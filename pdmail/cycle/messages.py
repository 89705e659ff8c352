"""Rendering the teacher messages: the request and its reminders, as replies in one thread."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..cycles import Cycle, parse_cycle_name
from ..errors import InputError, TemplateError
from ..mail.compose import address, header_safe, message_id
from ..mail.templates import Fields, prefilled_link
from ..mail.wire import compose_wire
from ..models import LedgerEntry, MessageKey, Teacher
from ..workspace import Workspace
from .delivery import Outgoing

_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

REQUEST = "request"


def reminder_kind(number: int) -> str:
    """The ledger kind of the ``number``-th reminder: ``reminder-1``, ``reminder-2``, ..."""
    return f"reminder-{number}"


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


def base_context(ws: Workspace, cycle: Cycle) -> dict[str, Any]:
    """The context every template shares: school, librarian, campaign, cycle."""
    cfg = ws.config
    return {
        "school": cfg.school,
        "campaign": cfg.campaign,
        "librarian": {"name": cfg.librarian.name, "email": cfg.librarian.email},
        "cycle": cycle_context(cycle),
    }


def teacher_context(ws: Workspace, cycle: Cycle, teacher: Teacher) -> dict[str, Any]:
    return {
        **base_context(ws, cycle),
        "teacher": Fields(teacher),
        "form_link": prefilled_link(ws.config.form, teacher, cycle.name),
    }


def _key(ws: Workspace, cycle: Cycle, recipient: str, kind: str) -> MessageKey:
    return MessageKey(ws.config.campaign, cycle.name, recipient, kind)


def _domain(ws: Workspace) -> str:
    return ws.config.librarian.email.rpartition("@")[2]


def _sender(ws: Workspace) -> Any:
    return address(ws.config.mail.sender_name, ws.config.librarian.email)


def _to_teacher(
    ws: Workspace,
    cycle: Cycle,
    teacher: Teacher,
    kind: str,
    template: str,
    subject: str,
    ctx: dict[str, Any],
    reply_to: LedgerEntry | None = None,
) -> Outgoing:
    """A message of ``kind`` to ``teacher`` from ``template``.{txt,html}.j2; with ``reply_to``,
    a reply in that message's thread."""
    key = _key(ws, cycle, teacher.email, kind)
    text = ws.templates.render(f"{template}.txt.j2", ctx)
    html = ws.templates.render(f"{template}.html.j2", ctx)
    # The roster's key is the one recipient; a roster without names gives a bare address.
    name = "" if teacher.display_name == teacher.email else teacher.display_name
    try:
        msg = compose_wire(
            sender=_sender(ws),
            to=address(name, key.recipient),
            subject=subject,
            text=text,
            html=html,
            message_id=message_id(key, _domain(ws)),
            date=ws.now(),
            reply_to=ws.config.mail.reply_to,
            in_reply_to=reply_to.message_id if reply_to else "",
        )
    except InputError as exc:
        where = f"{ws.roster.origin}, row {teacher.row}" if teacher.row else "the roster"
        raise InputError(
            f"{where} ({teacher.email}): the {kind} cannot be built safely: {exc.message}",
            hint="check the row's name fields and the subject template; nothing was sent",
        ) from None
    thread = (reply_to.thread_id or reply_to.message_id) if reply_to else None
    return Outgoing(key, msg, thread_id=thread)


def build_request(ws: Workspace, cycle: Cycle, teacher: Teacher) -> Outgoing:
    """The cycle's request to ``teacher``, rendered from request.{subject,txt,html}.j2."""
    ctx = teacher_context(ws, cycle, teacher)
    subject = header_safe(ws.templates.render("request.subject.j2", ctx))
    if not subject:
        raise TemplateError(f"{ws.templates.where('request.subject.j2')}: the subject is empty")
    return _to_teacher(ws, cycle, teacher, REQUEST, "request", subject, ctx)


def build_reminder(
    ws: Workspace, cycle: Cycle, teacher: Teacher, number: int, request: LedgerEntry
) -> Outgoing:
    """Reminder ``number`` to ``teacher``: a reply in the request's thread, same subject."""
    ctx = {
        **teacher_context(ws, cycle, teacher),
        "reminder_number": number,
        "reminders_left": len(cycle.reminders) - number,
    }
    subject = request.subject
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    kind = reminder_kind(number)
    return _to_teacher(ws, cycle, teacher, kind, "reminder", subject, ctx, reply_to=request)
