"""SQuAD's official scoring, checked against hand-computed values."""

import pytest

from qa.metrics import exact_match, f1, score_prediction, summarize
from qa.text import normalize_answer


def test_normalisation_follows_squad():
    assert normalize_answer("The  Interfax, news agency!") == "interfax news agency"


def test_exact_match_and_f1():
    assert exact_match("the Global News", "Global News") == 1.0
    assert f1("Canadian Global News", "Global News") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert f1("Kyiv", "Lviv") == 0.0


def test_max_over_golds_and_no_answer():
    assert score_prediction("2014", ["in 2014", "2014"]) == (1.0, 1.0)
    assert score_prediction("", []) == (1.0, 1.0)
    assert score_prediction("something", []) == (0.0, 0.0)
    assert score_prediction("", ["Kyiv"]) == (0.0, 0.0)


def test_summary_uses_the_official_keys():
    rows = [{"em": 1.0, "f1": 1.0, "has_answer": True, "first_hit": 0, "prediction": "Kyiv"},
            {"em": 0.0, "f1": 0.5, "has_answer": True, "first_hit": 3, "prediction": "in Lviv"},
            {"em": 1.0, "f1": 1.0, "has_answer": False, "first_hit": None, "prediction": ""}]
    report = summarize(rows, [10.0, 20.0, 30.0], recall_ks=(1, 5))
    assert (report["exact"], report["f1"], report["total"]) == (66.67, 83.33, 3)
    assert (report["HasAns_exact"], report["HasAns_f1"], report["HasAns_total"]) == (50.0, 75.0, 2)
    assert (report["NoAns_exact"], report["NoAns_f1"], report["NoAns_total"]) == (100.0, 100.0, 1)
    assert (report["recall_at_1"], report["recall_at_5"], report["latency_ms_p50"]) == (50.0, 100.0, 20.0)
    assert report["answered"] == 66.67


def test_selective_risk_coverage_and_calibration_error():
    from qa.metrics import selective

    # Ten questions: the five most confident right, the rest wrong; scores say 0.9 and 0.1.
    scores = [0.9] * 5 + [0.1] * 5
    right = [True] * 5 + [False] * 5
    s = selective(scores, right)
    assert (s["accuracy_at_50"], s["accuracy_at_80"], s["accuracy_at_100"]) == (100.0, 62.5, 50.0)
    assert s["ece"] == pytest.approx(0.1)  # each bin is off by 0.1
    assert [(b["n"], b["observed"]) for b in s["reliability"]] == [(5, 0.0), (5, 1.0)]
    assert selective([0.5, 0.5], [True, False])["ece"] == 0.0  # 0.5 said, half right: calibrated
    assert selective([], []) == {"questions": 0}
