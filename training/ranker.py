"""Fit the learned passage ranker on the TUNE half's questions (NewsQA and SQuAD 2.0), never on report.

    python -m training.ranker fit [--runs runs/news] [--write retriever/models/ranker]
    python -m training.ranker folds --write runs/news/ranker-folds   # for cross-fitted recording of tune questions

Every answerable tune question is retrieved once as the service does: the hybrid pool (dense and BM25 top 50),
widened by every passage of its best ``EXPAND_ARTICLES`` articles, each passage with the features of
``retriever/ranker.py`` (the same function serving calls) and the label "is (part of) the gold paragraph and holds
an answer". LightGBM LambdaRank (fixed seed, deterministic) is cross-fitted by article (5 folds) to compare, on
the same pools, the out-of-fold recall@5 against the fixed fusion's (BM25 share and article term of the settings);
the shipped model is fitted on every tune question (about a minute on 2 cores; the same file every run). Needs the
indexes ``python bench/bench_news.py --prepare`` builds.

The rule for serving it by default, fixed before any report figure was computed: the mean over the two domains of
the out-of-fold recall@5 beats the fixed fusion's by at least ``SHIP_MARGIN`` points.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qa.atomic import write_atomic
from retriever.ranker import DEFAULT_DIR, EXPAND_ARTICLES, FEATURES, RANKER_META, RANKER_MODEL
from training.news_runs import RUNS_DEFAULT, TOP_K, _hit_rank, layout, questions_of

PARAMS = {"objective": "lambdarank", "lambdarank_truncation_level": 10, "learning_rate": 0.05, "num_leaves": 15,
          "min_data_in_leaf": 40, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
          "lambda_l2": 1.0, "seed": 0, "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbose": -1}
ROUNDS = 300
FOLDS = 5
SHIP_MARGIN = 1.0


def pools(runs: Path, split: str = "tune") -> list[dict]:
    """Every answerable question of ``split`` in both domains: its pool's features, fused scores and gold flags."""
    from retriever.hybrid import HybridRetriever
    from service.application import Application
    from service.settings import Settings

    out = []
    for domain in ("newsqa", "squad"):
        # The shipped ranker plays no part (and may be the one being replaced, fitted on other features).
        settings = Settings().with_(index={"index_dir": layout(runs)[domain]}, retrieval={"ranker": False})
        app = Application.load(settings, build_if_missing=False, refresh=False)
        r = settings.retrieval
        retriever = HybridRetriever(app.index, r.lexical_weight, article_weight=r.article_weight)
        width = retriever.candidates
        qs = [q for q in questions_of(domain, split) if q.answers]
        vectors = app.embedder.encode([q.question for q in qs])
        _, dense_rows = app.index.search(vectors, width)
        for q, v, rows in zip(qs, vectors, dense_rows):
            features, fused, pool = retriever.ranked_pool(q.question, v, retriever.pool(q.question, v, rows, width))
            passages = app.index.passages_at(pool.rows)
            gold = np.array([int(r) in passages and _hit_rank([passages[int(r)]], q) == 0 for r in pool.rows])
            out.append({"domain": domain, "article": f"{domain}:{q.title}", "X": features, "fused": fused,
                        "gold": gold})
        app.index.close()
    return out


def train(found: list[dict]):
    import lightgbm

    found = [f for f in found if len(f["gold"])]
    data = lightgbm.Dataset(np.vstack([f["X"] for f in found]), np.concatenate([f["gold"] for f in found]).astype(int),
                            group=[len(f["gold"]) for f in found], feature_name=list(FEATURES),
                            categorical_feature=["wh"], free_raw_data=False)
    return lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)


def folds_of(found: list[dict]) -> dict[str, int]:
    """Each article's fold (seeded: the same every run)."""
    articles = sorted({f["article"] for f in found})
    return {str(a): k % FOLDS for k, a in enumerate(np.random.default_rng(0).permutation(articles))}


def out_of_fold(found: list[dict]) -> list[np.ndarray]:
    """Each question's pool scored by a model that never saw its article."""
    fold_of = folds_of(found)
    scores: list[np.ndarray] = [np.zeros(0)] * len(found)
    for k in range(FOLDS):
        model = train([f for f in found if fold_of[f["article"]] != k])
        for i, f in enumerate(found):
            if fold_of[f["article"]] == k and len(f["gold"]):
                scores[i] = model.predict(f["X"])
    return scores


def recall_at(found: list[dict], scores: list[np.ndarray], k: int = TOP_K) -> float:
    return float(np.mean([bool(f["gold"][np.argsort(-s, kind="stable")[:k]].any()) if len(s) else False
                          for f, s in zip(found, scores)])) * 100


def fit(runs: Path, write: Path | None) -> dict:
    found = pools(runs)
    oof = out_of_fold(found)
    figures = {}
    for domain in ("newsqa", "squad"):
        part = [i for i, f in enumerate(found) if f["domain"] == domain]
        sub = [found[i] for i in part]
        figures[domain] = {"questions": len(part),
                           "in_pool": round(float(np.mean([f["gold"].any() for f in sub])) * 100, 1)}
        for k in (1, TOP_K, 20):
            figures[domain][f"fused_recall@{k}"] = round(recall_at(sub, [f["fused"] for f in sub], k), 1)
            figures[domain][f"ranker_recall@{k}"] = round(recall_at(sub, [oof[i] for i in part], k), 1)
    fused_mean = np.mean([figures[d][f"fused_recall@{TOP_K}"] for d in figures])
    ranker_mean = np.mean([figures[d][f"ranker_recall@{TOP_K}"] for d in figures])
    meta = {"features": list(FEATURES), "expand_articles": EXPAND_ARTICLES, "params": PARAMS, "rounds": ROUNDS,
            "label": "the passage is (part of) the gold paragraph and holds an answer",
            "trained_on": "answerable questions of the NewsQA tune articles (news archive) and the SQuAD 2.0 tune "
                          "articles (SQuAD archive), training/splits.py",
            "questions": len(found), "passages": int(sum(len(f["gold"]) for f in found)),
            "rule": f"served by default if the two domains' mean out-of-fold recall@{TOP_K} beats the fixed fusion's "
                    f"by at least {SHIP_MARGIN} points",
            "tune_out_of_fold": figures, f"mean_recall@{TOP_K}": {"fused": round(float(fused_mean), 2),
                                                                  "ranker": round(float(ranker_mean), 2)},
            "rule_met": bool(ranker_mean >= fused_mean + SHIP_MARGIN)}
    if write is not None:
        write.mkdir(parents=True, exist_ok=True)
        train(found).save_model(str(write / RANKER_MODEL))
        write_atomic(write / RANKER_META, json.dumps(meta, indent=1) + "\n")
    return meta


def write_folds(runs: Path, out: Path) -> dict:
    """The five fold models (each fitted without one fold's articles) and which fold each article is in: what
    recording the tune questions needs so that no question is retrieved by a ranker fitted on it (the selector and
    the reader's operating point are then chosen on retrieval as good as on unseen questions)."""
    found = pools(runs)
    fold_of = folds_of(found)
    meta = {"features": list(FEATURES), "expand_articles": EXPAND_ARTICLES, "params": PARAMS, "rounds": ROUNDS}
    for k in range(FOLDS):
        (out / f"fold-{k}").mkdir(parents=True, exist_ok=True)
        train([f for f in found if fold_of[f["article"]] != k]).save_model(str(out / f"fold-{k}" / RANKER_MODEL))
        write_atomic(out / f"fold-{k}" / RANKER_META, json.dumps({**meta, "fold": k}, indent=1) + "\n")
    write_atomic(out / "folds.json", json.dumps(fold_of, indent=1, sort_keys=True) + "\n")
    return {"folds": FOLDS, "articles": len(fold_of)}


def fold_rankers(folds: Path):
    """``ranker_of(question)``: the fold ranker that never saw the question's article (the shipped one for an
    article outside the folds: a report question)."""
    from retriever.ranker import PassageRanker, shipped

    fold_of = json.loads((folds / "folds.json").read_text(encoding="utf-8"))
    rankers = [PassageRanker(folds / f"fold-{k}") for k in range(FOLDS)]

    def ranker_of(question) -> PassageRanker:
        k = fold_of.get(f"{question.domain}:{question.title}")
        return shipped() if k is None else rankers[k]

    return ranker_of


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fit", help="fit the ranker on the tune questions and print its out-of-fold figures")
    p.add_argument("--runs", type=Path, default=RUNS_DEFAULT, help="the bench's indexes (bench_news.py --prepare)")
    p.add_argument("--write", type=Path, default=None, help=f"where to write {RANKER_MODEL}/{RANKER_META} "
                                                               f"(the shipped one: {DEFAULT_DIR})")
    p = sub.add_parser("folds", help="write the five fold models for cross-fitted recording (training.selector "
                                     "collect --ranker-folds)")
    p.add_argument("--runs", type=Path, default=RUNS_DEFAULT)
    p.add_argument("--write", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "folds":
        print(json.dumps(write_folds(args.runs, args.write)))
    else:
        print(json.dumps({k: v for k, v in fit(args.runs, args.write).items() if k != "params"}, indent=1))


if __name__ == "__main__":
    main()
