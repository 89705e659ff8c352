"""Building the messages: safe headers, deterministic Message-IDs, text and HTML alternatives.

Whatever a roster, an answer or a template puts in a name or a subject, the message has exactly
the headers pdmail writes and one recipient. Three layers make that so:

* every header value is plain text first (:func:`header_safe`): control characters out, line
  breaks and other white space folded to one space, and ``=?`` (the start of an RFC 2047
  encoded-word) split so that no decoder can read the text as something else;
* pdmail writes the To, From, Reply-To and Subject lines itself (:class:`SafeAddressHeader`,
  :class:`SafeUnstructuredHeader`) rather than through the standard library's folder, which
  decodes encoded-words inside a display name and writes what they hide (a new line and a
  ``Bcc:``) straight into the header, and which drops the quotes of a long quoted name;
* :func:`wire_bytes` parses the exact bytes a mailer hands over back with ``email.parser`` and
  refuses them unless they say what pdmail meant: the same header names, one ``To`` address
  (the recipient pdmail chose, never one read back from a header), no ``Cc``, ``Bcc`` or
  ``Resent-*``, no control character in any header, the same subject and names.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.headerregistry import (
    Address,
    AddressHeader,
    BaseHeader,
    Group,
    HeaderRegistry,
    MessageIDHeader,
    UnstructuredHeader,
)
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import Policy, compat32, default
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, cast

from ..errors import DeliveryError, InputError
from ..models import MessageKey

if TYPE_CHECKING:
    from .wire import WireMessage

__all__ = [
    "POLICY",
    "ComposedMessage",
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

# -- plain text for headers ------------------------------------------------------------------

# Invisible format characters that are part of how a script is written stay: the zero-width
# non-joiner and joiner (Persian, Indic names; emoji sequences). Every other format character
# (bidi overrides and isolates, zero-width space, BOM, soft hyphen, tags) can disguise text.
_KEEP_FORMAT = frozenset("\u200c\u200d")
_DROP_CATEGORIES = frozenset({"Cc", "Cs", "Cf"})


def _dropped(ch: str) -> bool:
    return unicodedata.category(ch) in _DROP_CATEGORIES and ch not in _KEEP_FORMAT


def has_control(text: str) -> bool:
    """True when ``text`` holds a character no header value may carry: a C0 or C1 control
    (NUL, ESC, CR, LF, DEL, ...), a line or paragraph separator, a bidi or other invisible
    format character, or a lone surrogate."""
    if text.isascii() and text.isprintable():
        return False  # the usual case, without a look at each character
    return _has_control(text)


@functools.lru_cache(maxsize=256)
def _has_control(text: str) -> bool:
    # Cached: a run checks the same subject and sender name for every teacher.
    return any(_dropped(ch) or unicodedata.category(ch) in ("Zl", "Zp") for ch in text)


def header_safe(value: str) -> str:
    """``value`` as plain text for one header line.

    Every run of white space (line breaks, tabs, U+2028 and U+2029 included) becomes one space;
    control characters (C0, C1, DEL), bidi and other invisible format characters and lone
    surrogates are dropped; ``=?`` becomes ``= ?`` so that no mail program can decode the text
    as an RFC 2047 encoded-word. The result never starts a new header and reads the same to
    every parser.
    """
    if value.isascii() and value.isprintable():
        # Printable ASCII has no control or format character and no white space but spaces.
        return " ".join(value.split()).replace("=?", "= ?")
    return _header_safe(value)


@functools.lru_cache(maxsize=256)
def _header_safe(value: str) -> str:
    # Cached: a run makes the same subject and sender name safe for every teacher.
    kept = "".join(" " if ch.isspace() else ch for ch in value if ch.isspace() or not _dropped(ch))
    return " ".join(kept.split()).replace("=?", "= ?")


# -- addresses -------------------------------------------------------------------------------

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(
    rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>{_LABEL}(?:\.{_LABEL})+)"
)


def is_plain_address(text: str) -> bool:
    """True for one bare ``local@domain.tld`` and nothing else: an ASCII dot-atom local part of
    at most 64 characters (no quotes, spaces, commas or display name; no ``=?``, which mail
    programs would decode as an encoded-word) and a host name of letters, digits and hyphens,
    at most 254 characters in all."""
    m = _PLAIN_ADDRESS.fullmatch(text)
    return bool(
        m and len(text) <= 254 and len(m.group("local")) <= 64 and "=?" not in m.group("local")
    )


def address(name: str, email: str) -> Address:
    """A mailbox for ``email`` whose display name is ``name`` made header-safe.

    Raises :class:`~pdmail.errors.InputError` when ``email`` is not one plain address.
    """
    if not is_plain_address(email):
        raise InputError(
            f"{email!r} is not a single plain email address",
            hint="an address is local@domain with nothing around it: no name, comma or space",
        )
    local, _, domain = email.partition("@")
    return Address(display_name=header_safe(name), username=local, domain=domain)


# -- writing the headers ---------------------------------------------------------------------

# RFC 2047: a line that holds an encoded-word is at most 76 characters, an encoded-word at most
# 75. Base64 of UTF-8 in chunks of whole characters keeps every chunk self-contained.
_LINE = 76
_EW_OVERHEAD = len("=?utf-8?b??=")
# Words a display name may show as they are; anything else (".", ",", quotes, brackets,
# non-ASCII) makes the whole name one encoded text, never a quoted string, whose quotes the
# standard library's folder can lose and inside which it decodes encoded-words.
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]{1,60}")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")


def _encoded_words(text: str, first_room: int) -> list[str]:
    """``text`` as base64 encoded-words, the first fitting in ``first_room`` characters (if it
    can hold any), the others in 75; split between characters, never inside one."""
    words: list[str] = []
    room = first_room if first_room >= _EW_OVERHEAD + 8 else _LINE - 1
    chunk = b""
    for ch in text:
        data = ch.encode("utf-8")
        if chunk and _EW_OVERHEAD + 4 * -(-(len(chunk) + len(data)) // 3) > room:
            words.append(_ew(chunk))
            chunk, room = b"", _LINE - 1
        chunk += data
    if chunk or not words:
        words.append(_ew(chunk))
    return words


def _ew(data: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


class _Folder:
    """Lines of one header, each word placed after a space or, when it does not fit, on a
    continuation line of its own."""

    def __init__(self, name: str) -> None:
        self.lines = [f"{name}:"]

    @property
    def room(self) -> int:
        return _LINE - len(self.lines[-1]) - 1

    def add(self, word: str, *, glue: bool = False) -> None:
        if glue:
            self.lines[-1] += word
        elif len(word) <= self.room or self.lines[-1].endswith(":"):
            # The first word stays on the header's own line: a value that starts on a
            # continuation line keeps a leading space in some parsers (Python's among them).
            self.lines[-1] += f" {word}"
        else:
            self.lines.append(f" {word}")

    def text(self, linesep: str) -> str:
        return linesep.join(self.lines) + linesep


def _add_phrase(folder: _Folder, text: str) -> None:
    words = text.split(" ")
    if text and all(_ATOM.fullmatch(w) for w in words):
        for w in words:
            folder.add(w)
    elif text:
        # One encoded text, spaces inside the encoded-words: decoders join adjacent
        # encoded-words without the white space between them (RFC 2047, 6.2).
        for w in _encoded_words(text, folder.room):
            folder.add(w)


def _add_unstructured(folder: _Folder, text: str) -> None:
    words = text.split(" ")
    if _PRINTABLE.fullmatch(text) and all(len(w) <= _LINE - 2 for w in words):
        for w in words:
            if w:
                folder.add(w)
    else:
        for w in _encoded_words(text, folder.room):
            folder.add(w)


def _linesep(policy: Policy) -> str:
    return str(getattr(policy, "linesep", "\n"))


class SafeAddressHeader(AddressHeader):
    """An address header (From, To, Reply-To, ...) that pdmail writes itself.

    Display names are made header-safe when the header is set, and written as plain words or
    as one base64 encoded text; every address is a bare ``local@domain`` checked by
    :func:`is_plain_address` (``ValueError`` otherwise, before a byte is written).
    """

    @classmethod
    def parse(cls, value: Any, kwds: dict[str, Any]) -> None:
        super().parse(value, kwds)
        groups = [
            Group(
                None if g.display_name is None else header_safe(g.display_name),
                [Address(header_safe(a.display_name), a.username, a.domain) for a in g.addresses],
            )
            for g in kwds["groups"]
        ]
        for a in (a for g in groups for a in g.addresses):
            if not is_plain_address(a.addr_spec):
                raise ValueError(f"{a.addr_spec!r} is not a single plain email address")
        kwds["groups"] = groups
        kwds["decoded"] = ", ".join(str(g) for g in groups)
        kwds["parse_tree"] = cls.value_parser(kwds["decoded"])

    def fold(self, *, policy: Policy) -> str:
        folder = _Folder(cast(BaseHeader, self).name)
        items: list[tuple[str | None, Sequence[Address]]] = [
            (g.display_name, g.addresses) for g in self.groups
        ]
        for i, (group, mailboxes) in enumerate(items):
            if group is not None:
                _add_phrase(folder, group)
                folder.add(":", glue=True)
            for j, a in enumerate(mailboxes):
                _add_phrase(folder, a.display_name)
                spec = f"{a.username}@{a.domain}"
                folder.add(f"<{spec}>" if a.display_name else spec)
                if j < len(mailboxes) - 1:
                    folder.add(",", glue=True)
            if group is not None:
                folder.add(";", glue=True)
            if i < len(items) - 1:
                folder.add(",", glue=True)
        return folder.text(_linesep(policy))


class SafeUnstructuredHeader(UnstructuredHeader):
    """A free-text header (Subject, ...) that pdmail makes header-safe and writes itself:
    printable ASCII as it is, anything else as base64 encoded-words."""

    @classmethod
    def parse(cls, value: Any, kwds: dict[str, Any]) -> None:
        super().parse(value, kwds)
        kwds["decoded"] = header_safe(kwds["decoded"])

    def fold(self, *, policy: Policy) -> str:
        folder = _Folder(cast(BaseHeader, self).name)
        _add_unstructured(folder, str(self))
        return folder.text(_linesep(policy))


def _safe(cls: type[Any], base: type[Any]) -> type[Any]:
    return type(f"Safe{cls.__name__}", (base, cls), {})


_HEADERS = HeaderRegistry(default_class=SafeUnstructuredHeader)
for _name, _cls in list(_HEADERS.registry.items()):
    if issubclass(_cls, AddressHeader):
        _HEADERS.map_to_type(_name, _safe(_cls, SafeAddressHeader))
    elif issubclass(_cls, UnstructuredHeader):
        _HEADERS.map_to_type(_name, _safe(_cls, SafeUnstructuredHeader))
# In-Reply-To and References are unstructured headers to the standard library, which folds a
# long one into RFC 2047 encoded-words; mail clients then no longer see the id and the reply
# leaves the thread. Parsed as message ids, they fold like Message-ID does.
_HEADERS.map_to_type("in-reply-to", MessageIDHeader)  # type: ignore[arg-type]
_HEADERS.map_to_type("references", MessageIDHeader)  # type: ignore[arg-type]
POLICY = default.clone(header_factory=_HEADERS)
# What every mailer hands over: CRLF line ends, headers as pdmail wrote them.
_WIRE = POLICY.clone(linesep="\r\n")


# -- the message -----------------------------------------------------------------------------


class ComposedMessage(EmailMessage):
    """A message :func:`compose` built: an ``EmailMessage`` that also knows its envelope.

    ``envelope_from`` and ``envelope_to`` are the addresses pdmail chose (the librarian, and
    the roster key of the teacher or the digest's reader). Mailers hand the message to those,
    never to addresses read back from its headers, and send :func:`wire_bytes`.
    """

    def __init__(self, policy: Policy | None = None) -> None:
        super().__init__(policy=policy or POLICY)
        self.envelope_from = ""
        self.envelope_to = ""
        # The last bytes that passed verify(): the same bytes need no second parse.
        self._checked = b""


def message_id(key: MessageKey, domain: str) -> str:
    """The Message-ID of ``key``: the same for the same campaign, cycle, recipient and kind,
    so a resend is recognisable as the same message. The address is hashed, not shown."""
    digest = hashlib.sha256(
        "\x1f".join((key.campaign, key.cycle, key.recipient, key.kind)).encode()
    ).hexdigest()[:24]
    return f"<pdmail.{key.campaign}.{key.cycle}.{key.kind}.{digest}@{domain}>"


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
) -> ComposedMessage:
    """A complete message to the one mailbox ``to``: text first, HTML as the alternative mail
    clients prefer; already checked by parsing its bytes back (:func:`verify`).

    ``in_reply_to`` (the first message's Message-ID) makes it a reply in the same thread.
    Raises :class:`~pdmail.errors.InputError` naming the header when an address is not one
    plain address or the written message would not read back as pdmail wrote it.
    """
    for field, mailbox in (("From", sender), ("To", to)):
        if not is_plain_address(mailbox.addr_spec):
            raise InputError(f"{field}: {mailbox.addr_spec!r} is not a single plain address")
    msg = ComposedMessage()
    msg.envelope_from = sender.addr_spec
    msg.envelope_to = to.addr_spec
    try:
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = header_safe(subject)
        msg["Date"] = format_datetime(date)
        msg["Message-ID"] = message_id
        if reply_to:
            msg["Reply-To"] = address("", header_safe(reply_to))
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to
            msg["References"] = in_reply_to
    except InputError as exc:
        raise InputError(f"Reply-To: {exc.message}", hint=exc.hint) from None
    # Asks Exchange and Outlook not to answer with out-of-office notices.
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg.set_content(_body_safe(text))
    if html is not None:
        msg.add_alternative(_body_safe(html), subtype="html")
    wire_bytes(msg)  # checks the bytes
    return msg


def _body_safe(text: str) -> str:
    # A lone surrogate (from a file read with errors="surrogateescape") cannot be encoded.
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


# -- checking the bytes ----------------------------------------------------------------------

# Every header that names someone a message goes to, on any mail system.
_RECIPIENT_HEADERS = frozenset(
    {
        "to", "cc", "bcc", "apparently-to", "delivered-to", "envelope-to", "x-envelope-to",
        "x-original-to", "original-recipient", "final-recipient", "disposition-notification-to",
        "return-receipt-to", "x-confirm-reading-to",
    }
)  # fmt: skip


def wire_bytes(message: EmailMessage | WireMessage, *, check: bool = True) -> bytes:
    """The bytes a mailer hands over for ``message``: CRLF line ends, no ``>From`` mangling.
    A :class:`~pdmail.mail.wire.WireMessage` is its bytes.

    For a :class:`ComposedMessage` they are checked by :func:`verify` first (unless ``check``
    is False) and raise :class:`~pdmail.errors.InputError` rather than be sent wrong; bytes
    equal to ones already checked are not parsed again. Any other message is serialised with
    its own policy, as it is.
    """
    from .wire import WireMessage  # built on this module, so imported here

    if isinstance(message, WireMessage):
        return message.data  # checked when it was written, and it cannot change
    if not isinstance(message, ComposedMessage):
        return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    data = message.as_bytes(policy=_WIRE)
    if check and data != message._checked:
        verify(message, data)
        message._checked = data
    return data


def handover_bytes(message: EmailMessage | WireMessage, where: str) -> bytes:
    """:func:`wire_bytes` for a mailer at ``where`` (``SMTP host:port``, ``Gmail API``, an
    outbox folder): a message that fails the check is a definite
    :class:`~pdmail.errors.DeliveryError`, since nothing was handed over."""
    try:
        return wire_bytes(message)
    except InputError as exc:
        raise DeliveryError(
            f"{where}: message not sent: {exc.message}", definite=True, hint=exc.hint
        ) from None


def verify(message: ComposedMessage, data: bytes) -> None:
    """Parse ``data`` (``message`` as written) back and raise
    :class:`~pdmail.errors.InputError` naming the header unless it reads as pdmail wrote it:
    the same header names in the same order, one To address that is ``envelope_to``, one From
    that is ``envelope_from``, no other recipient header (Cc, Bcc, Resent-*, ...), no control
    character in any header value, the same subject and display names, and the same parts."""
    # The headers as a mail program reads them (the default policy); the MIME structure with
    # the plain compat32 reader, which splits parts the same way at a fraction of the cost.
    parsed = BytesParser(policy=default).parsebytes(data, headersonly=True)
    problem = _problem(message, parsed)
    if not problem and _shape(BytesParser(policy=compat32).parsebytes(data)) != _shape(message):
        problem = "its parts would read differently"
    if problem:
        raise InputError(
            f"the message to {message.envelope_to} would not read back as written: {problem}",
            hint="pdmail refuses to send a message whose headers a mail program could read "
            "differently; check the names and the subject template for unusual characters",
        )


def _problem(message: ComposedMessage, parsed: EmailMessage) -> str:
    # Each header is parsed once: the standard library parses it again on every access.
    wrote_items = [(k.lower(), v) for k, v in message.items()]
    got_items = [(k.lower(), v) for k, v in parsed.items()]
    wrote = [k for k, _ in wrote_items]
    got = [k for k, _ in got_items]
    if got != wrote:
        extra = sorted(set(got) - set(wrote)) or [k for k in got if got.count(k) > 1]
        missing = sorted(set(wrote) - set(got))
        if extra:
            return f"it would carry a header pdmail did not write ({', '.join(extra)})"
        return f"it would lose a header ({', '.join(missing) or 'order changed'})"
    for name in got:
        if name in _RECIPIENT_HEADERS - {"to"} or name.startswith("resent-"):
            return f"it would carry a {name} header"
    for _, value in got_items:
        if has_control(str(value)):
            return f"the {value.name} header would hold a control character"
    mine, theirs = dict(wrote_items), dict(got_items)
    for field, expected in (("to", message.envelope_to), ("from", message.envelope_from)):
        found = [a.addr_spec.lower() for a in theirs[field].addresses]
        if found != [expected.lower()]:
            return f"{field.title()} would read as {', '.join(found) or 'nobody'}"
        if not _same_names(mine[field].addresses, theirs[field].addresses):
            return f"the name in {field.title()} would read differently"
    if "subject" in got and str(theirs["subject"]) != str(mine["subject"]):
        return f"the Subject would read as {str(theirs['subject'])!r}"
    if "reply-to" in got and [a.addr_spec for a in theirs["reply-to"].addresses] != [
        a.addr_spec for a in mine["reply-to"].addresses
    ]:
        return "Reply-To would read differently"
    return ""


def _same_names(wrote: Iterable[Address], got: Iterable[Address]) -> bool:
    # The standard library keeps the space between two encoded-words of one name, which RFC
    # 2047 says to drop; the letters must be the same all the same.
    def letters(addresses: Iterable[Address]) -> list[str]:
        return ["".join(a.display_name.split()) for a in addresses]

    return letters(wrote) == letters(got)


def _shape(msg: Message) -> list[tuple[str, str]]:
    """Each part's content type and text (decoded, line ends made LF), in order."""
    out = []
    for part in msg.walk():
        kind = part.get_content_type()
        body = ""
        if kind.startswith("text/"):
            payload = part.get_payload(decode=True)
            charset = part.get_content_charset() or "us-ascii"
            if isinstance(payload, bytes):
                body = payload.decode(charset, "replace").replace("\r\n", "\n")
        out.append((kind, body))
    return out
