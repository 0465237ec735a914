"""A conversation's last question, made standalone and answered by the single-turn pipeline."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from chat.rewrite import Rewrite, Rewriter, RuleRewriter, Turn
from qa.filters import Scope, documents_scope
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


# Earlier answered turns whose documents a follow-up falls back to (the most recent ones).
FALLBACK_TURNS = 3


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
        resolved = [self.standalone(history) for history, _ in conversations]
        rewrites = [self.rewriter.rewrite(earlier, question, self.about)
                    for earlier, (_, question) in zip(resolved, conversations)]
        # "What else": ask for more, then drop what was already said.
        extra = max((len(r.exclude) for r in rewrites), default=0)
        results = self.pipeline.ask_batch([r.question for r in rewrites], top_k, max_answers + extra, scope)
        for i, (earlier, rewrite) in enumerate(zip(resolved, rewrites)):
            if not results[i].answers and not (scope is not None and scope.doc_ids):
                results[i] = self._within_earlier(earlier, rewrite.question, top_k, max_answers + extra, scope,
                                                  results[i])
        replies = []
        for rewrite, result in zip(rewrites, results):
            given = {normalize_answer(a) for a in rewrite.exclude}
            answers = tuple(a for a in result.answers if not _already_given(a, given))[:max_answers]
            replies.append(ChatReply(rewrite, replace(result, answers=answers)))
        return replies

    def _within_earlier(self, earlier: Sequence[Turn], question: str, top_k: int | None, max_answers: int,
                        scope: Scope | None, unanswered: QAResult) -> QAResult:
        """A follow-up the whole index gave no answer to, asked again within the documents the conversation's
        earlier answers came from (issue 30: a rewrite can lose what the earlier turns' story holds), at the
        reader's point for questions within named documents; the first result when that finds nothing either.
        Tune half of the CoQA conversations: follow-ups 8.7 -> 11.0 F1 over the 90 stories' index, 5.2 -> 6.5
        against the news archive with them (README, "Chat")."""
        documents = self._documents_of(earlier, scope)
        if not documents:
            return unanswered
        within = replace(scope, doc_ids=tuple(documents)) if scope is not None else documents_scope(documents)
        again = self.pipeline.ask(question, top_k, max_answers, within)
        return again if again.answers else unanswered

    def _documents_of(self, earlier: Sequence[Turn], scope: Scope | None) -> list[str]:
        """The documents of the earlier answers: each answered turn's standalone question retrieved again as it
        was asked, the documents of its passages that hold its answer word for word (every channel sends the
        answers' text back, none their documents)."""
        answered = [t for t in earlier if t.answers][-FALLBACK_TURNS:]
        if not answered:
            return []
        questions = [t.question for t in answered]
        found = self.pipeline.retriever.retrieve_batch(questions, self.pipeline.embedder.encode(questions),
                                                       self.pipeline.top_k, scope=scope)
        documents: list[str] = []
        for turn, passages in zip(answered, found):
            documents += [sp.passage.doc_id for sp in passages if any(a and a in sp.passage.text for a in turn.answers)]
        return list(dict.fromkeys(documents))

    def reply(self, history: Sequence[Turn], question: str, top_k: int | None = None,
              max_answers: int | None = None, scope: Scope | None = None) -> ChatReply:
        return self.reply_batch([(history, question)], top_k, max_answers, scope)[0]
