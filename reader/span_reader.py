"""What every span-extraction reader shares: tokenizer, windows, decoding, calibration, answers.

Subclasses only load a model and map token arrays to start/end logits (``forward``): the PyTorch
reader (any local Hugging Face QA model) and the ONNX Runtime reader (the shipped default) decode
the same features with the same pure function.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from qa import deadline
from qa.offline import go_offline
from qa.types import Answer, Passage, ScoredPassage
from reader.base import postprocess_candidates
from reader.decode import Calibration, SpanCandidate, decode_spans, scoped_min_score, without_unpaired_quotes
from reader.evidence import as_evidence, is_yes_no, sentence_spans
from reader.selector import Selector, candidate_features
from reader.features import DOC_STRIDE, MAX_SEQ_LEN, Features, featurize

# Logit given to positions cut off by per-batch trimming: padding, never a span.
_PAD_LOGIT = -1e4
# Tokens in one forward batch at most (windows x width): attention memory grows with batch x width², and ONNX
# Runtime's arena keeps its peak, so 16 full windows of 384 tokens once cost 500 MB that stayed; 16 windows
# of 128 or 5 of 384 fit (measured: a long question over long passages 1.05 -> 0.7 s, 1.2 GB -> 455 MB RSS).
MAX_BATCH_TOKENS = 2048


class SpanReader:
    def __init__(self, model_path: str, max_seq_len: int = MAX_SEQ_LEN, doc_stride: int = DOC_STRIDE, max_answer_tokens: int = 30,
                 batch_size: int = 16, min_score: float | None = None, calibration: Calibration | None = None,
                 setting: str = "open", use_selector: bool = False):
        self.model_path = str(model_path)
        self.max_seq_len = max_seq_len
        self.doc_stride = doc_stride
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size
        # None: answer when a span's margin beats the calibrated threshold; else when its score reaches this.
        self.min_score = min_score
        # None: read calibration.json beside the model at warm-up (uncalibrated if there is none).
        self.calibration = calibration
        # Which operating point calibration.json gives: "open" (retrieved passages, the service) or "gold"
        # (each question with its own paragraph: SQuAD's reader-only setting).
        if setting not in ("open", "gold"):
            raise ValueError(f"reader setting must be 'open' or 'gold', not {setting!r}")
        self.setting = setting
        # use_selector: the learned answer selector beside the model (selector.txt) decides when there is one
        # (QA_ANSWER_SELECTOR=true); else the calibrated margin does (calibration.json).
        self.use_selector = use_selector
        self.selector: Selector | None = None
        # The operating point for questions within named documents (calibration.json "scoped"; loaded at warm-up).
        self.scoped_min_score: float | None = None
        self._tokenizer = None
        self._loaded = False
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------------
    def warm_up(self) -> None:
        with self._lock:
            if self._loaded:
                return
            go_offline()
            path = Path(self.model_path)
            where = "directory" if path.is_dir() else "model id (not in the local cache; nothing is downloaded)"
            try:
                self._tokenizer = self._load_tokenizer()
                self._load_model()
            except OSError as exc:
                raise FileNotFoundError(f"cannot load QA model {self.model_path!r} from local {where}: {exc}") from exc
            if not self._tokenizer.is_fast:
                raise ValueError(f"{self.model_path}: a fast tokenizer is required for character offsets")
            if self.calibration is None:
                self.calibration = Calibration.load(path, self.setting) if path.is_dir() else Calibration()
                if self.setting == "open" and path.is_dir():
                    self.scoped_min_score = scoped_min_score(path)
            if self.use_selector and self.selector is None and path.is_dir() and Selector.available(path):
                selector = Selector(path)
                selector.warm_up()
                self.selector = selector
            self._loaded = True

    def _load_tokenizer(self):
        """The fast tokenizer of the model directory (transformers' by default; the ONNX reader reads the same
        tokenizer.json without importing transformers)."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model_path, use_fast=True, local_files_only=True)

    def _load_model(self) -> None:
        raise NotImplementedError

    # -- the three steps -------------------------------------------------------------------------
    def preprocess(self, questions: list[str], passages: list[str]) -> Features:
        return featurize(self._tokenizer, questions, passages, self.max_seq_len, self.doc_stride)

    def _forward_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                       token_type_ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def forward(self, features: Features) -> tuple[np.ndarray, np.ndarray]:
        """Start/end logits [F, L]; windows run in length order, each batch cut to its longest."""
        n, width = features.input_ids.shape
        starts = np.full((n, width), _PAD_LOGIT, dtype=np.float32)
        ends = np.full((n, width), _PAD_LOGIT, dtype=np.float32)
        lengths = features.attention_mask.sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        batches, start = [], 0
        while start < n:
            # In length order, so the batch's width is its last window's: grow while the budget allows.
            end = start + 1
            while end < n and end - start < self.batch_size and (end + 1 - start) * int(lengths[order[end]]) <= MAX_BATCH_TOKENS:
                end += 1
            batches.append(order[start:end])
            start = end
        for idx in batches:
            deadline.check()  # a question past its deadline, or abandoned by its client, stops here
            w = int(lengths[idx].max())
            tt = features.token_type_ids[idx, :w] if features.token_type_ids is not None else None
            s, e = self._forward_batch(features.input_ids[idx, :w], features.attention_mask[idx, :w], tt)
            starts[idx, :w], ends[idx, :w] = s, e
        return starts, ends

    def candidates_batch(self, questions: list[str], passages: list[list[str]]) -> list[list[SpanCandidate]]:
        """Every question's span candidates over its passages, best first, before calibration.

        Each question's windows run as their own batch: a dynamically quantized model scales its
        activations per batch, so batching questions together would make one question's answer
        depend on the others asked with it (measured: 1 F1 point on SQuAD 2.0).
        """
        self.warm_up()
        results = []
        for question, texts in zip(questions, passages):
            if not texts:
                results.append([])
                continue
            features = self.preprocess([question] * len(texts), texts)
            start_logits, end_logits = self.forward(features)
            results.append(decode_spans(start_logits, end_logits, features.offsets, features.context_mask,
                                        features.feature_passage, max_answer_tokens=self.max_answer_tokens))
        return results

    def read_batch(self, questions: list[str], passages: list[list[ScoredPassage]], max_answers: int,
                   within_documents: bool = False) -> list[list[Answer]]:
        """``within_documents``: the questions were asked within named documents (a chat about one story), so the
        calibrated margin answers from the scoped operating point where the model has one (an explicit
        ``min_score`` and the learned selector keep their own)."""
        texts = [[sp.passage.text for sp in scored] for scored in passages]
        self.warm_up()
        floor = (self.scoped_min_score if within_documents and self.min_score is None and self.selector is None
                 else None)
        return [self.decide(question, scored, candidates, max_answers, min_score=floor)
                for question, scored, candidates in zip(questions, passages, self.candidates_batch(questions, texts))]

    def decide(self, question: str, scored: list[ScoredPassage], candidates: list[SpanCandidate], max_answers: int,
               selector: bool = True, min_score: float | None = None) -> list[Answer]:
        """Which candidates are answers, best first, each with its score (the probability that it is right).

        With the learned selector (``selector`` and one shipped beside the model): ranked by the selector, answered
        when the calibrated probability reaches ``min_score`` (default: the reader's own, else the selector's tuned
        threshold). Otherwise the calibrated margin decides. The benchmarks call this on candidates they already
        have, to compare both rules on one reading."""
        self.warm_up()
        min_score = self.min_score if min_score is None else min_score
        answers = []
        if selector and self.selector is not None:
            texts = [sp.passage.text for sp in scored]
            # In the reader-only setting no retriever chose the passage: its features are missing, not 1.0.
            scores = None if self.setting == "gold" else [sp.evidence for sp in scored]
            raw = self.selector.raw(candidate_features(question, texts, scores, candidates))
            probs = self.selector.calibrate(raw)
            floor = self.selector.threshold_for(self.setting) if min_score is None else min_score
            for i in np.argsort(-raw, kind="stable"):
                c = candidates[int(i)]
                if probs[i] >= floor:
                    answers.append(_answer(scored[c.passage_index].passage, c, round(float(probs[i]), 4)))
            return postprocess_candidates(self._evidence(question, answers, scored), max_answers, ranked=True)
        # Evidence decides whether to answer and states the probability; a preference (recency, ScoredPassage.boost)
        # only orders the answers, so "prefer newer" never makes an answer look surer than it is.
        fused = self.calibration.fuse(candidates, [sp.evidence for sp in scored])
        preferred = any(sp.boost for sp in scored)
        if preferred:
            margin = {_span(c): c.margin for c in self.calibration.fuse(candidates, [sp.score for sp in scored])}
            fused = sorted(fused, key=lambda c: -margin[_span(c)])
        for c in self.calibration.answers(fused, min_score):
            answers.append(_answer(scored[c.passage_index].passage, c, round(self.calibration.score(c), 4)))
        return postprocess_candidates(self._evidence(question, answers, scored), max_answers, ranked=preferred)

    @staticmethod
    def _evidence(question: str, answers: list[Answer], scored: list[ScoredPassage]) -> list[Answer]:
        """A yes/no question's answers as the sentences holding them (reader/evidence.py); others unchanged."""
        if not answers or not is_yes_no(question):
            return answers
        texts = {sp.passage.id: sp.passage.text for sp in scored}
        spans: dict[str, list[tuple[int, int]]] = {}  # each passage segmented once, however many answers it holds
        out = []
        for a in answers:
            if a.passage_id not in spans:
                spans[a.passage_id] = sentence_spans(texts[a.passage_id])
            out.append(as_evidence(a, texts[a.passage_id], spans[a.passage_id]))
        return out

    def read(self, question: str, passages: list[ScoredPassage], max_answers: int,
             within_documents: bool = False) -> list[Answer]:
        return self.read_batch([question], [passages], max_answers, within_documents)[0]


def _span(c: SpanCandidate) -> tuple[int, int, int]:
    return c.passage_index, c.start_char, c.end_char


def _answer(passage: Passage, c: SpanCandidate, score: float) -> Answer:
    """The candidate as an answer: verbatim from its passage, less a quotation mark it never pairs."""
    start, end = without_unpaired_quotes(passage.text, c.start_char, c.end_char)
    return Answer(passage.text[start:end], score, passage.id, start, end)
