"""Building messages: one-line headers, text and HTML alternatives, encoded names, threading
headers that stay readable, deterministic Message-IDs."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from pdmail.errors import InputError
from pdmail.mail.compose import address, compose, header_safe, message_id
from pdmail.models import MessageKey

CHICAGO = ZoneInfo("America/Chicago")
WHEN = datetime(2026, 12, 1, 7, 30, tzinfo=CHICAGO)
KEY = MessageKey("monthly-update", "2026-12", "ann.lee@school.example.org", "request")


def build(**changes: object) -> EmailMessage:
    args: dict[str, object] = {
        "sender": address("Lib Rarian", "librarian@school.example.org"),
        "to": address("Ann Lee", "ann.lee@school.example.org"),
        "subject": "December library update",
        "text": "Hi Ann,\nplain text\n",
        "html": "<p>Hi Ann,</p>",
        "message_id": message_id(KEY, "school.example.org"),
        "date": WHEN,
    }
    args.update(changes)
    return compose(**args)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n", 1)[0]


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("Ann Lee", "Ann Lee"),
        ("  Ann   Lee  ", "Ann Lee"),
        ("Ann\r\nBcc: victim@example.org", "Ann Bcc: victim@example.org"),
        ("Ann\nLee", "Ann Lee"),
        ("Ann\rLee", "Ann Lee"),
        ("Ann\tLee", "Ann Lee"),
        ("Ann\u2028Lee", "Ann Lee"),  # Unicode line separator
        ("Ann\x0bLee\x0cX", "Ann Lee X"),
        ("\r\n", ""),
        ("", ""),
        ("María Gómez", "María Gómez"),
    ],
)
def test_header_safe(value: str, safe: str) -> None:
    assert header_safe(value) == safe


def test_text_and_html_alternatives() -> None:
    msg = build()
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == "Hi Ann,\nplain text\n"
    assert parts[1].get_content().strip() == "<p>Hi Ann,</p>"
    back = parse(msg.as_bytes())
    assert back.get_body(("plain",)).get_content() == "Hi Ann,\nplain text\n"  # type: ignore[union-attr]
    assert back["X-Auto-Response-Suppress"] == "OOF, AutoReply"


def test_without_html_only_text() -> None:
    msg = build(html=None)
    assert msg.get_content_type() == "text/plain"
    assert not msg.is_multipart()


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("María Gómez", "Décembre : la bibliothèque"),
        ("Zoë O'Brien-Søndergaard", "Library check-in — December"),
        ("李雷", "图书馆 December"),
        ('Ann "The Reader" Lee', 'Quotes "inside" the subject'),
    ],
)
def test_non_ascii_names_are_encoded_and_decode_back(name: str, subject: str) -> None:
    raw = build(to=address(name, "ann.lee@school.example.org"), subject=subject).as_bytes()
    header_block(raw).decode("ascii")  # every header is 7-bit on the wire
    back = parse(raw)
    [to] = back["To"].addresses
    assert (to.display_name, to.addr_spec) == (name, "ann.lee@school.example.org")
    assert str(back["Subject"]) == subject
    body = back.get_body(("plain",))
    assert body is not None and body.get_content() == "Hi Ann,\nplain text\n"


@pytest.mark.parametrize(
    "name",
    [
        "Eve\r\nBcc: victim@example.org",
        "Eve\nBcc: victim@example.org",
        "Eve\rBcc: victim@example.org",
        "Evé\r\nBcc: victim@example.org",
    ],
)
def test_a_display_name_with_line_breaks_cannot_add_headers(name: str) -> None:
    msg = build(
        to=address(name, "eve@school.example.org"),
        sender=address(name, "librarian@school.example.org"),
        subject="Hello\r\nBcc: victim@example.org",
    )
    raw = msg.as_bytes()
    lines = header_block(raw).replace(b"\r\n", b"\n").split(b"\n")
    assert not any(line.lower().startswith(b"bcc") for line in lines)
    back = parse(raw)
    assert back["Bcc"] is None
    assert back["To"].addresses[0].addr_spec == "eve@school.example.org"
    assert "victim" not in back["To"].addresses[0].addr_spec
    assert back["Subject"] == "Hello Bcc: victim@example.org"


@pytest.mark.parametrize(
    "parent",
    [
        "<pdmail.monthly-update.2026-12.request.0123456789abcdef01234567@school.example.org>",
        "<pdmail.a-very-long-campaign-name-for-the-whole-district.2026-12.request."
        "0123456789abcdef01234567@mail.a-long-school-district-domain.example.org>",
        "<CAF=" + "x" * 90 + "@mail.gmail.com>",
    ],
)
def test_threading_headers_keep_the_literal_id(parent: str) -> None:
    msg = build(in_reply_to=parent)
    for raw in (msg.as_bytes(), msg.as_bytes(policy=email.policy.SMTP)):
        assert parent.encode() in raw
        headers = header_block(raw)
        assert b"=?" not in headers
        back = parse(raw)
        assert str(back["In-Reply-To"]).strip() == parent
        assert str(back["References"]).strip() == parent


def test_no_threading_headers_on_a_first_message() -> None:
    msg = build()
    assert (msg["In-Reply-To"], msg["References"]) == (None, None)


def test_reply_to_is_one_plain_address() -> None:
    msg = build(reply_to="library@school.example.org")
    back = parse(msg.as_bytes())
    assert [a.addr_spec for a in back["Reply-To"].addresses] == ["library@school.example.org"]


@pytest.mark.parametrize(
    "reply_to",
    [
        "library@school.example.org\r\nBcc: x@example.org",
        "library@school.example.org, x@example.org",
        "Library <library@school.example.org>",
    ],
)
def test_a_reply_to_that_is_not_one_address_is_refused(reply_to: str) -> None:
    with pytest.raises(InputError, match=r"Reply-To: .* is not a single plain email address"):
        build(reply_to=reply_to)


@pytest.mark.parametrize(
    "other",
    [
        MessageKey("monthly-update", "2027-01", "ann.lee@school.example.org", "request"),
        MessageKey("monthly-update", "2026-12", "raj@school.example.org", "request"),
        MessageKey("monthly-update", "2026-12", "ann.lee@school.example.org", "reminder-1"),
        MessageKey("other-campaign", "2026-12", "ann.lee@school.example.org", "request"),
    ],
)
def test_message_id_is_deterministic_and_distinct(other: MessageKey) -> None:
    first = message_id(KEY, "school.example.org")
    assert message_id(MessageKey(*vars(KEY).values()), "school.example.org") == first
    assert message_id(other, "school.example.org") != first


def test_message_id_names_the_message_but_hides_the_address() -> None:
    mid = message_id(KEY, "school.example.org")
    assert mid.startswith("<pdmail.monthly-update.2026-12.request.")
    assert mid.endswith("@school.example.org>")
    assert "ann" not in mid.lower() and "lee" not in mid.lower()
    local = mid[1:-1].split("@")[0]
    assert len(local.rsplit(".", 1)[1]) == 24
    msg = build(message_id=mid)
    assert str(parse(msg.as_bytes())["Message-ID"]).strip() == mid


def test_date_header_is_the_given_time() -> None:
    back = parse(build().as_bytes())
    assert back["Date"].datetime == WHEN
