"""The one JSON shape of a result, shared by the CLI, the HTTP API, the chat endpoint and Slack."""

from __future__ import annotations

from qa.types import CitedAnswer, Passage, QAResult


def answer_dict(answer: CitedAnswer, passage: Passage | None = None) -> dict:
    """An answer and its citation; with ``passage``, also the paragraph it quotes (``context``)."""
    c = answer.citation
    out = {"text": answer.text, "score": round(answer.score, 4), "passage_id": answer.passage_id,
           "citation": {"doc_id": c.doc_id, "title": c.title, "paragraph": c.paragraph, "start": c.start, "end": c.end}}
    if passage is not None:
        out["context"] = passage.text
    return out


def result_dict(result: QAResult, with_context: bool = False) -> dict:
    passages = {sp.passage.id: sp.passage for sp in result.passages}
    return {
        "question": result.question,
        "answers": [answer_dict(a, passages.get(a.passage_id) if with_context else None) for a in result.answers],
        "no_answer": result.no_answer,
        "passages": [{"id": sp.passage.id, "doc_id": sp.passage.doc_id, "title": sp.passage.title,
                      "paragraph": sp.passage.paragraph, "text": sp.passage.text, "score": round(sp.score, 4)}
                     for sp in result.passages],
        "timings_ms": dict(result.timings_ms),
    }
