"""The learned answer selector: its features, its calibrated score, and the reader's decision made with it."""

import json

import numpy as np
import pytest

from qa.types import Passage, ScoredPassage
from reader.decode import SpanCandidate
from qa.text import wh_class
from reader.selector import FEATURES, SELECTOR_META, SELECTOR_MODEL, Selector, candidate_features

PASSAGES = ["Canada deployed special forces to Kyiv on Monday. The forces number 200.",
            "Kyiv is the capital. Canada said Monday it would send more."]


def _cands():
    return [SpanCandidate(0, 34, 38, 0.5, 3.0, 9.0),  # Kyiv
            SpanCandidate(0, 42, 48, 0.2, 1.0, 7.0),  # Monday
            SpanCandidate(1, 0, 4, 0.4, 2.0, 8.0),  # Kyiv (again, in another passage)
            SpanCandidate(0, 68, 71, 0.1, -1.0, 5.0)]  # 200


def test_wh_class_takes_the_first_wh_word_and_the_longer_form():
    assert wh_class("How many troops did Canada send?") == wh_class("how many") != wh_class("How did it go?")
    assert wh_class("Who said so?") == 2  # "who" is the second wh-word
    assert wh_class("In which city, and when?") == 9
    assert wh_class("Tell me about Kyiv") == 0


def test_features_agree_across_candidates_and_leave_retrieval_missing_without_a_retriever():
    f = candidate_features("Where did Canada deploy forces?", PASSAGES, [0.9, 0.5], _cands())
    col = {name: f[:, i] for i, name in enumerate(FEATURES)}
    assert f.shape == (4, len(FEATURES))
    assert list(col["same_answer_count"]) == [2, 1, 2, 1]  # "Kyiv" twice
    assert list(col["passages_with_answer"]) == [2, 2, 2, 1]
    assert list(col["margin_rank"]) == [0, 2, 1, 3] and col["margin_gap"][0] == 0
    assert col["passage_score"][2] == pytest.approx(0.5) and col["top_passage_gap"][0] == pytest.approx(0.4)
    assert col["answer_has_digit"][3] == 1 and col["answer_capitalised"][0] == 1
    assert np.exp(col["log_share"]).sum() == pytest.approx(1.0, abs=1e-5)
    gold = candidate_features("Where did Canada deploy forces?", PASSAGES, None, _cands())
    retrieval = [FEATURES.index(n) for n in ("passage_rank", "passage_score", "passage_score_gap",
                                             "top_passage_score", "top_passage_gap")]
    assert np.isnan(gold[:, retrieval]).all() and not np.isnan(np.delete(gold, retrieval, axis=1)).any()
    assert candidate_features("Where?", PASSAGES, None, []).shape == (0, len(FEATURES))


@pytest.fixture(scope="module")
def selector_dir(tmp_path_factory):
    """A selector trained (the shipped trainer's own code) to prefer one-word spans; calibrated by isotonic."""
    from sklearn.isotonic import IsotonicRegression

    from training.selector import train

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, len(FEATURES))).astype(np.float32)
    X[:, FEATURES.index("wh")] = rng.integers(0, 5, 600)
    X[:, FEATURES.index("span_words")] = rng.integers(1, 4, 600)
    y = (X[:, FEATURES.index("span_words")] == 1).astype(int)
    model = train(X, y)
    raw = model.predict(X, raw_score=True)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw, y)
    path = tmp_path_factory.mktemp("selector")
    model.save_model(str(path / SELECTOR_MODEL))
    meta = {"features": list(FEATURES), "threshold": 0.5,
            "isotonic": {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}}
    (path / SELECTOR_META).write_text(json.dumps(meta), encoding="utf-8")
    return path


def test_selector_scores_are_probabilities_that_rise_with_the_raw_score(selector_dir):
    s = Selector(selector_dir)
    raw = s.raw(candidate_features("Where?", PASSAGES, [0.9, 0.5], _cands()))
    probs = s.calibrate(raw)
    assert ((probs >= 0) & (probs <= 1)).all()
    order = np.argsort(raw)
    assert (np.diff(probs[order]) >= 0).all()
    grid = np.linspace(raw.min() - 5, raw.max() + 5, 50)
    assert (np.diff(s.calibrate(grid)) >= 0).all()


def test_a_selector_trained_on_other_features_is_refused(tmp_path, selector_dir):
    for name in (SELECTOR_MODEL, SELECTOR_META):
        (tmp_path / name).write_bytes((selector_dir / name).read_bytes())
    meta = json.loads((tmp_path / SELECTOR_META).read_text())
    meta["features"] = meta["features"][:-1]
    (tmp_path / SELECTOR_META).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="other features"):
        Selector(tmp_path).warm_up()


@pytest.mark.slow
def test_the_reader_decides_with_the_selector_and_falls_back_to_the_margin(tiny_model_dir, selector_dir):
    from reader.transformers_reader import TransformersReader

    scored = [ScoredPassage(Passage(f"p{i}", "d", "T", i, t, 0, len(t)), 0.5) for i, t in enumerate(PASSAGES)]
    reader = TransformersReader(str(tiny_model_dir), min_score=0.0)
    reader.warm_up()
    reader.selector = Selector(selector_dir)  # the tiny model ships none: the one trained above
    question = "Where did Canada deploy forces?"
    cands = reader.candidates_batch([question], [PASSAGES])[0]
    answers = reader.decide(question, scored, cands, 3)
    raw = reader.selector.raw(candidate_features(question, PASSAGES, [0.5, 0.5], cands))
    best = cands[int(np.argmax(raw))]
    assert answers and answers[0].text == PASSAGES[best.passage_index][best.start_char : best.end_char]
    if any(len(PASSAGES[c.passage_index][c.start_char : c.end_char].split()) == 1 for c in cands):
        assert len(answers[0].text.split()) == 1  # what the selector was taught to prefer
    probs = reader.selector.calibrate(raw)
    assert answers[0].score == pytest.approx(float(probs.max()), abs=1e-4)
    # Above every probability the selector gives: no answer; the margin rule still reads the same candidates.
    assert reader.decide(question, scored, cands, 3, min_score=1.01) == []
    margin = reader.decide(question, scored, cands, 3, selector=False)
    assert margin[0].score == pytest.approx(max(c.prob for c in cands), abs=1e-4)  # uncalibrated: the window's p
