"""Writing a message: the one place pdmail builds the bytes it hands over, and checks them.

:func:`compose` writes the headers pdmail chooses (From, To, Subject, Date, Message-ID,
Reply-To, In-Reply-To and References for a reply, X-Auto-Response-Suppress) with the writers of
:mod:`pdmail.mail.headers`, and each body with the standard library's own choice of transfer
encoding, straight to bytes: no ``EmailMessage`` is built. Everything that needs a message
object (the outbox's ``.eml`` file, preview, the raw MIME the Gmail and Graph APIs take, the
digest mail) reads the same bytes back (:attr:`WireMessage.parsed`).

The security check stays: before a :class:`WireMessage` exists, :func:`check_head` reads its
header block back with a narrow grammar (only what pdmail writes: atoms, base64 encoded-words,
one bare address in angle brackets) and refuses it unless the names, the order, the one
recipient, the sender, the display names and the subject read back exactly as meant, with no
control character; and the boundary is checked to occur in no part.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import random
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from email import quoprimime
from email.contentmanager import _encode_text  # type: ignore[attr-defined]
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import Policy, default
from email.utils import format_datetime
from typing import Any

from ..errors import DeliveryError, InputError
from .headers import (
    Folder,
    add_phrase,
    add_unstructured,
    address,
    body_safe,
    has_control,
    header_safe,
    is_plain_address,
)

__all__ = [
    "POLICY",
    "Expected",
    "Sendable",
    "WireMessage",
    "check_head",
    "compose",
    "compose_wire",
    "handover_bytes",
    "message_id_of",
    "reread",
    "subject_of",
    "verify",
    "wire_bytes",
]

# The standard library's policy for what pdmail encodes with it (the bodies' transfer
# encoding, at most 78 characters a line) and reads back.
POLICY = default

_CRLF = "\r\n"
# The longest line RFC 5322 allows. pdmail's own lines keep to 78 unless one word (a long
# address, a message id) is longer.
_MAX_LINE = 998


@dataclass(frozen=True, eq=False)
class WireMessage:
    """A message as the exact bytes every mailer hands over, with the envelope pdmail chose.

    ``data`` were checked when the message was written and cannot change afterwards;
    ``message_id`` and ``subject`` are the text pdmail wrote. Everything else an
    ``EmailMessage`` offers (``message["To"].addresses``, ``get_body()``, ``walk()``) reads
    what the standard library's parser reads from ``data``, parsed on first use.
    """

    data: bytes
    envelope_from: str
    envelope_to: str
    message_id: str
    subject: str
    # What compose meant the bytes to say (None: bytes from elsewhere, not checked here).
    expected: Expected | None = field(default=None, repr=False)

    @functools.cached_property
    def parsed(self) -> EmailMessage:
        """``data`` as the standard library reads it, line ends as Python writes them (so a
        text part's content is the text that was rendered, as on the message composed)."""
        parsed = BytesParser(policy=default).parsebytes(self.data.replace(b"\r\n", b"\n"))
        assert isinstance(parsed, EmailMessage)
        return parsed

    def get(self, name: str, default: Any = None) -> Any:
        """Header ``name`` as the standard library reads it, or ``default`` when absent."""
        return self.parsed.get(name, default)

    def __getitem__(self, name: str) -> Any:
        return self.parsed[name]

    def __contains__(self, name: str) -> bool:
        return name in self.parsed

    def __getattr__(self, name: str) -> Any:
        # Only for what the dataclass lacks; private names (pickle's probes) are not passed on.
        if name.startswith("_") or name == "parsed":
            raise AttributeError(name)
        if name in _CHANGES:
            # Changing the parsed copy would leave the bytes that go out as they were.
            raise AttributeError(
                f"{name}: a message pdmail wrote cannot be changed; compose it again instead"
            )
        return getattr(self.parsed, name)

    def as_bytes(self, unixfrom: bool = False, policy: Policy | None = None) -> bytes:
        """The message's bytes with the line ends of ``policy`` (default: Python's ``\n``,
        as ``EmailMessage.as_bytes`` writes them); with CRLF, the bytes a mailer hands over
        (:attr:`data`). ``unixfrom`` is accepted for ``EmailMessage``'s sake and ignored."""
        linesep = str(getattr(policy or default, "linesep", "\n"))
        return self.data if linesep == "\r\n" else self.data.replace(b"\r\n", linesep.encode())


# The EmailMessage methods that change a message, which a WireMessage refuses.
_CHANGES = frozenset(
    {
        "add_alternative", "add_attachment", "add_header", "add_related", "attach",
        "clear", "clear_content", "del_param", "make_alternative", "make_mixed",
        "make_related", "replace_header", "set_boundary", "set_charset", "set_content",
        "set_default_type", "set_param", "set_payload", "set_raw", "set_type", "set_unixfrom",
    }
)  # fmt: skip

# What a mailer takes: a message pdmail wrote as bytes, or any ``EmailMessage``.
Sendable = EmailMessage | WireMessage


# -- writing ---------------------------------------------------------------------------------


def _address_lines(name: str, mailbox: Address) -> str:
    return _mailbox_lines(name, mailbox.display_name, mailbox.username, mailbox.domain)


@functools.lru_cache(maxsize=256)
def _mailbox_lines(name: str, display_name: str, username: str, domain: str) -> str:
    # Cached: a run writes the same From (and Reply-To) line for every teacher.
    folder = Folder(name)
    add_phrase(folder, display_name)
    spec = f"{username}@{domain}"
    folder.add(f"<{spec}>" if display_name else spec)
    return folder.text(_CRLF)


@functools.lru_cache(maxsize=256)
def _unstructured_lines(name: str, text: str) -> str:
    # Cached: a run often writes the same subject for every teacher.
    folder = Folder(name)
    add_unstructured(folder, text)
    return folder.text(_CRLF)


_NEWLINES = re.compile(r"\r\n|\r|\n")
_BOUNDARY_WIDTH = len(repr(sys.maxsize - 1))


def _part(body: str, subtype: str, *, mime_version: bool) -> tuple[str, str]:
    """One text part: its transfer encoding, and its headers, a blank line and its body with
    CRLF line ends, as the standard library's content manager encodes and its generator
    writes it."""
    cte, payload = _encoded_crlf(body_safe(body))
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    if mime_version:
        head += "MIME-Version: 1.0\r\n"
    return cte, f"{head}\r\n{payload}"


def _encoded_crlf(text: str) -> tuple[str, str]:
    """:func:`encode_body` with CRLF line ends, as a message carries them."""
    return _encoded(text, crlf=True)


def encode_body(text: str) -> tuple[str, str]:
    """The transfer encoding the standard library's content manager picks for ``text`` (as
    UTF-8, with pdmail's policy) and the body encoded with it, LF line ends: exactly
    ``email.contentmanager``'s result. Quoted-printable, which a template's long lines call
    for, is written a line at a time, and the lines every teacher's message shares (most of a
    template) are encoded once a run."""
    return _encoded(text, crlf=False)


def _encoded(text: str, *, crlf: bool) -> tuple[str, str]:
    lines = text.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) > _MAX_BODY_LINE:
        # The standard library decides between quoted-printable and base64 on the first ten
        # lines; quoted-printable encodes each line on its own, so the body is its lines',
        # put together from lines already ending as the caller wants (not converted).
        sniff = sum(len(_qp_line(x)) + 1 for x in lines[:10])
        if sniff <= len(binascii.b2a_base64(b"".join(x + b"\n" for x in lines[:10]))):
            if crlf:
                return "quoted-printable", "".join([_qp_line_crlf(x) for x in lines])
            return "quoted-printable", "".join([_qp_line(x) + "\n" for x in lines])
    # 7bit or 8bit (no encoding work), or base64.
    cte, payload = _stdlib_encoded(text)
    return cte, _NEWLINES.sub(_CRLF, payload) if crlf else payload


_MAX_BODY_LINE = int(POLICY.max_line_length or 78)


def _stdlib_encoded(text: str) -> tuple[str, str]:
    cte, payload = _encode_text(text, "utf-8", None, POLICY)
    return str(cte), str(payload)


@functools.lru_cache(maxsize=256)
def _qp_line(line: bytes) -> str:
    # Cached: the lines of a template that do not vary are the same for every teacher, and,
    # read for every message, stay in a small cache that the lines naming a teacher pass through.
    return quoprimime.body_encode(line.decode("latin-1"), _MAX_BODY_LINE)


@functools.lru_cache(maxsize=256)
def _qp_line_crlf(line: bytes) -> str:
    # _qp_line with its soft breaks and its end as CRLF, as the message carries it.
    return _NEWLINES.sub(_CRLF, _qp_line(line)) + _CRLF


def _boundary(parts: str) -> str:
    # The standard library's boundary, made longer in the same way while a part holds it.
    token = random.randrange(sys.maxsize)
    base = "=" * 15 + f"{token:0{_BOUNDARY_WIDTH}d}" + "=="
    boundary, counter = base, 0
    # Stricter than the standard library, which looks for it only as a line of its own: a
    # mail program that takes a line starting with it for a boundary reads the same parts.
    while boundary in parts:
        counter += 1
        boundary = f"{base}.{counter}"
    return boundary


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
) -> WireMessage:
    """A complete message from ``sender`` to the one mailbox ``to``, as checked bytes: text
    first, HTML (when given) as the alternative mail clients prefer.

    ``in_reply_to`` (the first message's Message-ID) makes it a reply in the same thread
    (In-Reply-To and References); one that is not a message id is left out rather than
    written as something a mail client would misread. Raises
    :class:`~pdmail.errors.InputError` naming the header when an address is not one plain
    address, the Message-ID is not one, or the written message would not read back exactly
    as meant.
    """
    for header, mailbox in (("From", sender), ("To", to)):
        if not is_plain_address(mailbox.addr_spec):
            raise InputError(f"{header}: {mailbox.addr_spec!r} is not a single plain address")
    # As the header classes of pdmail.mail.compose do when the header is set.
    sender = Address(header_safe(sender.display_name), sender.username, sender.domain)
    to = Address(header_safe(to.display_name), to.username, to.domain)
    subject = header_safe(subject)
    try:
        reply = address("", header_safe(reply_to)) if reply_to else None
    except InputError as exc:
        raise InputError(f"Reply-To: {exc.message}", hint=exc.hint) from None
    when = format_datetime(date)
    if not _ID.fullmatch(message_id) or len(f"Message-ID: {message_id}") > _MAX_LINE:
        raise InputError(
            f"Message-ID: {message_id!r} is not one message id of at most {_MAX_LINE} characters"
        )
    ids = [("Message-ID", message_id)]
    if in_reply_to and _ID.fullmatch(in_reply_to) and len(in_reply_to) < _MAX_LINE - 13:
        ids += [("In-Reply-To", in_reply_to), ("References", in_reply_to)]
    lines = [
        _address_lines("From", sender),
        _address_lines("To", to),
        _unstructured_lines("Subject", subject),
        f"Date: {when}\r\n",
        f"Message-ID: {message_id}\r\n",
    ]
    headers = [
        ("From", str(sender)),
        ("To", str(to)),
        ("Subject", subject),
        ("Date", when),
        ("Message-ID", message_id),
    ]
    if reply is not None:
        lines.append(_address_lines("Reply-To", reply))
        headers.append(("Reply-To", reply.addr_spec))
    for name, value in ids[1:]:
        lines.append(f"{name}: {value}\r\n")
        headers.append((name, value))
    lines.append("X-Auto-Response-Suppress: OOF, AutoReply\r\n")
    fixed = {n.lower(): v for n, v in headers if n in _FIXED}
    fixed |= {"x-auto-response-suppress": "OOF, AutoReply", "mime-version": "1.0"}
    names = [n for n, _ in headers] + ["X-Auto-Response-Suppress"]
    if html is None:
        cte, body = _part(text, "plain", mime_version=True)
        names += ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
        fixed |= {"content-type": 'text/plain; charset="utf-8"', "content-transfer-encoding": cte}
        data_text = "".join(lines) + body
    else:
        parts = [
            _part(text, "plain", mime_version=False)[1],
            _part(html, "html", mime_version=True)[1],
        ]
        boundary = _boundary("".join(parts))
        names += ["MIME-Version", "Content-Type"]
        fixed["content-type"] = f'multipart/alternative; boundary="{boundary}"'
        head = "".join(lines)
        head += "MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n"
        head += f' boundary="{boundary}"\r\n'
        body = "".join(f"\r\n--{boundary}\r\n{p}" for p in parts) + f"\r\n--{boundary}--\r\n"
        data_text = head + body
    data = data_text.encode("ascii", "surrogateescape")
    end = data.index(b"\r\n\r\n") + 2
    expected = Expected(
        names=names,
        sender=sender,
        to=to,
        subject=subject,
        reply_to=reply.addr_spec if reply is not None else "",
        fixed=fixed,
        body=hashlib.sha256(data[end:]).digest(),
    )
    message = WireMessage(data, sender.addr_spec, to.addr_spec, message_id, subject, expected)
    # The header block read back as a mail program would (the body is the one just hashed).
    problem = check_head(data[:end], expected)
    if problem:
        raise _unreadable(to.addr_spec, problem)
    return message


# The name this writer had while a second one built message objects.
compose_wire = compose


def reread(message: WireMessage, data: bytes | None = None) -> None:
    """Read ``data`` (default: ``message.data``) back as a mail program would and raise
    :class:`~pdmail.errors.InputError` naming the difference unless its header block reads
    exactly as :func:`compose` meant (:func:`check_head`) and its body is the body written.
    A :class:`WireMessage` made from bytes alone (no ``expected``) is not checked."""
    data = message.data if data is None else data
    expected = message.expected
    if expected is None:
        return
    end = data.find(b"\r\n\r\n") + 2
    problem = check_head(data[:end], expected) if end > 1 else "it has no header block"
    if not problem and hashlib.sha256(data[end:]).digest() != expected.body:
        problem = "its parts would read differently"
    if problem:
        raise _unreadable(expected.to.addr_spec, problem)


def _unreadable(recipient: str, problem: str) -> InputError:
    return InputError(
        f"the message to {recipient} would not read back as written: {problem}",
        hint="pdmail refuses to send a message whose headers a mail program could read "
        "differently; check the names and the subject template for unusual characters",
    )


def verify(message: WireMessage, data: bytes) -> None:
    """:func:`reread` ``data`` as the bytes of ``message``."""
    reread(message, data)


def wire_bytes(message: Sendable) -> bytes:
    """The bytes a mailer hands over for ``message``: a :class:`WireMessage` is its checked
    bytes; any other message is serialised with its own policy, CRLF line ends."""
    if isinstance(message, WireMessage):
        return message.data  # checked when it was written, and it cannot change
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def handover_bytes(message: Sendable, where: str) -> bytes:
    """:func:`wire_bytes` for a mailer at ``where`` (``SMTP host:port``, ``Gmail API``, an
    outbox folder); a message the standard library cannot write is a definite
    :class:`~pdmail.errors.DeliveryError`, since nothing was handed over."""
    try:
        return wire_bytes(message)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise DeliveryError(f"{where}: message not sent: {exc}", definite=True) from None


def message_id_of(message: Sendable) -> str:
    """The Message-ID of ``message`` ("" when it has none), without parsing pdmail's own."""
    if isinstance(message, WireMessage):
        return message.message_id
    return str(message.get("Message-ID", "")).strip()


def subject_of(message: Sendable) -> str:
    """The subject of ``message`` ("" when it has none), without parsing pdmail's own."""
    if isinstance(message, WireMessage):
        return message.subject
    return str(message.get("Subject", ""))


_FIXED = frozenset({"Date", "Message-ID", "In-Reply-To", "References"})
# A message id as pdmail writes it on one line: <left@right>, printable ASCII, no space.
_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")


# -- checking --------------------------------------------------------------------------------


@dataclass
class Expected:
    """What a message must say: the header names in order, the two mailboxes, the subject,
    the Reply-To address ("" for none), the text of every other header, and its body."""

    names: list[str]
    sender: Address
    to: Address
    subject: str
    reply_to: str
    fixed: dict[str, str]
    body: bytes  # the SHA-256 of everything after the header block


_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+):(.*)")
_PRINTABLE_LINE = re.compile(rb"[\x20-\x7e]*")
_EW = r"=\?utf-8\?b\?([A-Za-z0-9+/]*={0,2})\?="
_EWS = re.compile(rf"{_EW}(?: {_EW})*")
_ONE_EW = re.compile(_EW)
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*")
_MAILBOX = re.compile(r"(?:(?P<phrase>.+) <(?P<spec>[^<>\s]+)>|(?P<bare>[^<>\s]+))")


def check_head(head: bytes, expected: Expected) -> str:
    """Why the header block ``head`` (up to its last CRLF) would not read as ``expected``,
    or "" when it reads exactly so.

    Only what pdmail writes reads back: printable ASCII lines of at most 998 characters ending
    in CRLF, each header starting a line and continued on lines that start with a space; the
    header names of ``expected`` in its order and nothing else; From and To each one bare
    address (the one meant) with the meant display name in plain words or base64 encoded-words;
    the subject in plain words without ``=?`` or in encoded-words; no control character in
    anything decoded; every other header exactly its meant text.
    """
    if not head.endswith(b"\r\n"):
        return "its header block does not end a line"
    fields: list[tuple[str, str]] = []
    for line in head[:-2].split(b"\r\n"):
        if len(line) > _MAX_LINE or not _PRINTABLE_LINE.fullmatch(line):
            return "a header line holds a control character, 8-bit data or is too long"
        if line.startswith(b" "):
            if not fields:
                return "it would start with a continuation line"
            name, value = fields[-1]
            fields[-1] = (name, value + line.decode("ascii"))
            continue
        m = _FIELD.fullmatch(line)
        if m is None:
            return f"a line would not read as a header ({line[:30]!r})"
        fields.append((m.group(1).decode("ascii").lower(), m.group(2).decode("ascii")))
    got = [name for name, _ in fields]
    wanted = [name.lower() for name in expected.names]
    if got != wanted:
        extra = sorted(set(got) - set(wanted)) or sorted({k for k in got if got.count(k) > 1})
        if extra:
            return f"it would carry a header pdmail did not write ({', '.join(extra)})"
        missing = ", ".join(sorted(set(wanted) - set(got))) or "order changed"
        return f"it would lose a header ({missing})"
    for name, raw in fields:
        if raw == "" and name == "subject" and expected.subject == "":
            continue
        if not raw.startswith(" ") or raw.startswith("  ") or raw.endswith(" "):
            return f"the {name} header would read with other spacing"
        value = raw[1:]
        if name in ("from", "to", "reply-to"):
            mailbox = {"from": expected.sender, "to": expected.to}.get(name)
            want_name = mailbox.display_name if mailbox else ""
            want_spec = mailbox.addr_spec if mailbox else expected.reply_to
            problem = _mailbox_problem(name, value, want_name, want_spec)
        elif name == "subject":
            text = _decoded(value, phrase=False)
            problem = ""
            if text is None:
                problem = "the Subject would not read as plain words or encoded-words"
            elif has_control(text):
                problem = "the Subject header would hold a control character"
            elif text != expected.subject:
                problem = f"the Subject would read as {text!r}"
        elif name in expected.fixed:
            problem = "" if value == expected.fixed[name] else f"the {name} header would differ"
        else:
            problem = f"the {name} header would not read as written"
        if problem:
            return problem
    return ""


@functools.lru_cache(maxsize=512)
def _mailbox_problem(name: str, value: str, want_name: str, want_spec: str) -> str:
    # Cached (a pure function of its text): a run checks the same From line every message.
    title = name.title()
    m = _MAILBOX.fullmatch(value)
    if m is None:
        return f"{title} would not read as one address"
    spec = m.group("spec") or m.group("bare")
    if not is_plain_address(spec) or spec.lower() != want_spec.lower():
        return f"{title} would read as {spec}"
    phrase = m.group("phrase")
    shown = "" if phrase is None else _decoded(phrase, phrase=True)
    if shown is None:
        return f"the name in {title} would not read as plain words or encoded-words"
    if has_control(shown):
        return f"the {name} header would hold a control character"
    if shown != want_name or (phrase is not None and not want_name):
        return f"the name in {title} would read differently"
    return ""


@functools.lru_cache(maxsize=512)
def _decoded(value: str, *, phrase: bool) -> str | None:
    """``value`` as a mail program reads it, if it is all plain words (atoms, in a phrase;
    printable text without ``=?`` otherwise) or all base64 encoded-words; None if mixed."""
    if _EWS.fullmatch(value):
        try:
            data = b"".join(base64.b64decode(w, validate=True) for w in _ONE_EW.findall(value))
            return data.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    if "=?" in value or (phrase and not _ATOMS.fullmatch(value)):
        return None
    return value
