"""Two runs on one state folder, and a ledger another process is writing to.

The other run is a real second process: it takes the run lock (or an SQLite write lock on the
ledger) and holds it while pdmail, in this process, tries to send.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Project

import pdmail
import pdmail.state.ledger
from pdmail.cli.commands import main
from pdmail.cycle.delivery import explain
from pdmail.errors import BackendError
from pdmail.models import MessageKey, State
from pdmail.state.ledger import INTERRUPTED, Ledger
from pdmail.state.needs import NeedRecord
from pdmail.state.runlock import RunLock

ROOT = str(Path(pdmail.__file__).resolve().parent.parent)
ANN_EMAIL = "ann@school.example.org"
KEY = MessageKey("monthly-update", "2026-12", ANN_EMAIL, "request")
NOW = datetime(2026, 12, 1, 13, 30, tzinfo=timezone.utc)

HOLD_RUN_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pdmail.state.runlock import RunLock

    with RunLock(Path(sys.argv[1]), wait=0):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)

HOLD_LEDGER = textwrap.dedent(
    """
    import sqlite3, sys, time

    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE messages SET subject = subject")
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    db.execute("ROLLBACK")
    """
)


def _hold(script: str, target: Path, seconds: float) -> subprocess.Popen[str]:
    """Start a second process running ``script`` on ``target``; return once it holds its lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(target), str(seconds)],
        env={**os.environ, "PYTHONPATH": ROOT},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "held", proc.stderr.read() if proc.stderr else ""
    return proc


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _send(project: Project, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["send", "--config", str(project.config_path), "--today", "2026-12-01", *extra]
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.output


# -- the run lock ------------------------------------------------------------------------------


def test_a_second_run_waits_for_the_first_and_then_sends(
    project: Project, holders: list[subprocess.Popen[str]]
) -> None:
    project.write_config({"mail": {"lock_wait": 30}})
    state = project.config().state
    proc = _hold(HOLD_RUN_LOCK, state, 1.5)
    holders.append(proc)
    assert RunLock.holder(state) == f"pid {proc.pid}"

    started = time.monotonic()
    code, output = _send(project)

    assert code == 0, output
    assert time.monotonic() - started >= 1.0  # it waited for the other run to end
    assert output.count(f"waiting for another pdmail run (pid {proc.pid})") == 1
    assert "Sent 4 requests" in output
    assert len(project.sent()) == 4
    assert RunLock.holder(state) is None


def test_the_wait_is_bounded_and_nothing_is_sent(
    project: Project, holders: list[subprocess.Popen[str]]
) -> None:
    project.write_config({"mail": {"lock_wait": 1}})
    state = project.config().state
    proc = _hold(HOLD_RUN_LOCK, state, 60)
    holders.append(proc)

    code, output = _send(project)

    assert code == 5
    assert f"another pdmail run is sending from this state folder (pid {proc.pid})" in output
    assert "waited 1 s" in output and "mail.lock_wait" in output
    assert "permission" not in output.lower()
    assert project.sent() == []
    assert not (state / "ledger.sqlite3").exists() or _rows(state / "ledger.sqlite3") == 0


def test_lock_wait_zero_fails_at_once(
    project: Project, holders: list[subprocess.Popen[str]]
) -> None:
    project.write_config({"mail": {"lock_wait": 0}})
    proc = _hold(HOLD_RUN_LOCK, project.config().state, 60)
    holders.append(proc)
    started = time.monotonic()
    code, output = _send(project)
    assert code == 5 and time.monotonic() - started < 5
    assert "waiting for" not in output and "waited" not in output


def test_waiting_is_told_once_and_the_clock_bounds_it(tmp_path: Path) -> None:
    """The wait loop on its own, with a fake clock: one message, polls, then the bounded
    failure naming the holder."""
    told: list[str] = []
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with RunLock(tmp_path, wait=0):
        # Held by this very process: waiting would wait for itself, so it fails at once.
        with pytest.raises(BackendError) as caught:
            RunLock(tmp_path, wait=300, notify=told.append).__enter__()
        assert told == [] and "another pdmail run" in caught.value.message
        # As if another process held it.
        (tmp_path / "run.lock").write_text("pid 4242\n", encoding="utf-8")
        lock = RunLock(tmp_path, wait=2, notify=told.append, clock=lambda: now[0], sleep=sleep)
        with pytest.raises(BackendError) as bounded:
            lock.__enter__()
    assert told == ["waiting for another pdmail run (pid 4242) to finish …"]
    assert len(sleeps) >= 5 and abs(sum(sleeps) - 2.0) < 1e-9
    assert "(pid 4242); waited 2 s" in bounded.value.message

    assert RunLock.holder(tmp_path) is None
    with RunLock(tmp_path, wait=2, notify=told.append) as free:
        assert RunLock.holder(tmp_path) == f"pid {os.getpid()}"
    assert free.waited < 1 and len(told) == 1


def test_a_lock_file_left_by_a_dead_run_does_not_block(project: Project, tmp_path: Path) -> None:
    state = project.config().state
    state.mkdir(parents=True)
    (state / "run.lock").write_text("pid 999999\n", encoding="utf-8")
    code, output = _send(project)
    assert code == 0, output
    assert "waiting" not in output


# -- a busy ledger -----------------------------------------------------------------------------


def test_a_ledger_another_process_writes_to_is_reported_as_busy(
    tmp_path: Path, holders: list[subprocess.Popen[str]]
) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()
    holders.append(_hold(HOLD_LEDGER, path, 60))

    # Opening an up-to-date ledger and reading it need no write lock.
    with Ledger(path, busy_timeout=0.3) as ledger:
        assert ledger.entries("monthly-update") == []
        started = time.monotonic()
        with pytest.raises(BackendError) as caught:
            ledger.claim(KEY, "<id@x>", "S", NOW)
        assert time.monotonic() - started >= 0.25  # it waited before giving up
    error = caught.value
    assert "the ledger is busy" in error.message and "database is locked" in error.message
    assert error.hint and "another pdmail process" in error.hint
    assert "permission" not in str(error).lower()


def test_a_needs_write_to_a_busy_ledger_says_who_to_wait_for(
    tmp_path: Path, holders: list[subprocess.Popen[str]]
) -> None:
    path = tmp_path / "ledger.sqlite3"
    Ledger(path).close()
    holders.append(_hold(HOLD_LEDGER, path, 60))
    need = NeedRecord("n1", "monthly-update", "2026-12", ANN_EMAIL, "Ann", "Grade 6", "help",
                      ("research",), "small group")  # fmt: skip
    with Ledger(path, busy_timeout=0.3) as ledger, pytest.raises(BackendError) as caught:
        ledger.needs.upsert([need], date(2026, 12, 11))
    assert "database is locked" in caught.value.message
    assert caught.value.hint and "another pdmail process" in caught.value.hint


def test_a_busy_ledger_through_the_command_line(
    project: Project, holders: list[subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project.config().state / "ledger.sqlite3"
    Ledger(path).close()
    holders.append(_hold(HOLD_LEDGER, path, 60))
    monkeypatch.setattr(pdmail.state.ledger, "BUSY_TIMEOUT", 0.3)

    code, output = _send(project)

    assert code == 5
    assert "the ledger is busy" in output and "Internal error" not in output
    assert "permission" not in output.lower()
    assert project.sent() == []


def test_a_schema_2_ledger_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(str(path)) as db:
        db.executescript(
            """
            CREATE TABLE messages (
                campaign TEXT NOT NULL, cycle TEXT NOT NULL, recipient TEXT NOT NULL,
                kind TEXT NOT NULL, state TEXT NOT NULL, message_id TEXT NOT NULL,
                thread_id TEXT NOT NULL DEFAULT '', provider_id TEXT NOT NULL DEFAULT '',
                subject TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',
                attempts INTEGER NOT NULL DEFAULT 1, created TEXT NOT NULL,
                updated TEXT NOT NULL, PRIMARY KEY (campaign, cycle, recipient, kind));
            INSERT INTO messages (campaign, cycle, recipient, kind, state, message_id, error,
                created, updated) VALUES ('monthly-update', '2026-12', 'ann@school.example.org',
                'request', 'unknown', '<id@x>', 'connection lost', '2026-12-01T13:30:00+00:00',
                '2026-12-01T13:30:00+00:00');
            PRAGMA user_version = 2;
            """
        )
    with Ledger(path) as ledger:
        entry = ledger.get(KEY)
        assert entry is not None and entry.state is State.UNKNOWN
        assert (entry.error, entry.cause, entry.mailer) == ("connection lost", "", "")
        ledger.mark_unknown(KEY, "connection lost", NOW, cause="the connection dropped")
        assert ledger.unsettled("monthly-update")[0].cause == "the connection dropped"
        # A run interrupted under the old schema is explained as one.
        old = "interrupted: the run stopped after handing the message over and before recording"
        ledger.mark_unknown(KEY, old, NOW)
        assert explain(ledger.unsettled("monthly-update")[0]).startswith(INTERRUPTED + ";")
    with sqlite3.connect(str(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == pdmail.state.ledger.SCHEMA_VERSION


def _rows(path: Path) -> int:
    with sqlite3.connect(str(path)) as db:
        return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])


def test_a_needs_read_that_fails_is_a_backend_error_naming_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as ledger:
        ledger._db.execute("DROP TABLE needs")
        with pytest.raises(BackendError) as caught:
            ledger.needs.all("monthly-update")
    assert f"{path}: needs read failed" in caught.value.message
