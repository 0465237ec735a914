"""Reader for any Hugging Face extractive QA model loaded from a local directory.

``preprocess`` tokenises (question, passage) pairs with doc-stride windows, ``forward`` runs the
model, ``postprocess`` is a pure numpy function from logits to character spans and the
no-answer score, testable with made-up logits.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.types import Answer, ScoredPassage
from reader.base import postprocess_candidates


@dataclass(frozen=True)
class Features:
    input_ids: np.ndarray  # [F, L]
    attention_mask: np.ndarray  # [F, L]
    offsets: np.ndarray  # [F, L, 2] character offsets into the passage
    context_mask: np.ndarray  # [F, L] True where the token belongs to the passage
    feature_passage: np.ndarray  # [F] index of the passage each window came from
    token_type_ids: np.ndarray | None = None


@dataclass(frozen=True)
class SpanCandidate:
    passage_index: int
    start_char: int
    end_char: int
    score: float


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def postprocess(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: np.ndarray,
    context_mask: np.ndarray,
    feature_passage: np.ndarray,
    max_answer_tokens: int = 30,
    n_best: int = 20,
) -> tuple[list[SpanCandidate], float]:
    """Decode span candidates and the no-answer probability from QA logits.

    Each window's logits are softmaxed over its passage tokens plus position 0 (the model's
    no-answer slot), so a span's score ``p_start * p_end`` and the no-answer score are
    probabilities in [0, 1]. The no-answer score is the smallest over windows: the question
    counts as answerable if any window is confident that its answer is there.
    Candidates are best first, one per distinct character span.
    """
    best: dict[tuple[int, int, int], float] = {}
    null = 1.0
    for f in range(start_logits.shape[0]):
        allowed = context_mask[f].copy()
        allowed[0] = True
        s_lp = _log_softmax(np.where(allowed, start_logits[f], -np.inf))
        e_lp = _log_softmax(np.where(allowed, end_logits[f], -np.inf))
        null = min(null, float(np.exp(s_lp[0] + e_lp[0])))
        ctx = np.flatnonzero(context_mask[f])
        if ctx.size == 0:
            continue
        top_s = ctx[np.argsort(-s_lp[ctx])[:n_best]]
        top_e = ctx[np.argsort(-e_lp[ctx])[:n_best]]
        for i in top_s:
            for j in top_e:
                if j < i or j - i + 1 > max_answer_tokens:
                    continue
                key = (int(feature_passage[f]), int(offsets[f, i, 0]), int(offsets[f, j, 1]))
                if key[2] <= key[1]:
                    continue
                score = float(np.exp(s_lp[i] + e_lp[j]))
                if score > best.get(key, -1.0):
                    best[key] = score
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:n_best]
    return [SpanCandidate(p, s, e, sc) for (p, s, e), sc in ranked], null


class TransformersReader:
    def __init__(self, model_path: str, max_seq_len: int = 384, doc_stride: int = 128, max_answer_tokens: int = 30,
                 batch_size: int = 16, min_score: float = 0.0, device: str = "cpu"):
        self.model_path = model_path
        self.max_seq_len = max_seq_len
        self.doc_stride = doc_stride
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size
        self.min_score = min_score
        self.device = device
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            local = Path(self.model_path).is_dir()
            try:
                self._tokenizer = AutoTokenizer.from_pretrained(self.model_path, use_fast=True, local_files_only=True)
                model = AutoModelForQuestionAnswering.from_pretrained(self.model_path, local_files_only=True)
            except OSError as exc:
                where = "directory" if local else "model id (not in the local cache; nothing is downloaded)"
                raise FileNotFoundError(f"cannot load QA model {self.model_path!r} from local {where}: {exc}") from exc
            if not self._tokenizer.is_fast:
                raise ValueError(f"{self.model_path}: a fast tokenizer is required for character offsets")
            self._model = model.to(self.device).eval()

    def preprocess(self, question: str, passages: list[str]) -> Features:
        tok = self._tokenizer
        pad_right = tok.padding_side == "right"
        enc = tok(
            [question] * len(passages) if pad_right else passages,
            passages if pad_right else [question] * len(passages),
            truncation="only_second" if pad_right else "only_first",
            max_length=self.max_seq_len,
            stride=self.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
            return_tensors="np",
        )
        context_index = 1 if pad_right else 0
        n = enc["input_ids"].shape[0]
        context_mask = np.array(
            [[sid == context_index for sid in enc.sequence_ids(i)] for i in range(n)], dtype=bool
        ).reshape(n, -1)
        return Features(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            offsets=enc["offset_mapping"],
            context_mask=context_mask,
            feature_passage=enc["overflow_to_sample_mapping"],
            token_type_ids=enc.get("token_type_ids"),
        )

    def forward(self, features: Features) -> tuple[np.ndarray, np.ndarray]:
        import torch

        starts, ends = [], []
        with torch.inference_mode():
            for b in range(0, len(features.input_ids), self.batch_size):
                inputs = {
                    "input_ids": torch.as_tensor(features.input_ids[b : b + self.batch_size], device=self.device),
                    "attention_mask": torch.as_tensor(features.attention_mask[b : b + self.batch_size], device=self.device),
                }
                if features.token_type_ids is not None and "token_type_ids" in self._tokenizer.model_input_names:
                    inputs["token_type_ids"] = torch.as_tensor(
                        features.token_type_ids[b : b + self.batch_size], device=self.device
                    )
                out = self._model(**inputs)
                starts.append(out.start_logits.float().cpu().numpy())
                ends.append(out.end_logits.float().cpu().numpy())
        return np.concatenate(starts), np.concatenate(ends)

    def read_batch(self, questions: list[str], passages: list[list[ScoredPassage]], max_answers: int) -> list[list[Answer]]:
        self.warm_up()
        results = []
        for question, scored in zip(questions, passages):
            if not scored:
                results.append([])
                continue
            features = self.preprocess(question, [sp.passage.text for sp in scored])
            start_logits, end_logits = self.forward(features)
            spans, null = postprocess(
                start_logits, end_logits, features.offsets, features.context_mask, features.feature_passage,
                max_answer_tokens=self.max_answer_tokens,
            )
            answers = []
            for span in spans:
                if span.score <= null:
                    break  # The model thinks "no answer" is likelier than this span.
                p = scored[span.passage_index].passage
                answers.append(Answer(p.text[span.start_char : span.end_char], round(span.score, 4), p.id,
                                      span.start_char, span.end_char))
            results.append(postprocess_candidates(answers, max_answers, self.min_score))
        return results

    def read(self, question: str, passages: list[ScoredPassage], max_answers: int) -> list[Answer]:
        return self.read_batch([question], [passages], max_answers)[0]
