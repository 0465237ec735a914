"""Answer post-processing: best first, one answer per text and per stretch of a passage."""

from qa.types import Answer
from reader.base import postprocess_candidates


def test_duplicates_and_overlapping_spans_collapse_into_the_best():
    cands = [
        Answer("architect Mira Okafor", 0.6, "p1", 50, 71),
        Answer("Mira Okafor", 0.8, "p1", 60, 71),
        Answer("mira okafor.", 0.5, "p2", 0, 12),          # same text elsewhere: one answer
        Answer("Tom Hale", 0.4, "p1", 100, 108),           # separate span: kept
        Answer("Okafor", 0.3, "p3", 5, 11),                # other passage, other text: kept
    ]
    out = postprocess_candidates(cands, max_answers=5)
    assert [(a.text, a.passage_id) for a in out] == [("Mira Okafor", "p1"), ("Tom Hale", "p1"), ("Okafor", "p3")]
    assert [a.text for a in postprocess_candidates(cands, max_answers=1)] == ["Mira Okafor"]
