"""The ledger on its own: claims, state changes, settling a crashed run, durability, and errors.

Every test uses a real SQLite file in ``tmp_path``.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pdmail.errors import BackendError
from pdmail.models import LedgerEntry, MessageKey, SendResult, State
from pdmail.state.ledger import INTERRUPTED, SCHEMA_VERSION, Ledger, boot_id

T0 = datetime(2026, 12, 1, 13, 30, tzinfo=timezone.utc)
KEY = MessageKey("monthly-update", "2026-12", "ann@school.example.org", "request")
MID = "<pdmail.monthly-update.2026-12.request.abc@school.example.org>"


def key(
    recipient: str = "ann@school.example.org",
    kind: str = "request",
    cycle: str = "2026-12",
    campaign: str = "monthly-update",
) -> MessageKey:
    return MessageKey(campaign, cycle, recipient, kind)


def must_get(ledger: Ledger, k: MessageKey) -> LedgerEntry:
    found = ledger.get(k)
    assert found is not None, k
    return found


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "state" / "ledger.sqlite3") as led:
        yield led


def raw_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(str(path)) as db:
        return db.execute("SELECT recipient, kind, state, attempts FROM messages").fetchall()


# --- claims and states -----------------------------------------------------------------------


def test_first_claim_is_granted_and_recorded_pending(ledger: Ledger) -> None:
    claim = ledger.claim(KEY, MID, "Subject A", T0)

    assert claim.granted is True
    assert claim.existing is None
    entry = ledger.get(KEY)
    assert entry is not None
    assert entry.state is State.PENDING
    assert entry.message_id == MID
    assert entry.subject == "Subject A"
    assert entry.attempts == 1
    assert entry.error == ""
    assert entry.created == T0
    assert entry.updated == T0
    # Committed, not just visible to this connection.
    assert raw_rows(ledger.path) == [("ann@school.example.org", "request", "pending", 1)]


def test_claim_while_pending_is_refused(ledger: Ledger) -> None:
    assert ledger.claim(KEY, MID, "S", T0).granted

    again = ledger.claim(KEY, MID, "S", T0 + timedelta(minutes=1))

    assert again.granted is False
    assert again.existing is not None
    assert again.existing.state is State.PENDING
    assert must_get(ledger, KEY).attempts == 1


def test_claim_after_sent_is_refused_even_with_resend(ledger: Ledger) -> None:
    ledger.claim(KEY, MID, "S", T0)
    ledger.mark_sent(KEY, SendResult(MID, "thread-1", "provider-1"), T0 + timedelta(seconds=5))

    entry = ledger.get(KEY)
    assert entry is not None
    assert entry.state is State.SENT
    assert (entry.thread_id, entry.provider_id) == ("thread-1", "provider-1")
    assert entry.updated == T0 + timedelta(seconds=5)
    assert entry.created == T0

    for resend in (False, True):
        claim = ledger.claim(KEY, MID, "S", T0 + timedelta(hours=1), resend=resend)
        assert claim.granted is False
        assert claim.existing is not None
        assert claim.existing.state is State.SENT
    assert must_get(ledger, KEY).state is State.SENT


def test_claim_after_failed_is_granted_with_attempts_incremented(ledger: Ledger) -> None:
    ledger.claim(KEY, MID, "S", T0)
    ledger.mark_failed(KEY, "550 mailbox unavailable", T0)
    failed = ledger.get(KEY)
    assert failed is not None
    assert failed.state is State.FAILED
    assert failed.error == "550 mailbox unavailable"

    claim = ledger.claim(KEY, MID, "S2", T0 + timedelta(days=1))

    assert claim.granted is True
    assert claim.existing is not None
    assert claim.existing.state is State.FAILED
    entry = ledger.get(KEY)
    assert entry is not None
    assert entry.state is State.PENDING
    assert entry.attempts == 2
    assert entry.error == ""
    assert entry.subject == "S2"
    # A second failure and a third claim keep counting.
    ledger.mark_failed(KEY, "again", T0)
    assert ledger.claim(KEY, MID, "S2", T0).granted
    assert must_get(ledger, KEY).attempts == 3


def test_claim_after_unknown_is_refused_unless_resend(ledger: Ledger) -> None:
    ledger.claim(KEY, MID, "S", T0)
    ledger.mark_unknown(KEY, "connection dropped after DATA", T0)

    refused = ledger.claim(KEY, MID, "S", T0 + timedelta(days=1))
    assert refused.granted is False
    assert refused.existing is not None
    assert refused.existing.state is State.UNKNOWN
    assert refused.existing.error == "connection dropped after DATA"
    entry = ledger.get(KEY)
    assert entry is not None
    assert (entry.state, entry.attempts) == (State.UNKNOWN, 1)

    granted = ledger.claim(KEY, MID, "S", T0 + timedelta(days=1), resend=True)
    assert granted.granted is True
    assert granted.existing is not None
    assert granted.existing.state is State.UNKNOWN
    entry = ledger.get(KEY)
    assert entry is not None
    assert (entry.state, entry.attempts, entry.error) == (State.PENDING, 2, "")


def test_settle_interrupted_turns_pending_into_unknown(ledger: Ledger) -> None:
    pending = [key("ann@school.example.org"), key("raj@school.example.org")]
    sent = key("maria@school.example.org")
    other_campaign = key("ann@school.example.org", campaign="other")
    for k in [*pending, sent, other_campaign]:
        assert ledger.claim(k, MID, "S", T0).granted
    ledger.mark_sent(sent, SendResult(MID, MID), T0)
    later = T0 + timedelta(days=6)

    settled = ledger.settle_interrupted("monthly-update", later)

    assert sorted(e.key.recipient for e in settled) == [
        "ann@school.example.org",
        "raj@school.example.org",
    ]
    assert all(e.state is State.PENDING for e in settled)  # as they were found
    for k in pending:
        entry = ledger.get(k)
        assert entry is not None
        assert entry.state is State.UNKNOWN
        assert entry.error == INTERRUPTED
        assert entry.updated == later
    assert must_get(ledger, sent).state is State.SENT
    assert must_get(ledger, other_campaign).state is State.PENDING
    # Nothing left to settle; a settled row is refused like any unknown one.
    assert ledger.settle_interrupted("monthly-update", later) == []
    assert ledger.claim(pending[0], MID, "S", later).granted is False


def test_entries_are_ordered_oldest_first_and_filtered(ledger: Ledger) -> None:
    ledger.claim(key("zed@x.org"), MID, "S", T0)
    ledger.claim(key("bob@x.org", kind="reminder-1"), MID, "S", T0 + timedelta(days=6))
    ledger.claim(key("bob@x.org"), MID, "S", T0 + timedelta(minutes=1))
    ledger.claim(key("amy@x.org"), MID, "S", T0 + timedelta(minutes=1))
    ledger.claim(key("amy@x.org", cycle="2027-01"), MID, "S", T0 - timedelta(days=1))
    ledger.claim(key("amy@x.org", campaign="other"), MID, "S", T0)

    every = [(e.key.cycle, e.key.recipient, e.key.kind) for e in ledger.entries("monthly-update")]
    assert every == [
        ("2027-01", "amy@x.org", "request"),
        ("2026-12", "zed@x.org", "request"),
        ("2026-12", "amy@x.org", "request"),
        ("2026-12", "bob@x.org", "request"),
        ("2026-12", "bob@x.org", "reminder-1"),
    ]
    december = [(e.key.recipient, e.key.kind) for e in ledger.entries("monthly-update", "2026-12")]
    assert december == [
        ("zed@x.org", "request"),
        ("amy@x.org", "request"),
        ("bob@x.org", "request"),
        ("bob@x.org", "reminder-1"),
    ]
    assert [e.key.recipient for e in ledger.entries("monthly-update", "2027-01")] == ["amy@x.org"]
    assert [e.key.campaign for e in ledger.entries("other")] == ["other"]
    assert ledger.entries("monthly-update", "2026-11") == []
    assert ledger.get(key("nobody@x.org")) is None


def test_entries_with_same_time_sort_by_recipient_then_kind(ledger: Ledger) -> None:
    for k in (key("c@x.org"), key("a@x.org", kind="reminder-2"), key("a@x.org", kind="digest")):
        ledger.claim(k, MID, "S", T0)

    got = [(e.key.recipient, e.key.kind) for e in ledger.entries("monthly-update")]

    assert got == [("a@x.org", "digest"), ("a@x.org", "reminder-2"), ("c@x.org", "request")]


# --- durability and errors -------------------------------------------------------------------


def test_ledger_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    sent, failed, pending = key("a@x.org"), key("b@x.org"), key("c@x.org")
    with Ledger(path) as led:
        for k in (sent, failed, pending):
            led.claim(k, MID, "Subject", T0)
        led.mark_sent(sent, SendResult(MID, "thread", "prov"), T0)
        led.mark_failed(failed, "refused", T0)

    with Ledger(path) as again:
        states = {e.key.recipient: (e.state, e.error) for e in again.entries("monthly-update")}
        assert states == {
            "a@x.org": (State.SENT, ""),
            "b@x.org": (State.FAILED, "refused"),
            "c@x.org": (State.PENDING, ""),
        }
        assert must_get(again, sent).provider_id == "prov"
        assert again.claim(sent, MID, "Subject", T0).granted is False
        assert again.claim(pending, MID, "Subject", T0).granted is False
        assert again.claim(failed, MID, "Subject", T0).granted is True

    with sqlite3.connect(str(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_ledger_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    db = sqlite3.connect(str(path))
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()

    with pytest.raises(BackendError) as info:
        Ledger(path)

    assert str(path) in info.value.message
    assert "schema 99" in info.value.message
    assert info.value.hint is not None
    # The ledger was not downgraded.
    with sqlite3.connect(str(path)) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == 99


def test_ledger_path_that_is_a_directory_is_a_backend_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.mkdir()

    with pytest.raises(BackendError) as info:
        Ledger(path)

    assert str(path) in info.value.message
    assert "cannot open the ledger" in info.value.message


def test_ledger_under_a_file_is_a_backend_error(tmp_path: Path) -> None:
    # The state folder cannot be created: a file is in the way.
    blocker = tmp_path / "state"
    blocker.write_text("not a folder", encoding="utf-8")
    path = blocker / "ledger.sqlite3"

    with pytest.raises(BackendError) as info:
        Ledger(path)

    assert str(path) in info.value.message
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.skipif(
    sys.platform == "win32" or (hasattr(os, "geteuid") and os.geteuid() == 0),
    reason="file permissions do not stop this user",
)
def test_ledger_in_an_unwritable_folder_is_a_backend_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    path = locked / "state" / "ledger.sqlite3"
    try:
        with pytest.raises(BackendError) as info:
            Ledger(path)
    finally:
        locked.chmod(0o700)

    assert str(path) in info.value.message


def test_ledger_on_a_file_that_is_not_sqlite_is_a_backend_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database " * 100)

    with pytest.raises(BackendError) as info:
        Ledger(path)

    assert str(path) in info.value.message


# --- two connections, like two processes -----------------------------------------------------


def test_two_ledgers_on_one_file_grant_a_claim_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as first, Ledger(path) as second:
        a = first.claim(KEY, MID, "S", T0)
        b = second.claim(KEY, MID, "S", T0)

        assert (a.granted, b.granted) == (True, False)
        assert b.existing is not None
        assert b.existing.state is State.PENDING
        # What one connection records, the other sees at once.
        first.mark_sent(KEY, SendResult(MID, MID), T0)
        assert must_get(second, KEY).state is State.SENT
        assert second.claim(KEY, MID, "S", T0).granted is False
    assert raw_rows(path) == [("ann@school.example.org", "request", "sent", 1)]


def test_concurrent_claims_from_many_connections_grant_exactly_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()  # create the file and schema once
    workers = 8
    barrier = threading.Barrier(workers)
    granted: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            with Ledger(path) as led:
                barrier.wait(timeout=10)
                result = led.claim(KEY, MID, "S", T0).granted
            with lock:
                granted.append(result)
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    assert sorted(granted) == [False] * (workers - 1) + [True]
    assert raw_rows(path) == [("ann@school.example.org", "request", "pending", 1)]


# --- claims ahead, in batches ----------------------------------------------------------------

BOOT = boot_id()
TEAM = [key(f"t{i}@school.example.org") for i in range(5)]


def claims(keys: list[MessageKey]) -> list[tuple[MessageKey, str, str]]:
    return [(k, f"<id-{k.recipient}>", "Subject") for k in keys]


def test_a_batch_claims_only_messages_the_ledger_has_never_seen(ledger: Ledger) -> None:
    ledger.claim(TEAM[1], MID, "Subject", T0)
    ledger.mark_sent(TEAM[1], SendResult(MID, MID), T0)
    ledger.claim(TEAM[3], MID, "Subject", T0)
    ledger.mark_failed(TEAM[3], "refused", T0)
    granted = ledger.claim_new(claims(TEAM), T0, batch=f"{BOOT}:b1", mailer="smtp")
    assert granted == [True, False, True, False, True]
    assert must_get(ledger, TEAM[1]).state is State.SENT
    assert must_get(ledger, TEAM[3]).state is State.FAILED  # claimed alone, as before
    for k in (TEAM[0], TEAM[2], TEAM[4]):
        entry = must_get(ledger, k)
        assert (entry.state, entry.mailer) == (State.PENDING, "smtp")
    # A claim of one of them now is refused like any pending claim.
    assert not ledger.claim(TEAM[0], MID, "Subject", T0).granted


def test_release_drops_only_the_rows_still_queued_in_that_batch(ledger: Ledger) -> None:
    ledger.claim_new(claims(TEAM[:3]), T0, batch=f"{BOOT}:b1")
    ledger.claim_new(claims(TEAM[3:]), T0, batch=f"{BOOT}:b2")
    ledger.mark_sent(TEAM[0], SendResult(MID, MID), T0)
    ledger.release_queued(TEAM, f"{BOOT}:b1")
    assert must_get(ledger, TEAM[0]).state is State.SENT
    assert ledger.get(TEAM[1]) is None and ledger.get(TEAM[2]) is None
    assert [must_get(ledger, k).state for k in TEAM[3:]] == [State.PENDING, State.PENDING]


@pytest.mark.parametrize(
    ("sent", "unknown", "dropped"),
    [
        (0, [0], [1, 2, 3, 4]),  # killed during the first message
        (2, [2], [3, 4]),  # two recorded, the third in flight
        (4, [4], []),  # killed during the last
        (5, [], []),  # all recorded
    ],
)
def test_settling_a_killed_run_of_this_boot_leaves_one_unknown_per_batch(
    ledger: Ledger, sent: int, unknown: list[int], dropped: list[int]
) -> None:
    ledger.claim_new(claims(TEAM), T0, batch=f"{BOOT}:b1")
    for k in TEAM[:sent]:
        ledger.mark_sent(k, SendResult(MID, MID), T0)
    settled = ledger.settle_interrupted("monthly-update", T0)
    assert [e.key for e in settled] == [TEAM[i] for i in unknown]
    for i in unknown:
        assert (must_get(ledger, TEAM[i]).state, must_get(ledger, TEAM[i]).error) == (
            State.UNKNOWN,
            INTERRUPTED,
        )
    for i in dropped:
        assert ledger.get(TEAM[i]) is None  # never handed over: goes on the next run
    assert [must_get(ledger, k).state for k in TEAM[:sent]] == [State.SENT] * sent


@pytest.mark.parametrize("batch", ["another-boot:b1", ":b1", "b1"])
def test_after_a_reboot_every_queued_row_is_unknown(ledger: Ledger, batch: str) -> None:
    # A power cut may have lost a record that was not flushed: nothing can be ruled out.
    ledger.claim_new(claims(TEAM), T0, batch=batch)
    ledger.mark_sent(TEAM[0], SendResult(MID, MID), T0)
    settled = ledger.settle_interrupted("monthly-update", T0)
    assert [e.key for e in settled] == TEAM[1:]
    assert all(must_get(ledger, k).state is State.UNKNOWN for k in TEAM[1:])


def test_recording_a_send_leaves_the_ledger_flushing_every_claim(ledger: Ledger) -> None:
    ledger.claim(KEY, MID, "Subject", T0)
    ledger.mark_sent(KEY, SendResult(MID, MID), T0)
    full = 2
    assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == full


def test_first_created_follows_commits_made_here_and_by_another_connection(
    tmp_path: Path,
) -> None:
    """The answer is remembered between calls, but never past a change of the file."""
    path = tmp_path / "ledger.sqlite3"
    day = datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc)
    with Ledger(path) as ledger:
        assert ledger.first_created("c", "request") is None
        ledger.claim(MessageKey("c", "2026-12", "ann@x.org", "request"), "<1@x>", "s", day)
        assert ledger.first_created("c", "request") == day
        assert ledger.first_created("c", "request", cycle="2026-11") is None
        with Ledger(path) as other:
            earlier = day.replace(month=11)
            other.claim(MessageKey("c", "2026-11", "ann@x.org", "request"), "<2@x>", "s", earlier)
        assert ledger.first_created("c", "request") == earlier
        assert ledger.first_created("c", "request", cycle="2026-11") == earlier


def test_a_cycles_entries_follow_commits_made_here_and_by_another_connection(
    tmp_path: Path,
) -> None:
    """The entries are remembered between two reads, but never past a change of the file:
    a claim, a record or a release, here or in another process's connection."""
    path = tmp_path / "ledger.sqlite3"

    def states(led: Ledger) -> dict[str, str]:
        return {e.key.recipient: e.state.value for e in led.entries("c", "2026-12")}

    ann = MessageKey("c", "2026-12", "ann@x.org", "request")
    raj = MessageKey("c", "2026-12", "raj@x.org", "request")
    with Ledger(path) as ledger:
        assert states(ledger) == {}
        ledger.claim(ann, "<1@x>", "s", T0)
        assert states(ledger) == {"ann@x.org": "pending"}
        first = ledger.entries("c", "2026-12")
        first.clear()  # a caller's list is its own
        assert states(ledger) == {"ann@x.org": "pending"}
        with Ledger(path) as other:
            other.mark_sent(ann, SendResult("<1@x>", "<1@x>"), T0)
            other.claim(raj, "<2@x>", "s", T0)
        assert states(ledger) == {"ann@x.org": "sent", "raj@x.org": "pending"}
        assert ledger.entries("c", "2026-11") == []
        ledger.mark_unknown(raj, "the connection dropped", T0)
        assert states(ledger) == {"ann@x.org": "sent", "raj@x.org": "unknown"}
        with Ledger(path) as other:
            other.mark_failed(raj, "550 no such user", T0)
        assert states(ledger) == {"ann@x.org": "sent", "raj@x.org": "failed"}
