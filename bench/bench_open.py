"""The open setting at archive size: SQuAD 1.1 dev questions through the whole pipeline, archive vs articles alone.

The archive is an index of the 16 clean SQuAD 1.1 dev articles (plus the tune articles) and SQuAD train
articles as distractors (about 20,000 paragraphs), built by:

    python -m training.open_setting corpus runs/open/articles.jsonl --distractors 19000
    QA_INDEX_DIR=runs/open/index qa index --replace runs/open/articles.jsonl

Then, with the default settings (hybrid retrieval, top 5, the shipped reader at its open-setting operating
point), the clean dev articles' questions are asked of that archive and of an index of those articles alone,
one question at a time. Prints EM/F1, recall@5 and per-question p50/p95 for both, and the p50 ratio.

    python bench/bench_open.py runs/open/index [--limit 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SQUAD1 = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1-public.json.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index_dir", type=Path, help="the archive's index (see above)")
    parser.add_argument("--limit", type=int, default=None, help="a seeded sample of this many questions")
    args = parser.parse_args()
    from qa.offline import go_offline

    go_offline()
    from evaluation.evaluate import evaluate, load_gold, squad_corpus_jsonl
    from qa.metrics import GoldItem
    from service.application import Application
    from service.settings import Settings
    from training.splits import SQUAD1_EXCLUDED

    gold = [g for g in load_gold(SQUAD1) if g.title not in SQUAD1_EXCLUDED]
    if args.limit is not None and args.limit < len(gold):
        gold = random.Random(0).sample(gold, args.limit)
    # Retrieval hits count only in the question's own article (the archive's ids are the article titles).
    asked = [GoldItem(g.id, g.question, g.answers, g.title) for g in gold]
    out = {"questions": len(gold), "articles": len({g.title for g in gold})}
    archive = Application.load(Settings().with_(index={"index_dir": args.index_dir}), refresh=False,
                               log=lambda m: print(m, file=sys.stderr))
    out["archive_passages"] = archive.index.passage_count()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = squad_corpus_jsonl([g for g in load_gold(SQUAD1) if g.title in {x.title for x in gold}],
                                    Path(tmp) / "articles.jsonl")
        alone = Application.load(Settings().with_(index={"index_dir": Path(tmp) / "index", "corpus": [corpus]}),
                                 build_if_missing=True, log=lambda m: None)
        out["alone_passages"] = alone.index.passage_count()
        for name, service in (("articles_alone", alone), ("archive", archive)):
            figures = evaluate(service.pipeline(), asked, top_k=5)
            out[name] = {k: figures[k] for k in ("exact", "f1", "recall_at_1", "recall_at_5", "latency_ms_p50",
                                                  "latency_ms_p95")}
            print(name, json.dumps(out[name]), file=sys.stderr)
    out["p50_ratio_archive_to_alone"] = round(out["archive"]["latency_ms_p50"] / out["articles_alone"]["latency_ms_p50"], 2)
    out["machine"] = f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}"
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
