"""Pure numpy decoding of QA logits into character spans, and the calibration that scores them."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SpanCandidate:
    passage_index: int
    start_char: int
    end_char: int
    prob: float  # p_start * p_end within its window (softmax over the window's context + [CLS])
    margin: float  # (start + end logit of the span) - (start + end logit of [CLS]) in the same window


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def decode_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: np.ndarray,
    context_mask: np.ndarray,
    feature_passage: np.ndarray,
    max_answer_tokens: int = 30,
    n_best: int = 20,
) -> list[SpanCandidate]:
    """Span candidates from QA logits, best (highest margin) first, one per distinct character span.

    A span's ``margin`` compares it with its own window's no-answer slot (position 0), so it
    means the same whichever passage or window it came from: positive when the model prefers
    the span to "no answer here". Windows over the same passage overlap; a span found in
    several keeps its best margin.
    """
    best: dict[tuple[int, int, int], SpanCandidate] = {}
    for f in range(start_logits.shape[0]):
        ctx = np.flatnonzero(context_mask[f])
        if ctx.size == 0:
            continue
        allowed = context_mask[f].copy()
        allowed[0] = True
        s_lp = _log_softmax(np.where(allowed, start_logits[f], -np.inf))
        e_lp = _log_softmax(np.where(allowed, end_logits[f], -np.inf))
        null_lp = s_lp[0] + e_lp[0]
        top_s = ctx[np.argsort(-s_lp[ctx], kind="stable")[:n_best]]
        top_e = ctx[np.argsort(-e_lp[ctx], kind="stable")[:n_best]]
        pair = s_lp[top_s][:, None] + e_lp[top_e][None, :]
        length = top_e[None, :] - top_s[:, None] + 1
        pair = np.where((length >= 1) & (length <= max_answer_tokens), pair, -np.inf)
        # Only this window's best pairs can reach the overall n-best; a few spare for empty spans.
        for k in np.argsort(-pair, axis=None, kind="stable")[: n_best + 5]:
            lp = float(pair.flat[k])
            if lp == -np.inf:
                break
            i, j = top_s[k // len(top_e)], top_e[k % len(top_e)]
            key = (int(feature_passage[f]), int(offsets[f, i, 0]), int(offsets[f, j, 1]))
            if key[2] <= key[1]:
                continue
            margin = lp - float(null_lp)
            if key not in best or margin > best[key].margin:
                best[key] = SpanCandidate(key[0], key[1], key[2], math.exp(lp), margin)
    return sorted(best.values(), key=lambda c: (-c.margin, c.passage_index, c.start_char))[:n_best]


@dataclass(frozen=True)
class Calibration:
    """When to answer, and what a span's score means.

    A span is an answer when its margin exceeds ``threshold``. Its score is
    ``sigmoid(slope * margin + intercept)``: the estimated probability that the answer is right
    (fitted on held-out questions, answerable and not). Without a fit (``slope`` None) the
    score is the span's probability within its window.
    """

    threshold: float = 0.0
    slope: float | None = None
    intercept: float = 0.0
    tuned_on: str | None = None

    def score(self, candidate: SpanCandidate) -> float:
        return candidate.prob if self.slope is None else self.margin_score(candidate.margin)

    def margin_score(self, margin: float) -> float:
        """The fitted probability of being right at this margin (needs ``slope``)."""
        z = self.slope * margin + self.intercept
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def answers(self, candidates: list[SpanCandidate], min_score: float | None = None) -> list[SpanCandidate]:
        """The candidates that are answers: margin above the threshold, or score of at least ``min_score``."""
        if min_score is None:
            return [c for c in candidates if c.margin > self.threshold]
        return [c for c in candidates if self.score(c) >= min_score]

    @classmethod
    def load(cls, model_dir: Path) -> "Calibration":
        """``calibration.json`` beside the model, or the uncalibrated default when there is none."""
        path = Path(model_dir) / "calibration.json"
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(float(data["threshold"]), data.get("slope"), float(data.get("intercept", 0.0)), data.get("tuned_on"))

    def to_dict(self) -> dict:
        return asdict(self)
