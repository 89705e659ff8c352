"""Fault rounds: kill pdmail at random moments, run it over itself, and count what arrived.

A real SMTP server (aiosmtpd) listens on 127.0.0.1 in this process and records every message
it accepts. pdmail runs as separate ``pdmail run`` processes over a whole month (every day
from the send day to the digest day), on a roster of N teachers:

- ``kill``: each day, runs are started and SIGKILLed after a random delay until one finishes
  on its own; then every message whose outcome pdmail recorded as unknown is checked against
  what the server holds, as a librarian would check the Sent folder, and those that never
  arrived are sent again with ``--resend``.
- ``overlap``: each day, several runs are started at the same moment on the same state folder.

Either way the promise is checked at the end: every active teacher got exactly one request,
at most one of each reminder (and none after answering), and the librarian one digest; no
message arrived twice. Prints a table; exits 1 if any round broke the promise.

    python bench/faults.py kill --rounds 40 --teachers 120
    python bench/faults.py overlap --rounds 10 --teachers 120 --parallel 4
"""

from __future__ import annotations

import argparse
import collections
import email
import email.policy
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

CAMPAIGN = "monthly-update"
FIRST_DAY = date(2026, 12, 1)
LAST_DAY = date(2026, 12, 16)  # past the digest day of the default calendar


class Recorder:
    """Keeps (recipient, Message-ID) of every message the server accepted."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        msg = email.message_from_bytes(
            bytes(envelope.original_content or b""), policy=email.policy.default
        )
        for rcpt in envelope.rcpt_tos:
            self.received.append((rcpt.lower(), str(msg["Message-ID"])))
        return "250 2.0.0 Ok: queued"


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # Port 0: learn the port the OS picked before aiosmtpd pokes the server on it.
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def make_folder(root: Path, teachers: int, port: int) -> Path:
    """A pdmail folder (``pdmail init``) mailing over SMTP to ``port``, with ``teachers``."""
    subprocess.run(["pdmail", "init", str(root)], check=True, capture_output=True)
    rows = ["Email,First Name,Last Name,Team,Active"]
    rows += [
        f"t{i:04d}@school.example.org,T{i},Teacher,Grade {6 + i % 3},yes" for i in range(teachers)
    ]
    (root / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cfg_path = root / "pdmail.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    cfg["mail"] = {
        "kind": "smtp",
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 10},
        "per_minute": 0,
        "daily_cap": 0,
    }
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return cfg_path


def answer(root: Path, teachers: int, day: date, share: float, rng: random.Random) -> None:
    """Some teachers answer the form: their rows go into the responses export."""
    path = root / "responses.csv"
    header = (
        "Timestamp,Email Address,What units of study are coming up?,"
        "How can the library help?,Preferred format\n"
    )
    lines = path.read_text(encoding="utf-8") if path.exists() else header
    for i in range(teachers):
        if rng.random() < share:
            stamp = f"{day.month}/{day.day}/{day.year} 10:{i % 60:02d}:00"
            lines += f"{stamp},t{i:04d}@school.example.org,Fractions,Nothing this month,\n"
    path.write_text(lines, encoding="utf-8")
    # Saved that evening, school time: pdmail refuses an export older than the requests.
    saved = datetime.combine(day, dtime(18), ZoneInfo("America/Chicago")).timestamp()
    os.utime(path, (saved, saved))


def ledger_rows(root: Path) -> list[tuple[str, str, str, str]]:
    """(recipient, kind, state, message_id) of every ledger entry."""
    path = root / ".pdmail" / "ledger.sqlite3"
    if not path.exists():
        return []
    con = sqlite3.connect(path)
    try:
        cols = {r[1] for r in con.execute("PRAGMA table_info(messages)")}
        assert {"recipient", "kind", "state", "message_id"} <= cols, cols
        return list(con.execute("SELECT recipient, kind, state, message_id FROM messages"))
    finally:
        con.close()


def pdmail(cfg: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PDMAIL_CONFIG": str(cfg)}
    return subprocess.Popen(
        ["pdmail", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def resend_command(kind: str, rcpt: str, day: date) -> tuple[str, ...]:
    """What the librarian runs to send again a message that never arrived."""
    when = ("--today", day.isoformat(), "--resend")
    if kind == "digest":
        return ("digest", "--send", *when)
    if kind.startswith("reminder"):
        return ("remind", *when, "--only", rcpt)
    return ("send", *when, "--only", rcpt)


def one_round(
    mode: str, seed: int, teachers: int, parallel: int, max_kill: float, verbose: bool = False
) -> dict[str, int]:
    rng = random.Random(seed)
    recorder = Recorder()
    controller = _Controller(recorder, hostname="127.0.0.1", port=0)
    controller.start()
    kills = resends = runs = 0
    notes: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="pdmail-faults-") as tmp:
            root = Path(tmp)
            cfg = make_folder(root, teachers, controller.port)
            day = FIRST_DAY
            while day <= LAST_DAY:
                if day.weekday() < 5 and day > FIRST_DAY:
                    answer(root, teachers, day - timedelta(days=1), 0.08, rng)
                args = ("run", "--today", day.isoformat())
                if mode == "kill":
                    while True:
                        proc = pdmail(cfg, *args)
                        runs += 1
                        try:
                            proc.wait(timeout=rng.uniform(0.05, max_kill))
                        except subprocess.TimeoutExpired:
                            proc.send_signal(signal.SIGKILL)
                            proc.wait()
                            kills += 1
                            continue
                        break
                    # The librarian checks the Sent folder for each unknown and resends
                    # only what never arrived.
                    arrived = {mid for _, mid in recorder.received}
                    for rcpt, kind, state, mid in ledger_rows(root):
                        if state == "unknown" and mid not in arrived:
                            resend = resend_command(kind, rcpt, day)
                            p = pdmail(cfg, *resend)
                            _, err = p.communicate()
                            resends += 1
                            if p.returncode not in (0, 1):
                                notes.append(f"{' '.join(resend)}: {err.decode()[-300:]}")
                else:
                    procs = [pdmail(cfg, *args) for _ in range(parallel)]
                    for p in procs:
                        p.wait()
                    runs += len(procs)
                day += timedelta(days=1)
            ledger_at_end = ledger_rows(root)
    finally:
        controller.stop()
    per = collections.Counter(recorder.received)
    twice = sum(1 for n in per.values() if n > 1)
    got = collections.Counter(rcpt for rcpt, mid in per if ".request." in mid)
    missing = sum(1 for i in range(teachers) if got[f"t{i:04d}@school.example.org"] != 1)
    digests = sum(n for (rcpt, mid), n in per.items() if ".digest." in mid)
    reminders = sum(n for (rcpt, mid), n in per.items() if ".reminder-" in mid)
    if verbose:
        for line in notes:
            print("   ", line, flush=True)
        states = collections.Counter((k, st) for _, k, st, _ in ledger_at_end)
        print("    ledger at the end:", dict(states), flush=True)
    return {
        "runs": runs,
        "kills": kills,
        "resends": resends,
        "messages": len(recorder.received),
        "twice": twice,
        "requests not exactly once": missing,
        "reminders": reminders,
        "digests": digests,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["kill", "overlap"])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--teachers", type=int, default=120)
    parser.add_argument("--parallel", type=int, default=4, help="overlap: runs started at once")
    parser.add_argument("--max-kill", type=float, default=2.5, help="kill: longest delay (s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="print failed resends and states")
    args = parser.parse_args()
    cols = [
        "round",
        "runs",
        "kills",
        "resends",
        "messages",
        "twice",
        "requests not exactly once",
        "reminders",
        "digests",
    ]
    print(" | ".join(cols))
    broken = 0
    started = time.monotonic()
    for n in range(args.rounds):
        row = one_round(
            args.mode, args.seed + n, args.teachers, args.parallel, args.max_kill, args.verbose
        )
        bad = (
            row["twice"]
            or row["requests not exactly once"]
            or row["digests"] != 1
            or not row["reminders"]
        )
        broken += bool(bad)
        print(
            " | ".join([str(n + 1), *(str(row[c]) for c in cols[1:])])
            + ("  <- BROKEN" if bad else ""),
            flush=True,
        )
    print(f"{args.rounds} rounds, {broken} broken, {time.monotonic() - started:.0f} s")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
