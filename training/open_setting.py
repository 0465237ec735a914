"""The open setting's operating point: SQuAD dev questions asked through the whole pipeline against an archive.

Three steps, each a subcommand, so the slow ones run once:

    python -m training.open_setting corpus runs/open/articles.jsonl --distractors 19000
    QA_INDEX_DIR=runs/open/index qa index --replace runs/open/articles.jsonl
    python -m training.open_setting collect runs/open/index runs/open/candidates.jsonl.gz
    python -m training.open_setting without runs/open/articles.jsonl runs/open/articles-off.jsonl
    cp -r runs/open/index runs/open/index-off
    QA_INDEX_DIR=runs/open/index-off qa index --replace runs/open/articles-off.jsonl
    python -m training.open_setting collect runs/open/index-off runs/open/off.jsonl.gz --off-archive
    python -m training.open_setting tune runs/open/candidates.jsonl.gz --off runs/open/off.jsonl.gz \
        --write reader/models/minilm-newsqa

``corpus``: the tune articles, the clean SQuAD 1.1 dev articles (the report articles among them) and
whole SQuAD train articles as distractors. ``collect``: each question's retrieved passages and its span
candidates with their raw logits. ``without`` and ``collect --off-archive``: the tune and report articles'
answerable questions asked of the same archive with those articles removed, where the right response is to
abstain (a news chat's other kind of unanswerable question: one its archive does not cover). ``tune``:
the share and retriever weights and the threshold that maximise F1 over a news chat's question mix
(``ANSWERABLE_SHARE``, and with ``--off`` the off-archive share) on the TUNE articles' questions only, then
the score calibration; it prints the figures of the REPORT articles and the clean SQuAD 1.1 articles
(answerable only) under the old and the new operating point, and writes the ``open`` section of the
model's calibration.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
from pathlib import Path

import numpy as np

from qa.atomic import write_atomic
from qa.metrics import score_prediction
from reader.decode import Calibration, SpanCandidate, fused_margins
from reader.squad import load_squad
from training.calibrate import CORRECT_F1, fit_platt, threshold_cuts
from training.splits import REPORT, SQUAD1_EXCLUDED, TUNE

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad"
SHARE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
# The question mix the operating point is chosen for: a news chat is asked mostly answerable questions (fixed
# before any figure was seen; SQuAD 2.0 dev's adversarial mix is half and half, and is reported beside it).
ANSWERABLE_SHARE = 0.8
RETRIEVER_WEIGHTS = (0.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0)
# With off-archive questions given, the unanswerable part of the mix is split half adversarial (SQuAD's own),
# half off-archive (fixed in runs/calib-rule.txt before any figure of it was computed).
OFF_ARCHIVE_SHARE = 0.1
ASKED = ("tune", "report")


def without(src: Path, out: Path, titles=TUNE + REPORT) -> dict:
    """The archive's articles less the ones asked about: every answerable question becomes off-archive."""
    with open(src, encoding="utf-8") as fh:
        lines = fh.readlines()
    kept = [line for line in lines if json.loads(line)["id"] not in titles]
    write_atomic(Path(out), "".join(kept))
    return {"kept": len(kept), "dropped": len(lines) - len(kept)}


def _articles(path: Path, keep) -> dict[str, list[str]]:
    articles: dict[str, list[str]] = {}
    for e in load_squad(path):
        if keep(e.title):
            paragraphs = articles.setdefault(e.title, [])
            if e.context not in paragraphs:
                paragraphs.append(e.context)
    return articles


def write_corpus(out: Path, distractors: int, squad: Path = SQUAD, seed: int = 0) -> dict:
    """The archive: dev articles asked about, plus whole train articles until ``distractors`` paragraphs."""
    dev = _articles(squad / "dev-v1.1-public.json.gz", lambda t: t not in SQUAD1_EXCLUDED or t in TUNE)
    train = _articles(squad / "train-v1.1.json.gz", lambda t: True)
    names = sorted(train)
    random.Random(seed).shuffle(names)
    chosen, count = {}, 0
    for name in names:
        if count >= distractors:
            break
        chosen[name] = train[name]
        count += len(train[name])
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for title, paragraphs in {**dev, **chosen}.items():
            text = "\n\n".join(" ".join(p.split()) for p in paragraphs)
            fh.write(json.dumps({"id": title, "title": title.replace("_", " "), "text": text}, ensure_ascii=False) + "\n")
    return {"dev_articles": len(dev), "dev_paragraphs": sum(map(len, dev.values())), "train_articles": len(chosen),
            "train_paragraphs": count}


def _questions(squad: Path) -> list[tuple[str, object]]:
    v2 = [("tune", e) for e in load_squad(squad / "dev-v2.0-public.json.gz") if e.title in TUNE]
    v2 += [("report", e) for e in load_squad(squad / "dev-v2.0-public.json.gz") if e.title in REPORT]
    v1 = [("squad1", e) for e in load_squad(squad / "dev-v1.1-public.json.gz") if e.title not in SQUAD1_EXCLUDED]
    return v2 + v1


def collect(index_dir: Path, out: Path, squad: Path = SQUAD, top_k: int = 5, limit: int | None = None,
            off_archive: bool = False) -> int:
    """Every question's retrieval and span candidates (before any calibration), one JSON line each.

    ``off_archive``: only the tune and report articles' answerable questions, asked of an archive without
    those articles (``without``); each row's ``answers`` is empty (abstaining is right), the SQuAD gold is kept
    in ``squad_answers``.
    """
    from service.application import Application
    from service.settings import Settings

    settings = Settings().with_(index={"index_dir": Path(index_dir)})
    service = Application.load(settings, build_if_missing=False, refresh=False)
    pipeline = service.pipeline()
    reader = service.reader
    questions = _questions(squad)
    if off_archive:
        questions = [(f"{split}_off", e) for split, e in questions if split in ASKED and e.answers]
    questions = questions[:limit]
    started = time.perf_counter()
    with gzip.open(out, "wt", encoding="utf-8") as fh:
        for n, (split, e) in enumerate(questions, start=1):
            q = e.question
            retrieved = pipeline.retriever.retrieve(q, pipeline.embedder.encode([q])[0], top_k)
            cands = reader.candidates_batch([q], [[sp.passage.text for sp in retrieved]])[0]
            gold = [a for a, _ in e.answers]
            fh.write(json.dumps({
                "split": split, "id": e.id, "title": e.title, "answers": [] if off_archive else gold,
                **({"squad_answers": gold} if off_archive else {}),
                "scores": [sp.score for sp in retrieved], "docs": [sp.passage.doc_id for sp in retrieved],
                "passages": [sp.passage.text for sp in retrieved],
                "candidates": [[c.passage_index, c.start_char, c.end_char, c.prob, c.margin, c.logit] for c in cands],
            }, ensure_ascii=False) + "\n")
            if n % 200 == 0:
                rate = n / (time.perf_counter() - started)
                print(f"collect: {n}/{len(questions)} questions, {rate:.1f}/s", flush=True)
    return len(questions)


def _load(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    for r in rows:
        r["cands"] = [SpanCandidate(int(c[0]), int(c[1]), int(c[2]), c[3], c[4], c[5]) for c in r["candidates"]]
        r["texts"] = [r["passages"][c.passage_index][c.start_char : c.end_char] for c in r["cands"]]
    return rows


def _best(rows: list[dict], share_weight: float, retriever_weight: float):
    """Per question: the best fused margin, and that span's EM and F1 (0 where it has no gold answer)."""
    margin, em, f1 = [], [], []
    for r in rows:
        if not r["cands"]:
            margin.append(-np.inf), em.append(0.0), f1.append(0.0)
            continue
        fused = fused_margins(r["cands"], r["scores"], share_weight, retriever_weight)
        b = int(np.argmax(fused))
        e, f = score_prediction(r["texts"][b], r["answers"]) if r["answers"] else (0.0, 0.0)
        margin.append(float(fused[b])), em.append(e), f1.append(f)
    has = np.array([bool(r["answers"]) for r in rows])
    return np.array(margin), np.array(em), np.array(f1), has


def _figures(margin, em, f1, has, threshold: float) -> dict:
    answer = margin > threshold
    em_q = np.where(answer, em, ~has).astype(float) * 100
    f1_q = np.where(answer, f1, ~has).astype(float) * 100
    out = {"questions": int(len(has)), "exact": round(float(em_q.mean()), 2), "f1": round(float(f1_q.mean()), 2)}
    if has.any():
        out["HasAns_f1"] = round(float(f1_q[has].mean()), 2)
    if (~has).any():
        out["NoAns_f1"] = round(float(f1_q[~has].mean()), 2)
    out["answered"] = round(float(answer.mean()) * 100, 1)
    return out


def _objective(margin, f1, has, threshold: float, answerable_share: float, off=None,
               off_share: float = 0.0) -> float:
    """F1 over a question mix with this share of answerable questions (SQuAD 2.0 dev's own mix is about half).

    ``off``: which rows are off-archive questions; they make up ``off_share`` of the mix, the adversarial
    unanswerables the rest of the unanswerable part.
    """
    answer = margin > threshold
    off = np.zeros(len(has), dtype=bool) if off is None else off
    adversarial = ~has & ~off
    has_f1 = np.where(answer, f1, 0.0)[has].mean() if has.any() else 0.0
    no_f1 = (~answer)[adversarial].mean() if adversarial.any() else 0.0
    off_f1 = (~answer)[off].mean() if off.any() else 0.0
    if not off.any():
        off_share = 0.0
    return float(answerable_share * has_f1 + (1 - answerable_share - off_share) * no_f1 + off_share * off_f1) * 100


def _threshold(margin, f1, has, answerable_share: float, off=None, off_share: float = 0.0) -> float:
    cuts = threshold_cuts(margin)
    totals = [_objective(margin, f1, has, t, answerable_share, off, off_share) for t in cuts]
    return float(cuts[int(np.argmax(totals))])


def tune(path: Path, write: Path | None = None, answerable_share: float = ANSWERABLE_SHARE,
         off_path: Path | None = None, off_share: float = OFF_ARCHIVE_SHARE) -> dict:
    rows = _load(path)
    off_rows = _load(off_path) if off_path is not None else []
    by = {s: [r for r in rows if r["split"] == s] for s in ("tune", "report", "squad1")}
    off_by = {s: [r for r in off_rows if r["split"] == f"{s}_off"] for s in ASKED}
    if not off_rows:
        off_share = 0.0

    def scored(split: str, a: float, b: float):
        """The split's rows and its off-archive rows together, with the mask of the latter."""
        m, em, f1, has = _best(by[split] + off_by.get(split, []), a, b)
        off = np.arange(len(has)) >= len(by[split])
        return m, em, f1, has, off

    grid = []
    for a in SHARE_WEIGHTS:
        for b in RETRIEVER_WEIGHTS:
            m, em, f1, has, off = scored("tune", a, b)
            t = _threshold(m, f1, has, answerable_share, off, off_share)
            grid.append((round(_objective(m, f1, has, t, answerable_share, off, off_share), 2), a, b, t))
    best_f1, a, b, t = max(grid, key=lambda g: (g[0], -g[1], -g[2]))
    # The score means "probability the answer is right" among questions asked of an archive holding their
    # article: fitted on those rows only, as before.
    m, em, f1, has = _best(by["tune"], a, b)
    slope, intercept = fit_platt(m, f1 >= CORRECT_F1)
    mix = f"{answerable_share:.0%} answerable mix" + (f", {off_share:.0%} off-archive" if off_share else "")
    open_cal = Calibration(t, slope, intercept, f"open setting: dev-v2.0-public {', '.join(TUNE)} asked through the "
                           f"pipeline against an archive (training/open_setting.py), {mix}", a, b)
    gold = Calibration.load(write) if write else None
    result = {"chosen": {"share_weight": a, "retriever_weight": b, "threshold": round(t, 4),
                         "answerable_share": answerable_share, "off_archive_share": off_share,
                         "tune_objective": best_f1, "score_at_threshold": round(open_cal.margin_score(t), 4)},
              "grid": [{"objective": g[0], "share_weight": g[1], "retriever_weight": g[2]} for g in grid]}
    for split, part in by.items():
        if not part:
            continue
        m, em, f1, has = _best(part, a, b)
        result[f"{split}_open"] = _figures(m, em, f1, has, t)
        if gold is not None:
            m0, em0, f10, has0 = _best(part, 0.0, 0.0)
            result[f"{split}_gold_threshold"] = _figures(m0, em0, f10, has0, gold.threshold)
        if off_by.get(split):
            m, em, f1, has, off = scored(split, a, b)
            result[f"{split}_off_archive"] = {"questions": int(off.sum()),
                                              "abstained": round(float((m[off] <= t).mean()) * 100, 1)}
            result[f"{split}_mix"] = round(_objective(m, f1, has, t, answerable_share, off, off_share), 2)
    if write is not None:
        cal_path = Path(write) / "calibration.json"
        data = json.loads(cal_path.read_text(encoding="utf-8"))
        data["open"] = open_cal.to_dict()
        write_atomic(cal_path, json.dumps(data, indent=2) + "\n")
    return result


def from_news_runs(runs: Path, out: Path, off_out: Path) -> tuple[int, int]:
    """The SQuAD questions ``training/news_runs.py`` recorded (tune and report, open and off-archive) in this
    module's row format, for ``tune``: one recording serves the news scoreboard, the selector and this."""
    from training.news_runs import load, rows_path

    written = []
    for setting, path in (("open", out), ("off", off_out)):
        lines = []
        for split in ASKED:
            source = rows_path(runs, split, "squad", setting)
            if not source.is_file():
                if split != "tune":
                    continue  # the report rows only add report figures to tune's printout
                raise SystemExit(f"{source} is missing: record it first (python -m training.selector collect --split "
                                 f"{split} --runs {runs})")
            for r in load(source):
                lines.append(json.dumps({
                    "split": split if setting == "open" else f"{split}_off", "id": r["id"], "title": r["title"],
                    "answers": r["answers"] if setting == "open" else [], "scores": r["scores"],
                    "docs": [p["doc_id"] for p in r["passages"]], "passages": [p["text"] for p in r["passages"]],
                    "candidates": r["candidates"]}))
        write_atomic(path, gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
        written.append(len(lines))
    return written[0], written[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("corpus", help="write the archive's articles (JSONL)")
    p.add_argument("out", type=Path)
    p.add_argument("--distractors", type=int, default=19000, help="SQuAD train paragraphs to add (whole articles)")
    p = sub.add_parser("without", help="write the archive's articles less the tune and report ones (JSONL)")
    p.add_argument("src", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("collect", help="retrieve and read every question once")
    p.add_argument("index_dir", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--off-archive", action="store_true",
                   help="only the tune and report articles' answerable questions, labelled unanswerable")
    p = sub.add_parser("from-news-runs", help="the SQuAD rows training/news_runs.py recorded, as collect writes them")
    p.add_argument("runs", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("off_out", type=Path)
    p = sub.add_parser("tune", help="choose the weights and threshold on the tune articles; report the others")
    p.add_argument("candidates", type=Path)
    p.add_argument("--write", type=Path, default=None, help="model directory whose calibration.json gets 'open'")
    p.add_argument("--answerable-share", type=float, default=ANSWERABLE_SHARE,
                   help="share of answerable questions in the mix the operating point is chosen for")
    p.add_argument("--off", type=Path, default=None, help="off-archive candidates (collect --off-archive)")
    p.add_argument("--off-share", type=float, default=OFF_ARCHIVE_SHARE,
                   help="share of off-archive questions in the mix (taken from the unanswerable part)")
    args = parser.parse_args(argv)
    if args.command == "corpus":
        print(write_corpus(args.out, args.distractors))
    elif args.command == "without":
        print(without(args.src, args.out))
    elif args.command == "from-news-runs":
        print("%d open, %d off-archive questions" % from_news_runs(args.runs, args.out, args.off_out))
    elif args.command == "collect":
        print(f"{collect(args.index_dir, args.out, limit=args.limit, off_archive=args.off_archive)} questions")
    else:
        print(json.dumps(tune(args.candidates, args.write, args.answerable_share, args.off, args.off_share),
                         indent=1))


if __name__ == "__main__":
    main()
