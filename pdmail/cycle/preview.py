"""Rendering messages for a look before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..cycles import Cycle
from ..errors import InputError
from ..models import LedgerEntry, MessageKey, State
from ..sources.roster import Roster
from .messages import REQUEST, Composer, build_reminder, build_request

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass(frozen=True)
class Preview:
    to: str
    subject: str
    text: str
    html: str


def preview_messages(
    ws: Workspace, cycle: Cycle, teachers: Sequence[str] = (), kind: str = "request"
) -> list[Preview]:
    """The request (or first reminder) as ``teachers`` would get it (default: the first
    active teacher). Nothing is sent or recorded."""
    return render_previews(Composer.of(ws), ws.roster, cycle, teachers, kind)


def render_previews(
    composer: Composer,
    roster: Roster,
    cycle: Cycle,
    teachers: Sequence[str] = (),
    kind: str = "request",
) -> list[Preview]:
    """:func:`preview_messages` from the parts it uses: the message composer and the roster
    the ``teachers`` are found in."""
    if teachers:
        chosen = []
        for email in teachers:
            teacher = roster.get(email)
            if teacher is None:
                raise InputError(f"--teacher: {email} is not on the roster ({roster.origin})")
            chosen.append(teacher)
    else:
        chosen = list(roster.require_active()[:1])
    out = []
    for teacher in chosen:
        item = build_request(composer, cycle, teacher)
        if kind == "reminder":
            now = composer.clock()
            request = LedgerEntry(
                key=MessageKey(composer.config.campaign, cycle.name, teacher.email, REQUEST),
                state=State.SENT,
                message_id=item.message_id,
                thread_id="",
                provider_id="",
                subject=item.subject,
                error="",
                attempts=1,
                created=now,
                updated=now,
            )
            item = build_reminder(composer, cycle, teacher, 1, request)
        msg = item.message
        text_part = msg.get_body(("plain",))
        html_part = msg.get_body(("html",))
        out.append(
            Preview(
                to=str(msg["To"]),
                subject=str(msg["Subject"]),
                text=text_part.get_content() if text_part else "",
                html=html_part.get_content() if html_part else "",
            )
        )
    return out
