"""Featurization shared by training and inference: doc-stride windows and answer token labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The serving window: tokens per window and the overlap step between windows of one passage.
MAX_SEQ_LEN = 384
DOC_STRIDE = 128
# A question keeps at most this many tokens (its head), so that every window still holds some passage:
# 1,000 characters of "a a a ..." would otherwise leave no room and fail tokenisation.
MAX_QUESTION_TOKENS = 64


def clip_questions(tokenizer, questions: list[str], max_tokens: int = MAX_QUESTION_TOKENS) -> list[str]:
    """Each question cut after its first ``max_tokens`` tokens (at a token's end, so the text is verbatim)."""
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for question, offsets in zip(questions, enc["offset_mapping"]):
        out.append(question if len(offsets) <= max_tokens else question[: offsets[max_tokens - 1][1]])
    return out


@dataclass(frozen=True)
class Features:
    """Windows over (question, context) pairs, as arrays the model and the decoder take."""

    input_ids: np.ndarray  # [F, L]
    attention_mask: np.ndarray  # [F, L]
    offsets: np.ndarray  # [F, L, 2] character offsets into the context
    context_mask: np.ndarray  # [F, L] True where the token belongs to the context
    feature_passage: np.ndarray  # [F] index of the (question, context) pair each window came from
    token_type_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


def featurize(tokenizer, questions: list[str], contexts: list[str], max_seq_len: int = MAX_SEQ_LEN,
              doc_stride: int = DOC_STRIDE, padding: str = "longest") -> Features:
    """Tokenise pairs into overlapping windows of at most ``max_seq_len`` tokens.

    ``doc_stride`` is the number of context tokens consecutive windows share, so an answer cut by
    one window's edge lies whole inside the next. Offsets are character offsets into each context.
    """
    if len(questions) != len(contexts):
        raise ValueError(f"{len(questions)} questions for {len(contexts)} contexts")
    questions = clip_questions(tokenizer, list(questions), min(MAX_QUESTION_TOKENS, max_seq_len // 4))
    pad_right = tokenizer.padding_side == "right"
    enc = tokenizer(
        questions if pad_right else contexts,
        contexts if pad_right else questions,
        truncation="only_second" if pad_right else "only_first",
        max_length=max_seq_len,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=padding,
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


def label_windows(features: Features, answer_spans: list[tuple[int, int] | None]) -> tuple[np.ndarray, np.ndarray]:
    """Start/end token labels per window from character spans ``(start, end)`` (end exclusive).

    ``None`` (no answer), or an answer that a window does not hold whole, is labelled 0 on both
    sides: the [CLS] position, the model's no-answer slot.
    """
    n = len(features)
    starts = np.zeros(n, dtype=np.int64)
    ends = np.zeros(n, dtype=np.int64)
    for f in range(n):
        span = answer_spans[int(features.feature_passage[f])]
        if span is None:
            continue
        a_start, a_end = span
        ctx = np.flatnonzero(features.context_mask[f])
        if ctx.size == 0:
            continue
        tok_start, tok_end = features.offsets[f, ctx, 0], features.offsets[f, ctx, 1]
        if tok_start[0] > a_start or tok_end[-1] < a_end:
            continue  # the answer is not wholly inside this window
        # First token ending after the answer starts; last token starting before it ends.
        s = ctx[np.argmax(tok_end > a_start)]
        e = ctx[len(ctx) - 1 - np.argmax(tok_start[::-1] < a_end)]
        if e < s:
            continue
        starts[f], ends[f] = s, e
    return starts, ends
