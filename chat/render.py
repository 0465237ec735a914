"""A chat reply as an assistant message with numbered source markers (typed in, text out)."""

from __future__ import annotations

from chat.service import ChatReply, Numbered
from qa.types import QAResult

_QUOTE_CHARS = 160


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


def _source_line(n: Numbered) -> str:
    c = n.answer.citation
    # Paragraphs are numbered from 1 wherever a person reads them (the API's field counts from 0).
    return (f"[{n.index}] {c.title}, {c.line()} (score {n.answer.score:.2f}): "
            f"\u201c{_quote(n.passage.text, c.start, c.end)}\u201d")


def closest_line(result: QAResult, width: int = 300) -> str | None:
    """For a question without an answer: what the closest passage says, and where, honestly labelled."""
    closest = result.closest()
    if closest is None:
        return None
    p = closest.passage
    text = p.text if len(p.text) <= width else p.text[: p.text.rfind(" ", 0, width) or width] + "…"
    return f"The closest passage ({p.title}, {p.line()}) says: \u201c{text}\u201d"


def message(reply: ChatReply) -> str:
    """The assistant's text: the answer first, then other candidates, what was asked, and the sources."""
    cites = reply.numbered()
    lines = [f"{cites[0].answer.text} [1]" if cites else reply.no_answer_text]
    if not cites and (closest := closest_line(reply.result)) is not None:
        lines.append(closest)
    if len(cites) > 1:
        lines.append("Other possible answers: " + "; ".join(f"{c.answer.text} [{c.index}]" for c in cites[1:]))
    if reply.rewrite.changed:
        lines.append(f"(Asked as: {reply.rewrite.question})")
    if cites:
        lines += ["", "Sources:", *(_source_line(c) for c in cites)]
    return "\n".join(lines)
