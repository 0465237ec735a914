"""How much of the question a span's own sentence holds: a lexical signal added to the model's margin.

SQuAD 2.0's unanswerable questions are mostly an answerable one with a word swapped or added, and a question
that the archive does not cover at all finds passages that share only its topic. In both, the sentence that
holds the best span tends to lack some of the question's content words, which the model's margin alone
misses often enough to matter (issue 15; the weight is tuned with the threshold, ``Calibration``).
"""

from __future__ import annotations

import bisect
import re

import numpy as np

from qa.text import lexical_terms

# A sentence ends at . ! or ? (a closing quote or bracket may follow) before white space.
_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]?\s+")


def sentence_starts(text: str) -> list[int]:
    """The character offsets where the text's sentences start, 0 first."""
    return [0] + [m.end() for m in _SENTENCE_END.finditer(text)]


def span_sentences(text: str, start: int, end: int, starts: list[int] | None = None) -> str:
    """The sentence holding ``text[start:end]``, or the run of sentences when the span crosses a boundary."""
    starts = sentence_starts(text) if starts is None else starts
    first = bisect.bisect_right(starts, start) - 1
    last = bisect.bisect_right(starts, max(end - 1, start)) - 1
    stop = starts[last + 1] if last + 1 < len(starts) else len(text)
    return text[starts[first] : stop]


def coverage(question: str, text: str, start: int, end: int) -> float:
    """The share of the question's content words found in the sentence holding the span (1.0 if it has none)."""
    return coverages(question, [text], [(0, start, end)])[0]


def coverages(question: str, passages: list[str], spans) -> np.ndarray:
    """``coverage`` for each ``(passage_index, start, end)``; passages are split into sentences once."""
    asked = set(lexical_terms(question))
    if not asked:
        return np.ones(len(spans))
    starts: dict[int, list[int]] = {}
    seen: dict[tuple[int, str], float] = {}
    out = np.empty(len(spans))
    for n, (p, start, end) in enumerate(spans):
        if p not in starts:
            starts[p] = sentence_starts(passages[p])
        sentence = span_sentences(passages[p], start, end, starts[p])
        key = (p, sentence)
        if key not in seen:
            seen[key] = len(asked.intersection(lexical_terms(sentence))) / len(asked)
        out[n] = seen[key]
    return out
