"""Earlier turns of a conversation from its messages: the one place every channel reads history.

Where we control both ends (the chat page), an assistant message carries the answers it gave; where a
client sends back only text (OpenAI clients, Slack), the answer is read from the message's first line, here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from chat.rewrite import Turn

NO_ANSWER = "I found no confident answer to that in the indexed articles."
# Asked within a selection (one story, a period, a publisher): the answer was looked for there only.
NO_ANSWER_SELECTED = "I found no confident answer to that in the selected articles."
_NO_ANSWER_OPENING = "I found no confident answer to that"
_MARKERS = re.compile(r"(?:\s*\[\d+\])+\s*$")


@dataclass(frozen=True)
class Message:
    """One chat message: role "user" or "assistant" (others are skipped); ``answers`` when the sender kept them."""

    role: str
    text: str
    answers: tuple[str, ...] | None = None


def answer_in(content: str) -> tuple[str, ...]:
    """The answer an earlier assistant message gave (its first line, markers removed); () for none."""
    first = content.strip().split("\n", 1)[0].strip()
    if not first or first.startswith(_NO_ANSWER_OPENING):
        return ()
    return (_MARKERS.sub("", first),)


def turns_of(messages: Iterable[Message]) -> list[Turn]:
    """(question, answers) pairs in order: a user message asks, the next assistant message answers it."""
    turns: list[Turn] = []
    pending: str | None = None
    for m in messages:
        if m.role == "user":
            if pending is not None:
                turns.append(Turn(pending))
            pending = m.text.strip()
        elif m.role == "assistant" and pending is not None:
            turns.append(Turn(pending, m.answers if m.answers is not None else answer_in(m.text)))
            pending = None
    if pending is not None:
        turns.append(Turn(pending))
    return [t for t in turns if t.question]
