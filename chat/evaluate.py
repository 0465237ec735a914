"""Conversations scored turn by turn (SQuAD EM/F1), first turns and follow-ups apart."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from chat.rewrite import Turn
from qa.filters import documents_scope
from chat.service import ChatService
from evaluation.evaluate import GoldFormatError, OnRow
from qa.metrics import GoldItem, score_row, summarize
from qa.text import normalize_answer


@dataclass(frozen=True)
class GoldTurn:
    question: str
    answers: list[str]
    # The standalone question a person would ask; informational (rewrite accuracy), never asked.
    standalone: str | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: list[GoldTurn]
    # The story the conversation is about (CoQA's setting): its turns are asked within it unless unscoped.
    doc_id: str | None = None


def is_conversation_file(path: Path) -> bool:
    """A JSONL file whose records have ``turns``."""
    try:
        with open(path, encoding="utf-8") as fh:
            first = next((line for line in fh if line.strip()), "")
        return isinstance(rec := json.loads(first), dict) and "turns" in rec
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False


def load_conversations(path: Path) -> list[Conversation]:
    """``{"id", "turns": [{"question", "answers", "standalone"?}, ...]}`` a line."""
    out = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            turns = [GoldTurn(t["question"], list(t.get("answers") or []), t.get("standalone")) for t in rec["turns"]]
            if not turns:
                raise ValueError("no turns")
            doc_id = rec.get("doc_id")
            out.append(Conversation(str(rec["id"]), turns, str(doc_id) if doc_id is not None else None))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise GoldFormatError(f"{path}:{lineno}: expected {{\"id\", \"turns\": [{{\"question\", \"answers\"}}]}} ({exc})") from exc
    if not out:
        raise GoldFormatError(f"{path}: no conversations")
    return out


def within_other_stories(conversations: list[Conversation]) -> list[Conversation]:
    """The same conversations, each scoped to the next story of the set instead of its own (sorted by id): a story
    that does not answer them, so every answer given is wrong (a chat's analogue of an off-archive question)."""
    stories = sorted({c.doc_id for c in conversations if c.doc_id is not None})
    other = {d: stories[(i + 1) % len(stories)] for i, d in enumerate(stories)}
    return [replace(c, doc_id=other[c.doc_id]) if c.doc_id is not None else c for c in conversations]


def evaluate_conversations(chat: ChatService, conversations: list[Conversation], top_k: int | None = None,
                           on_row: OnRow | None = None, scoped: bool = True) -> dict:
    """Each conversation asked turn by turn; the history holds the answers the system gave, as in real use.

    ``scoped``: a conversation that names its story (``doc_id``) is asked within it; else of the whole index."""
    rows, latencies = [], []
    for conv in conversations:
        history: list[Turn] = []
        for n, gold in enumerate(conv.turns):
            t0 = time.perf_counter()
            scope = documents_scope([conv.doc_id]) if scoped and conv.doc_id is not None else None
            reply = chat.reply(history, gold.question, top_k=top_k, scope=scope)
            latencies.append((time.perf_counter() - t0) * 1000)
            top = reply.result.answers[0] if reply.result.answers else None
            row = score_row(GoldItem(f"{conv.id}.{n + 1}", gold.question, gold.answers), top.text if top else "",
                       top.score if top else None)
            row.update(turn=n + 1, asked=reply.rewrite.question, standalone=gold.standalone, scoped=scope is not None)
            rows.append(row)
            if on_row is not None:
                on_row(row, latencies[-1])
            history.append(Turn(gold.question, (top.text,) if top else ()))
    first = [r for r in rows if r["turn"] == 1]
    follow = [r for r in rows if r["turn"] > 1]
    with_gold = [r for r in follow if r["standalone"]]
    report = summarize(rows, latencies)
    report["conversations"] = len(conversations)
    report["by_turn"] = {n: {k: v for k, v in summarize([r for r in rows if r["turn"] == n], []).items()
                             if k in ("exact", "f1", "total")} for n in sorted({r["turn"] for r in rows})}
    report["first_turns"] = {k: v for k, v in summarize(first, []).items() if k != "rows"}
    report["follow_ups"] = {k: v for k, v in summarize(follow, []).items() if k != "rows"}
    # How often the rewrite is the gold standalone question, up to case and punctuation.
    report["follow_ups"]["rewrite_exact"] = round(100 * sum(
        normalize_answer(r["asked"]) == normalize_answer(r["standalone"]) for r in with_gold) / len(with_gold), 2) if with_gold else None
    return report
