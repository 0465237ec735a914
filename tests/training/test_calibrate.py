"""Threshold choice, score calibration and SQuAD 2.0 scoring on made-up best spans."""

import numpy as np

from reader.decode import SpanCandidate
from training.calibrate import BestSpans, best_threshold, calibrate, fit_platt, reliability_table, squad2_scores


def _spans(margins, f1s, has):
    f1 = np.array(f1s, dtype=float)
    return BestSpans(np.array(margins, dtype=float), (f1 == 1.0).astype(float), f1, np.array(has), [""] * len(f1s))


def test_threshold_separates_answerable_from_not():
    spans = _spans([9, 8, 7, 2, 1, 0], [1, 1, 1, 0, 0, 0], [True, True, True, False, False, False])
    t = best_threshold(spans)
    assert 2 < t < 7
    assert squad2_scores(spans, t)["f1"] == 100.0
    assert squad2_scores(spans, float("-inf"))["NoAns_exact"] == 0.0  # answering everything


def test_platt_fit_is_increasing_and_calibrated():
    rng = np.random.default_rng(0)
    margin = rng.normal(size=4000) * 4
    correct = rng.random(4000) < 1 / (1 + np.exp(-(0.5 * margin - 1)))
    slope, intercept = fit_platt(margin, correct)
    assert abs(slope - 0.5) < 0.08 and abs(intercept + 1) < 0.15


def test_calibration_and_reliability_table():
    rng = np.random.default_rng(1)
    margin = rng.normal(size=2000) * 5
    right = rng.random(2000) < 1 / (1 + np.exp(-margin))
    spans = _spans(margin, right.astype(float), [True] * 2000)
    cal = calibrate(spans, tuned_on="made up")
    assert cal.slope > 0 and cal.tuned_on == "made up"
    assert cal.score(SpanCandidate(0, 0, 1, 0.1, 10.0)) > cal.score(SpanCandidate(0, 0, 1, 0.9, -10.0))
    for row in reliability_table(spans, cal):
        assert abs(row["mean_score"] - row["right"]) < 0.1
