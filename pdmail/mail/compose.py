"""Building the messages: the names scripts and the rest of pdmail import.

A message is written once, straight to the bytes every mailer hands over, by
:func:`pdmail.mail.wire.compose`, with the safe header writers of :mod:`pdmail.mail.headers`;
what needs a message object reads those bytes back (:attr:`WireMessage.parsed`). This module
keeps the names they had here.
"""

from __future__ import annotations

from .headers import address, has_control, header_safe, is_plain_address, message_id
from .wire import POLICY, WireMessage, compose, handover_bytes, verify, wire_bytes

# What compose() returns; the name an EmailMessage subclass had when messages were objects.
ComposedMessage = WireMessage

__all__ = [
    "POLICY",
    "ComposedMessage",
    "WireMessage",
    "address",
    "compose",
    "handover_bytes",
    "has_control",
    "header_safe",
    "is_plain_address",
    "message_id",
    "verify",
    "wire_bytes",
]
