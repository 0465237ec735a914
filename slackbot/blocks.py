"""A chat reply as a Block Kit message, kept within Slack's limits."""

from __future__ import annotations

from chat.render import message, window
from chat.service import ChatReply

# Slack: at most 50 blocks a message and 3,000 characters in a section's text.
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_SOURCES = 3
QUOTE_CHARS = 280


def escape(text: str) -> str:
    """Slack mrkdwn control characters (&, <, >) as entities, so quoted text cannot ping or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quote_in_context(context: str, start: int, end: int, width: int = QUOTE_CHARS) -> str:
    """The paragraph around the span, the span in bold, cut at word boundaries."""
    span = context[start:end]
    left, right = window(context, start, end, width)
    before, after = context[left:start], context[end:right]
    bold = f"*{escape(_clip(span, width))}*" if span.strip() else escape(span)
    return (("…" if left > 0 else "") + escape(before) + bold + escape(after) + ("…" if right < len(context) else ""))


def reply_blocks(reply: ChatReply) -> list[dict]:
    cites = reply.numbered()[:MAX_SOURCES]
    blocks: list[dict] = []
    if not cites:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f":grey_question: {reply.no_answer_text}"}})
        closest = reply.result.closest()
        if closest is not None:
            p = closest.passage
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(
                "The closest passage says:\n> " + escape(_clip(p.text, QUOTE_CHARS)), MAX_SECTION_CHARS)}})
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(
                f"{escape(p.title)} · {escape(p.line())} · not an answer", 2000)}]})
    for c in cites:
        ref, text = c.answer.citation, escape(_clip(c.answer.text, 500))
        head = f"*{text}*" if c.index == 1 else f"Also possible: *{text}*"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(head, MAX_SECTION_CHARS)}})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(
            "> " + quote_in_context(c.passage.text, ref.start, ref.end), MAX_SECTION_CHARS)}})
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(
            f"[{c.index}] {escape(ref.title)} · {escape(ref.line())} · score {c.answer.score:.2f}", 2000)}]})
    if reply.rewrite.changed:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(
            f"Asked as: {escape(reply.rewrite.question)}", 2000)}]})
    return blocks[:MAX_BLOCKS]


def reply_payload(reply: ChatReply) -> dict:
    """Blocks plus the plain-text fallback (notifications, and how later turns read this answer back)."""
    return {"text": _clip(message(reply), 3900), "blocks": reply_blocks(reply)}
