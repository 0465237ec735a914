"""Benchmark: the reader's accuracy figures, as README and the model card report them.

SQuAD 2.0 dev (reader-only) on the REPORT articles, SQuAD 1.1 dev (reader-only) on the clean
articles, and the seed article's gold sets through the full pipeline (fresh index of the default
corpus in a temp dir). Splits: training/splits.py. Nothing here tunes anything.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SQUAD = ROOT.parent / "shared" / "data" / "squad"


def line(name: str, f: dict) -> str:
    return (f"{name:<44} n={f['total']:<5} EM {f['exact']:>5}  F1 {f['f1']:>5}  HasAns F1 {f['HasAns_f1']}  "
            f"NoAns {f['NoAns_exact']}  p50 {f['latency_ms_p50']:.1f} ms/q")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad-dir", type=Path, default=SQUAD)
    parser.add_argument("--skip-squad", action="store_true", help="only the seed-article figures")
    args = parser.parse_args()
    from qa.offline import go_offline

    go_offline()

    from evaluation.evaluate import evaluate, evaluate_reader, load_gold
    from service.application import Application, reader_from
    from service.settings import Settings
    from training.splits import REPORT, SQUAD1_EXCLUDED

    settings = Settings()
    if not args.skip_squad:
        reader = reader_from(settings, setting="gold")
        reader.warm_up()
        v2 = [g for g in load_gold(args.squad_dir / "dev-v2.0-public.json.gz") if g.title in REPORT]
        print(line(f"SQuAD 2.0 dev, reader-only, {len(REPORT)} report articles", evaluate_reader(reader, v2)))
        v1 = [g for g in load_gold(args.squad_dir / "dev-v1.1-public.json.gz") if g.title not in SQUAD1_EXCLUDED]
        n_articles = len({g.title for g in v1})
        print(line(f"SQuAD 1.1 dev, reader-only, {n_articles} clean articles", evaluate_reader(reader, v1)))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        service = Application.load(settings.with_(index={"index_dir": Path(tmp) / "index"}), build_if_missing=True,
                                   log=lambda msg: None)
        print(f"(default corpus indexed and models loaded in {time.perf_counter() - t0:.1f}s)")
        for name in ("heldout_gold.jsonl", "heldout2_gold.jsonl", "dev_gold.jsonl"):
            path = ROOT / "tests" / "data" / name
            if path.is_file():
                f = evaluate(service.pipeline(), load_gold(path), top_k=5)
                print(line(f"seed article, full pipeline, {name}", f) + f"  recall@5 {f['recall_at_5']}")
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
