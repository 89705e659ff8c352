"""The digest of 100,000 responses against reading the same file with ``csv``, side by side.

The target: ``pdmail digest`` on a year of 100,000 response rows within 5x of reading the
responses file with :mod:`csv`. Both run as their own process, timed from start to exit
(start-up included), as a user runs them:

- ``csv.reader``: ``python -c`` reading every row of ``responses.csv`` with ``csv.reader``;
- ``pdmail digest``: ``pdmail digest --cycle <last> --today <its digest day>`` in the project
  folder, the first digest of that cycle (the ledger and needs.csv are put back as they were
  before every run, so every run does the whole work: needs.csv read back and applied, the
  month's needs added, needs.csv and digest.html/.md written).

The project is the one :func:`bench_digest.build_project` builds (a school year of 10 cycles,
~0.71 response rows a teacher a cycle, so 14,000 teachers give ~100,000 rows; ``--cycles 30``
spreads the same rows over three school years of 4,667 teachers, the shape of a sheet kept
for years, where only the last year's rows feed the digest's month and trends), cached in
the temporary folder (``pdmail-digest-speed/``) under the seed, the size and a hash of the
builder and of pdmail's reading rules, so a second run skips the minute or so of making it.
Peak memory is what GNU time reports for the child.

    python bench/digest_speed.py                      # 100,000 responses, median of 3
    python bench/digest_speed.py --responses 20000 --repeat 1
    python bench/digest_speed.py --cycles 30          # the same rows over three years

:func:`measure` returns the rows; ``bench/bench_send.py`` prints them in its table.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bench_digest  # noqa: E402  (puts the checkout's pdmail on sys.path)

BIN = Path(sys.executable).parent
ROWS_PER_CYCLE = 100_000 / 14_000 / 10  # response rows a teacher leaves in a cycle
CSV_ROW = "digest: csv.reader, responses.csv"
DIGEST_ROW = "digest: pdmail digest"
FLOOR_ROW = "digest: its files alone, csv"
TARGET = 5.0

CSV_READ = """\
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    n = sum(1 for _ in csv.reader(f))
"""

# What the digest cannot do without, done with the standard library alone: read responses.csv
# and needs.csv, write needs.csv back and write digest.md (the bytes pdmail wrote). No reading
# of answers, no matching, no rendering: a lower bound for any digest that keeps the needs
# table whole and lists every need in digest.md.
FILES_ALONE = """\
import csv, sys
responses, needs, markdown, out = sys.argv[1:5]
with open(responses, newline="", encoding="utf-8") as f:
    answers = list(csv.reader(f))
with open(needs, newline="", encoding="utf-8") as f:
    table = list(csv.reader(f))
with open(markdown, encoding="utf-8") as f:
    text = f.read()
with open(out + "/needs.csv", "w", newline="", encoding="utf-8") as f:
    csv.writer(f).writerows(table)
with open(out + "/digest.md", "w", encoding="utf-8") as f:
    f.write(text)
"""

GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else ""

# The children's environment: Python caches bytecode, as an installed pdmail has it (a shell
# with PYTHONDONTWRITEBYTECODE would have every run compile pdmail again), in a folder of the
# bench's own rather than beside the sources.
ENV: dict[str, str] = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "pdmail-digest-speed-pycache"),
}


@dataclass
class Timing:
    """One row: each run's wall seconds and peak resident MiB (medians via the properties)."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of the child

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_mib(self) -> float:
        return statistics.median(self.peaks)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


@dataclass
class Measured:
    """The two rows, and what was measured: the rows of responses.csv and the command."""

    rows: list[Timing]
    responses: int
    teachers: int
    command: str
    folder: Path

    @property
    def ratio(self) -> float:
        return self.rows[1].median / self.rows[0].median

    @property
    def floor_ratio(self) -> float:
        """The digest's files alone against csv.reader: no digest that keeps them can do
        better than this."""
        return self.rows[2].median / self.rows[0].median

    @property
    def cpu_ratio(self) -> float:
        """The same ratio in CPU time, which a busy shared machine disturbs less."""
        return self.rows[1].cpu_median / self.rows[0].cpu_median


def run_timed(argv: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run ``argv`` to its end: its wall seconds, its own peak resident MiB and the CPU
    seconds it used (user and system)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv] if GNU_TIME else argv
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        peak_kib = float(rss.read().split()[-1]) if GNU_TIME else float(usage.ru_maxrss)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv)} exited {code}:\n{err[-2000:]}")
    # The rusage of a reaped child counts the children it reaped (GNU time's included).
    return seconds, peak_kib / 1024, usage.ru_utime + usage.ru_stime


def _builder_hash() -> str:
    """The builder's source and pdmail's reading code (the kept readings of the needs
    depend on it: a project built with other rules would have pdmail read its needs again)."""
    from pdmail.digest.build import _code_stamp

    digest = hashlib.sha256((HERE / "bench_digest.py").read_bytes())
    digest.update(_code_stamp())
    return digest.hexdigest()[:12]


def project(
    teachers: int, cycles: int = 10, seed: int = 2026, cache: Path | None = None
) -> bench_digest.Project:
    """The project for ``teachers`` (built once, then reused from ``cache``)."""
    cache = cache or Path(tempfile.gettempdir()) / "pdmail-digest-speed"
    base = cache / f"seed{seed}-cycles{cycles}-{_builder_hash()}"
    folder = base / f"teachers-{teachers}"
    done = folder / "built"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"building {teachers:,} teachers x {cycles} cycles in {folder} ...", flush=True)
        built = bench_digest.build_project(base, teachers, cycles, seed)
        done.write_text("ok\n")
        return built
    config = bench_digest.load_config(folder / "pdmail.yaml")
    last = bench_digest.school_year(config, cycles)[-1]
    return bench_digest.Project(teachers, folder, config, last, messages=0)


def measure(
    responses: int = 100_000,
    repeat: int = 3,
    *,
    cycles: int = 10,
    seed: int = 2026,
    cache: Path | None = None,
) -> Measured:
    """Time csv.reader over responses.csv, the first ``pdmail digest`` of the last cycle and
    the digest's files alone (:data:`FILES_ALONE`, on the needs.csv and digest.md that digest
    wrote), each in its own process, ``repeat`` times each, alternating (one untimed run of
    each first fills the page and bytecode caches: see ``ENV``)."""
    teachers = max(10, round(responses / (ROWS_PER_CYCLE * cycles)))
    proj = project(teachers, cycles, seed, cache)
    folder = proj.folder
    data = folder / "responses.csv"
    with data.open(newline="", encoding="utf-8") as f:
        count = sum(1 for _ in f) - 1  # no field spans lines in the generated file
    c = proj.cycle
    argv = [str(BIN / "pdmail"), "digest", "--cycle", c.name, "--today", c.digest.isoformat()]
    reader = [sys.executable, "-c", CSV_READ, str(data)]
    written = tempfile.TemporaryDirectory(prefix="pdmail-digest-files-")
    markdown = proj.config.digest.out / c.name / "digest.md"
    needs = proj.config.digest.needs_file
    files = [sys.executable, "-c", FILES_ALONE, str(data), str(needs), str(markdown), written.name]
    rows = [Timing(CSV_ROW), Timing(DIGEST_ROW), Timing(FLOOR_ROW)]
    for i in range(repeat + 1):
        timings = [run_timed(reader, folder)]
        proj.restore_state()
        timings.append(run_timed(argv, folder))
        timings.append(run_timed(files, folder))
        if i:
            for row, (seconds, peak, cpu) in zip(rows, timings, strict=True):
                row.seconds.append(seconds)
                row.peaks.append(peak)
                row.cpu.append(cpu)
    proj.restore_state()
    written.cleanup()
    command = f"pdmail {' '.join(argv[1:])}"
    return Measured(rows, count, teachers, command, folder)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--responses", type=int, default=100_000, help="response rows (100000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, medians shown (3)")
    ap.add_argument("--cycles", type=int, default=10, help="cycles in the year (10)")
    ap.add_argument("--seed", type=int, default=2026, help="seed of the data (2026)")
    ap.add_argument("--cache", type=Path, default=None, help="where projects are kept")
    args = ap.parse_args(argv)
    m = measure(args.responses, args.repeat, cycles=args.cycles, seed=args.seed,
                cache=args.cache)  # fmt: skip
    print(f"\n{m.responses:,} response rows ({m.teachers:,} teachers, {args.cycles} cycles); "
          f"medians of {args.repeat} runs; project in {m.folder}\n")  # fmt: skip
    print(f"| {'run':<34} | {'wall s':>8} | {'cpu s':>8} | {'peak MiB':>8} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    for row in m.rows:
        print(f"| {row.name:<34} | {row.median:8.2f} | {row.cpu_median:8.2f} | "
              f"{row.peak_mib:8.1f} |")  # fmt: skip
    print(f"\ndigest: pdmail / csv.reader       {m.ratio:6.1f}x   (target <= {TARGET:g}); "
          f"in CPU time {m.cpu_ratio:.1f}x")  # fmt: skip
    print(
        f"digest: its files alone / csv.reader {m.floor_ratio:4.1f}x   (what reading and "
        "writing needs.csv and digest.md costs before any reading of answers)"
    )
    print(f"runs: {', '.join(f'{s:.2f}' for s in m.rows[1].seconds)} s of `{m.command}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
