"""Follow-ups on real conversations: CoQA turns over CNN stories, each conversation within its story and unscoped.

    python bench/bench_conversations.py [--split report] [--json bench/results/conversations.json]
    python bench/bench_conversations.py --index runs/coqa-archive/index   # the news archive with the stories added

The 90 stories (shared/data/conversations/coqa-cnn-val-stories.jsonl) are indexed once under runs/coqa/index; the
conversations of ``--split`` (training/splits.py ``coqa_split``: by story) are asked turn by turn, as ``qa eval``
asks a conversation file: scoped (each within the story its line names), unscoped (the whole index), and within
another story of the split (``other_story``: nothing it answers is right, so its answered share is what a chat about
one story says that the story does not). Prints first turns and follow-ups apart (F1, EM, answered share, unknown
turns abstained on).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "conversations"


def part_figures(rows: list[dict]) -> dict:
    from qa.metrics import summarize

    s = summarize(rows, [])
    return {"turns": s["total"], "exact": s["exact"], "f1": s["f1"], "answered": s["answered"],
            "HasAns_f1": s["HasAns_f1"], "unknown_abstained": s["NoAns_exact"], "unknown_turns": s["NoAns_total"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="report", choices=("report", "tune"))
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "coqa")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--index", type=Path, default=None,
                        help="ask an existing index that holds the stories among others (e.g. the news archive with "
                             "them added by qa index), as it is, instead of the stories' own index")
    args = parser.parse_args()
    from qa.offline import go_offline

    go_offline()
    from chat.evaluate import evaluate_conversations, load_conversations, within_other_stories
    from service.application import Application
    from service.settings import Settings
    from training.splits import coqa_split

    conversations = [c for c in load_conversations(DATA / "coqa-cnn-val-conversations.jsonl")
                     if coqa_split(c.doc_id) == args.split]
    if args.index is not None:
        service = Application.load(Settings().with_(index={"index_dir": args.index}), refresh=False,
                                   log=lambda m: print(m, file=sys.stderr))
        missing = service.unindexed(sorted({c.doc_id for c in conversations}))
        if missing:
            raise SystemExit(f"{args.index} lacks {len(missing)} of the stories (qa index "
                             f"{DATA / 'coqa-cnn-val-stories.jsonl'} adds them)")
    else:
        settings = Settings().with_(index={"index_dir": args.runs / "index",
                                           "corpus": [DATA / "coqa-cnn-val-stories.jsonl"]})
        service = Application.load(settings, build_if_missing=True, log=lambda m: print(m, file=sys.stderr))
    result = {"split": args.split, "conversations": len(conversations)}
    elsewhere = within_other_stories(conversations)
    for mode, asked, scoped in (("scoped", conversations, True), ("unscoped", conversations, False),
                                ("other_story", elsewhere, True)):
        timed: list[tuple[int, float]] = []
        report = evaluate_conversations(service.conversations(), asked, scoped=scoped,
                                        on_row=lambda row, ms: timed.append((row["turn"], ms)))
        rows = report["rows"]
        first_ms = [ms for turn, ms in timed if turn == 1]
        follow_ms = [ms for turn, ms in timed if turn > 1]
        result[mode] = {"all": part_figures(rows), "first_turns": part_figures([r for r in rows if r["turn"] == 1]),
                        "follow_ups": part_figures([r for r in rows if r["turn"] > 1]),
                        "p50_ms": report["latency_ms_p50"],
                        "first_turn_p50_ms": round(float(np.median(first_ms)), 1) if first_ms else None,
                        "follow_up_p50_ms": round(float(np.median(follow_ms)), 1) if follow_ms else None}
    print(f"split {args.split}: {len(conversations)} conversations")
    print(f"{'mode':<12}{'part':<13}{'turns':>6}{'EM':>7}{'F1':>7}{'ans%':>7}{'HasF1':>7}{'unk-abst%':>10}")
    for mode in ("scoped", "unscoped", "other_story"):
        f = result[mode]
        print(f"{mode}: p50 {f['first_turn_p50_ms']} ms a first turn, {f['follow_up_p50_ms']} ms a follow-up "
              f"(x{f['follow_up_p50_ms'] / f['first_turn_p50_ms']:.2f})")
    for mode in ("scoped", "unscoped", "other_story"):
        for part in ("all", "first_turns", "follow_ups"):
            f = result[mode][part]
            print(f"{mode:<12}{part:<13}{f['turns']:>6}{f['exact']:>7}{f['f1']:>7}{f['answered']:>7}"
                  f"{f['HasAns_f1'] if f['HasAns_f1'] is not None else '':>7}"
                  f"{f['unknown_abstained'] if f['unknown_abstained'] is not None else '':>10}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
