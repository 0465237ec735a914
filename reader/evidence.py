"""A yes/no question's answer is the sentence that settles it: the reader's span widened to its sentence, verbatim.

An extractive reader cannot say "yes" or "no"; asked "Did Germany send weapons?" its best span is a noun phrase
("anti-tank weapons") that answers nothing. The sentence holding that span is the statement a reader would quote
(CoQA's answers to such questions rest on that rationale), and it stays a span of the passage with exact offsets.
Sentences are found by pysbd (rule-based, abbreviation-aware: "U.S." and "Mr." end no sentence).
"""

from __future__ import annotations

import re

from qa.types import Answer

# A sentence longer than this (a run-on list, a paragraph without stops) is no quotable statement: keep the span.
MAX_EVIDENCE_CHARS = 400
_AUXILIARY = (
    "is are was were am be do does did has have had can could will would shall should may might must "
    "isn't aren't wasn't weren't don't doesn't didn't hasn't haven't hadn't can't couldn't won't wouldn't shouldn't"
).split()
_YES_NO = re.compile(r"^\W*(?:(?:and|but|so|then|also|ok|okay|well)\W+)*(?:" + "|".join(map(re.escape, _AUXILIARY))
                     + r")\b", re.IGNORECASE)
# "Was it a man or a woman?" asks for one of the alternatives, which is a span.
_ALTERNATIVE = re.compile(r"\bor\b", re.IGNORECASE)


def is_yes_no(question: str) -> bool:
    """Whether ``question`` asks yes or no: it opens with an auxiliary verb and offers no alternatives."""
    return bool(_YES_NO.match(question)) and not _ALTERNATIVE.search(question)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each sentence of ``text`` starts and ends (trailing whitespace included, as pysbd gives it)."""
    import pysbd

    # A segmenter keeps the text it is working on, so each call has its own (constructing one costs microseconds).
    return [(s.start, s.end) for s in pysbd.Segmenter(language="en", clean=False, char_span=True).segment(text)]


def sentence_bounds(text: str, start: int, end: int, spans: list[tuple[int, int]] | None = None) -> tuple[int, int]:
    """The sentence(s) of ``text`` covering ``text[start:end]``, without surrounding whitespace; the span itself
    where the segmenter does not cover it or the sentence is longer than ``MAX_EVIDENCE_CHARS``. ``spans``:
    ``sentence_spans(text)`` when already known (one passage, several answers)."""
    covering = [s for s in (sentence_spans(text) if spans is None else spans) if s[0] < end and start < s[1]]
    if not covering or covering[0][0] > start or covering[-1][1] < end:
        return start, end
    b, e = covering[0][0], covering[-1][1]
    while b < e and text[b].isspace():
        b += 1
    while e > b and text[e - 1].isspace():
        e -= 1
    if e - b > MAX_EVIDENCE_CHARS or not (b <= start and end <= e):
        return start, end
    return b, e


def as_evidence(answer: Answer, passage_text: str, spans: list[tuple[int, int]] | None = None) -> Answer:
    """``answer`` widened to its sentence of ``passage_text`` (its score and passage kept)."""
    b, e = sentence_bounds(passage_text, answer.start, answer.end, spans)
    return Answer(passage_text[b:e], answer.score, answer.passage_id, b, e)
