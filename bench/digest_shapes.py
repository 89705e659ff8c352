"""The digest of 100,000 response rows in other shapes than a year of one large school.

``digest_speed.py`` measures the digest on a school year of 14,000 teachers: every row feeds
the month, the trends or the year view. A sheet of 100,000 rows can look otherwise, and the
cost of a digest is mostly per row, so this measures three more shapes, each made from the
folder ``pdmail demo`` leaves (its 12-teacher roster, its ledger after a played month, its
config and its own copies of the templates) with responses.csv replaced by 100,000 rows:

- ``month-roster``: the roster's teachers answering again and again in the digest's month
  (the latest answer of each counts);
- ``month-strangers``: 100,000 addresses not on the roster, all in the digest's month (each
  listed, with the teacher it probably is);
- ``years``: ten school years of answers, half from the roster and half from 3,000 addresses
  not on it, of which only the last month's and the year's feed the digest.

Rows are in submission order with the demo's timestamp format (``2026/11/03 8:12:05 AM CST``)
and answers drawn from ``bench_digest``'s generator. Each shape's digest is the demo's
November digest, run on a fresh copy of the folder each time, as its own process, against
``csv.reader`` over the same file (both timed from start to exit), alternating, medians:

    python bench/digest_shapes.py                  # 3 runs of each
    python bench/digest_shapes.py --repeat 5 --rows 50000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bench_digest  # noqa: E402  (puts the checkout's pdmail on sys.path)
from digest_speed import CSV_READ, ENV, run_timed  # noqa: E402

from pdmail.digest.topics import Tagger  # noqa: E402

BIN = Path(sys.executable).parent
CYCLE, DIGEST_DAY = "2026-11", "2026-11-12"  # the demo's month and its digest day
HEADER = ["Timestamp", "Email Address", "What units of study are coming up?",
          "How can the library help?", "Preferred format"]  # fmt: skip
FORMATS = ["Small group", "At our team meeting", "Email me a guide", ""]
UNITS = ["Persuasive essay", "Cells", "Ratios", "The Odyssey / intro to research", "Ecosystems",
         "Narrative writing", "Civil War", ""]  # fmt: skip


def stamp(moment: datetime) -> str:
    """A Forms download's timestamp, as the demo writes them."""
    clock = moment.strftime("%I:%M:%S %p").lstrip("0")
    return f"{moment:%Y/%m/%d} {clock} CST"


def write_rows(folder: Path, rows: int, who: str, seed: int) -> None:
    """responses.csv of ``rows`` rows in the shape ``who`` names, in submission order."""
    rng = random.Random(seed)
    roster = [r[0] for r in csv.reader((folder / "roster.csv").open(encoding="utf-8"))][1:]
    kws = bench_digest.keywords(Tagger.from_taxonomy(bench_digest.load_config(
        folder / "pdmail.yaml").taxonomy))  # fmt: skip
    if who == "years":
        start, days = datetime(2016, 9, 1, 7), 3720
    else:
        start, days = datetime(2026, 11, 2, 7), 9
    made: list[tuple[datetime, list[str]]] = []
    for i in range(rows):
        moment = start + timedelta(seconds=rng.uniform(0, days * 86400))
        if who == "month-roster" or (who == "years" and rng.random() < 0.5):
            address = rng.choice(roster)
        elif who == "years":
            address = f"parent{i % 3000}@home.example.com"
        else:
            address = f"person{i}@elsewhere.example.com"
        unit = rng.choice(UNITS)
        help_text = bench_digest.help_text(rng, kws, unit or "the unit")
        made.append((moment, [stamp(moment), address, unit, help_text, rng.choice(FORMATS)]))
    made.sort(key=lambda m: m[0])
    path = folder / "responses.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(row for _, row in made)
    # Saved on the digest day's morning: pdmail refuses an export older than the requests.
    saved = datetime(2026, 11, 12, 6).timestamp()
    os.utime(path, (saved, saved))


def build(base: Path, rows: int, seed: int) -> dict[str, Path]:
    """The demo folder, played once, and a copy of it per shape with its rows."""
    demo = base / "demo"
    subprocess.run([str(BIN / "pdmail"), "demo", str(demo)], check=True, env=ENV,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    shapes = {}
    for n, name in enumerate(("month-roster", "month-strangers", "years")):
        folder = base / name
        shutil.copytree(demo, folder)
        write_rows(folder, rows, name, seed + n)
        shapes[name] = folder
    return shapes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="response rows (100000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, medians shown (3)")
    ap.add_argument("--seed", type=int, default=2026, help="seed of the rows (2026)")
    args = ap.parse_args(argv)
    argv_digest = [str(BIN / "pdmail"), "digest", "--cycle", CYCLE, "--today", DIGEST_DAY]
    print(f"\n{args.rows:,} response rows a shape; medians of {args.repeat} runs\n")
    print(f"| {'shape':<16} | {'csv.reader s':>12} | {'pdmail digest s':>15} | {'ratio':>6} |"
          f" {'peak MiB':>8} |")  # fmt: skip
    print(f"|{'-' * 18}|{'-' * 14}|{'-' * 17}|{'-' * 8}|{'-' * 10}|")
    with tempfile.TemporaryDirectory(prefix="pdmail-digest-shapes-") as tmp:
        root = Path(tmp)
        shapes = build(root / "made", args.rows, args.seed)
        for name, folder in shapes.items():
            reader = [sys.executable, "-c", CSV_READ, str(folder / "responses.csv")]
            csv_s: list[float] = []
            digest_s: list[float] = []
            peaks: list[float] = []
            for i in range(args.repeat + 1):  # the first of each fills the caches, untimed
                run = root / "run"
                shutil.rmtree(run, ignore_errors=True)
                shutil.copytree(folder, run)
                seconds, _, _ = run_timed(reader, run)
                took, peak, _ = run_timed(argv_digest, run)
                if i:
                    csv_s.append(seconds)
                    digest_s.append(took)
                    peaks.append(peak)
            c, d = statistics.median(csv_s), statistics.median(digest_s)
            print(f"| {name:<16} | {c:12.2f} | {d:15.2f} | {d / c:5.1f}x |"
                  f" {statistics.median(peaks):8.1f} |")  # fmt: skip
    print(f"\nthe command: `pdmail digest --cycle {CYCLE} --today {DIGEST_DAY}` in each folder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
