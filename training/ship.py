"""Turn a trained checkpoint into the shipped reader: export, quantize, calibrate, measure.

    python -m training.ship runs/continue/final reader/models/minilm-newsqa \\
        --squad2 ../shared/data/squad/dev-v2.0-public.json.gz --squad1 ../shared/data/squad/dev-v1.1-public.json.gz

The threshold and the score calibration are fitted on the TUNE articles only, with the quantized
model that is served; figures are measured on the REPORT articles (SQuAD 2.0) and on the clean
SQuAD 1.1 articles, none of which anything was trained or tuned on. ``figures.json`` records them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from evaluation.evaluate import load_gold
from qa.metrics import GoldItem
from reader.decode import Calibration
from reader.onnx_reader import MODEL_FILE, OnnxReader
from training.calibrate import best_spans, best_threshold, calibrate, reliability_table, squad2_scores
from training.export import default_exclusions, export_onnx, matmul_nodes, quantized_copy
from training.splits import REPORT, SQUAD1_EXCLUDED, TUNE

def _subset(gold: list[GoldItem], titles) -> list[GoldItem]:
    keep = set(titles)
    return [g for g in gold if g.title in keep]


def ship(model_dir: Path, out_dir: Path, squad2: Path, squad1: Path | None, exclude: list[str] | None = None,
         log=print) -> dict:
    squad2_gold = load_gold(squad2)
    tune, report = _subset(squad2_gold, TUNE), _subset(squad2_gold, REPORT)
    figures: dict = {"tune_split": {"file": squad2.name, "articles": list(TUNE), "questions": len(tune)},
                     "report_split": {"file": squad2.name, "articles": list(REPORT), "questions": len(report)}}
    with tempfile.TemporaryDirectory() as tmp:
        fp32_dir = Path(tmp) / "fp32"
        t0 = time.perf_counter()
        export_onnx(model_dir, fp32_dir)
        if exclude is None:
            exclude = default_exclusions(matmul_nodes(fp32_dir / MODEL_FILE))
        int8_dir = quantized_copy(fp32_dir, Path(tmp) / "int8", exclude)
        log(f"exported and quantized in {time.perf_counter() - t0:.0f}s; kept in fp32: {exclude or 'none'}")

        readers = {"fp32": OnnxReader(str(fp32_dir), calibration=Calibration()),
                   "int8": OnnxReader(str(int8_dir), calibration=Calibration())}
        calibrations = {}
        for name, reader in readers.items():
            spans = best_spans(reader, tune)
            calibrations[name] = calibrate(spans, tuned_on=f"{squad2.name}: {', '.join(TUNE)}")
            figures[f"tune_{name}"] = squad2_scores(spans, calibrations[name].threshold)
            log(f"tune {name}: threshold {calibrations[name].threshold:.2f} {figures[f'tune_{name}']}")
        for name, reader in readers.items():
            t0 = time.perf_counter()
            spans = best_spans(reader, report)
            figures[f"squad2_report_{name}"] = {
                **squad2_scores(spans, calibrations[name].threshold),
                "ms_per_question": round((time.perf_counter() - t0) * 1000 / len(report), 1),
                # For comparison: the threshold that would have been best on the report split itself.
                "oracle_threshold_f1": squad2_scores(spans, best_threshold(spans))["f1"],
            }
            log(f"SQuAD 2.0 report {name}: {figures[f'squad2_report_{name}']}")
            if name == "int8":
                figures["reliability_report_int8"] = reliability_table(spans, calibrations[name])
        if squad1 is not None:
            clean = [g for g in load_gold(squad1) if g.title not in set(SQUAD1_EXCLUDED)]
            figures["squad1_split"] = {"file": squad1.name, "articles": sorted({g.title for g in clean}),
                                       "questions": len(clean)}
            for name, reader in readers.items():
                spans = best_spans(reader, clean)
                figures[f"squad1_{name}"] = {"never_abstaining": squad2_scores(spans, float("-inf")),
                                             "with_threshold": squad2_scores(spans, calibrations[name].threshold)}
                log(f"SQuAD 1.1 clean {name}: {figures[f'squad1_{name}']}")

        out_dir.mkdir(parents=True, exist_ok=True)
        for path in int8_dir.iterdir():
            shutil.copy2(path, out_dir / path.name)
    calibration = calibrations["int8"]
    (out_dir / "calibration.json").write_text(json.dumps(calibration.to_dict(), indent=2) + "\n")
    figures["quantization"] = {"scheme": "dynamic int8, per-channel weights, MatMul + Gather", "excluded": exclude}
    training = model_dir / "training.json"
    if training.is_file():
        figures["training"] = json.loads(training.read_text())
    (out_dir / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="trained PyTorch QA model (e.g. runs/continue/final)")
    parser.add_argument("out_dir", type=Path, help="where the shipped reader goes")
    parser.add_argument("--squad2", type=Path, required=True, help="dev-v2.0-public.json(.gz): tune and report splits")
    parser.add_argument("--squad1", type=Path, help="dev-v1.1-public.json(.gz): the clean SQuAD 1.1 figure")
    parser.add_argument("--exclude", action="append", default=None, metavar="NODE",
                        help="ONNX MatMul node kept in fp32 (repeatable; default: export.default_exclusions)")
    args = parser.parse_args(argv)
    if not (args.model_dir / "config.json").is_file():
        parser.exit(2, f"error: {args.model_dir}: not a trained model directory (no config.json)\n")
    try:
        ship(args.model_dir, args.out_dir, args.squad2, args.squad1, args.exclude)
    except (OSError, ValueError) as exc:  # unreadable SQuAD file (GoldFormatError) or model
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
