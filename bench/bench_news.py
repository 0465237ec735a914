"""The news scoreboard: NewsQA (CNN) and SQuAD 2.0 on one page, reader-only, open, and out of archive.

    python bench/bench_news.py --prepare          # first time: builds the indexes under runs/news (~25 min)
    python bench/bench_news.py [--split report] [--json bench/results/news.json] [--limit N]
    python bench/bench_news.py --recall runs/filters/archive-index [--split report]   # retrieval alone
    python bench/bench_news.py --recall runs/news/squad-index --domain squad          # the same for SQuAD

Split (training/splits.py): the public NewsQA half by article (``newsqa_split``: tune/report), SQuAD 2.0 dev's
TUNE and REPORT articles. Figures are for ``--split`` (default: report, never tuned on). For each domain:

- ``gold`` (reader-only, MRQA's setting: the whole article; SQuAD: the paragraph): F1 never abstaining, and
  EM/F1/answered at the operating point;
- ``open``: each question asked of the whole archive (``archive.jsonl.gz``; SQuAD: the 19,944-paragraph archive):
  recall@1/@5/@20 of the gold paragraph, EM/F1, HasAns F1 and NoAns (SQuAD's unanswerable questions), answered
  share, p50/p95 ms per question (embed, retrieve, read, decide), peak RSS;
- ``off``: the answerable questions asked of the archive without their own articles: every answer is wrong, so
  the share answered is the real-world NoAns.

Each question is read once; the decision is then made by both rules on the same reading: the calibrated margin
(``margin``, the default) and the learned answer selector (``selector``, ``QA_ANSWER_SELECTOR=true``).
Every report set also gets risk-coverage (accuracy at 50/80/100% coverage) and the expected calibration error of
the shipped score. Hardware: whatever runs it; the figures name no machine of their own.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def decided(reader, row: dict, rule: str) -> tuple[dict, float]:
    """The decision on a recorded row under ``rule``: the best answer (answered or not), its score, and ms."""
    from qa.metrics import score_prediction
    from training.calibrate import CORRECT_F1
    from training.news_runs import candidates, scored_passages

    scored, cands = scored_passages(row), candidates(row)
    use = rule == "selector"
    t0 = time.perf_counter()
    at_point = reader.decide(row["question"], scored, cands, 1, selector=use)
    ms = (time.perf_counter() - t0) * 1000
    best = reader.decide(row["question"], scored, cands, 1, selector=use, min_score=0.0)
    top = best[0] if best else None
    em, f1 = score_prediction(top.text, row["answers"]) if top is not None and row["answers"] else (0.0, 0.0)
    return {"answered": bool(at_point), "score": top.score if top is not None else 0.0, "em": em, "f1": f1,
            "right": f1 >= CORRECT_F1, "has": bool(row["answers"])}, ms


def figures(rows: list[dict], reader, rule: str) -> dict:
    import numpy as np

    from qa.metrics import selective

    out = [decided(reader, r, rule) for r in rows]
    d = [o for o, _ in out]
    ms = [r["ms"] + m for r, (_, m) in zip(rows, out)]
    has = np.array([x["has"] for x in d])
    answered = np.array([x["answered"] for x in d])
    em = np.where(answered, [x["em"] for x in d], ~has)
    f1 = np.where(answered, [x["f1"] for x in d], ~has)
    fig = {"questions": len(rows), "answered": round(float(answered.mean()) * 100, 1)}
    if has.any():
        fig.update(exact=round(float(em.mean()) * 100, 2), f1=round(float(f1.mean()) * 100, 2),
                   HasAns_f1=round(float(f1[has].mean()) * 100, 2),
                   f1_never_abstaining=round(float(np.mean([x["f1"] for x in d if x["has"]])) * 100, 2),
                   answered_of_answerable=round(float(answered[has].mean()) * 100, 1))
    if (~has).any():
        fig["NoAns"] = round(float((~answered)[~has].mean()) * 100, 1)
    ranks = [r["hit_rank"] for r in rows if r["setting"] == "open" and r["answers"]]
    if ranks:
        for k in (1, 5, 20):
            fig[f"recall_at_{k}"] = round(float(np.mean([h is not None and h < k for h in ranks])) * 100, 1)
    if rows[0]["setting"] != "gold":
        fig["p50_ms"], fig["p95_ms"] = round(float(np.percentile(ms, 50)), 1), round(float(np.percentile(ms, 95)), 1)
    sel = selective([x["score"] for x in d], [x["right"] for x in d])
    fig.update({k: v for k, v in sel.items() if k != "questions"})
    return fig


def recall(index_dir: Path, split: str, domain: str = "newsqa") -> None:
    """Recall@1/@5/@20 of the gold paragraph against an index of the domain's archive (NewsQA: archive.jsonl.gz;
    SQuAD: the 19,944-paragraph one), with the fixed fusion and with the learned ranker over the widened pool (the
    default), in one run (retrieval only; no reader). SQuAD's unanswerable questions have no gold paragraph: left
    out."""
    import numpy as np

    from retriever import make_embedder, make_retriever, store
    from service.settings import Settings
    from training.news_runs import _hit_rank, questions_of

    index = store.load(index_dir)
    asked = [q for q in questions_of(domain, split) if q.answers]
    vectors = make_embedder().encode([q.question for q in asked])
    r = Settings().retrieval
    for ranker in (False, True):
        retriever = make_retriever(index, "hybrid", r.lexical_weight, r.article_weight, ranker=ranker)
        started = time.perf_counter()
        ranks = [_hit_rank([h.passage for h in retriever.retrieve(q.question, v, 20)], q) for q, v in zip(asked, vectors)]
        ms = (time.perf_counter() - started) * 1000 / max(len(asked), 1)
        at = {k: float(np.mean([x is not None and x < k for x in ranks])) for k in (1, 5, 20)}
        print(json.dumps({"domain": domain, "split": split, "questions": len(asked), "passages": index.passage_count(),
                          "order": "learned ranker" if ranker else "fixed fusion", "ms_per_question": round(ms, 1),
                          **{f"recall@{k}": round(v * 100, 1) for k, v in at.items()}}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "news", help="indexes and recorded rows")
    parser.add_argument("--prepare", action="store_true", help="build the missing indexes first")
    parser.add_argument("--split", default="report", choices=("report", "tune"))
    parser.add_argument("--limit", type=int, default=None, help="at most this many questions per domain")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    parser.add_argument("--recall", type=Path, default=None, metavar="INDEX",
                        help="only retrieval recall against this index of the domain's archive")
    parser.add_argument("--domain", default="newsqa", choices=("newsqa", "squad"), help="with --recall")
    args = parser.parse_args()
    from qa.offline import go_offline

    go_offline()
    if args.recall is not None:
        recall(args.recall, args.split, args.domain)
        return
    from service.application import reader_from
    from service.settings import Settings
    from training.news_runs import layout, load, prepare, record

    if args.prepare:
        prepare(args.runs)
    missing = [str(p) for k, p in layout(args.runs).items() if k != "squad_articles" and not (p / "CURRENT").is_file()]
    if missing:
        raise SystemExit(f"missing indexes ({', '.join(missing)}): run with --prepare first")
    runs = args.runs / "limited" / str(args.limit) if args.limit else args.runs
    runs.mkdir(parents=True, exist_ok=True)
    for name, target in layout(args.runs).items():  # a limited run records apart, over the same indexes
        if runs != args.runs and not (runs / target.name).exists():
            (runs / target.name).symlink_to(target.resolve())
    paths = record(runs, args.split, args.limit)
    # Both rules are applied to the same readings: the selector is loaded whatever QA_ANSWER_SELECTOR says.
    settings = Settings().with_(reader={"selector": True})
    readers = {"gold": reader_from(settings, setting="gold"), "open": reader_from(settings)}
    for r in readers.values():
        r.warm_up()
    result = {"split": args.split, "selector": readers["open"].selector.meta.get("trained_on") if readers["open"].selector
              else None}
    for key, path in paths.items():
        rows = load(path)
        if not rows:
            continue
        reader = readers["gold" if rows[0]["setting"] == "gold" else "open"]
        result[key] = {rule: figures(rows, reader, rule) for rule in ("margin", "selector")}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print_table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


COLUMNS = ("questions", "answered", "exact", "f1", "f1_never_abstaining", "HasAns_f1", "NoAns", "recall_at_1",
           "recall_at_5", "recall_at_20", "accuracy_at_50", "accuracy_at_80", "ece", "p50_ms", "p95_ms")


def print_table(result: dict) -> None:
    short = {"questions": "n", "answered": "ans%", "exact": "EM", "f1": "F1", "f1_never_abstaining": "F1(all)",
             "HasAns_f1": "HasF1", "NoAns": "NoAns%", "recall_at_1": "R@1", "recall_at_5": "R@5", "recall_at_20": "R@20",
             "accuracy_at_50": "acc@50", "accuracy_at_80": "acc@80", "ece": "ECE", "p50_ms": "p50", "p95_ms": "p95"}
    print(f"split: {result['split']}")
    print(f"{'set':<14}{'rule':<10}" + "".join(f"{short[c]:>8}" for c in COLUMNS))
    for key, rules in result.items():
        if not isinstance(rules, dict) or "selector" not in rules:
            continue
        for rule, fig in rules.items():
            cells = "".join(f"{fig[c]:>8}" if fig.get(c) is not None else f"{'':>8}" for c in COLUMNS)
            print(f"{key:<14}{rule:<10}{cells}")
    print(f"peak RSS {result['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
