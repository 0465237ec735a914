"""SQuAD's official answer scoring (normalised EM and token F1, max over gold answers) and its summary keys."""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from qa.text import normalize_answer


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
    # SQuAD files give each question its paragraph (for --reader-only) and article title.
    context: str | None = None
    title: str | None = None


def percent(values: list[float]) -> float | None:
    return round(100 * float(np.mean(values)), 2) if values else None


def score_row(item: GoldItem, prediction: str, score: float | None) -> dict:
    em, f = score_prediction(prediction, item.answers)
    return {"id": item.id, "question": item.question, "prediction": prediction, "score": score,
            "gold": item.answers, "em": em, "f1": f, "has_answer": bool(item.answers)}


OFFICIAL_KEYS = ("exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total", "NoAns_exact", "NoAns_f1",
                 "NoAns_total")


def summarize(rows: list[dict], latencies: list[float], recall_ks: tuple[int, ...] = ()) -> dict:
    """The official SQuAD 2.0 keys (percentages), plus recall@k and latency percentiles."""
    has = [r for r in rows if r["has_answer"]]
    no = [r for r in rows if not r["has_answer"]]
    report = {
        "exact": percent([r["em"] for r in rows]), "f1": percent([r["f1"] for r in rows]), "total": len(rows),
        "HasAns_exact": percent([r["em"] for r in has]), "HasAns_f1": percent([r["f1"] for r in has]), "HasAns_total": len(has),
        "NoAns_exact": percent([r["em"] for r in no]), "NoAns_f1": percent([r["f1"] for r in no]), "NoAns_total": len(no),
    }
    report["answered"] = percent([float(bool(r.get("prediction"))) for r in rows])
    for k in recall_ks:
        report[f"recall_at_{k}"] = percent([float(r["first_hit"] is not None and r["first_hit"] < k) for r in has])
    report["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 2) if latencies else None
    report["latency_ms_p95"] = round(float(np.percentile(latencies, 95)), 2) if latencies else None
    report["latencies_ms"] = [round(x, 2) for x in latencies]
    report["rows"] = rows
    return report


def selective(scores: list[float], correct: list[bool], coverages: tuple[float, ...] = (0.5, 0.8, 1.0),
              bins: int = 10) -> dict:
    """What a threshold buys: accuracy of the most confident ``coverages`` of the questions (risk-coverage), the
    expected calibration error, and the reliability diagram's bins (predicted against observed right).

    ``scores``: each question's best answer's score (an estimated probability), answered or not; ``correct``:
    whether that answer is right."""
    s = np.asarray(scores, dtype=np.float64)
    c = np.asarray(correct, dtype=np.float64)
    out: dict = {"questions": int(len(s))}
    if not len(s):
        return out
    order = np.argsort(-s, kind="stable")
    for cov in coverages:
        n = max(1, int(round(cov * len(s))))
        out[f"accuracy_at_{int(cov * 100)}"] = round(float(c[order[:n]].mean()) * 100, 2)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, bins - 1)
    diagram, ece = [], 0.0
    for b in range(bins):
        m = which == b
        if not m.any():
            continue
        predicted, observed = float(s[m].mean()), float(c[m].mean())
        ece += m.sum() / len(s) * abs(predicted - observed)
        diagram.append({"from": round(float(edges[b]), 2), "to": round(float(edges[b + 1]), 2), "n": int(m.sum()),
                        "predicted": round(predicted, 4), "observed": round(observed, 4)})
    out["ece"] = round(float(ece), 4)
    out["reliability"] = diagram
    return out
