"""Would a small trained model sharpen pdmail's topic rules? A k-fold experiment.

    python bench/topics_cv.py                      # ../shared/teacher-answers, 5 folds
    python bench/topics_cv.py --folds 10 --seeds 1 2 3

For each fold, a logistic regression per family is trained, in pure Python, on the other
folds' answers: word unigrams and bigrams plus the families pdmail's rules give. On the held-out
fold a rule's family is kept only when the model gives it at least ``keep``, and a family the
rules missed is added when the model gives it at least ``add``; micro precision and recall are
compared with the rules alone on the same lines. Nothing here is shipped: it says whether a
trained model is worth shipping.
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
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from digest_quality import family  # noqa: E402
from kinds_cv import train  # noqa: E402

from pdmail.digest.reading import is_no_need  # noqa: E402
from pdmail.digest.taxonomy import DEFAULT_TOPICS  # noqa: E402
from pdmail.digest.topics import Tagger  # noqa: E402

_WORD = re.compile(r"[a-záéíóúñü0-9']+")
SETTINGS = ((0.005, 2.0), (0.02, 2.0), (0.05, 2.0), (0.01, 0.9), (0.2, 0.8))


def features(tagger: Tagger, text: str) -> tuple[list[str], set[str]]:
    words = _WORD.findall(text.lower())
    rules = {family(name) for name, _ in tagger.explain(text)}
    feats = {f"w:{w}" for w in words} | {f"b:{a}_{b}" for a, b in itertools.pairwise(words)}
    return sorted(feats | {f"rule:{f}" for f in rules} | {"bias"}), rules


def micro(pred: Sequence[set[str]], gold: Sequence[set[str]]) -> tuple[float, float]:
    tp = sum(len(p & g) for p, g in zip(pred, gold, strict=True))
    fp = sum(len(p - g) for p, g in zip(pred, gold, strict=True))
    fn = sum(len(g - p) for p, g in zip(pred, gold, strict=True))
    return tp / (tp + fp or 1), tp / (tp + fn or 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "teacher-answers")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026])
    args = parser.parse_args(argv)
    tagger = Tagger(DEFAULT_TOPICS)
    rows = [json.loads(line) for line in (args.data / "answers.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if r["kinds"] != ["none"] and not is_no_need(r["help"])]
    families = sorted({f for r in rows for f in r["families"]})
    print(f"{args.folds}-fold cross-validation, topics micro P / R on {len(rows)} needs")
    print(f"{'seed':>5}  {'reading':40s} {'P':>6} {'R':>6}")
    for seed in args.seeds:
        random.Random(seed).shuffle(rows)
        folds = [rows[i :: args.folds] for i in range(args.folds)]
        gold: list[set[str]] = []
        preds: dict[str, list[set[str]]] = {"rules alone": []}
        for k, test in enumerate(folds):
            training = [r for j, f in enumerate(folds) if j != k for r in f]
            xs = [features(tagger, r["help"])[0] for r in training]
            models = {
                f: train(xs, [int(f in r["families"]) for r in training], epochs=20)
                for f in families
            }
            for r in test:
                x, rules = features(tagger, r["help"])
                gold.append(set(r["families"]))
                preds["rules alone"].append(rules)
                p = {
                    f: 1 / (1 + math.exp(-max(-30.0, min(30.0, sum(w.get(a, 0.0) for a in x)))))
                    for f, w in models.items()
                }
                for keep, add in SETTINGS:
                    name = f"rules + model (keep {keep}, add {add if add <= 1 else '-'})"
                    preds.setdefault(name, []).append(
                        {f for f in families if (f in rules and p[f] >= keep) or p[f] >= add}
                    )
        for name, pred in preds.items():
            precision, recall = micro(pred, gold)
            print(f"{seed:>5}  {name:40s} {precision:6.3f} {recall:6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
