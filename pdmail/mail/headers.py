"""Header text that is safe to write: plain one-line values, single plain addresses, the
writers of the lines pdmail puts in a message, and deterministic Message-IDs.

Whatever a roster, an answer or a template puts in a name or a subject, the message has exactly
the headers pdmail writes and one recipient:

* every header value is plain text first (:func:`header_safe`): control characters out, line
  breaks and other white space folded to one space, and ``=?`` (the start of an RFC 2047
  encoded-word) split so that no decoder can read the text as something else;
* display names and subjects are written as plain words or as base64 encoded-words, never as
  quoted strings (whose quotes a folder can lose, and inside which some decoders read
  encoded-words), in lines of at most 76 characters.

:func:`pdmail.mail.wire.compose` writes a message with these and reads it back before anyone
may hand it over.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import unicodedata
from email.headerregistry import Address

from ..errors import InputError
from ..models import MessageKey

__all__ = [
    "Folder",
    "add_phrase",
    "add_unstructured",
    "address",
    "body_safe",
    "has_control",
    "header_safe",
    "is_plain_address",
    "message_id",
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


class Folder:
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


def add_phrase(folder: Folder, text: str) -> None:
    """Add ``text`` to ``folder`` as a display name: atoms as they are, else encoded-words."""
    words = text.split(" ")
    if text and all(_ATOM.fullmatch(w) for w in words):
        for w in words:
            folder.add(w)
    elif text:
        # One encoded text, spaces inside the encoded-words: decoders join adjacent
        # encoded-words without the white space between them (RFC 2047, 6.2).
        for w in _encoded_words(text, folder.room):
            folder.add(w)


def add_unstructured(folder: Folder, text: str) -> None:
    """Add ``text`` to ``folder`` as free text: printable words as they are, else
    encoded-words."""
    words = text.split(" ")
    if _PRINTABLE.fullmatch(text) and all(len(w) <= _LINE - 2 for w in words):
        for w in words:
            if w:
                folder.add(w)
    else:
        for w in _encoded_words(text, folder.room):
            folder.add(w)


def message_id(key: MessageKey, domain: str) -> str:
    """The Message-ID of ``key``: the same for the same campaign, cycle, recipient and kind,
    so a resend is recognisable as the same message. The address is hashed, not shown."""
    digest = hashlib.sha256(
        "\x1f".join((key.campaign, key.cycle, key.recipient, key.kind)).encode()
    ).hexdigest()[:24]
    return f"<pdmail.{key.campaign}.{key.cycle}.{key.kind}.{digest}@{domain}>"


def body_safe(text: str) -> str:
    """``text`` with any lone surrogate (from a file read with errors="surrogateescape"),
    which cannot be encoded, replaced."""
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text
