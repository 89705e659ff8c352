"""One test message to the librarian through the configured mailer (``doctor --send-test``).

It proves what connecting and logging in cannot: that the mail system takes a message from
pdmail. It is not a cycle message, so it is not recorded in the ledger (``status``, the
digest and the daily budget never count it), and it is handed over exactly once: a failure is
reported as it is, never tried again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email.message import EmailMessage

from .errors import DeliveryError, PdmailError
from .mail.compose import address, compose
from .models import SendResult
from .workspace import Workspace

SUBJECT = "pdmail test message"


@dataclass(frozen=True)
class SendTest:
    """What became of the test message: ``result`` when the mail system took it, else the
    ``error``; ``unknown`` when the mail system may have taken it all the same."""

    message: EmailMessage
    result: SendResult | None = None
    error: PdmailError | None = None

    @property
    def unknown(self) -> bool:
        return isinstance(self.error, DeliveryError) and not self.error.definite


def build_test_message(ws: Workspace) -> EmailMessage:
    """The test message: from and to the librarian, with a Message-ID of its own (a second
    test is a second message, not a resend of the first)."""
    cfg = ws.config
    now = ws.now()
    domain = cfg.librarian.email.rpartition("@")[2]
    mid = f"<pdmail.{cfg.campaign}.doctor.test-{now:%Y%m%dT%H%M%S}.{secrets.token_hex(6)}@{domain}>"
    text = (
        f"This is a test message from pdmail for {cfg.school}, sent by 'pdmail doctor "
        f"--send-test' on {now:%Y-%m-%d at %H:%M} ({cfg.timezone.key}).\n\n"
        f"It went through the configured mailer ({cfg.mail.kind}), as the requests to teachers "
        "will. If it reached you, pdmail can send. Nothing else was sent, and this message "
        "is not part of any cycle.\n"
    )
    return compose(
        sender=address(cfg.mail.sender_name, cfg.librarian.email),
        to=address(cfg.librarian.name, cfg.librarian.email),
        subject=f"{SUBJECT} ({cfg.school})",
        text=text,
        html=None,
        message_id=mid,
        date=now,
        reply_to=cfg.mail.reply_to,
    )


def send_test_message(ws: Workspace) -> SendTest:
    """Hand the test message to the configured mailer once; the mailer's error, if any, is
    returned with it (connecting or logging in failing, a refusal, an unknown outcome)."""
    message = build_test_message(ws)
    try:
        with ws.mailer() as mailer:
            return SendTest(message, result=mailer.send(message))
    except PdmailError as exc:
        return SendTest(message, error=exc)
