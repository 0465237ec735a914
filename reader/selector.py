"""The learned answer selector: P(this span is the right answer) from what the reader and the retriever already say.

Every span candidate of a question (across its passages and windows) gets the features below; a gradient-boosted
model (LightGBM) scores them, the best becomes the answer, and an isotonic map fitted on held-out questions turns
its score into the probability that it is right (F1 >= 0.5 against the gold answers), so that a score of 0.7 is
right about 70% of the time (Kamath, Jia & Liang 2020, "Selective Question Answering under Domain Shift"; RankQA).
The features are computed here, once, for training (training/selector.py) and for serving alike.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import boosting
from qa.text import lexical_terms, lexical_terms_at, normalize_answer, wh_class
from reader.decode import SpanCandidate

SELECTOR_MODEL = "selector.txt"
SELECTOR_META = "selector.json"

_DIGIT = re.compile(r"\d")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?\s")

FEATURES = (
    # the question
    "question_words", "wh", "candidates", "passages", "best_margin",
    # the span, as the reader sees it
    "margin", "margin_gap", "margin_rank", "logit", "log_prob", "log_share", "span_chars", "span_words",
    "relative_start", "passage_chars",
    # agreement: the same normalised answer elsewhere among the candidates and the passages
    "same_answer_count", "same_answer_log_share", "passages_with_answer",
    # the passage, as the retriever sees it (NaN in the reader-only setting: no retriever)
    "passage_rank", "passage_score", "passage_score_gap", "top_passage_score", "top_passage_gap",
    # the words
    "question_in_passage", "question_in_sentence", "answer_in_question", "answer_has_digit", "answer_capitalised",
)


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence(s) around ``text[start:end]`` begin and end."""
    begin = 0
    for m in _SENTENCE_END.finditer(text, max(0, start - 400), start):
        begin = m.end()
    m = _SENTENCE_END.search(text, end)
    return begin, m.start() + 1 if m else len(text)


def _covered(terms: set[str], text_terms: set[str]) -> float:
    return len(terms & text_terms) / len(terms) if terms else 0.0


class _Words:
    """A passage's content terms and where they start, tokenised once for all its candidates."""

    def __init__(self, text: str):
        found = lexical_terms_at(text)
        self.starts = np.array([p for p, _ in found], dtype=np.int64)
        self.terms = [t for _, t in found]
        self.all = set(self.terms)

    def between(self, start: int, end: int) -> set[str]:
        a, b = np.searchsorted(self.starts, [start, end])
        return set(self.terms[a:b])


def candidate_features(question: str, passages: list[str], passage_scores: list[float] | None,
                       candidates: list[SpanCandidate]) -> np.ndarray:
    """One row of ``FEATURES`` per candidate (float32; NaN where a feature does not apply).

    ``passage_scores``: the retriever's score of each passage, or None where no retriever chose them (a question
    given its own article)."""
    n = len(candidates)
    out = np.full((n, len(FEATURES)), np.nan, dtype=np.float32)
    if not n:
        return out
    margin = np.array([c.margin for c in candidates], dtype=np.float64)
    best = margin.max()
    logit = np.array([c.logit for c in candidates], dtype=np.float64)
    top = logit.max()
    log_share = logit - top - math.log(np.exp(logit - top).sum())
    q_terms = set(lexical_terms(question))
    texts = [passages[c.passage_index][c.start_char : c.end_char] for c in candidates]
    norms = [normalize_answer(t) for t in texts]
    share = np.exp(log_share)
    same_count: dict[str, int] = {}
    same_share: dict[str, float] = {}
    for key, s in zip(norms, share):
        same_count[key] = same_count.get(key, 0) + 1
        same_share[key] = same_share.get(key, 0.0) + float(s)
    lowered = [p.lower() for p in passages]
    words: dict[int, _Words] = {}
    in_passages: dict[str, int] = {}
    order = np.argsort(-margin, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    scores = np.array(passage_scores, dtype=np.float64) if passage_scores is not None else None
    out[:, 0:5] = (len(question.split()), wh_class(question), n, len(passages), best)  # the question's, every row
    for i, (c, text, key) in enumerate(zip(candidates, texts, norms)):
        passage = passages[c.passage_index]
        if c.passage_index not in words:
            words[c.passage_index] = _Words(passage)
        w = words[c.passage_index]
        if key not in in_passages:
            needle = text.lower().strip()
            in_passages[key] = sum(needle in p for p in lowered) if needle else 0
        a_terms = w.between(c.start_char, c.end_char)
        tokens = text.split()
        row = out[i]
        row[5:15] = (c.margin, best - c.margin, rank[i], c.logit, math.log(max(c.prob, 1e-30)), log_share[i],
                     len(text), len(tokens), c.start_char / max(len(passage), 1), len(passage))
        row[15:18] = (same_count[key], math.log(max(same_share[key], 1e-30)), in_passages[key])
        if scores is not None:
            s = scores[c.passage_index]
            nxt = scores[c.passage_index + 1] if c.passage_index + 1 < len(scores) else np.nan
            row[18:23] = (c.passage_index, s, s - nxt, scores[0], scores[0] - scores[1] if len(scores) > 1 else np.nan)
        row[23:28] = (_covered(q_terms, w.all), _covered(q_terms, w.between(*_sentence(passage, c.start_char, c.end_char))),
                      _covered(a_terms, q_terms) if a_terms else 0.0, bool(_DIGIT.search(text)),
                      sum(t[:1].isupper() for t in tokens) / max(len(tokens), 1))
    return out


@dataclass
class Selector:
    """The shipped selector: ``selector.txt`` (LightGBM) and ``selector.json`` (isotonic map, threshold, card)."""

    model_dir: Path

    def __post_init__(self):
        self._booster = None
        self._iso_x = self._iso_y = None
        self.threshold = 0.5  # the operating point with retrieved passages (every channel)
        self.threshold_gold = 0.5  # reader-only (each question given its own article: qa eval --reader-only)
        self.meta: dict = {}
        self._lock = threading.Lock()

    @staticmethod
    def available(model_dir: Path) -> bool:
        return (Path(model_dir) / SELECTOR_MODEL).is_file() and (Path(model_dir) / SELECTOR_META).is_file()

    def warm_up(self) -> None:
        with self._lock:
            if self._booster is not None:
                return
            booster, meta = boosting.load_booster(self.model_dir, SELECTOR_MODEL, SELECTOR_META, FEATURES,
                                                  "python -m training.selector fit")
            self._iso_x = np.asarray(meta["isotonic"]["x"], dtype=np.float64)
            self._iso_y = np.asarray(meta["isotonic"]["y"], dtype=np.float64)
            self.threshold = float(meta["threshold"])
            self.threshold_gold = float(meta.get("threshold_gold", meta["threshold"]))
            self.meta = meta
            self._booster = booster

    def threshold_for(self, setting: str) -> float:
        """The operating point for "open" (retrieved passages) or "gold" (a question given its own article)."""
        self.warm_up()
        return self.threshold_gold if setting == "gold" else self.threshold

    def raw(self, features: np.ndarray) -> np.ndarray:
        """The model's own score of each row (higher is better), before calibration."""
        self.warm_up()
        if not len(features):
            return np.zeros(0)
        return np.asarray(self._booster.predict(features, raw_score=True, num_threads=1), dtype=np.float64)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """The probability that an answer with this raw score is right (the isotonic map, flat beyond its ends)."""
        self.warm_up()
        return np.interp(raw, self._iso_x, self._iso_y)
