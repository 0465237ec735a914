"""Choose the hybrid retriever's fusion weights on the TUNE half's questions (NewsQA and SQuAD 2.0), never on report.

    python -m training.retrieval [--runs runs/news]

Each tune question's candidate pool is scored once (dense, BM25, article of each passage); then every pair of
``LEXICAL_WEIGHTS`` x ``ARTICLE_WEIGHTS`` is tried. The rule, fixed before any figure was seen: the pair with the
highest mean of the two domains' recall@5 (gold paragraph among the 5 passages read) wins; ties go to the smaller
weights. It prints the grid and the winner; the settings' defaults (service/settings.py) are set to it by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from retriever.hybrid import fuse
from training.news_runs import RUNS_DEFAULT, TOP_K, _hit_rank, layout, questions_of

LEXICAL_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
ARTICLE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)


def pools(runs: Path, split: str = "tune") -> dict[str, list[dict]]:
    """Per domain: each answerable question's pool (rows' dense and BM25 scores, documents, gold flags)."""
    from retriever.hybrid import HybridRetriever
    from service.application import Application
    from service.settings import Settings

    out = {}
    for domain in ("newsqa", "squad"):
        app = Application.load(Settings().with_(index={"index_dir": layout(runs)[domain]}), build_if_missing=False,
                               refresh=False)
        retriever = HybridRetriever(app.index)
        width = retriever.candidates
        qs = [q for q in questions_of(domain, split) if q.answers]
        vectors = app.embedder.encode([q.question for q in qs])
        _, dense_rows = app.index.search(vectors, width)
        found = []
        for q, v, rows in zip(qs, vectors, dense_rows):
            pool = retriever.pool(q.question, v, rows, width)
            passages = app.index.passages_at(pool.rows)
            gold = np.array([_hit_rank([passages[int(r)]], q) == 0 if int(r) in passages else False
                             for r in pool.rows])
            found.append({"pool": pool, "docs": app.index.documents_of(pool.rows), "gold": gold})
        out[domain] = found
        app.index.close()
    return out


def recall(found: list[dict], lexical_weight: float, article_weight: float, k: int = TOP_K) -> float:
    hits = []
    for f in found:
        if not len(f["pool"].rows):
            hits.append(False)
            continue
        order = np.argsort(-fuse(f["pool"], f["docs"], lexical_weight, article_weight), kind="stable")[:k]
        hits.append(bool(f["gold"][order].any()))
    return float(np.mean(hits)) * 100


def choose(by_domain: dict[str, list[dict]]) -> dict:
    grid = []
    for lw in LEXICAL_WEIGHTS:
        for aw in ARTICLE_WEIGHTS:
            per = {d: round(recall(found, lw, aw), 2) for d, found in by_domain.items()}
            grid.append({"lexical_weight": lw, "article_weight": aw, **per,
                         "mean": round(float(np.mean(list(per.values()))), 2)})
    best = max(grid, key=lambda g: (g["mean"], -g["lexical_weight"], -g["article_weight"]))
    return {"chosen": best, "current": next(g for g in grid if g["lexical_weight"] == 0.3 and g["article_weight"] == 0),
            "grid": grid}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=RUNS_DEFAULT)
    args = parser.parse_args(argv)
    result = choose(pools(args.runs))
    print(json.dumps({k: v for k, v in result.items() if k != "grid"}, indent=1))
    for g in result["grid"]:
        print(g)


if __name__ == "__main__":
    main()
