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


def window(context: str, start: int, end: int, width: int) -> tuple[int, int]:
    """Bounds of about ``width`` characters of ``context`` around the span [start, end), cut at spaces
    outside the span (shared by the chat message and Slack's quote)."""
    room = max(width - (end - start), 0) // 2
    left, right = max(0, start - room), min(len(context), end + room)
    if left > 0:
        left = context.find(" ", left, start) + 1 or left
    if right < len(context):
        cut = context.rfind(" ", end, right)
        right = cut if cut > 0 else right
    return left, right


def _quote(context: str, start: int, end: int) -> str:
    left, right = window(context, start, end, _QUOTE_CHARS)
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
