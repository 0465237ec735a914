"""The question path: embed the question, retrieve passages, read span answers, attach citations."""

from __future__ import annotations

import time

from qa import deadline
from qa.filters import Scope
from qa.types import Answer, Citation, CitedAnswer, Passage, QAResult
from qa.protocols import Embedder, Reader, Retriever


class CitationError(ValueError):
    """A reader returned a span that is not a verbatim slice of its passage."""


def cite(answer: Answer, passages: dict[str, Passage], also_in: dict[str, tuple[str, ...]] | None = None) -> CitedAnswer:
    """``also_in``: by passage id, the other documents carrying that passage (its citation says so)."""
    passage = passages[answer.passage_id]
    if passage.text[answer.start : answer.end] != answer.text or not answer.text:
        raise CitationError(f"answer {answer.text!r} is not passage {passage.id}[{answer.start}:{answer.end}]")
    citation = Citation(passage.doc_id, passage.title, passage.paragraph, answer.start, answer.end,
                        passage.doc_start + answer.start, passage.doc_start + answer.end, passage.page, passage.published,
                        passage.source, (also_in or {}).get(passage.id, ()))
    return CitedAnswer(answer.text, float(min(max(answer.score, 0.0), 1.0)), passage.id, citation)


class QAPipeline:
    def __init__(self, embedder: Embedder, retriever: Retriever, reader: Reader, top_k: int = 5, max_answers: int = 3):
        self.embedder = embedder
        self.retriever = retriever
        self.reader = reader
        self.top_k = top_k
        self.max_answers = max_answers

    def with_reader(self, reader: Reader) -> "QAPipeline":
        """The same retrieval with another reader (evaluation compares readers over one index)."""
        return QAPipeline(self.embedder, self.retriever, reader, self.top_k, self.max_answers)

    def ask_batch(self, questions: list[str], top_k: int | None = None, max_answers: int | None = None,
                  scope: Scope | None = None) -> list[QAResult]:
        """``scope``: filters the passages must pass, and a recency preference (None: the whole index)."""
        top_k = self.top_k if top_k is None else top_k
        max_answers = self.max_answers if max_answers is None else max_answers
        marks = [time.perf_counter()]
        # Searched and read without a publisher the scope already selects named as the teller (Scope.unnamed).
        asked = [scope.unnamed(q) for q in questions] if scope is not None else questions
        embeddings = self.embedder.encode(asked)
        marks.append(time.perf_counter())
        deadline.check()
        retrieved = self.retriever.retrieve_batch(asked, embeddings, top_k, scope=scope)
        marks.append(time.perf_counter())
        deadline.check()
        # Asked within named documents (a chat about one story): the reader's operating point for that.
        answers = self.reader.read_batch(asked, retrieved, max_answers,
                                         within_documents=scope is not None and bool(scope.doc_ids))
        marks.append(time.perf_counter())
        # Per-question share of the batch time, so single questions report their real cost.
        share = 1000 / max(len(questions), 1)
        timings = {stage: (b - a) * share for stage, a, b in zip(("embed", "retrieve", "read"), marks, marks[1:])}
        timings["total"] = (marks[-1] - marks[0]) * share
        results = []
        for question, passages, found in zip(questions, retrieved, answers):
            by_id = {sp.passage.id: sp.passage for sp in passages}
            also_in = {sp.passage.id: sp.also_in for sp in passages if sp.also_in}
            cited = tuple(cite(a, by_id, also_in) for a in found[:max_answers])
            results.append(QAResult(question, cited, tuple(passages), {k: round(v, 2) for k, v in timings.items()}))
        return results

    def ask(self, question: str, top_k: int | None = None, max_answers: int | None = None,
            scope: Scope | None = None) -> QAResult:
        return self.ask_batch([question], top_k, max_answers, scope)[0]
