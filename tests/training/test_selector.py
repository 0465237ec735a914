"""Fitting the answer selector: cross-fitted by article, calibrated, an operating point by its rule, loadable."""

import gzip
import json
import random

import numpy as np
import pytest

from reader.selector import FEATURES, Selector
from training.news_runs import save
from training.selector import fit, objective

CITIES = ["Kyiv", "Lviv", "Odesa", "Kharkiv", "Dnipro", "Poltava"]


def _row(i: int, setting: str, rng: random.Random) -> dict:
    """A recorded question: the right city has a clearly better margin in half of the questions."""
    city, other = rng.sample(CITIES, 2)
    text = f"Officials said the convoy reached {city} on Monday. Others expected {other} instead."
    answers = [] if setting == "off" else [city]
    confident = rng.random() < 0.5
    right = [0, text.index(city), text.index(city) + len(city), 0.6, 4.0 if confident else 0.5, 9.0]
    wrong = [0, text.index(other), text.index(other) + len(other), 0.3, 1.0 if confident else 0.8, 7.0]
    if setting == "off":  # another article: nothing in it is the answer
        right[4] = wrong[4] = -1.0
    return {"domain": "newsqa" if i % 2 else "squad", "split": "tune", "setting": setting, "id": f"q{i}",
            "title": f"article {i % 10}", "question": "Which city did the convoy reach?", "answers": answers,
            "hit_rank": 0, "ms": 1.0, "scores": [0.8],
            "passages": [{"id": f"d{i}:0", "doc_id": f"d{i}", "title": "T", "paragraph": 0, "text": text,
                          "doc_start": 0, "doc_end": len(text), "page": None}],
            "candidates": [right, wrong]}


def test_fit_writes_a_calibrated_selector_that_the_reader_can_load(tmp_path):
    rng = random.Random(0)
    rows = [_row(i, setting, rng) for i in range(120) for setting in ("gold", "open", "off") if not (setting == "off" and i % 3)]
    save(rows, tmp_path / "rows-tune.jsonl.gz")
    meta = fit([tmp_path / "rows-tune.jsonl.gz"], tmp_path / "model")
    assert meta["features"] == list(FEATURES) and 0.0 <= meta["threshold"] <= 1.0
    iso = meta["isotonic"]
    assert np.all(np.diff(iso["x"]) >= 0) and np.all(np.diff(iso["y"]) >= 0)
    # Out-of-fold, the confident right answers are answered and the off-archive questions mostly not.
    assert meta["tune_out_of_fold"]["newsqa_off"]["answered"] < meta["tune_out_of_fold"]["newsqa_open"]["answered"]
    selector = Selector(tmp_path / "model")
    selector.warm_up()
    assert selector.threshold == meta["threshold"]


def test_fit_refuses_report_rows(tmp_path):
    row = _row(0, "open", random.Random(0))
    row["split"] = "report"
    save([row], tmp_path / "rows.jsonl.gz")
    with pytest.raises(SystemExit, match="tune half only"):
        fit([tmp_path / "rows.jsonl.gz"], None)


def test_the_operating_point_objective_weighs_the_mix():
    prob = np.array([0.9, 0.2, 0.8, 0.1])
    f1 = np.array([1.0, 1.0, 0.0, 0.0])
    kinds = np.array(["answerable", "answerable", "adversarial", "off"])
    # At 0.5: one of two answerable right (0.8 x 0.5), the adversarial one answered (0.1 x 0), off abstained (0.1).
    assert objective(prob, f1, kinds, 0.5) == pytest.approx(50.0)
    assert objective(prob, f1, kinds, 0.0) == pytest.approx(80.0)


def test_rows_round_trip(tmp_path):
    rows = [_row(0, "gold", random.Random(1))]
    save(rows, tmp_path / "r.jsonl.gz")
    assert [json.loads(line) for line in gzip.open(tmp_path / "r.jsonl.gz", "rt")] == rows
