"""SQuAD-style evaluation (EM/F1 with the official normalisation) of the pipeline on gold JSONL."""

from __future__ import annotations

import collections
import json
import re
import string
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.pipeline import QAPipeline


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official SQuAD script)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        # SQuAD 2.0: no-answer matches no-answer only.
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def score_prediction(prediction: str, golds: list[str]) -> tuple[float, float]:
    """(EM, F1), max over gold answers; an empty gold list means the question is unanswerable."""
    golds = golds or [""]
    return max(exact_match(prediction, g) for g in golds), max(f1(prediction, g) for g in golds)


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answers: list[str]
    doc_id: str | None = None


class GoldFormatError(ValueError):
    pass


def load_gold(path: Path) -> list[GoldItem]:
    items = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            items.append(GoldItem(str(rec["id"]), rec["question"], list(rec.get("answers") or []), rec.get("doc_id")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise GoldFormatError(f"{path}:{lineno}: expected {{\"id\", \"question\", \"answers\"}} ({exc})") from exc
    if not items:
        raise GoldFormatError(f"{path}: no questions")
    return items


def _pct(values: list[float]) -> float | None:
    return round(100 * float(np.mean(values)), 2) if values else None


def evaluate(pipeline: QAPipeline, gold: list[GoldItem], top_k: int | None = None) -> dict:
    rows = []
    latencies = []
    for item in gold:
        t0 = time.perf_counter()
        result = pipeline.ask(item.question, top_k=max(top_k or pipeline.top_k, 5))
        latencies.append((time.perf_counter() - t0) * 1000)
        prediction = result.answers[0].text if result.answers else ""
        em, f = score_prediction(prediction, item.answers)
        # Retrieval hit: a retrieved paragraph contains a gold answer (within the gold doc, if given).
        ranks = [
            i for i, sp in enumerate(result.passages)
            if (item.doc_id is None or sp.passage.doc_id == item.doc_id)
            and any(normalize_answer(g) in normalize_answer(sp.passage.text) for g in item.answers)
        ]
        rows.append({
            "id": item.id, "question": item.question, "prediction": prediction, "gold": item.answers,
            "em": em, "f1": f, "has_answer": bool(item.answers), "first_hit": ranks[0] if ranks else None,
        })
    has = [r for r in rows if r["has_answer"]]
    no = [r for r in rows if not r["has_answer"]]
    return {
        "n": len(rows),
        "exact_match": _pct([r["em"] for r in rows]),
        "f1": _pct([r["f1"] for r in rows]),
        "HasAns_n": len(has),
        "HasAns_exact_match": _pct([r["em"] for r in has]),
        "HasAns_f1": _pct([r["f1"] for r in has]),
        "NoAns_n": len(no),
        "NoAns_accuracy": _pct([r["em"] for r in no]),
        "recall_at_1": _pct([float(r["first_hit"] is not None and r["first_hit"] < 1) for r in has]),
        "recall_at_5": _pct([float(r["first_hit"] is not None and r["first_hit"] < 5) for r in has]),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 1),
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 1),
        "rows": rows,
    }
