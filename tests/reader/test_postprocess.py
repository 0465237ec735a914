"""Span decoding from made-up logits (pure numpy)."""

import numpy as np

from reader.transformers_reader import postprocess

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


def test_best_span_maps_to_character_offsets():
    s, e = _logits(4, 5)
    spans, null = postprocess(s, e, OFFSETS, CONTEXT, PASSAGE)
    best = spans[0]
    assert (best.passage_index, best.start_char, best.end_char) == (0, 6, 17)
    assert 0.9 < best.score <= 1.0 and null < 0.01


def test_end_before_start_and_question_tokens_are_never_answers():
    s = np.array([[0.0, 9.0, 0.0, -5.0, -5.0, 8.0]])  # strong start on a question token
    e = np.array([[0.0, 9.0, 0.0, 7.0, -5.0, -5.0]])  # strongest passage end before the best start
    spans, _ = postprocess(s, e, OFFSETS, CONTEXT, PASSAGE)
    for span in spans:
        assert span.start_char < span.end_char
        assert (span.start_char, span.end_char) in {(0, 5), (0, 11), (0, 17), (6, 11), (6, 17), (12, 17)}


def test_max_answer_tokens_limits_span_length():
    s, e = _logits(3, 5)
    spans, _ = postprocess(s, e, OFFSETS, CONTEXT, PASSAGE, max_answer_tokens=2)
    assert all(sp.end_char - sp.start_char <= 11 for sp in spans)
    assert (0, 17) not in {(sp.start_char, sp.end_char) for sp in spans}


def test_confident_null_beats_spans():
    s, e = _logits(4, 4, null=12.0)
    spans, null = postprocess(s, e, OFFSETS, CONTEXT, PASSAGE)
    assert null > 0.9 and spans[0].score < null


def test_null_is_the_minimum_over_windows_and_spans_keep_their_passage():
    s1, e1 = _logits(4, 4, null=12.0)
    s2, e2 = _logits(3, 3, null=-5.0)
    spans, null = postprocess(np.vstack([s1, s2]), np.vstack([e1, e2]), np.vstack([OFFSETS, OFFSETS]),
                              np.vstack([CONTEXT, CONTEXT]), np.array([0, 1]))
    assert null < 0.01
    assert (spans[0].passage_index, spans[0].start_char, spans[0].end_char) == (1, 0, 5)


def test_scores_are_probabilities_and_sorted():
    rng = np.random.default_rng(0)
    s, e = rng.normal(size=(1, 6)), rng.normal(size=(1, 6))
    spans, null = postprocess(s, e, OFFSETS, CONTEXT, PASSAGE)
    scores = [sp.score for sp in spans]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= x <= 1.0 for x in scores + [null])
    assert sum(scores) + null <= 1.0 + 1e-9
