"""SQuAD-style evaluation of the reader alone or the whole pipeline, from SQuAD JSON, our JSONL or feedback."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from qa.metrics import GoldItem, score_row, summarize
from qa.pipeline import QAPipeline
from qa.protocols import Reader
from qa.text import normalize_answer
from qa.types import Passage, ScoredPassage
from reader.squad import SquadFormatError, is_squad_file, load_squad


class GoldFormatError(ValueError):
    pass


# Called with each scored row and its latency (ms) as soon as it is known: progress, rows written as they come.
OnRow = Callable[[dict, float], None]


def feedback_gold(rec: dict, lineno: int) -> GoldItem | None:
    """A feedback record as gold: thumbs up keeps the answer given, thumbs down needs the right one."""
    if rec["verdict"] == "up":
        answers = [rec["answer"]] if rec.get("answer") else []
    elif rec.get("unanswerable"):
        answers = []
    elif rec.get("correct_answer"):
        answers = [rec["correct_answer"]]
    else:
        return None  # we only know the answer was wrong
    return GoldItem(f"feedback-{lineno}", rec["question"], answers)


def _load_jsonl(path: Path) -> list[GoldItem]:
    items = []
    by_question: dict[str, int] = {}
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if "verdict" in rec:
                item = feedback_gold(rec, lineno)
                if item is not None:
                    # The latest verdict on a question wins.
                    if item.question in by_question:
                        items[by_question[item.question]] = item
                    else:
                        by_question[item.question] = len(items)
                        items.append(item)
                continue
            items.append(GoldItem(str(rec["id"]), rec["question"], list(rec.get("answers") or []), rec.get("doc_id")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise GoldFormatError(f"{path}:{lineno}: expected {{\"id\", \"question\", \"answers\"}} ({exc})") from exc
    return items


def _load_squad(path: Path) -> list[GoldItem]:
    try:
        examples = load_squad(path)
    except SquadFormatError as exc:
        raise GoldFormatError(str(exc)) from exc
    return [GoldItem(e.id, e.question, [text for text, _ in e.answers], e.title, e.context, e.title) for e in examples]


def load_gold(path: Path) -> list[GoldItem]:
    """Gold questions from our JSONL (``{"id", "question", "answers", "doc_id"?}`` a line) or SQuAD JSON."""
    items = _load_squad(path) if is_squad_file(path) else _load_jsonl(path)
    if not items:
        raise GoldFormatError(f"{path}: no questions")
    return items


def squad_corpus_jsonl(gold: list[GoldItem], path: Path) -> Path:
    """The articles of a SQuAD gold set as a corpus file (one article a line, paragraphs blank-line separated)."""
    articles: dict[str, list[str]] = {}
    for item in gold:
        if item.context is None:
            raise GoldFormatError("the open setting over a gold file needs its paragraphs (a SQuAD file)")
        paragraphs = articles.setdefault(item.title or "untitled", [])
        if item.context not in paragraphs:
            paragraphs.append(item.context)
    with open(path, "w", encoding="utf-8") as fh:
        for title, paragraphs in articles.items():
            text = "\n\n".join(" ".join(p.split()) for p in paragraphs)
            fh.write(json.dumps({"id": title, "title": title.replace("_", " "), "text": text}, ensure_ascii=False) + "\n")
    return path


def evaluate(pipeline: QAPipeline, gold: list[GoldItem], top_k: int | None = None, on_row: OnRow | None = None) -> dict:
    """The open setting: each question through retrieval and reading."""
    top_k = max(pipeline.top_k if top_k is None else top_k, 5)
    rows, latencies = [], []
    for item in gold:
        t0 = time.perf_counter()
        result = pipeline.ask(item.question, top_k=top_k)
        latencies.append((time.perf_counter() - t0) * 1000)
        top = result.answers[0] if result.answers else None
        row = score_row(item, top.text if top else "", top.score if top else None)
        if top is not None:
            # The cited paragraph, for reports that show a miss in context.
            cited = next(sp.passage for sp in result.passages if sp.passage.id == top.passage_id)
            row.update(context=cited.text, start=top.citation.start, end=top.citation.end, title=cited.title)
        # Retrieval hit: a retrieved paragraph contains a gold answer (within the gold doc, if given).
        ranks = [
            i for i, sp in enumerate(result.passages)
            if (item.doc_id is None or sp.passage.doc_id == item.doc_id)
            and any(normalize_answer(g) in normalize_answer(sp.passage.text) for g in item.answers)
        ]
        row["first_hit"] = ranks[0] if ranks else None
        rows.append(row)
        if on_row is not None:
            on_row(row, latencies[-1])
    return summarize(rows, latencies, recall_ks=(1, 5) if top_k == 5 else (1, 5, top_k))


def evaluate_reader(reader: Reader, gold: list[GoldItem], batch_size: int = 16, on_row: OnRow | None = None) -> dict:
    """SQuAD's standard setting: the reader gets each question's own paragraph.

    Latency is per question, measured over batches of ``batch_size`` questions.
    """
    if any(item.context is None for item in gold):
        raise GoldFormatError("--reader-only needs each question's paragraph (a SQuAD file)")
    rows, latencies = [], []
    for b in range(0, len(gold), batch_size):
        part = gold[b : b + batch_size]
        passages = [[ScoredPassage(Passage(f"gold:{i}", item.doc_id or "", item.title or "", 0, item.context, 0,
                                           len(item.context)), 1.0)] for i, item in enumerate(part)]
        t0 = time.perf_counter()
        found = reader.read_batch([item.question for item in part], passages, 1)
        latencies.extend([(time.perf_counter() - t0) * 1000 / len(part)] * len(part))
        for item, answers in zip(part, found):
            row = score_row(item, answers[0].text if answers else "", answers[0].score if answers else None)
            if answers:
                row.update(context=item.context, start=answers[0].start, end=answers[0].end, title=item.title)
            rows.append(row)
            if on_row is not None:
                on_row(row, latencies[len(rows) - 1])
    return summarize(rows, latencies)
