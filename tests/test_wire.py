"""Messages written straight to bytes, once: what a mail program reads back is what pdmail
meant, the bytes are read back as strictly, and usable wherever an ``EmailMessage`` was."""

from __future__ import annotations

import pickle
import re
from datetime import datetime
from email.parser import BytesParser
from email.policy import SMTP, default
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail.errors import InputError
from pdmail.mail.compose import address, compose, handover_bytes, header_safe, wire_bytes
from pdmail.mail.headers import body_safe
from pdmail.mail.wire import WireMessage, compose_wire, encode_body, reread

WHEN = datetime(2026, 12, 1, 7, 30, tzinfo=ZoneInfo("America/Chicago"))
ANN = "ann@school.example.org"


def args(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sender": address("Lib Rarian", "librarian@school.example.org"),
        "to": address("Ann Lee", ANN),
        "subject": "December update",
        "text": "Hello\n",
        "html": "<p>Hello</p>\n",
        "message_id": "<pdmail.monthly-update.2026-12.request.abc@school.example.org>",
        "date": WHEN,
    }
    out.update(changes)
    return out


def as_sent(text: str) -> str:
    # A text part goes out with every line ended (a lone CR or LF ends one too).
    safe = body_safe(text)
    return "".join(line.decode() + "\n" for line in safe.encode().splitlines()) or "\n"


def letters(text: str) -> str:
    # The standard library keeps the space between two encoded-words of one name, which
    # RFC 2047 says to drop; the letters must be the same all the same.
    return "".join(text.split())


def reads_as_meant(message: WireMessage, **meant: Any) -> None:
    """What the standard library's parser reads from the bytes is what ``meant`` says."""
    got = BytesParser(policy=default).parsebytes(message.data)
    [to] = got["To"].addresses
    assert to.addr_spec == ANN == message.envelope_to
    assert letters(to.display_name) == letters(header_safe(meant["to"].display_name))
    [sender] = got["From"].addresses
    assert sender.addr_spec == meant["sender"].addr_spec == message.envelope_from
    assert str(got["Subject"]) == header_safe(meant["subject"]) == message.subject
    assert str(got["Message-ID"]) == meant["message_id"] == message.message_id
    assert got["Date"].datetime == meant["date"]
    assert all(name not in got for name in ("Cc", "Bcc", "Resent-To"))
    if meant.get("in_reply_to"):
        assert str(got["In-Reply-To"]) == str(got["References"]) == meant["in_reply_to"]
    if meant.get("reply_to"):
        assert [a.addr_spec for a in got["Reply-To"].addresses] == [meant["reply_to"]]
    text = got.get_body(("plain",))
    assert text is not None
    assert text.get_content().replace("\r\n", "\n") == as_sent(meant["text"])
    html = got.get_body(("html",))
    if meant["html"] is None:
        assert html is None and not got.is_multipart()
    else:
        assert html is not None
        assert html.get_content().replace("\r\n", "\n") == as_sent(meant["html"])


CASES = [
    {},
    {"html": None},
    {"to": address("", ANN)},
    {"to": address("Ann Lée", ANN), "subject": "Décembre: 3 questions"},
    {"to": address("O'Brien, Jr.", ANN)},
    {"to": address("Ann\r\nBcc: victim@example.org", ANN)},
    {"to": address("=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?=", ANN)},
    {"to": address("\u202eabc\u2066 \ufeff", ANN)},
    {"to": address("👩🏽\u200d🏫 " * 12, ANN)},
    {"subject": "Hello — world " * 8},
    {"subject": "=?utf-8?b?QmNjOiB4QGV2aWwuZXhhbXBsZQ==?="},
    {"subject": "a" * 90},
    {"subject": '(hi) "quoted" <b> ; , : \\'},
    {"subject": ""},
    {"text": "é" * 200, "html": "x\r\ny\rz"},
    {"text": "From the library\n" + "x" * 100 + "é\n", "html": "\ud800 lone surrogate"},
    {"text": "no final newline", "html": "a\n\n"},
    {"text": "--===============0000000000000000001==\n"},
    {"reply_to": "desk@school.example.org"},
    {"in_reply_to": "<pdmail.monthly-update.2026-12.request.abc@school.example.org>"},
    {"message_id": "<" + "x" * 90 + "@school.example.org>"},  # too long for one line
]


@pytest.mark.parametrize("changes", CASES)
def test_what_compose_writes_reads_back_as_meant(changes: dict[str, Any]) -> None:
    message = compose(**args(**changes))
    reads_as_meant(message, **args(**changes))
    reread(message)  # the narrow check of the header block accepts them


printable_text = st.text(
    st.characters(exclude_categories=["Cs"], max_codepoint=0x2FFFF), max_size=80
)


@settings(max_examples=150, deadline=None)
@given(name=printable_text, subject=printable_text, text=st.text(max_size=300))
def test_any_name_subject_and_body_read_back_as_meant(name: str, subject: str, text: str) -> None:
    changes = {"to": address(name, ANN), "subject": subject, "text": text}
    reads_as_meant(compose(**args(**changes)), **args(**changes))


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"message_id": "<a b@school.example.org>"}, "Message-ID:"),
        ({"message_id": "no-angle-brackets@school.example.org"}, "Message-ID:"),
        ({"message_id": "<" + "x" * 990 + "@school.example.org>"}, "Message-ID:"),
    ],
)
def test_a_message_id_that_is_not_one_is_refused(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError) as caught:
        compose(**args(**changes))
    assert caught.value.message.startswith(says)


def test_a_thread_id_that_is_not_a_message_id_is_left_out_not_mangled() -> None:
    message = compose(**args(in_reply_to="<a b@school.example.org>"))
    assert "In-Reply-To" not in message and "References" not in message
    assert b"<a b@" not in message.data and b"<a\r\n" not in message.data


def _tamper(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert old in raw
    return raw.replace(old, new, 1)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda r: _tamper(r, b"Subject:", b"Bcc: x@evil.example\r\nSubject:"), "(bcc)"),
        (lambda r: _tamper(r, b"Subject:", b"Cc: x@evil.example\r\nSubject:"), "(cc)"),
        (lambda r: _tamper(r, b"Subject:", b"Resent-To: x@e.example\r\nSubject:"), "resent-to"),
        (lambda r: _tamper(r, b"Subject:", b"To: x@evil.example\r\nSubject:"), "(to)"),
        (lambda r: _tamper(r, b"Date:", b" Bcc: x@evil.example\r\nDate:"), "Subject would read"),
        (
            lambda r: _tamper(r, b"<ann@school.example.org>", b"<ann@school.example.org>, x@e.org"),
            "To would",
        ),
        (
            lambda r: _tamper(r, b"To: Ann Lee <ann@", b'To: "Ann Lee" <x@evil.example>, <ann@'),
            "To would",
        ),
        (lambda r: _tamper(r, b"<ann@school", b"<eve@school"), "To would read as eve@"),
        (
            lambda r: _tamper(r, b"Subject: December update", b"Subject: =?utf-8?q?Dec=0D=0A?="),
            "Subject",
        ),
        (
            lambda r: _tamper(r, b"Subject: December update", b"Subject: December updates"),
            "the Subject would read as 'December updates'",
        ),
        (
            lambda r: _tamper(r, b"To: Ann Lee", b"To: =?utf-8?b?QW5uIBtbMzFt?="),
            "control character",
        ),
        (lambda r: _tamper(r, b"To: Ann Lee", b"To: Eve Lee"), "the name in To"),
        (lambda r: _tamper(r, b"From: Lib Rarian <librarian@", b"From: <x@"), "From would"),
        (lambda r: _tamper(r, b"\r\nSubject", b"\nSubject"), "control character"),
        (lambda r: _tamper(r, b"December update", b"December\rupdate"), "control character"),
        (lambda r: _tamper(r, b"December update", b"December \xc3\xa9"), "8-bit"),
        (lambda r: _tamper(r, b"Date:", b"Subject: December update\r\nDate:"), "subject"),
        (lambda r: _tamper(r, b"Message-ID: <pdmail", b"Message-ID: <other"), "message-id"),
        (lambda r: _tamper(r, b'boundary="', b'boundary="x'), "content-type"),
        (lambda r: _tamper(r, b"\r\n\r\n--", b"\r\nX-Extra: 1\r\n\r\n--"), "x-extra"),
        (lambda r: _tamper(r, b"<p>Hello</p>", b"<p>Goodbye</p>"), "its parts"),
    ],
)
def test_reread_refuses_bytes_that_do_not_read_back_as_written(change: Any, says: str) -> None:
    message = compose_wire(**args())
    reread(message)  # the real bytes pass
    with pytest.raises(InputError) as caught:
        reread(message, change(message.data))
    assert f"{ANN} would not read back as written" in caught.value.message
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"to": address("Ann", ANN).__class__("Ann", "a b", "x.org")}, "To:"),
        ({"reply_to": "a@x.org, b@x.org"}, "Reply-To:"),
    ],
)
def test_what_compose_refuses(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError) as caught:
        compose(**args(**changes))
    assert caught.value.message.startswith(says)
    assert compose_wire is compose  # the one writer, under the name it had


def test_a_wire_message_reads_like_an_email_message() -> None:
    message = compose_wire(**args(in_reply_to="<first@school.example.org>"))
    assert [a.addr_spec for a in message["To"].addresses] == [ANN]
    assert message["To"].addresses[0].display_name == "Ann Lee"
    assert str(message.get("Subject")) == "December update"
    assert str(message["In-Reply-To"]) == "<first@school.example.org>"
    assert "Bcc" not in message and "Reply-To" not in message
    assert message.get("Cc") is None
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == "Hello\n"
    assert message.get_body(("html",)).get_content() == "<p>Hello</p>\n"
    assert message.as_bytes(policy=SMTP) == message.data
    assert message.as_bytes() == message.data.replace(b"\r\n", b"\n")  # as EmailMessage's


def test_a_wire_message_survives_the_spool_unchanged() -> None:
    message = compose_wire(**args())
    back = pickle.loads(pickle.dumps(message))
    assert isinstance(back, WireMessage)
    assert back.data == message.data
    assert (back.envelope_from, back.envelope_to) == (message.envelope_from, message.envelope_to)
    reread(back)
    with pytest.raises(InputError):
        reread(back, back.data.replace(b"Ann Lee", b"Eve Lee"))


def test_any_mailer_that_asks_for_the_handover_bytes_gets_the_checked_bytes() -> None:
    message = compose_wire(**args())
    assert handover_bytes(message, "a mailer") == message.data
    assert wire_bytes(message) == message.data


# Long lines (quoted-printable), short ones (7bit, 8bit), mostly not ASCII (base64).
body_text = st.lists(
    st.sampled_from(["abc", " é", "=", "\t", " ", ".", "-", "\r\n", "\n", "\r", "\x0b",
                     "\x85", "\u2028", "ü€", "x" * 30, "  \n", "é" * 20]),
    max_size=60,
).map("".join)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(text=body_text)
def test_each_body_is_encoded_as_the_standard_library_encodes_it(text: str) -> None:
    from email.contentmanager import _encode_text  # type: ignore[attr-defined]

    from pdmail.mail.compose import POLICY

    assert encode_body(text) == _encode_text(text, "utf-8", None, POLICY)


@settings(max_examples=300, deadline=None)
@given(text=body_text)
def test_a_part_carries_the_standard_library_encoding_with_crlf_line_ends(text: str) -> None:
    from email.contentmanager import _encode_text  # type: ignore[attr-defined]

    from pdmail.mail.compose import POLICY
    from pdmail.mail.wire import _encoded_crlf

    cte, payload = _encode_text(text, "utf-8", None, POLICY)
    assert _encoded_crlf(text) == (cte, re.sub(r"\r\n|\r|\n", "\r\n", payload))
