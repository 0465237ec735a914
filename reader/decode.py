"""Pure numpy decoding of QA logits into character spans, and the calibration that scores them."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SpanCandidate:
    passage_index: int
    start_char: int
    end_char: int
    prob: float  # p_start * p_end within its window (softmax over the window's context + [CLS])
    margin: float  # (start + end logit of the span) - (start + end logit of [CLS]) in the same window
    logit: float = 0.0  # start + end logit of the span, raw: comparable across windows once normalised together


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
                raw = float(start_logits[f, i] + end_logits[f, j])
                best[key] = SpanCandidate(key[0], key[1], key[2], math.exp(lp), margin, raw)
    return sorted(best.values(), key=lambda c: (-c.margin, c.passage_index, c.start_char))[:n_best]


_OPENING_QUOTES = {'"': '"', "“": "”", "‘": "’", "«": "»"}
_CLOSING_QUOTES = {v: k for k, v in _OPENING_QUOTES.items() if v != k}


def without_unpaired_quotes(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` of ``text`` without a quotation mark at its edge that the span never pairs (a span cut out
    of a quote: '"Russia is thinking about ... situation'), so the answer shown stays verbatim and reads whole."""
    span = text[start:end]
    if len(span) > 1 and span[0] in _OPENING_QUOTES and _OPENING_QUOTES[span[0]] not in span[1:]:
        start += 1
        while start < end and text[start].isspace():
            start += 1
        span = text[start:end]
    if len(span) > 1 and span[-1] in _CLOSING_QUOTES and _CLOSING_QUOTES[span[-1]] not in span[:-1]:
        end -= 1
    elif len(span) > 1 and span[-1] == '"' and span[:-1].count('"') % 2 == 0:
        end -= 1  # a straight quote closing nothing the span opened
    return start, end


def fused_margins(candidates: list[SpanCandidate], passage_scores: list[float], share_weight: float,
                  retriever_weight: float) -> np.ndarray:
    """Each candidate's margin with the open setting's two other signals added (Multi-passage BERT, BERTserini).

    ``share``: the span's probability among every candidate span of the question, all retrieved
    passages and windows normalised together (a window's own softmax cannot tell a strong passage
    from a weak one). ``passage_scores``: the retriever's score of each passage, fused with a weight.
    With both weights 0 this is the margin itself.
    """
    if not candidates:
        return np.zeros(0)
    margin = np.array([c.margin for c in candidates], dtype=np.float64)
    logit = np.array([c.logit for c in candidates], dtype=np.float64)
    top = logit.max()
    log_share = logit - top - np.log(np.exp(logit - top).sum())
    retriever = np.array([passage_scores[c.passage_index] for c in candidates], dtype=np.float64)
    return margin + share_weight * log_share + retriever_weight * retriever


@dataclass(frozen=True)
class Calibration:
    """When to answer, and what a span's score means.

    A span is an answer when its margin exceeds ``threshold``. Its score is
    ``sigmoid(slope * margin + intercept)``: the estimated probability that the answer is right
    (fitted on held-out questions, answerable and not). Without a fit (``slope`` None) the
    score is the span's probability within its window.

    In the open setting the margin is first fused (``fuse``) with the span's share across the
    question's passages and the retriever's score, with the two weights tuned beside the threshold.
    """

    threshold: float = 0.0
    slope: float | None = None
    intercept: float = 0.0
    tuned_on: str | None = None
    share_weight: float = 0.0
    retriever_weight: float = 0.0

    def fuse(self, candidates: list[SpanCandidate], passage_scores: list[float]) -> list[SpanCandidate]:
        """The candidates with fused margins, best first (unchanged when both weights are 0)."""
        if not self.share_weight and not self.retriever_weight:
            return candidates
        fused = fused_margins(candidates, passage_scores, self.share_weight, self.retriever_weight)
        out = [replace(c, margin=float(m)) for c, m in zip(candidates, fused)]
        return sorted(out, key=lambda c: (-c.margin, c.passage_index, c.start_char))

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
    def load(cls, model_dir: Path, setting: str = "gold") -> "Calibration":
        """``calibration.json`` beside the model, or the uncalibrated default when there is none.

        ``setting``: "gold" (each question given its own paragraph: the top level of the file) or
        "open" (passages from a retriever: the file's ``open`` section, the gold one where it has none).
        """
        path = Path(model_dir) / "calibration.json"
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        if setting == "open" and isinstance(data.get("open"), dict):
            data = data["open"]
        return cls(float(data["threshold"]), data.get("slope"), float(data.get("intercept", 0.0)), data.get("tuned_on"),
                   float(data.get("share_weight", 0.0)), float(data.get("retriever_weight", 0.0)))

    def to_dict(self) -> dict:
        return asdict(self)


def scoped_min_score(model_dir: Path) -> float | None:
    """The operating point for questions asked within named documents (a chat about one story the reader chose),
    as an open-setting score: ``calibration.json``'s ``scoped`` section (training/scoped.py), None where it has
    none. Such questions are nearly always about their story, so the point answers more readily than the open one."""
    path = Path(model_dir) / "calibration.json"
    if not path.is_file():
        return None
    scoped = json.loads(path.read_text(encoding="utf-8")).get("scoped")
    return float(scoped["min_score"]) if isinstance(scoped, dict) and "min_score" in scoped else None
