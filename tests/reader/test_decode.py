"""Span decoding from made-up logits (pure numpy), and the calibration that scores spans."""

import json
import math

import numpy as np
import pytest

from reader.decode import Calibration, SpanCandidate, decode_spans, fused_margins, without_unpaired_quotes

# One window of 6 tokens: [CLS] q [SEP] c1 c2 c3; the passage tokens are 3..5.
OFFSETS = np.array([[[0, 0], [0, 0], [0, 0], [0, 5], [6, 11], [12, 17]]])
CONTEXT = np.array([[False, False, False, True, True, True]])
PASSAGE = np.array([0])


def _logits(start_at, end_at, null=0.0, size=6):
    s = np.full((1, size), -10.0)
    e = np.full((1, size), -10.0)
    s[0, 0] = e[0, 0] = null
    s[0, start_at] = 5.0
    e[0, end_at] = 5.0
    return s, e


def test_best_span_maps_to_character_offsets_with_its_margin_over_null():
    s, e = _logits(4, 5)
    best = decode_spans(s, e, OFFSETS, CONTEXT, PASSAGE)[0]
    assert (best.passage_index, best.start_char, best.end_char) == (0, 6, 17)
    assert 0.9 < best.prob <= 1.0
    assert best.margin == pytest.approx(10.0)  # (5 + 5) - (0 + 0)


def test_end_before_start_and_question_tokens_are_never_answers():
    s = np.array([[0.0, 9.0, 0.0, -5.0, -5.0, 8.0]])  # strong start on a question token
    e = np.array([[0.0, 9.0, 0.0, 7.0, -5.0, -5.0]])  # strongest passage end before the best start
    for span in decode_spans(s, e, OFFSETS, CONTEXT, PASSAGE):
        assert span.start_char < span.end_char
        assert (span.start_char, span.end_char) in {(0, 5), (0, 11), (0, 17), (6, 11), (6, 17), (12, 17)}


def test_max_answer_tokens_limits_span_length():
    s, e = _logits(3, 5)
    spans = decode_spans(s, e, OFFSETS, CONTEXT, PASSAGE, max_answer_tokens=2)
    assert spans and all(sp.end_char - sp.start_char <= 11 for sp in spans)


def test_confident_null_gives_negative_margins():
    s, e = _logits(4, 4, null=12.0)
    spans = decode_spans(s, e, OFFSETS, CONTEXT, PASSAGE)
    assert spans[0].margin == pytest.approx(-14.0)
    assert Calibration(threshold=0.0).answers(spans) == []


def test_margins_compare_across_windows_and_spans_keep_their_passage():
    s1, e1 = _logits(4, 4, null=12.0)  # window of passage 0: sure there is no answer
    s2, e2 = _logits(3, 3, null=-5.0)  # window of passage 1: sure of its span
    spans = decode_spans(np.vstack([s1, s2]), np.vstack([e1, e2]), np.vstack([OFFSETS, OFFSETS]),
                         np.vstack([CONTEXT, CONTEXT]), np.array([0, 1]))
    assert (spans[0].passage_index, spans[0].start_char, spans[0].end_char) == (1, 0, 5)
    assert [sp.margin for sp in spans] == sorted((sp.margin for sp in spans), reverse=True)


def test_overlapping_windows_keep_a_span_once_with_its_best_margin():
    s1, e1 = _logits(4, 4, null=3.0)
    s2, e2 = _logits(4, 4, null=1.0)
    spans = decode_spans(np.vstack([s1, s2]), np.vstack([e1, e2]), np.vstack([OFFSETS, OFFSETS]),
                         np.vstack([CONTEXT, CONTEXT]), np.array([0, 0]))
    same = [sp for sp in spans if (sp.start_char, sp.end_char) == (6, 11)]
    assert len(same) == 1 and same[0].margin == pytest.approx(8.0)


def test_probabilities_stay_in_range():
    rng = np.random.default_rng(0)
    s, e = rng.normal(size=(1, 6)), rng.normal(size=(1, 6))
    spans = decode_spans(s, e, OFFSETS, CONTEXT, PASSAGE)
    assert all(0.0 <= sp.prob <= 1.0 for sp in spans) and sum(sp.prob for sp in spans) <= 1.0 + 1e-9


def test_calibration_threshold_and_score():
    cal = Calibration(threshold=2.0, slope=0.5, intercept=-1.0)
    low, high = SpanCandidate(0, 0, 1, 0.3, 1.0), SpanCandidate(0, 0, 1, 0.3, 6.0)
    assert cal.answers([high, low]) == [high]
    assert cal.score(high) == pytest.approx(1 / (1 + math.exp(-(0.5 * 6.0 - 1.0))))
    assert Calibration().score(low) == 0.3  # uncalibrated: the span's own probability


def test_calibration_round_trips_through_its_file(tmp_path):
    cal = Calibration(threshold=3.5, slope=0.7, intercept=-2.0, tuned_on="somewhere")
    (tmp_path / "calibration.json").write_text(__import__("json").dumps(cal.to_dict()))
    assert Calibration.load(tmp_path) == cal
    assert Calibration.load(tmp_path / "nowhere") == Calibration()


def test_min_score_replaces_the_threshold_as_operating_point():
    cal = Calibration(threshold=5.0, slope=1.0, intercept=0.0)
    weak = SpanCandidate(0, 0, 1, 0.3, 1.0)  # score sigmoid(1) = 0.73, margin under the threshold
    assert cal.answers([weak]) == []
    assert cal.answers([weak], min_score=0.7) == [weak]
    assert cal.answers([weak], min_score=0.8) == []


def test_raw_logit_of_a_span_is_kept_for_normalising_across_windows():
    s, e = _logits(4, 5, null=1.0)
    best = decode_spans(s, e, OFFSETS, CONTEXT, PASSAGE)[0]
    assert best.logit == pytest.approx(10.0)  # 5 + 5, not relative to its window
    assert best.margin == pytest.approx(8.0)


def test_fusion_normalises_spans_across_passages_and_adds_the_retriever_score():
    # Two passages whose windows give the same margin: the raw logits and the retriever tell them apart.
    strong = SpanCandidate(0, 0, 4, 0.5, 3.0, logit=9.0)
    weak = SpanCandidate(1, 0, 4, 0.5, 3.0, logit=2.0)
    shares = fused_margins([strong, weak], [0.0, 0.0], share_weight=1.0, retriever_weight=0.0) - 3.0
    assert np.exp(shares).sum() == pytest.approx(1.0)  # log-shares of one distribution over both passages
    assert shares[0] > shares[1]
    by_retriever = fused_margins([strong, weak], [0.2, 0.9], share_weight=0.0, retriever_weight=10.0)
    assert by_retriever.tolist() == pytest.approx([5.0, 12.0])
    cal = Calibration(threshold=6.0, retriever_weight=10.0)
    assert [c.passage_index for c in cal.answers(cal.fuse([strong, weak], [0.2, 0.9]))] == [1]
    assert Calibration(threshold=6.0).fuse([strong, weak], [0.2, 0.9]) == [strong, weak]  # no weights: unchanged


def test_open_and_gold_operating_points_load_from_one_file(tmp_path):
    gold = Calibration(threshold=1.0, slope=0.5, intercept=0.0, tuned_on="gold")
    open_ = Calibration(threshold=2.5, slope=0.4, intercept=-1.0, tuned_on="open", share_weight=0.5, retriever_weight=4.0)
    (tmp_path / "calibration.json").write_text(json.dumps({**gold.to_dict(), "open": open_.to_dict()}))
    assert Calibration.load(tmp_path) == gold
    assert Calibration.load(tmp_path, "open") == open_
    (tmp_path / "calibration.json").write_text(json.dumps(gold.to_dict()))
    assert Calibration.load(tmp_path, "open") == gold  # no open section: the gold one


@pytest.mark.parametrize("text, span, shown", [
    ('Peskov said "Russia is thinking about its security." on Monday', '"Russia is thinking about its security.',
     "Russia is thinking about its security."),
    ("He called it “a lesson in how not to build” and left", "“a lesson in how not to build”",
     "“a lesson in how not to build”"),                                    # paired: kept
    ("“the port will open in May,” she said", "the port will open in May,”", "the port will open in May,"),
    ('the "Iron Dome" system', 'the "Iron Dome"', 'the "Iron Dome"'),    # a straight pair: kept
    ('" Kyiv, Ukraine', '" Kyiv', "Kyiv"),                                 # the space after the mark goes too
])
def test_a_quotation_mark_the_span_never_pairs_is_left_out(text, span, shown):
    start = text.index(span)
    a, b = without_unpaired_quotes(text, start, start + len(span))
    assert text[a:b] == shown  # still verbatim, offsets moved with it
