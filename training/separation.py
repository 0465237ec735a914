"""How well a trained reader tells answerable questions from unanswerable ones: the AUC of the span/null
margin against the AUC of the jointly trained answerability head, on the tune articles only (gold paragraph
given, fp32 PyTorch).

    python -m training.separation runs/stage4/final --squad2 ../shared/data/squad/dev-v2.0-public.json.gz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from evaluation.evaluate import load_gold
from training.splits import TUNE


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive outranks a random negative (ties half)."""
    scores = np.where(np.isfinite(scores), scores, -1e9)
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="stable")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(values):  # average ranks over ties
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def separation(model_dir: Path, squad2: Path, titles=TUNE) -> dict:
    import torch
    from transformers import AutoModelForQuestionAnswering

    from reader.decode import Calibration
    from reader.transformers_reader import TransformersReader
    from training.answerability import HEAD_FILE, make_head, window_logits
    from training.calibrate import best_spans

    gold = [g for g in load_gold(squad2) if g.title in set(titles)]
    reader = TransformersReader(str(model_dir), calibration=Calibration())
    reader.warm_up()
    spans = best_spans(reader, gold)
    positive = np.array([bool(g.answers) for g in gold])
    out = {"questions": len(gold), "answerable": int(positive.sum()), "articles": list(titles),
           "margin_auc": round(auc(spans.margin, positive), 4)}
    if (model_dir / HEAD_FILE).is_file():
        model = AutoModelForQuestionAnswering.from_pretrained(model_dir, local_files_only=True).eval()
        head = make_head(model, model_dir).eval()
        head_scores = []
        for g in gold:
            f = reader.preprocess([g.question], [g.context])
            batch = {"input_ids": torch.as_tensor(f.input_ids), "attention_mask": torch.as_tensor(f.attention_mask)}
            if f.token_type_ids is not None:
                batch["token_type_ids"] = torch.as_tensor(f.token_type_ids)
            # Answerable when some window of the paragraph answers.
            head_scores.append(float(window_logits(model, head, batch)[2].max()))
        out["head_auc"] = round(auc(np.array(head_scores), positive), 4)
        combined = np.array(head_scores) + spans.margin / max(float(np.nanstd(spans.margin[np.isfinite(spans.margin)])), 1e-6)
        out["margin_plus_head_auc"] = round(auc(combined, positive), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--squad2", type=Path, required=True)
    args = parser.parse_args(argv)
    if not (args.model_dir / "config.json").is_file():
        print(f"error: {args.model_dir}: not a trained model directory (no config.json)", file=sys.stderr)
        return 2
    print(json.dumps(separation(args.model_dir, args.squad2), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
