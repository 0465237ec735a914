"""Tune the no-answer threshold and fit answer-score calibration on held-out questions.

Both are functions of the best span's margin (its logits minus its window's no-answer logits):
the threshold that maximises SQuAD 2.0 F1, and a one-feature logistic fit (Platt scaling) of
whether that best span is right, so a served score of 0.8 means "right about 80% of the time".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.metrics import OFFICIAL_KEYS, GoldItem, score_prediction, summarize
from reader.decode import Calibration
from reader.span_reader import SpanReader

# A best span counts as right for calibration when it overlaps a gold answer this much.
CORRECT_F1 = 0.5


@dataclass(frozen=True)
class BestSpans:
    """Per question: the best span's margin, and its EM / F1 against the gold answers (0 if none)."""

    margin: np.ndarray
    em: np.ndarray
    f1: np.ndarray
    has_answer: np.ndarray
    text: list[str]


def best_spans(reader: SpanReader, gold: list[GoldItem], batch_size: int = 32) -> BestSpans:
    margins, ems, f1s, texts = [], [], [], []
    for b in range(0, len(gold), batch_size):
        part = gold[b : b + batch_size]
        for item, cands in zip(part, reader.candidates_batch([g.question for g in part], [[g.context] for g in part])):
            best = cands[0] if cands else None
            text = item.context[best.start_char : best.end_char] if best else ""
            em, f1 = score_prediction(text, item.answers) if item.answers and best else (0.0, 0.0)
            margins.append(best.margin if best else -np.inf)
            ems.append(em)
            f1s.append(f1)
            texts.append(text)
    return BestSpans(np.array(margins), np.array(ems), np.array(f1s), np.array([bool(g.answers) for g in gold]), texts)


def squad2_scores(spans: BestSpans, threshold: float) -> dict:
    """Official SQuAD 2.0 figures when answering only above ``threshold`` (abstaining is right for NoAns only)."""
    answer = spans.margin > threshold
    em = np.where(answer, spans.em, ~spans.has_answer)
    f1 = np.where(answer, spans.f1, ~spans.has_answer)
    rows = [{"em": float(e), "f1": float(f), "has_answer": bool(h)} for e, f, h in zip(em, f1, spans.has_answer)]
    report = summarize(rows, [])
    return {key: report[key] for key in OFFICIAL_KEYS}


def threshold_cuts(margin: np.ndarray) -> np.ndarray:
    """Every threshold that answers a different set of questions: midway between neighbouring margins."""
    finite = np.sort(np.unique(margin[np.isfinite(margin)]))
    if finite.size == 0:
        return np.zeros(1)
    return np.concatenate([[finite[0] - 1.0], (finite[:-1] + finite[1:]) / 2, [finite[-1] + 1.0]])


def best_threshold(spans: BestSpans) -> float:
    """The margin threshold with the highest F1."""
    cuts = threshold_cuts(spans.margin)
    totals = [np.where(spans.margin > t, spans.f1, ~spans.has_answer).sum() for t in cuts]
    return float(cuts[int(np.argmax(totals))])


def fit_platt(margin: np.ndarray, correct: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """Logistic regression of ``correct`` on ``margin`` (Newton's method, tiny ridge for stability)."""
    ok = np.isfinite(margin)
    x, y = margin[ok], correct[ok].astype(float)
    w = np.zeros(2)
    design = np.stack([x, np.ones_like(x)], axis=1)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(design @ w)))
        grad = design.T @ (p - y) + 1e-4 * w
        hess = design.T @ (design * (p * (1 - p))[:, None]) + 1e-4 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def calibrate(spans: BestSpans, tuned_on: str) -> Calibration:
    threshold = best_threshold(spans)
    correct = spans.has_answer & (spans.f1 >= CORRECT_F1)
    slope, intercept = fit_platt(spans.margin, correct)
    return Calibration(threshold, slope, intercept, tuned_on)


def reliability_table(spans: BestSpans, calibration: Calibration, bins: int = 5) -> list[dict]:
    """Answers grouped by served score: how often the best span is right in each score band."""
    answered = spans.margin > calibration.threshold
    scores = np.array([calibration.margin_score(float(m)) for m in spans.margin[answered]])
    correct = (spans.has_answer & (spans.f1 >= CORRECT_F1))[answered]
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (scores >= lo) & ((scores < hi) if hi < 1 else (scores <= hi))
        if inside.any():
            rows.append({"score": f"{lo:.1f}-{hi:.1f}", "answers": int(inside.sum()),
                         "mean_score": round(float(scores[inside].mean()), 3),
                         "right": round(float(correct[inside].mean()), 3)})
    return rows
