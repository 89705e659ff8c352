"""Would a small trained model read kinds better than pdmail's rules? A k-fold experiment.

    python bench/kinds_cv.py                     # ../shared/teacher-answers, 5 folds
    python bench/kinds_cv.py --folds 10 --seed 7

For each fold, a logistic regression per kind (task, learning, lesson) is trained, in pure
Python, on the other folds' answers: word unigrams and bigrams plus the kinds pdmail's rules
give (so the model can only add to the rules). It is scored on the held-out fold, never on
the lines it learned from, and compared with the rules alone on the same lines. Nothing here
is shipped: it says whether a trained model is worth shipping.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pdmail.digest.reading import is_no_need, kinds_of  # noqa: E402
from pdmail.models import KINDS  # noqa: E402

_WORD = re.compile(r"[a-záéíóúñü']+")


def features(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    feats = [f"w:{w}" for w in words] + [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    return sorted(set(feats) | {f"rule:{k}" for k in kinds_of(text)} | {"bias"})


def train(xs: Sequence[list[str]], ys: Sequence[int], epochs: int = 30) -> dict[str, float]:
    w: dict[str, float] = {}
    rate, l2 = 0.2, 1e-3
    order = list(range(len(xs)))
    rng = random.Random(0)
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            z = sum(w.get(f, 0.0) for f in xs[i])
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))
            g = ys[i] - p
            for f in xs[i]:
                w[f] = w.get(f, 0.0) * (1 - rate * l2) + rate * g
    return w


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "teacher-answers")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in (args.data / "answers.jsonl").open(encoding="utf-8")]
    # Kinds are read for answers that are needs (by the gold label and by pdmail).
    rows = [r for r in rows if r["kinds"] != ["none"] and not is_no_need(r["help"])]
    random.Random(args.seed).shuffle(rows)
    folds = [rows[i :: args.folds] for i in range(args.folds)]
    right_rules = right_model = total = 0
    for k, test in enumerate(folds):
        training = [r for j, f in enumerate(folds) if j != k for r in f]
        xs = [features(r["help"]) for r in training]
        models = {kind: train(xs, [int(kind in r["kinds"]) for r in training]) for kind in KINDS}
        for r in test:
            gold = set(r["kinds"])
            rules = set(kinds_of(r["help"]))
            x = features(r["help"])
            model = {kind for kind, w in models.items() if sum(w.get(f, 0.0) for f in x) > 0}
            right_rules += rules == gold
            right_model += (model or {"task"}) == gold
            total += 1
    print(f"{args.folds}-fold cross-validation on {total} needs (kind set exactly right):")
    print(f"  rules alone           {right_rules / total:6.1%}")
    print(f"  rules + trained model {right_model / total:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
