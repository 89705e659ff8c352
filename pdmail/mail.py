"""Building the messages: safe headers, deterministic Message-IDs, text and HTML alternatives."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry, MessageIDHeader
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime

from .models import MessageKey

# In-Reply-To and References are unstructured headers to the standard library, which folds a
# long one into RFC 2047 encoded-words; mail clients then no longer see the id and the reply
# leaves the thread. Parsed as message ids, they fold like Message-ID does.
_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("in-reply-to", MessageIDHeader)  # type: ignore[arg-type]
_HEADERS.map_to_type("references", MessageIDHeader)  # type: ignore[arg-type]
POLICY = default.clone(header_factory=_HEADERS)


def header_safe(value: str) -> str:
    """``value`` on one line: every run of white space (line breaks included) becomes a space,
    so a name or answer can never start a new header."""
    return " ".join(value.split())


def message_id(key: MessageKey, domain: str) -> str:
    """The Message-ID of ``key``: the same for the same campaign, cycle, recipient and kind,
    so a resend is recognisable as the same message. The address is hashed, not shown."""
    digest = hashlib.sha256(
        "\x1f".join((key.campaign, key.cycle, key.recipient, key.kind)).encode()
    ).hexdigest()[:24]
    return f"<pdmail.{key.campaign}.{key.cycle}.{key.kind}.{digest}@{domain}>"


def address(name: str, email: str) -> Address:
    """A mailbox whose display name is header-safe (non-ASCII names are encoded on output)."""
    local, _, domain = email.partition("@")
    return Address(display_name=header_safe(name), username=local, domain=domain)


def compose(
    *,
    sender: Address,
    to: Address,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    date: datetime,
    reply_to: str = "",
    in_reply_to: str = "",
) -> EmailMessage:
    """A complete message: text first, HTML as the alternative mail clients prefer.

    ``in_reply_to`` (the first message's Message-ID) makes it a reply in the same thread.
    """
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = header_safe(subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = header_safe(reply_to)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    # Asks Exchange and Outlook not to answer with out-of-office notices.
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg
