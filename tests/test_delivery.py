"""Nothing is sent twice: requests, reminders and the digest under the ledger's rules.

Real folders, the real SQLite ledger and the real outbox mailer. Failures come from small
mailers that wrap the outbox one; the crash is a real child process killed mid-run.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from conftest import ANN, MARIA, RAJ, SAM, Project, answer, read_eml, send_killed_after_second

from pdmail import cycles
from pdmail.backends.outbox import OutboxMailer
from pdmail.cycle import delivery
from pdmail.cycle.delivery import DeliveryReport, Due, count_due
from pdmail.cycle.messages import REQUEST, Composer, build_reminder, build_request
from pdmail.cycle.publish import compile_digest, render_digest, send_digest
from pdmail.cycle.steps import plan_requests, send_reminders, send_requests
from pdmail.cycles import Cycle
from pdmail.errors import BackendError, DeliveryError, TemplateError
from pdmail.mail.compose import message_id
from pdmail.models import MessageKey, SendResult, Teacher
from pdmail.state.ledger import INTERRUPTED
from pdmail.workspace import Workspace

ACTIVE = [ANN, RAJ, MARIA, SAM]  # roster order; old@ is inactive

SEND = date(2026, 12, 1)
REMIND_1 = date(2026, 12, 7)
REMIND_2 = date(2026, 12, 9)
DIGEST_DAY = date(2026, 12, 11)
LONG_LIBRARIAN = "librarian@lincolnmiddle.springfieldpublicschools.example.org"


class OutboxWrapper:
    """A mailer that hands messages to the real OutboxMailer, except where told to raise."""

    name = "wrapper"

    def __init__(self, outbox: Path, fail: dict[str, Exception] | None = None) -> None:
        self.inner = OutboxMailer(outbox)
        self.fail = fail or {}
        self.attempted: list[str] = []
        self.sent: list[str] = []
        self.entered = 0
        self.exited = 0

    def __enter__(self) -> OutboxWrapper:
        self.entered += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.exited += 1

    def send(self, message: EmailMessage, *, thread_id: str | None = None) -> SendResult:
        to = str(message["To"].addresses[0].addr_spec)
        self.attempted.append(to)
        if to in self.fail:
            raise self.fail[to]
        result = self.inner.send(message, thread_id=thread_id)
        self.sent.append(to)
        return result


def workspace(project: Project, day: date, mailer: OutboxWrapper | None = None) -> Workspace:
    """A workspace on ``day`` at 7:30 school time, with ``mailer`` if given (else the outbox)."""
    config = project.config()
    factory = None if mailer is None else (lambda cfg: mailer)
    return Workspace(
        config,
        mailer_factory=factory,
        clock=lambda: datetime.combine(day, time(7, 30), config.timezone),
    )


def december(project: Project) -> Cycle:
    return cycles.cycle(project.config(), "2026-12")


def ledger_rows(project: Project, kind: str = REQUEST) -> dict[str, tuple[str, int, str]]:
    """``{recipient: (state, attempts, error)}`` read straight from the SQLite file."""
    path = project.config().state / "ledger.sqlite3"
    if not path.exists():
        return {}
    with sqlite3.connect(str(path)) as db:
        rows = db.execute(
            "SELECT recipient, state, attempts, error FROM messages WHERE kind=?", (kind,)
        ).fetchall()
    return {r: (s, a, e) for r, s, a, e in rows}


def eml_files(project: Project, pattern: str = "*.eml") -> dict[str, tuple[int, int]]:
    """``{file name: (inode, mtime_ns)}`` of the outbox files; a rewrite changes the inode."""
    out = {}
    for p in sorted(project.outbox.rglob(pattern)):
        st = p.stat()
        out[p.name] = (st.st_ino, st.st_mtime_ns)
    return out


def eml(project: Project, kind: str, recipient: str) -> Path:
    return project.outbox / "2026-12" / f"{kind}-{recipient}.eml"


def results(report: DeliveryReport) -> dict[str, str]:
    return {o.recipient: o.result for o in report.outcomes}


def teacher(ws: Workspace, email: str) -> Teacher:
    found = ws.roster.get(email)
    assert found is not None, email
    return found


def request_id(ws: Workspace, cycle: Cycle, email: str) -> str:
    return str(build_request(Composer.of(ws), cycle, teacher(ws, email)).message["Message-ID"])


# --- requests: once and only once ------------------------------------------------------------


def test_second_request_run_the_same_day_sends_nothing(project: Project) -> None:
    with workspace(project, SEND) as ws:
        first = send_requests(ws, december(project))
    before = eml_files(project)

    with workspace(project, SEND) as ws:
        second = send_requests(ws, december(project))

    assert results(first) == dict.fromkeys(ACTIVE, "sent")
    assert first.ok
    assert results(second) == dict.fromkeys(ACTIVE, "already-sent")
    assert second.count("sent") == 0
    assert second.ok
    assert len(before) == 4
    assert eml_files(project) == before  # same files, none rewritten
    assert project.sent_to(REQUEST) == sorted(ACTIVE)
    assert ledger_rows(project) == {r: ("sent", 1, "") for r in ACTIVE}


# --- a process killed between "pending" and "sent" -------------------------------------------


@pytest.fixture
def crashed(project: Project, tmp_path: Path) -> Project:
    """The project after a request run whose process died right after handing over message 2."""
    send_killed_after_second(project, tmp_path)
    return project


def test_crashed_run_left_message_two_out_and_pending(crashed: Project) -> None:
    assert sorted(eml_files(crashed)) == [f"request-{ANN}.eml", f"request-{RAJ}.eml"]
    rows = ledger_rows(crashed)
    assert {r: rows[r] for r in (ANN, RAJ)} == {ANN: ("sent", 1, ""), RAJ: ("pending", 1, "")}
    # The rest may have been claimed ahead in the same flushed commit; never handed over,
    # they are no claim to the next run (below).
    assert all(rows[r] == ("pending", 1, "") for r in set(rows) - {ANN, RAJ})


def test_rerun_after_crash_sends_the_rest_and_never_resends(crashed: Project) -> None:
    before = eml_files(crashed)
    mailer = OutboxWrapper(crashed.outbox)

    with workspace(crashed, SEND, mailer) as ws:
        report = send_requests(ws, december(crashed))

    assert results(report) == {
        ANN: "already-sent",
        RAJ: "skipped-unknown",
        MARIA: "sent",
        SAM: "sent",
    }
    assert report.outcomes[1].detail == INTERRUPTED
    assert mailer.attempted == [MARIA, SAM]
    assert ledger_rows(crashed) == {
        ANN: ("sent", 1, ""),
        RAJ: ("unknown", 1, INTERRUPTED),
        MARIA: ("sent", 1, ""),
        SAM: ("sent", 1, ""),
    }
    after = eml_files(crashed)
    assert sorted(after) == sorted(f"request-{r}.eml" for r in ACTIVE)
    # Message 1 and 2 were written once, by the crashed run, and not touched since.
    assert after[f"request-{ANN}.eml"] == before[f"request-{ANN}.eml"]
    assert after[f"request-{RAJ}.eml"] == before[f"request-{RAJ}.eml"]

    # A third run the next day still leaves the unknown one alone.
    quiet = OutboxWrapper(crashed.outbox)
    with workspace(crashed, date(2026, 12, 2), quiet) as ws:
        third = send_requests(ws, december(crashed))
    assert quiet.attempted == []
    assert quiet.entered == 0  # no mailer opened when nothing is owed
    assert results(third)[RAJ] == "skipped-unknown"
    assert eml_files(crashed) == after


def test_resend_after_crash_reuses_the_same_message_id(crashed: Project) -> None:
    first_id = str(read_eml(eml(crashed, REQUEST, RAJ))["Message-ID"])
    with workspace(crashed, SEND) as ws:
        send_requests(ws, december(crashed))
    settled = eml_files(crashed)

    mailer = OutboxWrapper(crashed.outbox)
    with workspace(crashed, date(2026, 12, 2), mailer) as ws:
        report = send_requests(ws, december(crashed), resend=True)

    assert mailer.attempted == [RAJ]
    assert results(report) == {
        ANN: "already-sent",
        RAJ: "sent",
        MARIA: "already-sent",
        SAM: "already-sent",
    }
    assert str(read_eml(eml(crashed, REQUEST, RAJ))["Message-ID"]) == first_id
    assert first_id.startswith("<pdmail.monthly-update.2026-12.request.")
    assert ledger_rows(crashed)[RAJ] == ("sent", 2, "")
    after = eml_files(crashed)
    assert after[f"request-{RAJ}.eml"] != settled[f"request-{RAJ}.eml"]  # written again
    for other in (ANN, MARIA, SAM):
        assert after[f"request-{other}.eml"] == settled[f"request-{other}.eml"]


def test_dry_run_after_crash_reports_but_settles_nothing(crashed: Project) -> None:
    with workspace(crashed, SEND) as ws:
        report = send_requests(ws, december(crashed), dry_run=True)

    assert results(report) == {
        ANN: "already-sent",
        RAJ: "skipped-unknown",
        MARIA: "would-send",
        SAM: "would-send",
    }
    rows = ledger_rows(crashed)
    assert {r: rows[r] for r in (ANN, RAJ)} == {ANN: ("sent", 1, ""), RAJ: ("pending", 1, "")}
    assert all(rows[r] == ("pending", 1, "") for r in set(rows) - {ANN, RAJ})  # unsettled
    assert len(eml_files(crashed)) == 2


# --- mailer failures -------------------------------------------------------------------------


def test_definite_failure_is_failed_and_retried_next_run(project: Project) -> None:
    refusal = DeliveryError("550 5.1.1 mailbox unavailable", definite=True)
    mailer = OutboxWrapper(project.outbox, fail={RAJ: refusal})

    with workspace(project, SEND, mailer) as ws:
        first = send_requests(ws, december(project))

    assert results(first) == {ANN: "sent", RAJ: "failed", MARIA: "sent", SAM: "sent"}
    assert first.outcomes[1].detail == "550 5.1.1 mailbox unavailable"
    assert first.ok is False
    assert first.stopped == ""
    assert ledger_rows(project)[RAJ] == ("failed", 1, "550 5.1.1 mailbox unavailable")
    assert project.sent_to(REQUEST) == sorted([ANN, MARIA, SAM])
    assert (mailer.entered, mailer.exited) == (1, 1)

    retry = OutboxWrapper(project.outbox)
    with workspace(project, date(2026, 12, 2), retry) as ws:
        second = send_requests(ws, december(project))

    assert retry.attempted == [RAJ]
    assert results(second) == {
        ANN: "already-sent",
        RAJ: "sent",
        MARIA: "already-sent",
        SAM: "already-sent",
    }
    assert second.ok
    assert ledger_rows(project)[RAJ] == ("sent", 2, "")
    assert project.sent_to(REQUEST) == sorted(ACTIVE)


def test_indefinite_failure_is_unknown_and_not_resent(project: Project) -> None:
    dropped = DeliveryError("connection dropped after DATA", definite=False)
    mailer = OutboxWrapper(project.outbox, fail={RAJ: dropped})

    with workspace(project, SEND, mailer) as ws:
        first = send_requests(ws, december(project))

    assert results(first) == {ANN: "sent", RAJ: "unknown", MARIA: "sent", SAM: "sent"}
    assert first.ok is False
    assert first.stopped == ""
    assert ledger_rows(project)[RAJ] == ("unknown", 1, "connection dropped after DATA")

    again = OutboxWrapper(project.outbox)
    with workspace(project, date(2026, 12, 2), again) as ws:
        second = send_requests(ws, december(project))

    assert again.attempted == []
    assert results(second)[RAJ] == "skipped-unknown"
    assert second.outcomes[1].detail == "connection dropped after DATA"
    assert ledger_rows(project)[RAJ] == ("unknown", 1, "connection dropped after DATA")
    assert project.sent_to(REQUEST) == sorted([ANN, MARIA, SAM])


def test_unclassified_mailer_crash_is_unknown_and_raised(project: Project) -> None:
    mailer = OutboxWrapper(project.outbox, fail={RAJ: RuntimeError("socket exploded")})

    with workspace(project, SEND, mailer) as ws, pytest.raises(BackendError) as info:
        send_requests(ws, december(project))

    assert RAJ in info.value.message
    assert "RuntimeError: socket exploded" in info.value.message
    assert isinstance(info.value.__cause__, RuntimeError)
    assert not isinstance(info.value, DeliveryError)
    assert mailer.attempted == [ANN, RAJ]  # nothing after it was tried
    assert (mailer.entered, mailer.exited) == (1, 1)
    assert ledger_rows(project) == {
        ANN: ("sent", 1, ""),
        RAJ: ("unknown", 1, "RuntimeError: socket exploded"),
    }
    assert project.sent_to(REQUEST) == [ANN]

    with workspace(project, SEND) as ws:
        rerun = send_requests(ws, december(project))
    assert results(rerun) == {
        ANN: "already-sent",
        RAJ: "skipped-unknown",
        MARIA: "sent",
        SAM: "sent",
    }
    assert project.sent_to(REQUEST) == sorted([ANN, MARIA, SAM])


def test_backend_error_stops_the_run_and_holds_the_rest(project: Project) -> None:
    mailer = OutboxWrapper(project.outbox, fail={RAJ: BackendError("connection lost")})

    with workspace(project, SEND, mailer) as ws:
        report = send_requests(ws, december(project))

    assert [(o.recipient, o.result, o.detail) for o in report.outcomes] == [
        (ANN, "sent", ""),
        (RAJ, "unknown", "connection lost"),
        (MARIA, "held", "the run stopped"),
        (SAM, "held", "the run stopped"),
    ]
    assert report.stopped == "connection lost"
    assert report.ok is False
    assert mailer.attempted == [ANN, RAJ]
    assert ledger_rows(project) == {
        ANN: ("sent", 1, ""),
        RAJ: ("unknown", 1, "connection lost"),
    }  # the held ones have no row at all
    assert project.sent_to(REQUEST) == [ANN]


# --- dry run and limit -----------------------------------------------------------------------


def test_dry_run_writes_nothing(project: Project) -> None:
    mailer = OutboxWrapper(project.outbox)

    with workspace(project, SEND, mailer) as ws:
        report = send_requests(ws, december(project), dry_run=True)

    assert results(report) == dict.fromkeys(ACTIVE, "would-send")
    assert report.dry_run is True
    assert mailer.entered == 0
    assert mailer.attempted == []
    assert ledger_rows(project) == {}
    ledger_file = project.config().state / "ledger.sqlite3"
    if ledger_file.exists():
        with sqlite3.connect(str(ledger_file)) as db:
            assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    assert not project.outbox.exists() or list(project.outbox.rglob("*")) == []


def test_limit_holds_the_rest_for_the_next_run(project: Project) -> None:
    with workspace(project, SEND) as ws:
        first = send_requests(ws, december(project), limit=2)

    # Held ones are decided before anything is handed over, so they come first in the report.
    assert sorted((o.recipient, o.result, o.detail) for o in first.outcomes) == sorted(
        [
            (ANN, "sent", ""),
            (RAJ, "sent", ""),
            (MARIA, "held", "over --limit 2"),
            (SAM, "held", "over --limit 2"),
        ]
    )
    assert first.ok
    assert project.sent_to(REQUEST) == [ANN, RAJ]
    assert sorted(ledger_rows(project)) == [ANN, RAJ]

    with workspace(project, SEND) as ws:
        second = send_requests(ws, december(project), limit=2)

    assert results(second) == {
        ANN: "already-sent",
        RAJ: "already-sent",
        MARIA: "sent",
        SAM: "sent",
    }
    assert project.sent_to(REQUEST) == sorted(ACTIVE)
    assert ledger_rows(project) == {r: ("sent", 1, "") for r in ACTIVE}


# --- Message-IDs -----------------------------------------------------------------------------


def test_message_ids_are_deterministic_and_hide_the_address(project: Project) -> None:
    cycle = december(project)
    with workspace(project, SEND) as one, workspace(project, date(2026, 12, 5)) as two:
        ann_one = request_id(one, cycle, ANN)
        ann_two = request_id(two, cycle, ANN)
        raj = request_id(one, cycle, RAJ)
        ann_jan = request_id(one, cycles.cycle(one.config, "2027-01"), ANN)

    assert ann_one == ann_two
    assert len({ann_one, raj, ann_jan}) == 3
    base = MessageKey("monthly-update", "2026-12", ANN, REQUEST)
    assert message_id(base, "school.example.org") == ann_one
    variants = [
        MessageKey("monthly-update", "2026-12", ANN, "reminder-1"),
        MessageKey("monthly-update", "2026-11", ANN, REQUEST),
        MessageKey("monthly-update", "2026-12", RAJ, REQUEST),
        MessageKey("other-campaign", "2026-12", ANN, REQUEST),
    ]
    ids = {message_id(k, "school.example.org") for k in [base, *variants]}
    assert len(ids) == 5
    for mid in [ann_one, raj, ann_jan, *ids]:
        local = mid.strip("<>").rpartition("@")[0]
        assert "ann" not in local
        assert "raj" not in local
        assert ANN not in mid and RAJ not in mid
    assert ann_one.startswith("<pdmail.monthly-update.2026-12.request.")
    assert ann_one.endswith("@school.example.org>")

    # The id that went out and the one the ledger holds are the same.
    with workspace(project, SEND) as ws:
        send_requests(ws, cycle)
        sent = ws.ledger.get(base)
    assert sent is not None
    assert sent.message_id == ann_one
    assert str(read_eml(eml(project, REQUEST, ANN))["Message-ID"]) == ann_one


# --- reminders -------------------------------------------------------------------------------


def _raw_header(path: Path, name: str) -> bytes:
    """The header ``name`` exactly as written (unfolded), from the raw .eml bytes."""
    head = path.read_bytes().split(b"\r\n\r\n", 1)[0]
    head = head.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    values = [
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(name.lower().encode() + b":")
    ]
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


def test_reminders_reply_in_the_request_thread(project: Project) -> None:
    project.write_responses([])  # downloaded: nobody has answered
    project.write_config({"librarian": {"name": "Lib Rarian", "email": LONG_LIBRARIAN}})
    cycle = december(project)
    with workspace(project, SEND) as ws:
        send_requests(ws, cycle)
    with workspace(project, REMIND_1) as ws:
        report = send_reminders(ws, cycle, REMIND_1)

    assert report.kind == "reminder-1"
    assert results(report) == dict.fromkeys(ACTIVE, "sent")
    for teacher in ACTIVE:
        request = read_eml(eml(project, REQUEST, teacher))
        reminder_path = eml(project, "reminder-1", teacher)
        reminder = read_eml(reminder_path)
        request_id = str(request["Message-ID"])
        assert request_id.endswith("@lincolnmiddle.springfieldpublicschools.example.org>")
        assert len(request_id) > 78  # long enough that a careless fold would encode it
        assert str(reminder["In-Reply-To"]) == request_id
        assert str(reminder["References"]) == request_id
        assert str(reminder["Message-ID"]) != request_id
        assert str(reminder["Subject"]) == "Re: " + str(request["Subject"])
        for header in ("In-Reply-To", "References"):
            raw = _raw_header(reminder_path, header)
            assert b"=?" not in raw
            assert raw == request_id.encode("ascii")


def test_reminders_once_per_day_and_only_to_who_has_not_answered(project: Project) -> None:
    cycle = december(project)
    with workspace(project, SEND) as ws:
        send_requests(ws, cycle)
    project.write_responses([answer(RAJ, "12/2/2026 9:00:00")])

    with workspace(project, REMIND_1) as ws:
        first = send_reminders(ws, cycle, REMIND_1)
    files = eml_files(project, "reminder-1-*.eml")
    with workspace(project, REMIND_1) as ws:
        second = send_reminders(ws, cycle, REMIND_1)

    assert results(first) == {ANN: "sent", MARIA: "sent", SAM: "sent"}
    assert project.sent_to("reminder-1") == sorted([ANN, MARIA, SAM])
    assert second.count("sent") == 0
    assert second.outcomes == []
    assert eml_files(project, "reminder-1-*.eml") == files
    assert sorted(ledger_rows(project, "reminder-1")) == sorted([ANN, MARIA, SAM])

    # The second reminder day: reminder 2, again once, again not to Raj.
    with workspace(project, REMIND_2) as ws:
        third = send_reminders(ws, cycle, REMIND_2)
    with workspace(project, REMIND_2) as ws:
        fourth = send_reminders(ws, cycle, REMIND_2)
    assert third.kind == "reminder-2"
    assert results(third) == {ANN: "sent", MARIA: "sent", SAM: "sent"}
    assert fourth.count("sent") == 0
    assert project.sent_to("reminder-2") == sorted([ANN, MARIA, SAM])
    assert project.sent_to("reminder-1") == sorted([ANN, MARIA, SAM])


def test_no_reminder_on_the_day_the_request_went_out(project: Project) -> None:
    project.write_responses([])  # downloaded: nobody has answered
    cycle = december(project)
    with workspace(project, SEND) as ws:
        send_requests(ws, cycle, limit=3)  # Sam's request is held
    with workspace(project, REMIND_1) as ws:
        late = send_requests(ws, cycle)
        reminders = send_reminders(ws, cycle, REMIND_1)

    assert results(late)[SAM] == "sent"
    assert results(reminders) == {ANN: "sent", RAJ: "sent", MARIA: "sent"}
    assert project.sent_to("reminder-1") == sorted([ANN, RAJ, MARIA])

    with workspace(project, REMIND_2) as ws:
        later = send_reminders(ws, cycle, REMIND_2)
    assert results(later) == dict.fromkeys(ACTIVE, "sent")
    assert project.sent_to("reminder-2") == sorted(ACTIVE)


def test_reminder_failure_definite_is_retried_indefinite_is_not(project: Project) -> None:
    project.write_responses([])  # downloaded: nobody has answered
    cycle = december(project)
    with workspace(project, SEND) as ws:
        send_requests(ws, cycle)
    mailer = OutboxWrapper(
        project.outbox,
        fail={
            ANN: DeliveryError("452 try later", definite=True),
            RAJ: DeliveryError("timeout after DATA", definite=False),
        },
    )
    with workspace(project, REMIND_1, mailer) as ws:
        first = send_reminders(ws, cycle, REMIND_1)
    retry = OutboxWrapper(project.outbox)
    with workspace(project, REMIND_1, retry) as ws:
        second = send_reminders(ws, cycle, REMIND_1)

    assert results(first) == {ANN: "failed", RAJ: "unknown", MARIA: "sent", SAM: "sent"}
    assert retry.attempted == [ANN]
    assert results(second) == {ANN: "sent"}
    assert project.sent_to("reminder-1") == sorted([ANN, MARIA, SAM])
    rows = ledger_rows(project, "reminder-1")
    assert rows[ANN] == ("sent", 2, "")
    assert rows[RAJ] == ("unknown", 1, "timeout after DATA")


def test_reminder_reuses_the_request_thread_id(project: Project) -> None:
    cycle = december(project)
    with workspace(project, SEND) as ws:
        send_requests(ws, cycle)
    with workspace(project, REMIND_1) as ws:
        request = ws.ledger.get(MessageKey("monthly-update", "2026-12", ANN, REQUEST))
        assert request is not None
        outgoing = build_reminder(Composer.of(ws), cycle, teacher(ws, ANN), 1, request)

    assert outgoing.thread_id == request.thread_id == request.message_id
    assert str(outgoing.message["In-Reply-To"]) == request.message_id


# --- digest ----------------------------------------------------------------------------------


def test_digest_is_sent_once(project: Project) -> None:
    cycle = december(project)
    with workspace(project, SEND) as ws:
        send_requests(ws, cycle)
    project.write_responses([answer(RAJ, "12/2/2026 9:00:00")])

    reports = []
    for _ in range(2):
        with workspace(project, DIGEST_DAY) as ws:
            rendered = render_digest(ws, cycle, compile_digest(ws, cycle))
            reports.append(send_digest(ws, cycle, rendered))

    first, second = reports
    assert [(o.recipient, o.kind, o.result) for o in first.outcomes] == [
        ("librarian@school.example.org", "digest", "sent")
    ]
    assert [(o.recipient, o.kind, o.result) for o in second.outcomes] == [
        ("librarian@school.example.org", "digest", "already-sent")
    ]
    assert len(list(project.outbox.rglob("digest-*.eml"))) == 1
    assert project.sent_to("digest") == ["librarian@school.example.org"]
    assert ledger_rows(project, "digest") == {"librarian@school.example.org": ("sent", 1, "")}


# --- one pass per message: counted without rendering, rendered once, held as bytes ----------


def count_renders(ws: Workspace) -> list[str]:
    """The names of the templates ``ws`` renders from now on, in order."""
    names: list[str] = []
    templates = ws.templates
    render = templates.render

    def counting(name: str, context: Any) -> str:
        names.append(name)
        return render(name, context)

    templates.render = counting  # type: ignore[method-assign]
    return names


def test_each_message_is_rendered_once_and_a_rerun_with_nothing_due_renders_nothing(
    project: Project,
) -> None:
    with workspace(project, SEND) as ws:
        rendered = count_renders(ws)
        first = send_requests(ws, december(project))
    assert sorted(first.recipients("sent")) == sorted(ACTIVE)
    # subject, text and HTML: each once per teacher, none rendered to count or plan.
    assert len(rendered) == 3 * len(ACTIVE)
    assert sorted(rendered) == sorted(
        f"request.{part}.j2" for part in ("subject", "txt", "html") for _ in ACTIVE
    )

    mailer = OutboxWrapper(project.outbox)
    with workspace(project, SEND, mailer) as ws:
        rendered = count_renders(ws)
        again = send_requests(ws, december(project))
    assert results(again) == dict.fromkeys(ACTIVE, "already-sent")
    assert rendered == []
    assert mailer.entered == 0


def test_a_dry_run_renders_each_message_once_and_only_what_is_due(project: Project) -> None:
    with workspace(project, SEND, OutboxWrapper(project.outbox, {})) as ws:
        send_requests(ws, december(project), limit=2)
    with workspace(project, SEND) as ws:
        rendered = count_renders(ws)
        report = send_requests(ws, december(project), dry_run=True)
    assert sorted(report.recipients("would-send")) == sorted([MARIA, SAM])
    assert len(rendered) == 3 * 2


def test_what_is_due_is_counted_from_the_ledger_without_rendering(project: Project) -> None:
    with workspace(project, SEND) as ws:
        rendered = count_renders(ws)
        items = plan_requests(ws, december(project)).items
        assert all(isinstance(item, Due) for item in items)  # nothing rendered to plan
        assert count_due(ws, items) == len(ACTIVE)
        assert count_due(ws, items, limit=3) == 3
        send_requests(ws, december(project), limit=1)
        assert count_due(ws, plan_requests(ws, december(project)).items) == len(ACTIVE) - 1
    assert len(rendered) == 3  # the one message sent


def _a_template_failing_for_sam(project: Project) -> None:
    """The school's request template names a field Sam's row does not have."""
    folder = project.folder / "my-templates"
    folder.mkdir()
    (folder / "request.txt.j2").write_text(
        "Hi {{ teacher.first_name }}\n"
        f"{{% if teacher.email == '{SAM}' %}}{{{{ teacher.room_number }}}}{{% endif %}}\n",
        encoding="utf-8",
    )
    project.write_config({"templates": "my-templates"})


def test_a_template_error_for_a_later_teacher_stops_the_run_with_nothing_sent(
    project: Project,
) -> None:
    _a_template_failing_for_sam(project)
    mailer = OutboxWrapper(project.outbox)
    with (
        workspace(project, SEND, mailer) as ws,
        pytest.raises(TemplateError, match="room_number"),
    ):
        send_requests(ws, december(project))
    assert mailer.entered == 0 and mailer.attempted == []
    assert ledger_rows(project) == {}
    assert eml_files(project) == {}


class RendersMeanwhile(OutboxWrapper):
    """An outbox wrapper that, like the SMTP mailer, takes work to do while it waits."""

    def send(
        self, message: Any, *, thread_id: str | None = None, meanwhile: Any = None
    ) -> SendResult:
        result = super().send(message, thread_id=thread_id)
        if meanwhile is not None:
            meanwhile()
        return result


@pytest.mark.parametrize("mailer_class", [OutboxWrapper, RendersMeanwhile])
def test_a_row_further_down_that_cannot_be_written_stops_the_run_at_that_row(
    project: Project, monkeypatch: pytest.MonkeyPatch, mailer_class: type[OutboxWrapper]
) -> None:
    # Messages are rendered a claim ahead (2 here): the bad row is met mid-run.
    monkeypatch.setattr(delivery, "CLAIM_BATCH", 2)
    monkeypatch.setattr(delivery, "AHEAD", 2)
    _a_template_failing_for_sam(project)
    mailer = mailer_class(project.outbox)
    with workspace(project, SEND, mailer) as ws:
        report = send_requests(ws, december(project))
    assert results(report) == {ANN: "sent", RAJ: "sent", MARIA: "sent", SAM: "held"}
    assert "room_number" in report.stopped and not report.ok
    assert mailer.attempted == [ANN, RAJ, MARIA]
    # The bad row's claim (and any claimed with it) is released: it goes on the next run.
    assert ledger_rows(project) == {r: ("sent", 1, "") for r in (ANN, RAJ, MARIA)}


class ChecksTheLedger(OutboxWrapper):
    """Before handing a message over, reads its row from the ledger file through a second
    connection, as another process (or the disk after a crash) would see it."""

    def __init__(self, outbox: Path, ledger: Path) -> None:
        super().__init__(outbox)
        self.ledger = ledger
        self.seen: dict[str, str] = {}

    def send(self, message: Any, *, thread_id: str | None = None) -> SendResult:
        to = message.envelope_to
        with sqlite3.connect(str(self.ledger)) as db:
            row = db.execute("SELECT state FROM messages WHERE recipient=?", (to,)).fetchone()
        self.seen[to] = row[0] if row else "no row"
        return super().send(message, thread_id=thread_id)


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_every_claim_is_committed_before_its_message_is_handed_over(
    project: Project, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(delivery, "CLAIM_BATCH", batch)
    mailer = ChecksTheLedger(project.outbox, project.config().state / "ledger.sqlite3")
    with workspace(project, SEND, mailer) as ws:
        report = send_requests(ws, december(project))
    assert sorted(report.recipients("sent")) == sorted(ACTIVE)
    assert mailer.seen == dict.fromkeys(ACTIVE, "pending")
    assert ledger_rows(project) == {r: ("sent", 1, "") for r in ACTIVE}


def test_claims_ahead_that_a_stopped_run_never_handed_over_are_released(
    project: Project,
) -> None:
    refused = DeliveryError("over the sending limit", definite=True, stop=True)
    mailer = OutboxWrapper(project.outbox, {RAJ: refused})
    with workspace(project, SEND, mailer) as ws:
        report = send_requests(ws, december(project))
    assert results(report) == {ANN: "sent", RAJ: "held", MARIA: "held", SAM: "held"}
    # Raj's claim is released as before; Maria's and Sam's, claimed with Ann's, go too.
    assert ledger_rows(project) == {ANN: ("sent", 1, "")}


def test_sending_renders_as_it_goes_so_memory_does_not_grow_with_the_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracemalloc

    from conftest import ROSTER_HEADER, write_csv

    monkeypatch.setattr(delivery, "AHEAD", 8)
    monkeypatch.setattr(delivery, "CLAIM_BATCH", 8)
    peaks = {}
    for n in (150, 600):
        project = Project(tmp_path / str(n))
        project.folder.mkdir()
        project.write_config()
        rows = [[f"t{i}@school.example.org", f"Ann{i}", f"Lee{i}", "Grade 6", "yes"]
                for i in range(n)]  # fmt: skip
        write_csv(project.folder / "roster.csv", ROSTER_HEADER, rows)
        with workspace(project, SEND) as ws:
            cycle = december(project)
            plan_requests(ws, cycle)  # the roster and responses, read before measuring
            tracemalloc.start()
            try:
                report = send_requests(ws, cycle)
                peaks[n] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        assert report.count("sent") == n
        size = min(p.stat().st_size for p in project.outbox.rglob("*.eml"))
    # Each message is ~3 KB of bytes (and was ~100 KB as objects); what grows with the
    # roster is the report's line per teacher and each message's key (~1.5 KB), not the
    # messages: a few are rendered ahead of the one going out, and dropped once it has gone.
    per_teacher = (peaks[600] - peaks[150]) / 450
    assert per_teacher < size * 0.75, (per_teacher, size, peaks)


# --- delivery on its own: a Courier, no Workspace ---------------------------------------------


def test_a_courier_hands_over_and_settles_without_a_workspace(project: Project) -> None:
    from pdmail.cycle.delivery import Courier, Outgoing, due_in, hand_over, settle, unsettled_in
    from pdmail.mail.compose import address, compose
    from pdmail.models import REQUEST, MessageKey
    from pdmail.state.ledger import Ledger

    config = project.config()
    when = datetime.combine(SEND, time(7, 30), config.timezone)
    sleeps: list[float] = []

    def item(recipient: str) -> Outgoing:
        key = MessageKey(config.campaign, "2026-12", recipient, REQUEST)
        return Outgoing(
            key,
            compose(
                sender=address("Library", config.librarian.email),
                to=address("", recipient),
                subject="December",
                text="Hello\n",
                html=None,
                message_id=message_id(key, "school.example.org"),
                date=when,
            ),
        )

    lost = DeliveryError("connection dropped", definite=False)
    mailer = OutboxWrapper(project.outbox, {RAJ: lost})
    with Ledger(config.state / "ledger.sqlite3") as ledger:
        courier = Courier(config, ledger, lambda: mailer, lambda: when, sleeps.append)
        items = [item(ANN), item(RAJ)]
        assert due_in(ledger, items) == 2
        report = hand_over(courier, items, cycle="2026-12", kind=REQUEST)
        assert results(report) == {ANN: "sent", RAJ: "unknown"}
        assert due_in(ledger, items) == 0  # sent, and unknown: neither goes again on its own
        assert [e.key.recipient for e in unsettled_in(ledger, config.campaign, config.state)] == [
            RAJ
        ]
        (settled,) = settle(courier, [items[1].key], sent=False)
        assert settled.state.value == "failed"
        assert due_in(ledger, items) == 1
    assert sleeps == []  # two messages are within any pacing: the timer was never needed
