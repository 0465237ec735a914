"""Compare candidate models on the TUNE articles only, as served (int8, several quantization schemes) and in fp32.

    python -m training.candidates runs/continue/final runs/stage3/final \\
        --squad2 ../shared/data/squad/dev-v2.0-public.json.gz

Each figure is SQuAD 2.0 F1 at the threshold best on those same articles, the rule ``ship.py``
applies; the report articles are never read, so choosing by these figures tunes on nothing reported.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from evaluation.evaluate import load_gold
from reader.decode import Calibration
from reader.onnx_reader import MODEL_FILE, OnnxReader
from training.calibrate import best_spans, best_threshold, squad2_scores
from training.export import default_exclusions, export_onnx, ffn_output_nodes, matmul_nodes, quantized_copy
from training.splits import TUNE


def exclusion_sets(nodes: list[str]) -> dict[str, list[str]]:
    """Named sets of MatMuls kept in fp32: the default and its neighbours."""
    ffn_out = ffn_output_nodes(nodes)
    ffn_in_0_1 = [n for n in nodes if "/intermediate/dense/" in n and ("/layer.0/" in n or "/layer.1/" in n)]
    head = [n for n in nodes if "qa_outputs" in n]
    return {"default": default_exclusions(nodes), "ffn_out_0-2": ffn_output_nodes(nodes, (0, 1, 2)),
            "ffn_out_all": ffn_out, "default+head": default_exclusions(nodes) + head,
            "ffn_0-1_in+out": ffn_output_nodes(nodes, (0, 1)) + ffn_in_0_1, "ffn_out_all+head": ffn_out + head}


def _tune_f1(model_dir: Path, gold) -> dict:
    spans = best_spans(OnnxReader(str(model_dir), calibration=Calibration()), gold)
    scores = squad2_scores(spans, best_threshold(spans))
    return {key: scores[key] for key in ("f1", "HasAns_f1", "NoAns_exact", "total")}


def compare(model_dirs: list[Path], squad2: Path, titles=TUNE, log=print, schemes: set[str] | None = None) -> list[dict]:
    """Tune-article figures of each model in fp32 and int8 under each exclusion set (only ``schemes`` when given)."""
    gold = [g for g in load_gold(squad2) if g.title in set(titles)]
    rows = []
    for model_dir in model_dirs:
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "fp32"
            export_onnx(model_dir, fp32)
            rows.append({"model": str(model_dir), "scheme": "fp32", **_tune_f1(fp32, gold)})
            log(json.dumps(rows[-1]))
            for name, exclude in exclusion_sets(matmul_nodes(fp32 / MODEL_FILE)).items():
                if schemes is not None and name not in schemes:
                    continue
                int8 = quantized_copy(fp32, Path(tmp) / name, exclude)
                rows.append({"model": str(model_dir), "scheme": f"int8 {name}", **_tune_f1(int8, gold)})
                log(json.dumps(rows[-1]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dirs", nargs="+", type=Path, help="trained PyTorch QA models")
    parser.add_argument("--squad2", type=Path, required=True, help="dev-v2.0-public.json(.gz)")
    parser.add_argument("--schemes", default=None, metavar="NAMES",
                        help="comma-separated int8 exclusion sets to measure (default: all; 'default' is the served one)")
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.model_dirs if not (d / "config.json").is_file()]
    if missing:
        parser.exit(2, f"error: not a trained model directory (no config.json): {', '.join(missing)}\n")
    try:
        compare(args.model_dirs, args.squad2, schemes=None if args.schemes is None else set(args.schemes.split(",")))
    except (OSError, ValueError) as exc:  # unreadable SQuAD file (GoldFormatError) or model
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
