"""What learning from the librarian's corrections does to answers it has not seen, and how fast.

    python bench/corrections_quality.py                 # ../shared/teacher-answers
    python bench/corrections_quality.py --data DIR --rounds 10

Each round splits the labelled answers (``answers.jsonl``) in two at random. In the first half
a simulated librarian corrects every need pdmail read wrong to its labels (topics, kinds, or
both); the second half is then read with and without those corrections
(:class:`pdmail.digest.corrections.SchoolReader`), at several ``digest.learn_threshold`` values, and
scored against its labels: micro precision and recall of topic families, the share of needs
whose kinds are right, and how many answers the corrections changed for the better or the
worse. Nothing is learned from the half that is scored. Last, the time to read 1,000 answers
against 200 corrections.

The labelled answers come from different teachers, so few are alike: the figures say mostly
whether learning stays out of the way of answers it should not touch. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for where in (ROOT, ROOT / "bench"):
    if str(where) not in sys.path:
        sys.path.insert(0, str(where))

from digest_quality import FAMILY_OF  # noqa: E402

from pdmail.config.records import Taxonomy  # noqa: E402
from pdmail.digest.corrections import SchoolReader  # noqa: E402
from pdmail.digest.reading import kinds_of  # noqa: E402
from pdmail.digest.topics import Tagger, is_request  # noqa: E402
from pdmail.models import KINDS  # noqa: E402
from pdmail.state.needs import NeedRecord  # noqa: E402


def families(topics: Sequence[str]) -> set[str]:
    return {FAMILY_OF.get(t.lower(), "other") for t in topics} - {"other"}


def corrections(rows: Sequence[dict[str, Any]], tagger: Tagger) -> list[NeedRecord]:
    """The needs of ``rows`` as the librarian keeps them: those pdmail read wrong corrected to
    their labels, the others left as read."""
    # The first topic of each family stands for it (families and topics are near one to one).
    topic_of: dict[str, str] = {}
    for t in tagger.topics:
        topic_of.setdefault(FAMILY_OF.get(t.name.lower(), "other"), t.name)
    out = []
    for r in rows:
        read = tuple(n for n, _ in tagger.explain(r["help"]))
        gold = set(r["families"]) - {"other"}
        kinds = tuple(k for k in KINDS if k in r["kinds"])
        topics_wrong = families(read) != gold
        kinds_wrong = set(kinds_of(r["help"])) != set(kinds)
        if not (topics_wrong or kinds_wrong):  # left as pdmail read it
            out.append(NeedRecord(r["id"], "bench", "2026-11", r["email"], "", "", r["help"],
                                  read, "", kinds=kinds_of(r["help"])))  # fmt: skip
            continue
        fixed = tuple(n for f, n in topic_of.items() if f in gold)
        out.append(
            NeedRecord(r["id"], "bench", "2026-11", r["email"], "", "", r["help"],
                       fixed if topics_wrong else read, "", kinds=kinds,
                       corrected_topics=fixed if topics_wrong else None,
                       corrected_kinds=kinds if kinds_wrong else None,
                       corrected=date(2026, 11, 20))
        )  # fmt: skip
    return out


def score(pairs: Sequence[tuple[set[str], set[str]]]) -> tuple[float, float]:
    tp = sum(len(g & p) for g, p in pairs)
    fp = sum(len(p - g) for g, p in pairs)
    fn = sum(len(g - p) for g, p in pairs)
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def run(rows: list[dict[str, Any]], rounds: int, thresholds: Sequence[float]) -> None:
    tagger = Tagger.from_taxonomy(Taxonomy())
    print(f"{len(rows)} labelled needs, {rounds} random halves; topics scored as families")
    print(f"{'':22s} {'P':>6s} {'R':>6s} {'kinds':>6s} {'changed':>8s} {'better':>7s} "
          f"{'worse':>6s}")  # fmt: skip
    for threshold in (None, *thresholds):
        pairs, kinds_right, n, changed, better, worse = [], 0, 0, 0, 0, 0
        for seed in range(rounds):
            rng = random.Random(seed)
            shuffled = rows[:]
            rng.shuffle(shuffled)
            taught, scored = shuffled[: len(rows) // 2], shuffled[len(rows) // 2 :]
            school = SchoolReader(corrections(taught, tagger), tagger,
                                  [r["help"] for r in scored], threshold or 0.5)  # fmt: skip
            for r in scored:
                gold, gold_kinds = set(r["families"]) - {"other"}, set(r["kinds"])
                evidence = tagger.explain(r["help"])
                base_topics = families([t for t, _ in evidence])
                base_kinds = kinds_of(r["help"])
                got = school.read(r["id"] + "-new", r["help"], evidence, base_kinds)
                topics = families(got.topics) if got and threshold else base_topics
                kinds = set(got.kinds if got and threshold else base_kinds)
                pairs.append((gold, topics))
                kinds_right += kinds == gold_kinds
                n += 1
                if (topics, kinds) != (base_topics, set(base_kinds)):
                    changed += 1
                    gain = len(topics & gold) - len(topics - gold) + (kinds == gold_kinds)
                    loss = len(base_topics & gold) - len(base_topics - gold)
                    loss += set(base_kinds) == gold_kinds
                    better += gain > loss
                    worse += gain < loss
        precision, recall = score(pairs)
        name = "pdmail alone" if threshold is None else f"learned, threshold {threshold}"
        print(f"{name:22s} {precision:6.3f} {recall:6.3f} {kinds_right / n:6.3f} "
              f"{changed:8d} {better:7d} {worse:6d}")  # fmt: skip


def speed(rows: list[dict[str, Any]]) -> None:
    tagger = Tagger.from_taxonomy(Taxonomy())
    rng = random.Random(7)
    texts = [f"{rng.choice(rows)['help']} ({i})" for i in range(1000)]
    records = [
        NeedRecord(f"c{i}", "bench", "2026-11", "", "", "", f"{r['help']} Tool{i}", (), "",
                   corrected_topics=(tagger.topics[i % len(tagger.topics)].name,),
                   corrected_kinds=(KINDS[i % 3],), corrected=date(2026, 11, 20))
        for i, r in enumerate(rng.choice(rows) for _ in range(200))
    ]  # fmt: skip
    readings = [(t, tagger.explain(t), kinds_of(t)) for t in texts]  # pdmail's own reading
    for r in records:
        tagger.explain(r.text)
    start = time.perf_counter()
    school = SchoolReader(records, tagger, texts)
    for i, (text, evidence, kinds) in enumerate(readings):
        school.read(f"n{i}", text, evidence, kinds)
    took = time.perf_counter() - start
    print(f"1,000 answers against {len(records)} corrections: {took:.2f} s (learning and reading)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "teacher-answers")
    parser.add_argument("--rounds", type=int, default=5, help="random halves (default 5)")
    args = parser.parse_args(argv)
    path = args.data / "answers.jsonl"
    if not path.is_file():
        parser.error(f"{args.data}: no answers.jsonl here (give --data DIR)")
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if r["families"] and is_request(r["help"])]
    run(rows, args.rounds, (0.3, 0.5, 0.7))
    speed(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
