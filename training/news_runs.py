"""Questions asked the way the service is asked, recorded once: the answer selector's training rows and the news bench's.

Two domains: the public NewsQA half (CNN; whole article as context) against the real news archive, and the SQuAD 2.0
dev TUNE/REPORT articles against the 19,944-paragraph SQuAD archive (training/open_setting.py). Three settings:

- ``gold``: reader-only, the question given its own article (NewsQA) or paragraph (SQuAD);
- ``open``: retrieved from the archive that holds its article (top 5 passages read; the gold paragraph's rank
  among the top 20 kept for recall);
- ``off``: the answerable questions asked of the same archive without their own articles: abstaining is right.

Each row keeps the passages, the retriever's scores and every span candidate before any decision, so that
``reader.decide`` (the service's own rule, selector or calibrated margin) can be applied to it afterwards.
"""

from __future__ import annotations

import gzip
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.text import normalize_answer
from qa.types import Passage, ScoredPassage
from reader.decode import SpanCandidate
from reader.squad import load_squad
from training.splits import REPORT, TUNE, newsqa_split

SHARED = Path(__file__).resolve().parents[2] / "shared"
NEWSQA = SHARED / "data" / "news" / "newsqa-dev-public.json.gz"
ARCHIVE = SHARED / "data" / "news" / "archive.jsonl.gz"
SQUAD_DEV = SHARED / "data" / "squad" / "dev-v2.0-public.json.gz"
TOP_K = 5
RECALL_DEPTH = 20
# Where the indexes and recorded rows live (git-ignored).
RUNS_DEFAULT = Path("runs/news")


@dataclass(frozen=True)
class Question:
    domain: str  # "newsqa" or "squad"
    split: str  # "tune" or "report"
    id: str
    question: str
    answers: tuple[str, ...]  # empty: unanswerable
    title: str  # the article's title (SQuAD) or first 50 characters (NewsQA)
    context: str  # what the reader-only setting gives: the whole article (NewsQA) or the paragraph (SQuAD)
    gold_paragraph: str | None  # the paragraph the first answer stands in (for recall); None if unanswerable


def _block(context: str, start: int) -> str:
    """The blank-line paragraph of ``context`` holding character ``start``, stripped."""
    a = context.rfind("\n\n", 0, start)
    b = context.find("\n\n", start)
    return context[a + 2 if a >= 0 else 0 : b if b >= 0 else len(context)].strip()


def newsqa_questions(path: Path = NEWSQA) -> list[Question]:
    out = []
    for article in json.loads(gzip.open(path, "rt", encoding="utf-8").read())["data"]:
        split = newsqa_split(article["title"])
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                first = qa["answers"][0]
                out.append(Question("newsqa", split, qa["id"], qa["question"], answers, article["title"], context,
                                    _block(context, first["answer_start"])))
    return out


def squad_questions(path: Path = SQUAD_DEV) -> list[Question]:
    out = []
    for e in load_squad(path):
        split = "tune" if e.title in TUNE else "report" if e.title in REPORT else None
        if split is None:
            continue
        answers = tuple(dict.fromkeys(a for a, _ in e.answers))
        out.append(Question("squad", split, e.id, e.question, answers, e.title, e.context,
                            e.context.strip() if answers else None))
    return out


def newsqa_doc_ids(archive: Path = ARCHIVE) -> dict[str, str]:
    """Archive document id of each public NewsQA article, by title (the archive keeps NewsQA's titles)."""
    ids = {}
    with gzip.open(archive, "rt", encoding="utf-8") as fh:
        for line in fh:
            if '"cnn_newsqa_mrqa_dev"' in line:
                record = json.loads(line)
                ids[record["title"]] = record["id"]
    return ids


def without(index_dir: Path, out_dir: Path, doc_ids: list[str]) -> int:
    """A copy of the index at ``index_dir`` with ``doc_ids`` deleted (no re-embedding): the off-archive index."""
    from retriever import store

    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(index_dir, out_dir)
    stored = store.load(out_dir)
    present = [d for d in doc_ids if stored.document(d) is not None]
    stored.write(deletes=present)
    stored.close()
    return len(present)


def _hit_rank(passages: list[Passage], q: Question) -> int | None:
    """Rank of the first retrieved passage that is (part of) the gold paragraph and holds an answer."""
    if q.gold_paragraph is None:
        return None
    gold = " ".join(q.gold_paragraph.split())
    answers = [normalize_answer(a) for a in q.answers]
    for rank, p in enumerate(passages):
        text = " ".join(p.text.split())
        if text and text in gold and any(a and a in normalize_answer(p.text) for a in answers):
            return rank
    return None


def collect(questions: list[Question], setting: str, reader, pipeline=None, out: Path | None = None,
            log_every: int = 200, ranker_of=None) -> list[dict]:
    """Ask each question once in ``setting`` ("gold", "open" or "off") and record what a decision needs.

    ``reader`` decodes candidates (its own setting must match: "gold" for gold, "open" otherwise); ``pipeline``
    embeds and retrieves for the open and off settings; ``ranker_of(question)``, when given, is the passage ranker
    to retrieve that question with (cross-fitting: one never fitted on its article). Each row's ``ms`` is the
    question's time through embedding, retrieval and reading (not the decision, which ``decide`` times)."""
    rows = []
    started = time.perf_counter()
    for n, q in enumerate(questions, start=1):
        t0 = time.perf_counter()
        if setting == "gold":
            scored = [ScoredPassage(Passage(f"gold:{q.id}", q.title, q.title, 0, q.context, 0, len(q.context)), 1.0)]
            rank = None
        else:
            if ranker_of is not None:
                pipeline.retriever.ranker = ranker_of(q)
            vector = pipeline.embedder.encode([q.question])[0]
            deep = pipeline.retriever.retrieve(q.question, vector, RECALL_DEPTH)
            rank = _hit_rank([sp.passage for sp in deep], q) if setting == "open" else None
            scored = deep[:TOP_K]
        cands = reader.candidates_batch([q.question], [[sp.passage.text for sp in scored]])[0]
        ms = (time.perf_counter() - t0) * 1000
        rows.append({
            "domain": q.domain, "split": q.split, "setting": setting, "id": q.id, "title": q.title,
            "question": q.question, "answers": [] if setting == "off" else list(q.answers), "hit_rank": rank, "ms": ms,
            "passages": [sp.passage.to_dict() for sp in scored], "scores": [sp.score for sp in scored],
            "candidates": [[c.passage_index, c.start_char, c.end_char, c.prob, c.margin, c.logit] for c in cands],
        })
        if log_every and n % log_every == 0:
            print(f"{q.domain} {setting}: {n}/{len(questions)} questions, "
                  f"{n / (time.perf_counter() - started):.1f}/s", flush=True)
    if out is not None:
        save(rows, out)
    return rows


def save(rows: list[dict], out: Path) -> None:
    from qa.atomic import write_atomic

    out.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    write_atomic(out, gzip.compress(body, 5))


def load(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def scored_passages(row: dict) -> list[ScoredPassage]:
    return [ScoredPassage(Passage.from_dict(p), s) for p, s in zip(row["passages"], row["scores"])]


def candidates(row: dict) -> list[SpanCandidate]:
    return [SpanCandidate(int(c[0]), int(c[1]), int(c[2]), float(c[3]), float(c[4]), float(c[5]))
            for c in row["candidates"]]


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


# -- the archives and their indexes, under one runs folder ---------------------------------------------------------
def layout(runs: Path) -> dict[str, Path]:
    return {"newsqa": runs / "archive-index", "newsqa_off": runs / "archive-off",
            "squad_articles": runs / "squad-articles.jsonl", "squad": runs / "squad-index", "squad_off": runs / "squad-off"}


def prepare(runs: Path, log=print) -> dict[str, Path]:
    """Build what is missing: the news archive's index (all of archive.jsonl.gz: about 20 min of embedding on two
    cores), the SQuAD archive's (19,944 paragraphs), and each without the articles its questions are about."""
    from service.application import embedder_from
    from service.indexing import build_index
    from service.settings import Settings
    from training.open_setting import write_corpus

    paths = layout(runs)
    embedder = embedder_from(Settings())
    if not (paths["newsqa"] / "CURRENT").is_file():
        log(f"indexing {ARCHIVE} into {paths['newsqa']}")
        build_index([ARCHIVE], embedder, paths["newsqa"])
    if not (paths["newsqa_off"] / "CURRENT").is_file():
        log(f"{paths['newsqa_off']}: {without(paths['newsqa'], paths['newsqa_off'], list(newsqa_doc_ids().values()))}"
            " NewsQA articles removed")
    if not paths["squad_articles"].is_file():
        log(f"SQuAD archive: {write_corpus(paths['squad_articles'], 19000)}")
    if not (paths["squad"] / "CURRENT").is_file():
        log(f"indexing {paths['squad_articles']} into {paths['squad']}")
        build_index([paths["squad_articles"]], embedder, paths["squad"])
    if not (paths["squad_off"] / "CURRENT").is_file():
        log(f"{paths['squad_off']}: {without(paths['squad'], paths['squad_off'], list(TUNE + REPORT))} SQuAD articles "
            "removed")
    return paths


def questions_of(domain: str, split: str) -> list[Question]:
    return [q for q in (newsqa_questions() if domain == "newsqa" else squad_questions()) if q.split == split]


def rows_path(runs: Path, split: str, domain: str, setting: str) -> Path:
    return runs / f"rows-{split}-{domain}-{setting}.jsonl.gz"


def record(runs: Path, split: str, limit: int | None = None, log=print,
           ranker_folds: Path | None = None) -> dict[str, Path]:
    """Ask every question of ``split`` in the three settings of both domains; a file already written is kept
    (the command resumes where it stopped). ``ranker_folds``: retrieve each question with the passage ranker of
    its article's fold (``python -m training.ranker folds``), so that tune questions are not retrieved by a ranker
    fitted on them."""
    from training.ranker import fold_rankers

    ranker_of = fold_rankers(ranker_folds) if ranker_folds is not None else None
    from service.application import Application, reader_from
    from service.settings import Settings

    paths = layout(runs)
    out = {}
    settings = Settings()
    gold_reader = None
    for domain in ("newsqa", "squad"):
        qs = questions_of(domain, split)[:limit]
        for setting in ("gold", "open", "off"):
            path = rows_path(runs, split, domain, setting)
            out[f"{domain}_{setting}"] = path
            if path.is_file():
                continue
            asked = [q for q in qs if q.answers] if setting == "off" else qs
            log(f"recording {len(asked)} {domain} {split} questions, {setting} setting")
            if setting == "gold":
                if gold_reader is None:
                    gold_reader = reader_from(settings, setting="gold")
                collect(asked, "gold", gold_reader, out=path)
                continue
            index = paths[domain if setting == "open" else f"{domain}_off"]
            app = Application.load(settings.with_(index={"index_dir": index}), build_if_missing=False, refresh=False)
            collect(asked, setting, app.reader, app.pipeline(), out=path, ranker_of=ranker_of)
            app.index.close()
    return out
