"""Fit the learned answer selector on the TUNE half's recorded questions, and write it beside the reader.

    python -m training.selector collect --split tune          # records runs/news/rows-tune-*.jsonl.gz (~15 min)
    python -m training.selector fit --write reader/models/minilm-newsqa

``collect`` needs the indexes that ``python bench/bench_news.py --prepare`` builds (the news archive, the SQuAD archive,
and each without its asked articles). ``fit``: features from reader/selector.py for every span candidate; label:
the span is right (F1 >= 0.5 against the gold answers; every span of an unanswerable or off-archive question is
wrong). LightGBM (binary, fixed seed, deterministic) is cross-fitted by article (5 folds) for out-of-fold scores;
the isotonic map from the best candidate's out-of-fold score to "right" makes the score a probability; the
operating point is the probability that maximises the rule below on those out-of-fold scores; the shipped model is
the same LightGBM fitted on every tune row.

The operating point's rule, fixed before any figure of it was computed (the previous operating point's mix): over
the open-setting questions of both domains, 0.8 x the answerable questions' F1 + 0.1 x the share of SQuAD's
unanswerable questions abstained on + 0.1 x the share of off-archive questions abstained on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa.atomic import write_atomic
from qa.metrics import score_prediction, selective
from reader.selector import FEATURES, SELECTOR_META, SELECTOR_MODEL, candidate_features
from training.calibrate import CORRECT_F1
from training.news_runs import RUNS_DEFAULT as RUNS, candidates, load, record
from training.splits import newsqa_tune_part
PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 40,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "seed": 0,
          "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbose": -1}
ROUNDS = 300
FOLDS = 5
MIX = {"answerable": 0.8, "adversarial": 0.1, "off": 0.1}


def row_features(row: dict) -> tuple[np.ndarray, list[str]]:
    """The features of a recorded row's candidates, and the candidates' texts."""
    cands = candidates(row)
    texts = [p["text"] for p in row["passages"]]
    scores = None if row["setting"] == "gold" else row["scores"]
    spans = [texts[c.passage_index][c.start_char : c.end_char] for c in cands]
    return candidate_features(row["question"], texts, scores, cands), spans


def table(rows: list[dict]) -> dict:
    """Every candidate's features, label and F1, with the question and article (group) it belongs to."""
    X, y, f1s, question, group = [], [], [], [], []
    articles: dict[str, int] = {}
    for qi, row in enumerate(rows):
        feats, spans = row_features(row)
        g = articles.setdefault(f"{row['domain']}:{row['title']}", len(articles))
        for f, span in zip(feats, spans):
            f1 = score_prediction(span, row["answers"])[1] if row["answers"] else 0.0
            X.append(f), y.append(f1 >= CORRECT_F1), f1s.append(f1), question.append(qi), group.append(g)
    return {"X": np.array(X, dtype=np.float32).reshape(-1, len(FEATURES)), "y": np.array(y, dtype=np.int32),
            "f1": np.array(f1s), "question": np.array(question), "group": np.array(group)}


def train(X: np.ndarray, y: np.ndarray):
    import lightgbm

    data = lightgbm.Dataset(X, y, feature_name=list(FEATURES), categorical_feature=["wh"], free_raw_data=False)
    return lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)


def best_per_question(raw: np.ndarray, t: dict, n_questions: int) -> tuple[np.ndarray, np.ndarray]:
    """Each question's best candidate: its raw score (-inf without candidates) and its F1."""
    top = np.full(n_questions, -np.inf)
    f1 = np.zeros(n_questions)
    for i in np.argsort(-raw, kind="stable"):
        q = t["question"][i]
        if top[q] == -np.inf:
            top[q], f1[q] = raw[i], t["f1"][i]
    return top, f1


def out_of_fold(t: dict) -> np.ndarray:
    """Each candidate's raw score from a model that never saw its article."""
    raw = np.zeros(len(t["y"]))
    groups = np.unique(t["group"])
    fold_of = {g: k % FOLDS for k, g in enumerate(np.random.default_rng(0).permutation(groups))}
    fold = np.array([fold_of[g] for g in t["group"]])
    for k in range(FOLDS):
        model = train(t["X"][fold != k], t["y"][fold != k])
        raw[fold == k] = model.predict(t["X"][fold == k], raw_score=True)
    return raw


def objective(prob: np.ndarray, f1: np.ndarray, kinds: np.ndarray, threshold: float) -> float:
    answer = prob >= threshold
    parts = {"answerable": np.where(answer, f1, 0.0)[kinds == "answerable"],
             "adversarial": (~answer)[kinds == "adversarial"], "off": (~answer)[kinds == "off"]}
    return float(sum(MIX[k] * v.mean() for k, v in parts.items() if len(v)) * 100)


def kind(row: dict) -> str:
    return "off" if row["setting"] == "off" else "answerable" if row["answers"] else "adversarial"


def fit(paths: list[Path], write: Path | None, reader_trained_on_news: bool = False) -> dict:
    """``reader_trained_on_news``: the served reader was fine-tuned on the NewsQA tune-train articles, so their
    questions are left out (the selector must learn from questions the reader never saw)."""
    from sklearn.isotonic import IsotonicRegression

    rows = [r for p in paths for r in load(p)]
    if any(r["split"] != "tune" for r in rows):
        raise SystemExit("the selector is fitted on the tune half only: these rows include another split")
    if reader_trained_on_news:
        rows = [r for r in rows if r["domain"] != "newsqa" or newsqa_tune_part(r["title"]) == "tune-check"]
    t = table(rows)
    oof = out_of_fold(t)
    top, f1 = best_per_question(oof, t, len(rows))
    has = np.isfinite(top)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(top[has], (f1[has] >= CORRECT_F1).astype(float))
    prob = np.where(has, iso.predict(np.where(has, top, 0.0)), 0.0)
    kinds = np.array([kind(r) for r in rows])
    open_rows = np.array([r["setting"] != "gold" for r in rows])
    cuts = np.unique(prob[open_rows & has])
    totals = [objective(prob[open_rows], f1[open_rows], kinds[open_rows], c) for c in cuts]
    threshold = float(cuts[int(np.argmax(totals))])
    # Reader-only (each question given its own article or paragraph: evaluation, not a channel) has no off-archive
    # questions and its own mix: the probability that maximises the mean of the two domains' reader-only F1.
    gold_rows = ~open_rows & has
    domains = np.array([r["domain"] for r in rows])
    gold_totals = [np.mean([np.where(prob[m] >= c, f1[m], kinds[m] != "answerable").mean()
                            for m in (gold_rows & (domains == d) for d in np.unique(domains[gold_rows]))])
                   for c in np.unique(prob[gold_rows])] if gold_rows.any() else []
    threshold_gold = float(np.unique(prob[gold_rows])[int(np.argmax(gold_totals))]) if gold_totals else threshold
    figures = {}
    for domain in sorted({r["domain"] for r in rows}):
        for setting in ("gold", "open", "off"):
            m = np.array([r["domain"] == domain and r["setting"] == setting for r in rows])
            if not m.any():
                continue
            answered = prob[m] >= (threshold_gold if setting == "gold" else threshold)
            has_ans = kinds[m] == "answerable"
            figures[f"{domain}_{setting}"] = {
                "questions": int(m.sum()), "answered": round(float(answered.mean()) * 100, 1),
                "f1": round(float(np.where(answered, f1[m], ~has_ans).mean()) * 100, 2),
                "f1_never_abstaining": round(float(f1[m][has_ans].mean()) * 100, 2) if has_ans.any() else None,
                "ece": selective(prob[m], f1[m] >= CORRECT_F1).get("ece")}
    model = train(t["X"], t["y"])
    meta = {"features": list(FEATURES), "threshold": round(threshold, 4), "threshold_gold": round(threshold_gold, 4),
            "isotonic": {"x": [float(v) for v in iso.X_thresholds_], "y": [float(v) for v in iso.y_thresholds_]},
            "label": f"span F1 >= {CORRECT_F1} against the gold answers", "params": PARAMS, "rounds": ROUNDS,
            "trained_on": sorted({f"{r['domain']} {r['split']} {r['setting']}" for r in rows}),
            "newsqa_articles": "tune-check only (the reader trained on tune-train)" if reader_trained_on_news
            else "the whole tune half", "questions": len(rows), "candidates": int(len(t["y"])),
            "operating_point_rule": "max over tune out-of-fold probabilities of " + ", ".join(
                f"{v} x {k}" for k, v in MIX.items()) + " (open setting, both domains)",
            "operating_point_rule_gold": "max over tune out-of-fold probabilities of the mean of the two domains' "
                                         "reader-only F1",
            "tune_objective": round(max(totals), 2), "tune_out_of_fold": figures}
    if write is not None:
        write.mkdir(parents=True, exist_ok=True)
        model.save_model(str(write / SELECTOR_MODEL))
        write_atomic(write / SELECTOR_META, json.dumps(meta, indent=1) + "\n")
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("collect", help="record the tune half's questions in every setting (needs the bench's indexes)")
    p.add_argument("--split", default="tune", choices=("tune", "report"))
    p.add_argument("--runs", type=Path, default=RUNS)
    p.add_argument("--limit", type=int, default=None, help="at most this many questions per domain (a quick try)")
    p.add_argument("--ranker-folds", type=Path, default=None,
                   help="retrieve each tune question with the passage ranker that never saw its article "
                        "(python -m training.ranker folds --write DIR)")
    p = sub.add_parser("fit", help="fit the selector on recorded tune rows")
    p.add_argument("rows", type=Path, nargs="*", help="row files (default: runs/news/rows-tune-*.jsonl.gz)")
    p.add_argument("--write", type=Path, default=None, help="model directory to write selector.txt/.json into")
    p.add_argument("--reader-trained-on-news", action="store_true",
                   help="leave out the NewsQA tune-train articles (the served reader was fine-tuned on them)")
    args = parser.parse_args(argv)
    if args.command == "collect":
        record(args.runs, args.split, args.limit, ranker_folds=args.ranker_folds)
    else:
        paths = args.rows or sorted(RUNS.glob("rows-tune-*.jsonl.gz"))
        meta = fit(paths, args.write, args.reader_trained_on_news)
        print(json.dumps({k: v for k, v in meta.items() if k not in ("isotonic", "params")}, indent=1))


if __name__ == "__main__":
    main()
