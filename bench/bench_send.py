"""Sending and rendering side by side: pdmail, mailmerge and a bare smtplib loop.

One command, one machine, loopback only. An aiosmtpd server on 127.0.0.1 (in this process)
accepts and counts every message. For a roster of N teachers, written to a temporary folder:

- ``smtp``: ``pdmail send`` over SMTP (the ledger written, as always), mailmerge's CLI with a
  template, database and config written for it (``--no-dry-run --no-limit``; it opens one
  connection a message; the template is Markdown, so that it sends text and HTML as pdmail
  does, and again plain text only), and a bare ``smtplib`` loop over one connection with
  messages made by f-strings (the floor: no templates, no ledger, no checks);
- ``render``: ``pdmail send --dry-run`` (renders, writes and checks every message, sends none)
  against ``mailmerge --dry-run --no-limit`` (renders and prints every message), on a larger
  roster;
- ``rerun``: ``pdmail send`` again once everything went: nothing is due, nothing is rendered;
- ``--help``: ``pdmail --help`` against ``python -c "import click"``, side by side, seven
  times a repeat (each takes a tenth of a second, which one busy moment can double).

Each is a separate process, timed from start to exit; its peak memory is what GNU time
(``/usr/bin/time -f %M``) reports for it (without GNU time, the child's ``ru_maxrss``, which
on Linux is at least the bench's own size). Python may cache bytecode (in a folder of the
bench's own) as an installed program has it, and one untimed run fills that cache. Medians of
``--repeat`` runs. Needs mailmerge in the same
environment (``pip install mailmerge``; it is not a pdmail dependency). Prints a table with
the ratios; exits 1 when a run did not deliver what it should.

    python bench/bench_send.py --teachers 2000 --render-teachers 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

SEND_DAY = "2026-12-01"  # the default calendar's send day for December
HELP_RUNS = 7  # per repeat: the --help rows are medians of 7 x --repeat runs
BIN = Path(sys.executable).parent


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # Learn the port the OS picked before aiosmtpd pokes the server on it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class Sink:
    """Accepts every message and counts them."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.count += len(envelope.rcpt_tos)
        return "250 OK"


@dataclass
class Run:
    seconds: float
    peak_mib: float
    delivered: int = 0


@dataclass
class Row:
    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_mib(self) -> float:
        return statistics.median(r.peak_mib for r in self.runs)


# The children's environment: Python may cache bytecode, as an installed pdmail (and the
# installed mailmerge and click) has it, in a folder of the bench's own.
ENV: dict[str, str] = dict(os.environ)


# GNU time reports the peak memory of the program it runs. A child forked from this process
# would report at least this process's own size (Linux keeps the peak across exec).
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else ""


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` to its end; its wall time and peak resident memory (its own, not this
    process's). Output goes nowhere: printing is part of a dry run, reading it is not."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv] if GNU_TIME else argv
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped, cwd=cwd, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        peak_kib = float(rss.read().split()[-1]) if GNU_TIME else float(usage.ru_maxrss)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{err[-2000:]}")
    return Run(seconds, peak_kib / 1024)


# -- the inputs ----------------------------------------------------------------------------


def teachers(n: int) -> list[dict[str, str]]:
    teams = ["Grade 6", "Grade 7", "Grade 8", "Science", "Arts"]
    return [
        {
            "Email": f"teacher{i:05d}@lincoln.example.org",
            "First Name": f"Ann{i}",
            "Last Name": f"Lee{i}",
            "Team": teams[i % len(teams)],
            "Subject": "English",
            "Building": "Main",
            "Active": "yes",
        }
        for i in range(n)
    ]


def pdmail_folder(root: Path, n: int, port: int) -> Path:
    """A pdmail folder (``pdmail init``) with N teachers, mailing the sink without pacing."""
    folder = root / f"pdmail-{n}"
    if folder.exists():
        shutil.rmtree(folder)
    subprocess.run([BIN / "pdmail", "init", str(folder)], check=True, capture_output=True)
    rows = teachers(n)
    with (folder / "roster.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    config = (folder / "pdmail.yaml").read_text()
    mail = textwrap.dedent(f"""\
        mail:
          kind: smtp
          per_minute: 0
          daily_cap: 0
          smtp:
            host: 127.0.0.1
            port: {port}
            security: none
            username: ""
            password_env: ""
            timeout: 30
        """)
    start = config.index("\nmail:\n") + 1
    end = config.index("\nform:\n") + 1
    (folder / "pdmail.yaml").write_text(config[:start] + mail + config[end:])
    return folder


# pdmail sends text and HTML; mailmerge's way to do the same is a Markdown template (sent as
# text/plain with a text/html alternative). The plain-text variant is measured too.
MAILMERGE_TEMPLATE = """\
TO: {{email}}
SUBJECT: What is coming up in {{team}}? (December 2026)
FROM: Ms. Rivera <librarian@lincoln.example.org>
%s
Hi {{first_name}},

It is time for the December 2026 library check-in. Tell me in a minute or two which units
of study are coming up for {{team}} and how the library can help (a lesson, a small-group
session, a visit to your team meeting, books pulled for a unit, or help with a tool):

[Answer the form](https://docs.google.com/forms/d/e/1FAIpQLSd_EXAMPLE/viewform?usp=pp_url&entry.1000001={{email}}&entry.1000002={{first_name}})

Your name is already filled in. It would help me plan if you answer by **Tuesday, December 8**.

Thank you,
Ms. Rivera
Lincoln Middle School Library
"""


def mailmerge_folder(root: Path, n: int, port: int, *, markdown: bool = True) -> Path:
    folder = root / f"mailmerge-{n}-{'md' if markdown else 'text'}"
    folder.mkdir(exist_ok=True)
    kind = "CONTENT-TYPE: text/markdown\n" if markdown else ""
    (folder / "mailmerge_template.txt").write_text(MAILMERGE_TEMPLATE % kind)
    with (folder / "mailmerge_database.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["email", "first_name", "team"])
        for t in teachers(n):
            w.writerow([t["Email"], t["First Name"], t["Team"]])
    (folder / "mailmerge_server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\n"
    )
    return folder


# The floor: one connection, nothing rendered, checked or recorded: each message made by an
# f-string, of the same shape and about the size of pdmail's request (text and HTML, ~3 KB).
BARE = """\
import smtplib, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
text = "It's time for the library check-in: which units are coming up?\\r\\n" * 14
html = "<p style=\\"margin:0 0 12px 0;\\">Which units are coming up?</p>\\r\\n" * 30
with smtplib.SMTP("127.0.0.1", port) as s:
    for i in range(n):
        to = f"teacher{i:05d}@lincoln.example.org"
        msg = (f"From: librarian@lincoln.example.org\\r\\nTo: Ann{i} Lee <{to}>\\r\\n"
               f"Subject: December 2026 library update\\r\\nMessage-ID: <{i}@bench>\\r\\n"
               "MIME-Version: 1.0\\r\\n"
               "Content-Type: multipart/alternative; boundary=b\\r\\n\\r\\n"
               f"--b\\r\\nContent-Type: text/plain; charset=utf-8\\r\\n\\r\\nHi Ann{i},\\r\\n"
               f"{text}\\r\\n--b\\r\\nContent-Type: text/html; charset=utf-8\\r\\n\\r\\n"
               f"<p>Hi Ann{i},</p>\\r\\n{html}\\r\\n--b--\\r\\n")
        s.sendmail("librarian@lincoln.example.org", [to], msg.encode())
"""


# -- the runs ------------------------------------------------------------------------------


def ledger_rows(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / ".pdmail" / "ledger.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM messages WHERE state='sent'").fetchone()[0])


def delivered(sink: Sink, before: int, want: int, what: str) -> int:
    # The server may still be finishing the last DATA when the client has exited.
    for _ in range(100):
        if sink.count - before >= want:
            break
        time.sleep(0.05)
    got = sink.count - before
    if got != want:
        raise SystemExit(f"{what}: the server received {got} messages, not {want}")
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teachers", type=int, default=2000, help="roster size for SMTP (2000)")
    ap.add_argument(
        "--render-teachers", type=int, default=10000, help="roster size for rendering (10000)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, medians shown (3)")
    ap.add_argument("--skip-mailmerge", action="store_true", help="without mailmerge")
    ap.add_argument(
        "--digest-responses", type=int, default=100000,
        help="response rows for the digest against csv.reader (100000; 0: skip)",
    )  # fmt: skip
    args = ap.parse_args()
    mailmerge = shutil.which("mailmerge", path=str(BIN)) or shutil.which("mailmerge")
    if mailmerge is None and not args.skip_mailmerge:
        raise SystemExit("mailmerge is not installed: pip install mailmerge (or --skip-mailmerge)")

    sink = Sink()
    controller = _Controller(sink, hostname="127.0.0.1", port=0)
    controller.start()
    port = controller.port
    rows: dict[str, Row] = {}

    def add(name: str, run: Run) -> None:
        rows.setdefault(name, Row(name)).runs.append(run)

    n, big = args.teachers, args.render_teachers
    try:
        with tempfile.TemporaryDirectory(prefix="pdmail-bench-") as tmp:
            root = Path(tmp)
            ENV.pop("PYTHONDONTWRITEBYTECODE", None)
            ENV["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
            # One untimed run of each program fills the bytecode cache.
            warm = pdmail_folder(root, 3, port)
            timed([str(BIN / "pdmail"), "--help"], root)
            timed([str(BIN / "pdmail"), "send", "--dry-run", "--today", SEND_DAY], warm)
            if mailmerge and not args.skip_mailmerge:
                timed([mailmerge, "--dry-run", "--output-format", "raw"],
                      mailmerge_folder(root, 3, port))  # fmt: skip
            for _ in range(args.repeat):
                # SMTP delivery
                folder = pdmail_folder(root, n, port)
                before = sink.count
                run = timed([str(BIN / "pdmail"), "send", "--today", SEND_DAY], folder)
                run.delivered = delivered(sink, before, n, "pdmail send")
                if ledger_rows(folder) != n:
                    raise SystemExit("pdmail send: the ledger does not hold every message")
                add("smtp: pdmail send", run)
                before = sink.count
                add("rerun: pdmail send, nothing due",
                    timed([str(BIN / "pdmail"), "send", "--today", SEND_DAY], folder))  # fmt: skip
                delivered(sink, before, 0, "pdmail send (rerun)")
                if mailmerge and not args.skip_mailmerge:
                    for markdown, name in (
                        (True, "smtp: mailmerge"),
                        (False, "smtp: mailmerge, plain text only"),
                    ):
                        mm = mailmerge_folder(root, n, port, markdown=markdown)
                        before = sink.count
                        run = timed([mailmerge, "--no-dry-run", "--no-limit"], mm)
                        run.delivered = delivered(sink, before, n, "mailmerge")
                        add(name, run)
                before = sink.count
                run = timed([sys.executable, "-c", BARE, str(n), str(port)], root)
                run.delivered = delivered(sink, before, n, "smtplib loop")
                add("smtp: bare smtplib loop", run)
                # Rendering
                folder = pdmail_folder(root, big, port)
                add("render: pdmail send --dry-run",
                    timed([str(BIN / "pdmail"), "send", "--dry-run", "--today", SEND_DAY],
                          folder))  # fmt: skip
                if mailmerge and not args.skip_mailmerge:
                    for markdown, name in (
                        (True, "render: mailmerge --dry-run"),
                        (False, "render: mailmerge, plain text only"),
                    ):
                        mm = mailmerge_folder(root, big, port, markdown=markdown)
                        argv = [mailmerge, "--dry-run", "--no-limit", "--output-format", "raw"]
                        add(name, timed(argv, mm))
                # Start-up: a tenth of a second, where one busy moment doubles a run, so each
                # repeat times both, side by side, HELP_RUNS times.
                for _ in range(HELP_RUNS):
                    add("help: pdmail --help", timed([str(BIN / "pdmail"), "--help"], root))
                    add("help: python -c 'import click'",
                        timed([sys.executable, "-c", "import click"], root))  # fmt: skip
    finally:
        controller.stop()
    if args.digest_responses:
        from digest_speed import measure as digest_speed  # bench/ is the script's folder

        for timing in digest_speed(args.digest_responses, args.repeat).rows:
            for seconds, peak in zip(timing.seconds, timing.peaks, strict=True):
                add(timing.name, Run(seconds, peak))

    print_table(rows, n, big, args.repeat)
    return 0


def print_table(rows: dict[str, Row], n: int, big: int, repeat: int) -> None:
    def rate(name: str, count: int) -> float:
        return count / rows[name].seconds if name in rows else float("nan")

    print(
        f"\n{n} teachers over SMTP, {big} rendered; medians of {repeat} runs"
        f" ({HELP_RUNS * repeat} for --help)\n"
    )
    print(f"| {'run':<34} | {'wall s':>8} | {'msgs/s':>8} | {'peak MiB':>8} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    for row in rows.values():
        count = n if row.name.startswith("smtp") else big if row.name.startswith("render") else 0
        per = f"{count / row.seconds:8.0f}" if count else f"{'':>8}"
        print(f"| {row.name:<34} | {row.seconds:8.2f} | {per} | {row.peak_mib:8.1f} |")
    pd = rate("smtp: pdmail send", n)
    mm = rate("smtp: mailmerge", n)
    bare = rate("smtp: bare smtplib loop", n)
    rpd = rate("render: pdmail send --dry-run", big)
    rmm = rate("render: mailmerge --dry-run", big)
    helps = rows["help: pdmail --help"].seconds / rows["help: python -c 'import click'"].seconds
    mm_text = rate("smtp: mailmerge, plain text only", n)
    rmm_text = rate("render: mailmerge, plain text only", big)
    print()
    print(
        f"SMTP: pdmail / mailmerge          {pd / mm:6.2f}x   (target >= 3)"
        f"; against its plain-text-only run {pd / mm_text:.2f}x"
    )
    print(f"SMTP: pdmail / bare smtplib loop  {pd / bare:6.2f}    (target >= 0.5)")
    print(
        f"render: pdmail / mailmerge        {rpd / rmm:6.2f}x   (target >= 4)"
        f"; against its plain-text-only run {rpd / rmm_text:.2f}x"
    )
    peak = rows["render: pdmail send --dry-run"].peak_mib
    print(f"render: pdmail peak memory        {peak:6.1f} MiB (target < 200, {big} teachers)")
    print(f"--help: pdmail / import click     {helps:6.2f}x   (target <= 1.5)")
    if "digest: pdmail digest" in rows:
        digest = (
            rows["digest: pdmail digest"].seconds
            / rows["digest: csv.reader, responses.csv"].seconds
        )
        print(f"digest: pdmail / csv.reader       {digest:6.2f}x   (target <= 5)")
        files = (
            rows["digest: its files alone, csv"].seconds
            / rows["digest: csv.reader, responses.csv"].seconds
        )
        print(f"digest: its files alone / csv     {files:6.2f}x   (reading and writing them only)")


if __name__ == "__main__":
    sys.exit(main())
