"""The int8 ONNX embedder against plain sentence-transformers (fp32): recall@5 and indexing speed, one run.

On the open-setting set: the paragraphs of the clean SQuAD 1.1 dev articles (never trained or tuned on)
are the corpus and their questions are asked; recall@5 is the share of questions whose gold paragraph is
among the 5 nearest. Speed: passages/s of ``build_index`` (what ``qa index`` runs: read, embed, write the
store) with the ONNX embedder, against sentence-transformers ``encode()`` alone on the same paragraphs.

    python bench/bench_embedder.py [--paragraphs 1500]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SQUAD1 = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1-public.json.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paragraphs", type=int, default=1500, help="at most this many paragraphs")
    args = parser.parse_args()
    from qa.offline import go_offline

    go_offline()
    from reader.squad import load_squad
    from retriever.embedder import SentenceTransformerEmbedder
    from retriever.onnx_embedder import OnnxEmbedder
    from service.indexing import build_index
    from training.splits import SQUAD1_EXCLUDED

    examples = [e for e in load_squad(SQUAD1) if e.title not in SQUAD1_EXCLUDED]
    paragraphs = list(dict.fromkeys(e.context for e in examples))[: args.paragraphs]
    at = {p: i for i, p in enumerate(paragraphs)}
    asked = [(e.question, at[e.context]) for e in examples if e.context in at]
    out = {"paragraphs": len(paragraphs), "questions": len(asked)}
    for name, embedder in (("sentence-transformers fp32", SentenceTransformerEmbedder()), ("onnx int8", OnnxEmbedder())):
        embedder.warm_up()
        embedder.encode(paragraphs[:32])  # warm
        t = time.perf_counter()
        vectors = embedder.encode(paragraphs)
        seconds = time.perf_counter() - t
        questions = embedder.encode([q for q, _ in asked])
        top = np.argsort(-(questions @ vectors.T), axis=1)[:, :5]
        recall = float(np.mean([gold in row for (_, gold), row in zip(asked, top)]))
        out[name] = {"encode_passages_per_s": round(len(paragraphs) / seconds, 1), "recall_at_5": round(100 * recall, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        src.write_text("".join(json.dumps({"id": f"p{i}", "title": "Dev", "text": p}) + "\n"
                               for i, p in enumerate(paragraphs)), encoding="utf-8")
        t = time.perf_counter()
        report = build_index([src], OnnxEmbedder(), Path(tmp) / "index")
        seconds = time.perf_counter() - t
    out["qa_index_passages_per_s"] = round(report.index.passage_count() / seconds, 1)
    base = out["sentence-transformers fp32"]["encode_passages_per_s"]
    out["ratio_qa_index_to_st_encode"] = round(out["qa_index_passages_per_s"] / base, 2)
    out["recall_at_5_drop"] = round(out["sentence-transformers fp32"]["recall_at_5"] - out["onnx int8"]["recall_at_5"], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
