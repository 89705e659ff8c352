"""Nothing hostile gets into a header or adds a recipient, on every mailer.

Whatever a roster row, an answer or a subject template holds, the message pdmail hands over
parses back (``email.parser``, default policy) with exactly pdmail's header names, one
recipient (the teacher, or the librarian for the digest), no control character in any header,
and the subject pdmail meant. The properties run each example through the three real mailers:
the outbox (the ``.eml`` file), SMTP (an aiosmtpd server on 127.0.0.1: the envelope's RCPT TO
and the DATA) and Gmail (the loopback fake: the raw message it stored).

Every property runs 300 examples on every run, CI included; rerun them alone with
``python -m pytest -q tests/test_header_safety.py``.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import jinja2
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import ROSTER_HEADER, ROSTER_ROWS, Project, ledger_entries, run_cli, write_csv
from fakes.gmail_server import FakeGmail
from google.oauth2.credentials import Credentials
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from pdmail import cycles
from pdmail.backends.google.gmail import GmailMailer
from pdmail.backends.google.http import RetryPolicy
from pdmail.backends.outbox import OutboxMailer
from pdmail.backends.smtp import SmtpMailer
from pdmail.cycle.delivery import Outgoing
from pdmail.cycle.messages import Composer, build_reminder, build_request
from pdmail.cycle.publish import compile_digest, digest_messages, render_digest
from pdmail.cycles import Cycle
from pdmail.errors import InputError, TemplateError
from pdmail.mail.compose import ComposedMessage, address, compose, verify, wire_bytes
from pdmail.mail.templates import Templates
from pdmail.models import LedgerEntry, MessageKey, State, Table
from pdmail.sources.roster import parse_roster
from pdmail.workspace import Workspace

HOST = "127.0.0.1"
LIBRARIAN = "librarian@school.example.org"
REPLY_TO = "library-desk@school.example.org"
# The config's own sender name is hostile too: it reaches From.
SENDER_NAME = 'Lib "Rarian" <boss@evil.example>, =?utf-8?q?=0D=0ABcc:_y@evil.example?='
SEND_DAY = date(2026, 12, 1)
DIGEST_DAY = date(2026, 12, 11)

ENCODED_BCC = "=?utf-8?q?=0D=0ABcc:_x@evil.example?="
LONG_QUOTED = '"' + "Annabel " * 12 + '" <other@evil.example>'
CONTROLS = "A\x00n\x1bn\x7f\x85\x9b\u2028\u2029\u202e\u2066\ufeff\u200b"

# Every header that can make someone a recipient on some mail system.
RECIPIENT_HEADERS = {
    "to", "cc", "bcc", "apparently-to", "delivered-to", "envelope-to", "x-envelope-to",
    "x-original-to", "disposition-notification-to", "return-receipt-to",
}  # fmt: skip
REQUEST_HEADERS = {
    "from", "to", "subject", "date", "message-id", "reply-to", "x-auto-response-suppress",
    "mime-version", "content-type",
}  # fmt: skip
REMINDER_HEADERS = REQUEST_HEADERS | {"in-reply-to", "references"}
ZW_JOINERS = "\u200c\u200d"


# -- what "safe" means, independently of pdmail's code ---------------------------------------


def forbidden(ch: str) -> bool:
    """A character no header value may carry once parsed."""
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs", "Zl", "Zp"):
        return True
    return category == "Cf" and ch not in ZW_JOINERS


def sanitised(text: str) -> str:
    """What pdmail promises a header shows for ``text``: controls and invisible format
    characters gone, white space runs as one space, trimmed, no ``=?``."""
    out = []
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) in ("Zl", "Zp"):
            out.append(" ")
        elif not forbidden(ch):
            out.append(ch)
    return re.sub(" +", " ", "".join(out)).strip(" ").replace("=?", "= ?")


def letters(text: str) -> str:
    return "".join(text.split())


def parse(raw: bytes) -> EmailMessage:
    msg = BytesParser(policy=default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def check_message(
    raw: bytes, *, recipient: str, names: set[str], subject: str, to_name: str
) -> EmailMessage:
    """Assert everything the promise says about ``raw``; return it parsed."""
    block = header_block(raw)
    block.decode("ascii")  # 7-bit headers: nothing for a server to reinterpret
    assert all(len(line) <= 998 for line in block.split(b"\r\n"))
    assert b"\n" not in block.replace(b"\r\n", b""), "a bare line feed in the headers"
    assert b"\r" not in block.replace(b"\r\n", b""), "a bare carriage return in the headers"
    parsed = parse(raw)
    keys = [k.lower() for k in parsed]
    assert len(keys) == len(set(keys)), f"a header twice: {keys}"
    assert set(keys) == names
    found: set[str] = set()
    for key in keys:
        if key in RECIPIENT_HEADERS or key.startswith("resent-"):
            found |= {a for _, a in getaddresses([str(v) for v in parsed.get_all(key, [])])}
            found |= {a.addr_spec for a in getattr(parsed[key], "addresses", ())}
    assert found == {recipient}
    assert [a.addr_spec for a in parsed["To"].addresses] == [recipient]
    assert [a.addr_spec for a in parsed["From"].addresses] == [LIBRARIAN]
    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == [REPLY_TO]
    for key, value in parsed.items():
        bad = [ch for ch in str(value) if forbidden(ch)]
        assert not bad, f"{key} holds {bad!r}"
    assert str(parsed["Subject"]) == subject
    assert "=?" not in str(parsed["Subject"])
    [to] = parsed["To"].addresses
    assert letters(to.display_name) == letters(sanitised(to_name))
    [sender] = parsed["From"].addresses
    assert letters(sender.display_name) == letters(sanitised(SENDER_NAME))
    return parsed


# -- the three mailers, one of each per module -----------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(
            Received(
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                bytes(envelope.original_content or b""),
            )
        )
        return "250 2.0.0 Ok: queued"


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # Learn the port the OS picked before aiosmtpd pokes the server on it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@dataclass
class Mailers:
    outbox: OutboxMailer
    smtp: SmtpMailer
    smtp_server: Recorder
    gmail: GmailMailer
    gmail_server: FakeGmail

    def send_everywhere(self, item: Outgoing) -> dict[str, tuple[bytes, list[str]]]:
        """Hand ``item`` to each mailer; what each one delivered and to whom (the outbox and
        Gmail deliver to the addresses in the headers, which the caller checks)."""
        out: dict[str, tuple[bytes, list[str]]] = {}
        result = self.outbox.send(item.message)
        out["outbox"] = (Path(result.provider_id).read_bytes(), [item.key.recipient])
        self.smtp.send(item.message)
        got = self.smtp_server.received.pop()
        assert got.mail_from == LIBRARIAN
        out["smtp"] = (got.content, got.rcpt_tos)
        before = len(self.gmail_server.stored)
        self.gmail.send(item.message)
        stored = self.gmail_server.stored
        assert len(stored) == before + 1
        # Gmail reads the recipients from the raw headers, which check_message covers.
        out["gmail"] = (stored[-1].raw, [item.key.recipient])
        return out

    def check_everywhere(self, item: Outgoing, **expected: Any) -> EmailMessage:
        """Send ``item`` through the three mailers and check what each delivered: the same
        bytes everywhere (checked once, then compared), to the one recipient."""
        delivered = self.send_everywhere(item)
        raw = delivered["outbox"][0]
        parsed = check_message(raw, **expected)
        for mailer, (data, rcpt) in delivered.items():
            assert rcpt == [expected["recipient"]], mailer
            assert data == raw, f"{mailer} delivered other bytes than the outbox wrote"
        return parsed


@pytest.fixture(scope="module")
def mailers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailers]:
    recorder = Recorder()
    controller = _Controller(recorder, hostname=HOST, port=0)
    controller.start()
    try:
        with (
            FakeGmail() as fake,
            SmtpMailer(HOST, controller.port, security="none", timeout=5.0) as smtp,
            GmailMailer(
                Credentials(token="test"),  # type: ignore[no-untyped-call]
                base_url=fake.base_url,
                policy=RetryPolicy(attempts=1),
                timeout=5.0,
                trust_env=False,
            ) as gmail,
        ):
            yield Mailers(
                OutboxMailer(tmp_path_factory.mktemp("outbox")), smtp, recorder, gmail, fake
            )
            assert fake.errors == []
    finally:
        controller.stop()


# -- a workspace whose subject template each example sets ------------------------------------

BODY = (
    "Hello {{ teacher.first_name }} {{ teacher.last_name }} ({{ teacher.team }}, room "
    "{{ teacher.room }}),\n\n{{ form_link }}\n"
)
EXTRA_HEADER = "Room #"
COLUMNS = [*ROSTER_HEADER, EXTRA_HEADER]


@dataclass
class Setting:
    ws: Workspace
    cycle: Cycle
    subjects: jinja2.DictLoader


def _project(folder: Path) -> Project:
    project = Project(folder)
    project.write_config({"mail": {"sender_name": SENDER_NAME, "reply_to": REPLY_TO}})
    project.write_roster()
    return project


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    project = _project(tmp_path_factory.mktemp("requests"))
    with project.workspace(SEND_DAY) as ws:
        templates = Templates()
        subjects = jinja2.DictLoader({"request.txt.j2": BODY, "request.html.j2": BODY})
        # The subject comes from the example. Short bodies that show every field keep 500
        # examples quick: the default bodies are covered by test_the_default_templates_too.
        templates.env.loader = jinja2.ChoiceLoader([subjects, templates.env.loader])  # type: ignore[list-item]
        ws.templates = templates  # type: ignore[misc]
        yield Setting(ws, cycles.cycle(ws.config, "2026-12"), subjects)


def teacher_from_row(ws: Workspace, cells: list[str]) -> Any:
    """The teacher the roster makes of one row, or None (with the reason checked)."""
    table = Table("roster.csv", tuple(COLUMNS), ((2, tuple(cells)),))
    try:
        roster = parse_roster(table, ws.config.roster_columns)
    except InputError as exc:
        # Its only row refused: the roster is unusable, and says which row and column.
        assert "row 2" in str(exc) and "Email" in str(exc), exc
        return None
    [teacher] = roster.teachers
    # What the roster accepts is one bare address and nothing else.
    assert getaddresses([teacher.email]) == [("", teacher.email)]
    assert re.fullmatch(r"[!-~]+", teacher.email) and "=?" not in teacher.email
    return teacher


# -- strategies ------------------------------------------------------------------------------

NASTY = [
    ENCODED_BCC,
    "=?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=",
    "=?", "?=", "=0D=0A", "\r\n", "\n", "\r", "\t", " ", "\x00", "\x1b[31m", "\x7f", "\x85",
    "\x9b", "\u2028", "\u2029", "\u202e", "\u2066", "\ufeff", "\u200b", "\u200d",
    "Bcc: x@evil.example", "\r\nBcc: x@evil.example", "Cc:", "To:", '"', "<", ">", ",", ";",
    ":", "@", "\\", "(", ")", "[", "]", ".", "other@evil.example", "<other@evil.example>",
    "María", "李雷", "Zoë", "👩🏽‍🏫", "x" * 70,
]  # fmt: skip
fragment = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.text(st.characters(min_codepoint=0x80), max_size=6),
    st.text(st.characters(max_codepoint=0x7F), max_size=12),
)
roster_text = st.lists(fragment, max_size=8).map("".join)
ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
local_part = st.one_of(
    st.from_regex(rf"[{ATEXT}]{{1,12}}(\.[{ATEXT}]{{1,12}}){{0,3}}", fullmatch=True),
    st.sampled_from(["ann", "o'brien", "a+tag", "first.last", "x{y}|z", "=?utf-8?q?ann?="]),
)
domain = st.one_of(
    st.just("school.example.org"),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z0-9]{1,8}){1,3}", fullmatch=True),
)
plain_email = st.builds(lambda local, host: f"{local}@{host}", local_part, domain)
hostile_email = st.one_of(
    st.sampled_from(
        [
            "a@b.org, c@d.org",
            "a@b.org\nBcc: x@evil.example",
            '"a,b"@school.example.org',
            "Ann Lee <ann@school.example.org>",
            "a..b@school.example.org",
            "ann@school.example.org\x00",
            " Ann@School.Example.org ",
        ]
    ),
    roster_text,
)
# Mostly addresses the roster takes (the mail is what is under test), one in five hostile.
email_cell = st.integers(0, 4).flatmap(lambda n: hostile_email if n == 0 else plain_email)
FIELD_REFS = [
    "{{ teacher.first_name }}",
    "{{ teacher.last_name }}",
    "{{ teacher.team }}",
    "{{ teacher.room }}",
    "{{ teacher.email }}",
    "{{ teacher.display_name }}",
]
# Literal template text: anything but Jinja's braces.
literal = st.lists(fragment, max_size=3).map("".join).map(lambda s: re.sub(r"[{}]", "", s))
subject_parts = st.lists(st.one_of(literal, st.sampled_from(FIELD_REFS)), min_size=1, max_size=6)


def intended_subject(parts: list[str], values: dict[str, str]) -> str:
    out = []
    for part in parts:
        ref = re.fullmatch(r"\{\{ teacher\.(\w+) \}\}", part)
        out.append(values[ref.group(1)] if ref else part)
    # Jinja reads \r\n and \r in a template as \n; the subject folds them to a space anyway.
    return "".join(out)


def _entry(item: Outgoing, when: datetime) -> LedgerEntry:
    return LedgerEntry(
        key=item.key,
        state=State.SENT,
        message_id=str(item.message["Message-ID"]),
        thread_id="",
        provider_id="",
        subject=item.subject,
        error="",
        attempts=1,
        created=when,
        updated=when,
    )


# -- the property: requests -----------------------------------------------------------------

# 300 examples each, on every run (CI included), new ones each run, besides the named ones
# above each test; no "explain" phase, which reruns a failure hundreds of times to annotate it.
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMED = {
    "encoded-word Bcc in a last name": ("Ann", ENCODED_BCC),
    "a long quoted first name with another address": (LONG_QUOTED, "Lee"),
    "control characters": (CONTROLS, "L\x00e\x1be\x7f"),
}


@pytest.mark.slow
@PROPERTY
@given(
    first=roster_text,
    last=roster_text,
    team=roster_text,
    room=roster_text,
    cell=email_cell,
    parts=subject_parts,
)
@example(
    first="Ann",
    last=ENCODED_BCC,
    team="6",
    room="",
    cell="ann@school.example.org",
    parts=["Update for ", "{{ teacher.last_name }}"],
)
@example(
    first=LONG_QUOTED,
    last="Lee",
    team="Grade 6",
    room="B12",
    cell="ann@school.example.org",
    parts=["{{ teacher.display_name }}", ": what is coming up?"],
)
@example(
    first=CONTROLS,
    last="L\x00e\x1be\x7f",
    team="\u202eevil",
    room="\u2028Bcc: x@evil.example",
    cell="ann@school.example.org",
    parts=["{{ teacher.team }}", ENCODED_BCC, "{{ teacher.room }}"],
)
@example(
    first="",
    last="",
    team="",
    room="",
    cell="o'brien+x{y}|z@school.example.org",
    parts=["Hello"],
)
@example(first="", last="", team="", room="", cell="ann@school.example.org", parts=["\r\n\x00"])
@example(  # a lone surrogate, as a Sheets cell can hold: it reaches the form link too
    first="\ud800",
    last="L\udcffe",
    team="",
    room="\udfff",
    cell="ann@school.example.org",
    parts=["{{ teacher.first_name }}", " ", "{{ teacher.last_name }}", "{{ teacher.room }}"],
)
@example(
    first="María José",
    last="Fernández-Gómez de la Torre y Ñúñez 李雷 " * 3,
    team="",
    room="",
    cell="maria@school.example.org",
    parts=["{{ teacher.display_name }}", " and ", "{{ teacher.display_name }}"],
)
def test_requests_reach_only_the_teacher_on_every_mailer(
    setting: Setting,
    mailers: Mailers,
    first: str,
    last: str,
    team: str,
    room: str,
    cell: str,
    parts: list[str],
) -> None:
    ws = setting.ws
    teacher = teacher_from_row(ws, [cell, first, last, team, "yes", room])
    if teacher is None:
        event("the roster refused the address")
        return
    template = "".join(parts)
    setting.subjects.mapping["request.subject.j2"] = template
    values = dict(teacher.fields) | {"display_name": teacher.display_name}
    subject = sanitised(intended_subject(parts, values))
    if not subject:
        with pytest.raises(TemplateError, match="the subject is empty"):
            build_request(Composer.of(ws), setting.cycle, teacher)
        event("empty subject refused")
        return
    request = build_request(Composer.of(ws), setting.cycle, teacher)
    assert request.key.recipient == teacher.email
    mailers.check_everywhere(
        request,
        recipient=teacher.email,
        names=REQUEST_HEADERS,
        subject=subject,
        to_name="" if teacher.display_name == teacher.email else teacher.display_name,
    )


@pytest.mark.parametrize(("first", "last"), list(NAMED.values()), ids=list(NAMED))
def test_the_default_templates_too_requests_and_reminders(
    tmp_path: Path, mailers: Mailers, first: str, last: str
) -> None:
    project = _project(tmp_path)
    row = ["ann@school.example.org", first, last, "Grade 6", "yes", "B12"]
    with project.workspace(SEND_DAY) as ws:
        cycle = cycles.cycle(ws.config, "2026-12")
        teacher = teacher_from_row(ws, row)
        request = build_request(Composer.of(ws), cycle, teacher)
        reminder = build_reminder(Composer.of(ws), cycle, teacher, 1, _entry(request, ws.now()))
    subject = sanitised(request.subject)
    assert subject == "December 2026 library update: what's coming up in your classes?"
    for item, names, wanted in (
        (request, REQUEST_HEADERS, subject),
        (reminder, REMINDER_HEADERS, f"Re: {subject}"),
    ):
        parsed = mailers.check_everywhere(
            item,
            recipient="ann@school.example.org",
            names=names,
            subject=wanted,
            to_name=teacher.display_name,
        )
    assert str(parsed["In-Reply-To"]) == str(request.message["Message-ID"])


# -- the property: answers in the digest to the librarian ------------------------------------


@dataclass
class DigestSetting:
    project: Project
    ws: Workspace
    cycle: Cycle


@pytest.fixture(scope="module")
def digest_setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DigestSetting]:
    project = _project(tmp_path_factory.mktemp("digest"))
    with project.workspace(DIGEST_DAY) as ws:
        yield DigestSetting(project, ws, cycles.cycle(ws.config, "2026-12"))


def _csv_text(text: str) -> str:
    # A CSV with a NUL byte is refused whole (the tables' own tests cover that), and a lone
    # surrogate cannot be written as UTF-8 at all.
    return "".join(ch for ch in text if ch != "\x00" and not "\ud800" <= ch <= "\udfff")


answer_text = st.one_of(roster_text, st.text(max_size=300))
respondent = st.one_of(st.sampled_from([r[0] for r in ROSTER_ROWS]), email_cell)


@pytest.mark.slow
@PROPERTY
@given(
    rows=st.lists(
        st.tuples(respondent, answer_text, answer_text, answer_text), min_size=1, max_size=3
    )
)
@example(
    rows=[
        ("ann@school.example.org", ENCODED_BCC, LONG_QUOTED, CONTROLS),
        ("Bcc: x@evil.example\r\n", "\r\n.\r\nRCPT TO:<x@evil.example>", "--", "From me"),
        ("raj@school.example.org", "x" * 300, "=?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=", ""),
    ]
)
def test_answers_in_the_digest_reach_only_the_librarian_on_every_mailer(
    digest_setting: DigestSetting,
    mailers: Mailers,
    rows: list[tuple[str, str, str, str]],
) -> None:
    s = digest_setting
    with (s.project.folder / "responses.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Timestamp", "Email Address", *(h for h in _answer_headers())])
        for who, units, help_text, fmt in rows:
            writer.writerow(["12/3/2026 8:14:22", *map(_csv_text, (who, units, help_text, fmt))])
    s.ws.forget_inputs()
    try:
        digest = compile_digest(s.ws, s.cycle, persist=False)
    except InputError as exc:
        # The answers could not be read: that is said plainly, and nothing is mailed.
        event("the responses were refused")
        assert "responses.csv" in exc.message
        return
    rendered = render_digest(s.ws, s.cycle, digest)
    [item] = digest_messages(Composer.of(s.ws), s.cycle, rendered)
    assert item.key.recipient == LIBRARIAN
    parsed = mailers.check_everywhere(
        item,
        recipient=LIBRARIAN,
        names=REQUEST_HEADERS,
        subject=sanitised(rendered.subject),
        to_name="Lib Rarian",
    )
    text = parsed.get_body(("plain",))
    assert text is not None
    assert text.get_content().replace("\r\n", "\n") == _as_sent(rendered.text)


def _answer_headers() -> list[str]:
    return [
        "What units of study are coming up?",
        "How can the library help?",
        "Preferred format",
    ]


def _as_sent(text: str) -> str:
    # A text part goes out with every line ended by CRLF: a lone CR or LF ends a line too;
    # other separators (U+2028, RS) are text like any other.
    return "".join(line.decode() + "\n" for line in text.encode().splitlines()) or "\n"


# -- the check itself ------------------------------------------------------------------------

WHEN = datetime(2026, 12, 1, 7, 30)


def composed(name: str = "Ann Lee", subject: str = "December update") -> ComposedMessage:
    key = MessageKey("monthly-update", "2026-12", "ann@school.example.org", "request")
    return compose(
        sender=address("Lib Rarian", LIBRARIAN),
        to=address(name, key.recipient),
        subject=subject,
        text="Hello\n",
        html=None,
        message_id="<pdmail.test@school.example.org>",
        date=WHEN.astimezone(),
    )


def _tamper(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert old in raw
    return raw.replace(old, new, 1)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda r: _tamper(r, b"Subject:", b"Bcc: x@evil.example\r\nSubject:"), "bcc"),
        (lambda r: _tamper(r, b"Subject:", b"Cc: x@evil.example\r\nSubject:"), "cc"),
        (lambda r: _tamper(r, b"Subject:", b"Resent-To: x@evil.example\r\nSubject:"), "resent-to"),
        (
            lambda r: _tamper(r, b"<ann@school.example.org>", b"<ann@school.example.org>, x@e.org"),
            "To would not read as one address",
        ),
        (
            lambda r: _tamper(r, b"To: Ann Lee <ann@", b'To: "Ann Lee" <x@evil.example>, <ann@'),
            "the name in To would not read as plain words",
        ),
        (
            lambda r: _tamper(r, b"Subject: December update", b"Subject: =?utf-8?q?Dec=0D=0A?="),
            "the Subject would not read as plain words or encoded-words",
        ),
        (
            lambda r: _tamper(r, b"Subject: December update", b"Subject: December updates"),
            "the Subject would read as 'December updates'",
        ),
        (
            lambda r: _tamper(r, b"To: Ann Lee", b"To: =?utf-8?q?Ann_=1B[31m?="),
            "the name in To would not read as plain words",
        ),
        (lambda r: _tamper(r, b"To: Ann Lee", b"To: Eve Lee"), "the name in To"),
        (
            lambda r: _tamper(r, b"From: Lib Rarian <librarian@", b"From: <x@"),
            "From would not read",
        ),
        (lambda r: _tamper(r, b"\r\n\r\nHello", b"\r\n\r\nGoodbye"), "its parts"),
    ],
)
def test_verify_refuses_bytes_that_do_not_read_back_as_written(change: Any, says: str) -> None:
    msg = composed()
    raw = wire_bytes(msg)
    verify(msg, raw)  # the real bytes pass
    with pytest.raises(InputError) as caught:
        verify(msg, change(raw))
    assert "ann@school.example.org would not read back as written" in caught.value.message
    assert says in caught.value.message


def test_a_message_cannot_be_changed_after_compose_so_mailers_send_what_was_checked(
    mailers: Mailers,
) -> None:
    msg = composed()
    checked = msg.data
    with pytest.raises(TypeError):
        msg["Cc"] = "x@evil.example"  # type: ignore[index]
    for change in ("add_header", "replace_header", "set_content", "set_payload"):
        with pytest.raises(AttributeError, match="cannot be changed"):
            getattr(msg, change)
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.data = checked + b"Cc: x@evil.example\r\n"  # type: ignore[misc]
    item = Outgoing(
        MessageKey("monthly-update", "2026-12", "ann@school.example.org", "request"), msg
    )
    delivered = mailers.send_everywhere(item)
    assert {mailer: data for mailer, (data, _) in delivered.items()} == dict.fromkeys(
        ("outbox", "smtp", "gmail"), checked
    )


def _files(mailers: Mailers) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in mailers.outbox.folder.rglob("*")}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (ENCODED_BCC, "= ?utf-8?q?=0D=0ABcc:_x@evil.example?="),
        ("a\x00b\x1bc\x7fd\x9be", "abcde"),
        ("a\x85b\x1cc\x1fd", "a b c d"),  # NEL and the separators are line breaks
        ("a\u2028b\u2029c\td\r\ne", "a b c d e"),
        ("\u202eabc\u2066d\u2069\ufeff\u200be\u00adf", "abcdef"),
        ("👩🏽\u200d🏫 and \u200c", "👩🏽\u200d🏫 and \u200c"),
        ("==??", "== ??"),
    ],
)
def test_header_text_is_plain_and_one_line(value: str, shown: str) -> None:
    msg = composed(name=value, subject=value)
    back = parse(wire_bytes(msg))
    assert str(back["Subject"]) == shown == sanitised(value)
    assert letters(back["To"].addresses[0].display_name) == letters(shown)


def test_lines_stay_within_the_rfc_2047_length() -> None:
    for name in ("María José " * 9, "x" * 200, LONG_QUOTED, "a " * 80):
        raw = wire_bytes(composed(name=name, subject=name))
        for line in header_block(raw).split(b"\r\n"):
            if b"=?" in line:
                assert len(line) <= 76, line


# -- the named cases, end to end through the command line ------------------------------------


def test_named_hostile_rows_through_pdmail_send(project: Project) -> None:
    rows = [
        ["ann@school.example.org", "Ann", ENCODED_BCC, "Grade 6", "yes"],
        ["raj@school.example.org", LONG_QUOTED, "Patel", "Grade 6", "yes"],
        # (A NUL makes the whole CSV unreadable; the properties give it to the roster.)
        ["maria@school.example.org", CONTROLS.replace("\x00", ""), "G\x1bómez\x7f", "7", "yes"],
    ]
    project.write_roster(rows)
    project.write_config({"mail": {"reply_to": REPLY_TO}})
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code == 0, result.output
    files = sorted(project.outbox.rglob("request-*.eml"))
    assert len(files) == 3
    for path, row in zip(files, sorted(rows), strict=True):
        raw = path.read_bytes()
        for line in header_block(raw).split(b"\r\n"):
            assert not line.lower().startswith((b"bcc", b"cc", b"resent")), line
        back = parse(raw)
        assert [a.addr_spec for a in back["To"].addresses] == [row[0]]
        assert back["Bcc"] is None and back["Cc"] is None
        assert not any(forbidden(ch) for _, v in back.items() for ch in str(v))


def test_addresses_a_file_name_cannot_tell_apart_get_their_own_outbox_files(
    project: Project,
) -> None:
    addresses = ["a'b@school.example.org", "a_b@school.example.org", "a{b@school.example.org"]
    project.write_roster([[a, "A", "B", "Grade 6", "yes"] for a in addresses])
    result = run_cli(project, "send", today="2026-12-01")
    assert result.exit_code == 0, result.output
    files = list(project.outbox.rglob("request-*.eml"))
    delivered = sorted(str(parse(p.read_bytes())["To"].addresses[0].addr_spec) for p in files)
    assert delivered == sorted(addresses)


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("a@school.example.org, c@school.example.org", "more than one address"),
        ("a@school.example.org;c@school.example.org", "more than one address"),
        ("a@school.example.org\nBcc: x@evil.example", "more than one address"),
        ('"a,b"@school.example.org', "name or quotes"),
        ('"a b"@school.example.org', "name or quotes"),
        ("Ann Lee <ann@school.example.org>", "name or quotes"),
        ("ann lee@school.example.org", "space"),
        ("ann\x1b@school.example.org", "control character"),
        ("ann\u2028x@school.example.org", "space"),
        ("ánn@school.example.org", "outside plain ASCII"),
        ("=?utf-8?q?ann?=@school.example.org", "encoded word"),
        ("a..b@school.example.org", "not a plain address"),
        (".ann@school.example.org", "not a plain address"),
        ("ann.@school.example.org", "not a plain address"),
        ("ann@-school.example.org", "not a plain address"),
        ("a" * 65 + "@school.example.org", "not a plain address"),
    ],
)
def test_the_roster_refuses_anything_but_one_plain_address(
    project: Project, cell: str, why: str
) -> None:
    project.write_roster([[cell, "Ann", "Lee", "Grade 6", "yes"], ROSTER_ROWS[1]])
    with project.workspace(SEND_DAY) as ws:
        roster = ws.roster
    assert [t.email for t in roster.teachers] == [ROSTER_ROWS[1][0]]
    [problem] = roster.problems
    assert (problem.row, problem.column) == (2, "Email")
    assert why in problem.message


@pytest.mark.parametrize(
    "cell",
    ["o'brien@school.example.org", "a+tag@school.example.org",
     "x{y}|z~!#$%&*/^`@school.example.org", "first.last@sub.school-district.example.org",
     " Ann@School.Example.org "],
)  # fmt: skip
def test_the_roster_takes_every_plain_address(project: Project, cell: str) -> None:
    project.write_roster([[cell, "Ann", "Lee", "Grade 6", "yes"]])
    with project.workspace(SEND_DAY) as ws:
        assert [t.email for t in ws.roster.teachers] == [cell.strip().lower()]


# -- templates reach no Python internals -----------------------------------------------------

ATTACKS = [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'__class__'"),
    ("{{ teacher.__class__ }}", "'__class__'"),
    ('{{ "{0.__class__}".format(teacher) }}', "'__class__'"),
    ("{{ cycle|attr('__class__') }}", "'__class__'"),
    ("{{ lipsum.__globals__['os'].system('touch /tmp/pwned') }}", "'__globals__'"),
    ("{{ cycler.__init__.__globals__ }}", "'__init__'"),
    ("{% set l = [] %}{{ l.append(1) }}", "'append'"),
    ("{{ 'x' * 10000000 }}", "10,000,000 items"),
]


def _own_template(project: Project, name: str, text: str) -> Path:
    folder = project.folder / "my-templates"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"Hello,\n\n{text}\n", encoding="utf-8")
    project.write_config({"templates": "my-templates"})
    return path


@pytest.mark.parametrize(("attack", "names"), ATTACKS)
@pytest.mark.parametrize("template", ["request.txt.j2", "request.html.j2", "request.subject.j2"])
@pytest.mark.parametrize("command", ["preview", "send"])
def test_a_template_reaching_python_internals_fails_and_sends_nothing(
    project: Project, attack: str, names: str, template: str, command: str
) -> None:
    path = _own_template(project, template, attack)
    result = run_cli(project, command, today="2026-12-01")
    assert result.exit_code == TemplateError.exit_code, result.output
    assert f"{path}, line 3:" in result.output
    assert names in result.output and ("unsafe" in result.output or "items" in result.output)
    assert "Python's internals" in result.output  # the hint
    assert not project.outbox.exists() or not list(project.outbox.rglob("*.eml"))
    assert ledger_entries(project) == []
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize(("attack", "names"), ATTACKS[:3])
def test_a_digest_template_reaching_python_internals_sends_nothing(
    project: Project, attack: str, names: str
) -> None:
    path = _own_template(project, "digest.txt.j2", attack)
    write_csv(
        project.responses_path,
        ["Timestamp", "Email Address", *_answer_headers()],
        [["12/3/2026 8:14:22", "ann@school.example.org", "Unit", "Help", "Small group"]],
    )
    result = run_cli(project, "digest", "--send", today="2026-12-11")
    assert result.exit_code == TemplateError.exit_code, result.output
    assert f"{path}, line 3:" in result.output and names in result.output
    assert not project.outbox.exists() or not list(project.outbox.rglob("*.eml"))
    assert [e for e in ledger_entries(project) if e.key.kind == "digest"] == []


def test_ordinary_templates_still_render_in_the_sandbox(setting: Setting) -> None:
    ws = setting.ws
    teacher = teacher_from_row(
        ws, ["ann@school.example.org", "Ann", "Lee", "Grade 6", "yes", "B12"]
    )
    setting.subjects.mapping["request.subject.j2"] = (
        "{% set ns = namespace(n=0) %}{% for w in ['a', 'b'] %}{% set ns.n = ns.n + 1 %}"
        "{% endfor %}{{ ns.n }} {{ '{} {}'.format(teacher.first_name, cycle.month) }} "
        "{{ teacher.team|upper }} {{ 2 ** 3 }} {{ '-' * 3 }} {{ teacher.display_name|length }}"
    )
    item = build_request(Composer.of(ws), setting.cycle, teacher)
    assert item.subject == "2 Ann December 2026 GRADE 6 8 --- 7"
