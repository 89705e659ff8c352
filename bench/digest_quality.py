"""How well the digest reads teachers' answers, measured on a labelled set.

    python bench/digest_quality.py                      # ../shared/teacher-answers
    python bench/digest_quality.py --data DIR --misses 20

The labelled set (``answers.jsonl``, ``roster.csv``, ``responses_2026-12.csv`` and the guide
``LABELS.md``) is read through pdmail's own pipeline: a throwaway project whose config points at
the roster and the Forms export, the December 2026 cycle collected as ``pdmail digest`` does
(latest submission per teacher; senders not on the roster are not needs), then the digest built
with the default taxonomy and session thresholds. Nothing is written outside a temporary folder.

Printed: per-family and micro/macro precision and recall of topics; the share of no-need answers
kept as needs and of needs dropped; per-kind precision/recall and the share of needs whose kind
set is right; the share of team-meeting seats whose teacher asked for that topic.

pdmail's topics are mapped to the guide's families by name (``FAMILY_OF``); a topic the map does
not know counts as ``other``. Everything pdmail ships is rules written by hand from how teachers
write, not fitted to this set; anything ever fitted to it must be scored here by k-fold cross-
validation (``--folds``), never on the lines it learned from. This script is not part of the
test suite, and no test reads the shared folder.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # pdmail from this checkout

import yaml  # noqa: E402

from pdmail import cycles  # noqa: E402
from pdmail.config.load import load_config  # noqa: E402
from pdmail.digest.build import build_digest, current_needs  # noqa: E402
from pdmail.digest.plan import TEAM_MEETING  # noqa: E402
from pdmail.digest.topics import Tagger  # noqa: E402
from pdmail.workspace import Workspace  # noqa: E402

CYCLE = "2026-12"
KINDS = ("task", "learning", "lesson")

# pdmail topic name (lower case) -> the guide's family. The first block is the 2026 default
# taxonomy; the second the names older pdmail used, so a baseline can be measured.
FAMILY_OF: dict[str, str] = {
    "books and collection": "books_collection",
    "reading promotion": "reading_promotion",
    "research skills": "research_skills",
    "citation": "citation",
    "databases": "databases",
    "source evaluation and media literacy": "source_evaluation_media_literacy",
    "digital citizenship": "digital_citizenship",
    "ai tools": "ai_tools",
    "academic integrity": "academic_integrity",
    "copyright": "copyright",
    "google workspace": "google_workspace",
    "lms": "lms",
    "learning platforms (lms)": "lms",
    "devices and hardware": "devices_hardware",
    "accounts and logins": "accounts_logins",
    "video, audio and podcasts": "video_audio_podcast",
    "presentation and design": "presentation_design",
    "interactive tools": "interactive_tools",
    "coding and making": "coding_making",
    "ebooks and audiobooks": "ebooks_audiobooks",
    "assistive technology": "assistive_tech",
    "gradebook and sis": "gradebook_sis",
    "lessons and co-teaching": "co_teaching_lesson",
    "booking spaces": "space_booking",
    "other": "other",
    "printing and copies": "other",
    # older names
    "research and citation": "research_skills",
    "moodle / lms": "lms",
    "interactive boards": "devices_hardware",
    "online gradebook": "gradebook_sis",
    "devices and printers": "devices_hardware",
    "podcasting and video": "video_audio_podcast",
    "blogging": "lms",
}


@dataclass(frozen=True)
class Gold:
    id: str
    email: str
    team: str | None
    help: str
    formats: tuple[str, ...]
    families: frozenset[str]
    kinds: frozenset[str]

    @property
    def is_need(self) -> bool:
        return self.kinds != frozenset({"none"})


@dataclass
class Prediction:
    families: set[str]
    kinds: set[str]
    need: bool
    untagged: bool = False


def family(topic: str) -> str:
    return FAMILY_OF.get(topic.strip().lower(), "other")


def read_gold(data: Path) -> dict[str, Gold]:
    """The labelled answers by lower-case email (one labelled answer per sender)."""
    out: dict[str, Gold] = {}
    with (data / "answers.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            a = json.loads(line)
            out[a["email"].lower()] = Gold(
                a["id"],
                a["email"].lower(),
                a.get("team"),
                a["help"],
                tuple(a["formats"]),
                frozenset(a["families"]),
                frozenset(a["kinds"]),
            )
    return out


def project(data: Path, folder: Path) -> Path:
    """A throwaway pdmail project reading the labelled roster and export."""
    shutil.copy(data / "roster.csv", folder / "roster.csv")
    shutil.copy(data / "responses_2026-12.csv", folder / "responses.csv")
    config = {
        "school": "Riverside",
        "timezone": "America/Chicago",
        "librarian": {"name": "Librarian", "email": "librarian@riverside.k12.test"},
        "sources": {"kind": "local", "roster": "roster.csv", "responses": "responses.csv"},
        "mail": {"kind": "outbox", "outbox": "outbox"},
        "form": {
            "url": "https://docs.google.com/forms/d/e/FORMID/viewform",
            "prefill": {"email": "entry.1"},
            "columns": {
                "timestamp": "Timestamp",
                "email": "Email Address",
                "units": "Units of study this month",
                "help": "How can the library help you this month?",
                "format": "How would you like help?",
            },
            "date_order": "month-first",
        },
        "calendar": {
            "send_day": 1,
            "due_after_days": 7,
            "reminders_after_days": [4, 8],
            "digest_after_days": 12,
        },
        "state": ".pdmail",
    }
    path = folder / "pdmail.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def predict(config_path: Path) -> tuple[dict[str, Prediction], list[tuple[str, str, str]]]:
    """pdmail's reading of every answer (by email), and the seats of every session it
    proposes as (email, topic family, kind of session)."""
    cfg = load_config(config_path)
    with Workspace(cfg) as ws:
        cycle = cycles.cycle(cfg, CYCLE)
        collection = ws.collect(cycle)
        tagger = Tagger.from_taxonomy(cfg.taxonomy)
        needs = current_needs(collection, tagger, cfg.campaign)
        digest = build_digest(
            ws.roster,
            collection,
            tagger,
            school=cfg.school,
            campaign=cfg.campaign,
            generated=datetime(2026, 12, 14, tzinfo=timezone.utc),
            sessions=cfg.digest.sessions,
            current=needs,
        )
    preds: dict[str, Prediction] = {}
    for teacher, _ in collection.answered:
        preds[teacher.email] = Prediction(set(), {"none"}, need=False)
    for need in needs:
        kinds = getattr(need, "kinds", None)
        if kinds is None:  # before kinds existed every need was planned as a session
            kinds = ("learning",)
        # A need with no topic is listed as untagged: the guide's "other".
        fams = {family(t) for t in need.topics} or {"other"}
        preds[need.email] = Prediction(
            fams, set(kinds) or {"none"}, need=bool(kinds), untagged=not need.topics
        )
    seats = [(email, family(p.topic), p.kind) for p in digest.proposals for email in p.emails]
    return preds, seats


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def counts(
    pairs: Iterable[tuple[frozenset[str], set[str]]],
) -> tuple[collections.Counter[str], collections.Counter[str], collections.Counter[str]]:
    tp: collections.Counter[str] = collections.Counter()
    fp: collections.Counter[str] = collections.Counter()
    fn: collections.Counter[str] = collections.Counter()
    for gold, pred in pairs:
        for f in gold & pred:
            tp[f] += 1
        for f in pred - gold:
            fp[f] += 1
        for f in gold - pred:
            fn[f] += 1
    return tp, fp, fn


def report(
    gold: Mapping[str, Gold],
    preds: Mapping[str, Prediction],
    seats: Sequence[tuple[str, str, str]],
    misses: int,
) -> dict[str, Any]:
    """Print the tables; return the headline figures."""
    empty = Prediction(set(), {"none"}, need=False)
    pairs = [(g, preds.get(e, empty)) for e, g in gold.items()]
    tp, fp, fn = counts((g.families, p.families if p.need else set()) for g, p in pairs)
    families = sorted({f for g in gold.values() for f in g.families})
    print(f"{'family':34s} {'n':>4s} {'P':>5s} {'R':>5s} {'F1':>5s}   fp  fn")
    macro_p = macro_r = 0.0
    for f in sorted(families, key=lambda f: -(tp[f] + fn[f])):
        p, r, f1 = prf(tp[f], fp[f], fn[f])
        macro_p, macro_r = macro_p + p, macro_r + r
        print(f"{f:34s} {tp[f] + fn[f]:4d} {p:5.2f} {r:5.2f} {f1:5.2f} {fp[f]:4d} {fn[f]:3d}")
    mp, mr, mf = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    print(f"{'MICRO':34s} {'':4s} {mp:5.2f} {mr:5.2f} {mf:5.2f}")
    print(f"{'MACRO':34s} {'':4s} {macro_p / len(families):5.2f} {macro_r / len(families):5.2f}")

    nones = [p for g, p in pairs if not g.is_need]
    real = [(g, p) for g, p in pairs if g.is_need]
    kept = sum(p.need for p in nones) / len(nones)
    dropped = sum(not p.need for _, p in real) / len(real)
    untagged = sum(p.need and p.untagged for _, p in real) / len(real)
    print(f"\nno-need answers kept as needs   {kept:6.1%}  ({len(nones)} no-need answers)")
    print(f"needs dropped as no need        {dropped:6.1%}  ({len(real)} needs)")
    print(f"needs kept with no topic        {untagged:6.1%}")

    ktp, kfp, kfn = counts(
        (g.kinds, p.kinds if p.need else set())
        for g, p in real  # kinds of real needs
    )
    for k in KINDS:
        p, r, f1 = prf(ktp[k], kfp[k], kfn[k])
        print(f"kind {k:9s} n={ktp[k] + kfn[k]:3d}  P={p:.2f} R={r:.2f} F1={f1:.2f}")
    kind_right = sum(p.need and p.kinds == set(g.kinds) for g, p in real) / len(real)
    print(f"needs with the right kind set   {kind_right:6.1%}")

    team = [(e, f) for e, f, kind in seats if kind == TEAM_MEETING]
    good = sum(1 for email, fam in team if email in gold and fam in gold[email].families)
    seat_share = good / len(team) if team else 1.0
    print(f"team-meeting seats on a topic the teacher asked for: {good}/{len(team)}"
          f" = {seat_share:.1%}")  # fmt: skip
    ok = sum(1 for email, fam, _ in seats if email in gold and fam in gold[email].families)
    learners = {e for e, g in gold.items() if "learning" in g.kinds}
    placed = learners & {e for e, _, _ in seats}
    others = {e for e, _, _ in seats} - learners
    print(f"all session seats on a topic the teacher asked for: {ok}/{len(seats)}")
    print(f"learning answers placed in a session: {len(placed)}/{len(learners)};"
          f" answers with no learning placed in one: {len(others)}")  # fmt: skip

    if misses:
        print("\nfirst misreadings (id: gold | predicted | answer):")
        shown = 0
        for g, pr in pairs:
            pf = pr.families if pr.need else set()
            pk = pr.kinds if pr.need else {"none"}
            if pf == set(g.families) and pk == set(g.kinds):
                continue
            print(f"{g.id}: {sorted(g.families)} {sorted(g.kinds)} | {sorted(pf)} {sorted(pk)}"
                  f" | {' '.join(g.help.split())[:150]}")  # fmt: skip
            shown += 1
            if shown >= misses:
                break
    return {
        "micro_precision": mp,
        "micro_recall": mr,
        "no_need_kept": kept,
        "kind_right": kind_right,
        "seats": seat_share,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "teacher-answers",
        help="the labelled set (default: ../shared/teacher-answers beside the repository)",
    )
    parser.add_argument("--misses", type=int, default=0, help="list this many misreadings")
    parser.add_argument("--json", action="store_true", help="also print the headline as JSON")
    args = parser.parse_args(argv)
    if not (args.data / "answers.jsonl").is_file():
        parser.error(f"{args.data}: no answers.jsonl here (give --data DIR)")
    gold = read_gold(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        preds, seats = predict(project(args.data, Path(tmp)))
    headline = report(gold, preds, seats, args.misses)
    if args.json:
        print(json.dumps(headline))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
