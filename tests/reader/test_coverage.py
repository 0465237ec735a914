"""The question-coverage signal: which sentence holds a span, and how much of the question it holds."""

import json

import numpy as np
import pytest

from reader.coverage import coverage, coverages, sentence_starts, span_sentences
from reader.decode import Calibration, SpanCandidate

TEXT = ("Baerbock met Kuleba in Kyiv. She said Germany would send more air defence systems! "
        "The Russian consulate in Lviv stayed closed.")


def test_a_span_is_read_in_its_own_sentence():
    starts = sentence_starts(TEXT)
    assert len(starts) == 3 and TEXT[starts[1]:].startswith("She said")
    start = TEXT.index("air defence")
    assert span_sentences(TEXT, start, start + len("air defence")) == TEXT[starts[1]:starts[2]]
    start = TEXT.index("Lviv")
    assert span_sentences(TEXT, start, start + 4) == TEXT[starts[2]:]
    # A span across a sentence boundary is read with both sentences.
    start = TEXT.index("Kyiv")
    assert span_sentences(TEXT, start, TEXT.index("Germany") + 7) == TEXT[: starts[2]]


def test_coverage_is_the_share_of_question_words_in_the_spans_sentence():
    start = TEXT.index("air defence")
    asked = "What did Germany say it would send?"  # content words: germa(ny), say, send
    assert coverage(asked, TEXT, start, start + 11) == pytest.approx(2 / 3)  # "said" is not "say"
    assert coverage("What would Germany send?", TEXT, start, start + 11) == 1.0
    # The same words, but the span sits in a sentence without them.
    lviv = TEXT.index("Lviv")
    assert coverage("What would Germany send?", TEXT, lviv, lviv + 4) == 0.0
    assert coverage("What is it?", TEXT, lviv, lviv + 4) == 1.0  # nothing to look for: no penalty


def test_coverages_follow_each_candidates_passage():
    passages = ["Nothing here mentions it.", TEXT]
    start = TEXT.index("air defence")
    got = coverages("What would Germany send?", passages, [(0, 0, 7), (1, start, start + 11)])
    assert got.tolist() == [0.0, 1.0]
    assert coverages("What would Germany send?", passages, []).shape == (0,)


def test_a_coverage_weight_reranks_and_needs_coverage():
    confident = SpanCandidate(0, 0, 4, 0.5, 3.0)
    covered = SpanCandidate(0, 10, 14, 0.4, 2.5)
    cal = Calibration(threshold=3.2, coverage_weight=2.0)
    fused = cal.fuse([confident, covered], [0.0], np.array([0.0, 1.0]))
    assert [(c.start_char, c.margin) for c in fused] == [(10, pytest.approx(4.5)), (0, pytest.approx(3.0))]
    assert cal.answers(fused) == [fused[0]]
    with pytest.raises(ValueError, match="coverage"):
        cal.fuse([confident, covered], [0.0])


def test_coverage_weight_loads_from_the_calibration_file(tmp_path):
    cal = Calibration(threshold=3.0, slope=0.4, intercept=-1.0, tuned_on="tune", coverage_weight=2.0)
    (tmp_path / "calibration.json").write_text(json.dumps(cal.to_dict()))
    assert Calibration.load(tmp_path) == cal
