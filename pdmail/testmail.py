"""One test message to the librarian through the configured mailer (``doctor --send-test``).

It proves what connecting and logging in cannot: that the mail system takes a message from
pdmail. It is not a cycle message, so it is not recorded in the ledger (``status``, the
digest and the daily budget never count it), and it is handed over exactly once: a failure is
reported as it is, never tried again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .backends.base import Mailer
from .config.records import Config
from .errors import DeliveryError, PdmailError
from .mail.compose import address, compose
from .mail.wire import WireMessage
from .models import Clock, SendResult

SUBJECT = "pdmail test message"


@dataclass(frozen=True)
class SendTest:
    """What became of the test message: ``result`` when the mail system took it, else the
    ``error``; ``unknown`` when the mail system may have taken it all the same."""

    message: WireMessage
    result: SendResult | None = None
    error: PdmailError | None = None

    @property
    def unknown(self) -> bool:
        return isinstance(self.error, DeliveryError) and not self.error.definite


def build_test_message(config: Config, clock: Clock) -> WireMessage:
    """The test message: from and to the librarian, dated by ``clock``, with a Message-ID of
    its own (a second test is a second message, not a resend of the first)."""
    now = clock()
    domain = config.librarian.email.rpartition("@")[2]
    unique = f"{now:%Y%m%dT%H%M%S}.{secrets.token_hex(6)}"
    mid = f"<pdmail.{config.campaign}.doctor.test-{unique}@{domain}>"
    text = (
        f"This is a test message from pdmail for {config.school}, sent by 'pdmail doctor "
        f"--send-test' on {now:%Y-%m-%d at %H:%M} ({config.timezone.key}).\n\n"
        f"It went through the configured mailer ({config.mail.kind}), as the requests to "
        "teachers will. If it reached you, pdmail can send. Nothing else was sent, and this "
        "message is not part of any cycle.\n"
    )
    return compose(
        sender=address(config.mail.sender_name, config.librarian.email),
        to=address(config.librarian.name, config.librarian.email),
        subject=f"{SUBJECT} ({config.school})",
        text=text,
        html=None,
        message_id=mid,
        date=now,
        reply_to=config.mail.reply_to,
    )


def send_test_message(config: Config, new_mailer: Callable[[], Mailer], clock: Clock) -> SendTest:
    """Hand the test message to a mailer from ``new_mailer`` (the configured one) once; the
    mailer's error, if any, is returned with it (building it, connecting or logging in
    failing, a refusal, an unknown outcome)."""
    message = build_test_message(config, clock)
    try:
        with new_mailer() as mailer:
            return SendTest(message, result=mailer.send(message))
    except PdmailError as exc:
        return SendTest(message, error=exc)
