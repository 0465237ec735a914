"""A conversation's last question, made standalone and answered by the single-turn pipeline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from chat.rewrite import Rewrite, Rewriter, RuleRewriter, Turn
from chat.turns import NO_ANSWER, NO_ANSWER_SELECTED
from qa.filters import Scope
from qa.pipeline import QAPipeline
from qa.text import normalize_answer
from qa.types import CitedAnswer, Passage, QAResult


@dataclass(frozen=True)
class Numbered:
    """An answer as a reply cites it: its [n] marker and the paragraph it quotes."""

    index: int
    answer: CitedAnswer
    passage: Passage

    def to_dict(self) -> dict:
        return {"index": self.index, **self.answer.to_dict(self.passage)}


@dataclass(frozen=True)
class ChatReply:
    """The pipeline's result for the standalone question, and how it was made standalone."""

    rewrite: Rewrite
    result: QAResult
    # Asked within a selection (documents, dates, publishers, topics), not the whole index.
    selected: bool = False

    @property
    def no_answer_text(self) -> str:
        """What the reply says when it has no answer: where it looked."""
        return NO_ANSWER_SELECTED if self.selected else NO_ANSWER

    def numbered(self) -> list[Numbered]:
        return [Numbered(i, a, self.result.passage_of(a)) for i, a in enumerate(self.result.answers, 1)]

    def to_dict(self) -> dict:
        """The fields the chat endpoint adds to OpenAI's shape: what was asked, the structured citations and,
        when there is no answer, the closest passage (never empty-handed)."""
        closest = self.result.closest()
        return {"question": self.rewrite.question, "no_answer": self.result.no_answer,
                "citations": [n.to_dict() for n in self.numbered()],
                "closest": closest.to_dict() if closest is not None else None}


def _already_given(answer: CitedAnswer, given: set[str]) -> bool:
    text = normalize_answer(answer.text)
    return any(text == g or (text and g and (text in g or g in text)) for g in given)


class ChatService:
    def __init__(self, pipeline: QAPipeline, rewriter: Rewriter | None = None):
        self.pipeline = pipeline
        self.rewriter = rewriter if rewriter is not None else RuleRewriter()
        self._about: dict[str, list[str]] = {}

    def about(self, name: str) -> list[str]:
        """The indexed passages that best match a name (asked only when a he/she needs it; remembered)."""
        if name not in self._about:
            found = self.pipeline.retriever.retrieve(name, self.pipeline.embedder.encode([name])[0], 3)
            self._about[name] = [sp.passage.text for sp in found if name.split()[-1] in sp.passage.text]
        return self._about[name]

    def standalone(self, turns: Sequence[Turn]) -> list[Turn]:
        """Earlier turns with their questions made standalone in order, so that ellipses chain."""
        resolved: list[Turn] = []
        for turn in turns:
            standalone = self.rewriter.rewrite(resolved, turn.question, self.about).question
            resolved.append(Turn(standalone, turn.answers, turn.question))
        return resolved

    def reply_batch(self, conversations: Sequence[tuple[Sequence[Turn], str]], top_k: int | None = None,
                    max_answers: int | None = None, scope: Scope | None = None) -> list[ChatReply]:
        """``scope``: what the conversation is asked within (the story a reader is looking at, a period, a
        publisher); None: the whole index."""
        max_answers = self.pipeline.max_answers if max_answers is None else max_answers
        rewrites = [self.rewriter.rewrite(self.standalone(history), question, self.about)
                    for history, question in conversations]
        # "What else": ask for more, then drop what was already said.
        extra = max((len(r.exclude) for r in rewrites), default=0)
        results = self.pipeline.ask_batch([r.question for r in rewrites], top_k, max_answers + extra, scope)
        replies = []
        for rewrite, result in zip(rewrites, results):
            given = {normalize_answer(a) for a in rewrite.exclude}
            answers = tuple(a for a in result.answers if not _already_given(a, given))[:max_answers]
            replies.append(ChatReply(rewrite, replace(result, answers=answers), scope is not None and scope.filtered))
        return replies

    def reply(self, history: Sequence[Turn], question: str, top_k: int | None = None,
              max_answers: int | None = None, scope: Scope | None = None) -> ChatReply:
        return self.reply_batch([(history, question)], top_k, max_answers, scope)[0]
