"""A chat reply as an assistant message with numbered source markers, and back to the answer it gave."""

from __future__ import annotations

import re

from chat.service import ChatReply
from qa.serialize import answer_dict

NO_ANSWER = "I found no answer to that in the indexed articles."
_MARKERS = re.compile(r"(?:\s*\[\d+\])+\s*$")
_QUOTE_CHARS = 160


def citations(reply: ChatReply) -> list[dict]:
    """Structured citations, numbered as in the message, with the quoted span and its paragraph."""
    passages = {sp.passage.id: sp.passage for sp in reply.result.passages}
    return [{"index": i, **answer_dict(a, passages.get(a.passage_id))} for i, a in enumerate(reply.result.answers, 1)]


def _quote(context: str, start: int, end: int) -> str:
    """The sentence-ish window around the span, cut at word boundaries."""
    left = max(0, start - (_QUOTE_CHARS - (end - start)) // 2)
    right = min(len(context), max(end, left + _QUOTE_CHARS))
    if left > 0:
        left = context.find(" ", left) + 1 or left
    if right < len(context):
        right = context.rfind(" ", end, right) if context.rfind(" ", end, right) > 0 else right
    return ("…" if left > 0 else "") + context[left:right].strip() + ("…" if right < len(context) else "")


def message(reply: ChatReply) -> str:
    """The assistant's text: the answer first, then other candidates, what was asked, and the sources."""
    cites = citations(reply)
    lines = [f"{cites[0]['text']} [1]" if cites else NO_ANSWER]
    if len(cites) > 1:
        lines.append("Other possible answers: " + "; ".join(f"{c['text']} [{c['index']}]" for c in cites[1:]))
    if reply.rewrite.changed:
        lines.append(f"(Asked as: {reply.rewrite.question})")
    if cites:
        lines.append("")
        lines.append("Sources:")
        for c in cites:
            ref = c["citation"]
            lines.append(f"[{c['index']}] {ref['title']}, paragraph {ref['paragraph']} (score {c['score']:.2f}): "
                         f"\u201c{_quote(c['context'], ref['start'], ref['end'])}\u201d")
    return "\n".join(lines)


def answer_in(content: str) -> tuple[str, ...]:
    """The answer an earlier assistant message gave (its first line, markers removed); () for none."""
    first = content.strip().split("\n", 1)[0].strip()
    if not first or first == NO_ANSWER:
        return ()
    return (_MARKERS.sub("", first),)
