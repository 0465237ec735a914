"""Filters, duplicates and dates on the real news archive: filtered retrieval speed and recall against an exact
filtered oracle, near-duplicates found and shown, and what filters cost an HTTP question.

    # once: index the archive as a user does (qa index; its progress shows passages/s)
    QA_INDEX_DIR=runs/filters/archive-index /usr/bin/time -v qa index ../shared/data/news/archive.jsonl.gz
    python bench/bench_filters.py retrieval --index runs/filters/archive-index [--questions 300]
    python bench/bench_filters.py duplicates --index runs/filters/archive-index [--questions 300]   # the bench extra
    python bench/bench_filters.py api [--asks 200]
    python bench/bench_filters.py recency --index runs/filters/archive-index [--questions 300]
    python bench/bench_filters.py encode [--articles 600]

retrieval: for filters of about 100%, 10%, 1% and 0.1% of the passages, by date range (Reuters' timestamps), by
source and by topic, the hybrid retriever's wall time per question (top 5, as the service asks; each filtered
question timed next to the same question unfiltered, so the ratio holds on a noisy machine) and the dense
search's recall@10 against exact search over the vectors of exactly the passages the filter lets through.
Questions: the public NewsQA dev questions (``--questions`` of them, a fixed sample), embedded by the service's
embedder. duplicates: exact copies recorded at indexing, near-duplicate passage pairs in the whole archive
(datasketch MinHash LSH at Jaccard 0.7 of word 3-grams, then checked exactly), 20 sampled pairs to judge by eye,
and the share of top-5 result lists holding a near-duplicate pair without and with folding. api: POST /v1/ask
p50 on the default corpus without and with a filter, alternating, in one process. encode: the whole ``qa index``
command (a fresh process: loading, reading, embedding, writing) on the archive's first ``--articles`` articles,
against plain sentence-transformers ``encode()`` of the same paragraphs (fp32 PyTorch), in one run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_scale import percentiles  # noqa: E402

NEWSQA = ROOT.parent / "shared" / "data" / "news" / "newsqa-dev-public.json.gz"


def questions(limit: int) -> list[str]:
    with gzip.open(NEWSQA, "rt", encoding="utf-8") as fh:
        data = json.load(fh)["data"]
    asked = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
    return random.Random(0).sample(asked, min(limit, len(asked)))


def side_by_side(retriever, asked: list[str], vectors: np.ndarray, scope) -> tuple[list[float], list[float]]:
    """Milliseconds per question of the hybrid top 5, unfiltered and within ``scope``, each question timed both
    ways one after the other (so that the ratio holds on a noisy machine)."""
    plain_ms, filtered_ms = [], []
    for q, v in zip(asked, vectors):
        for target, s in ((plain_ms, None), (filtered_ms, scope)):
            t = time.perf_counter()
            retriever.retrieve_batch([q], v[None, :], 5, scope=s)
            target.append((time.perf_counter() - t) * 1000)
    return plain_ms, filtered_ms


def _date_window(index, share: float) -> tuple[str, str]:
    """A date range holding about ``share`` of all passages: the dated ones in the middle, to the second."""
    when = np.sort(index.dense.when[~index.dense.dead & ~np.isnan(index.dense.when)])
    want = max(1, int(share * index.dense.live))
    if want >= len(when):
        raise ValueError(f"only {len(when)} dated passages; cannot hold {share:.1%} of {index.dense.live}")
    start = (len(when) - want) // 2
    moment = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))  # noqa: E731
    return moment(when[start]), moment(when[start + want - 1])


def _topic_near(index, share: float) -> str:
    """The topic whose documents' passages come nearest ``share`` of all passages."""
    rows = index._db().execute(
        "SELECT t.topic, sum(d.paragraphs) FROM topics t JOIN documents d ON d.id = t.doc_id GROUP BY t.topic").fetchall()
    live = index.dense.live
    return min(rows, key=lambda r: abs(np.log(max(r[1], 1) / live) - np.log(share)))[0]


def filters(index) -> list[tuple[str, object]]:
    from qa.filters import Scope

    out = [("none", None), ("all sources (100%)", Scope.of(sources=[p for p, _ in index.publishers()]))]
    for share in (0.10, 0.01, 0.001):
        since, until = _date_window(index, share)
        out.append((f"date {since}..{until} (~{share:.1%})", Scope.of(since=since, until=until)))
    for name, _ in index.publishers():
        out.append((f"source {name}", Scope.of(sources=[name])))
    for share in (0.01, 0.001):
        topic = _topic_near(index, share)
        out.append((f"topic {topic} (~{share:.1%})", Scope.of(topics=[topic])))
    return out


def cmd_retrieval(args) -> None:
    from qa.offline import go_offline
    from retriever import make_embedder, make_retriever, store

    go_offline()
    index = store.load(Path(args.index))
    asked = questions(args.questions)
    embedder = make_embedder()
    vectors = embedder.encode(asked)
    retriever = make_retriever(index, "hybrid", 0.4, 0.2, ranker=True)  # the service's settings
    live = np.flatnonzero(~index.dense.dead)
    all_vectors = index.dense._reconstruct(live)  # the oracle's copy of every live vector
    for q, v in zip(asked[:10], vectors[:10]):  # warm caches
        retriever.retrieve(q, v, 5)
    rows = []
    for name, scope in filters(index):
        selection = index.select(scope) if scope is not None else None
        share = (selection.count if selection else index.dense.live) / index.dense.live
        plain_ms, filtered_ms = side_by_side(retriever, asked, vectors, scope)
        mask = selection.mask[live] if selection else np.ones(len(live), bool)
        sims = vectors @ all_vectors[mask].T
        exact = [set(index.dense.rows[live[mask]][np.argsort(-s)[:10]]) for s in sims]
        _, found = index.search(vectors, 10, selection.mask if selection else None)
        recall = np.mean([len(e & set(f[f >= 0])) / max(len(e), 1) for e, f in zip(exact, found)])
        p50, p95 = percentiles(filtered_ms)
        b50, b95 = percentiles(plain_ms)
        row = {"filter": name, "passages": int(selection.count if selection else index.dense.live),
               "share": round(share, 5), "p50_ms": p50, "p95_ms": p95, "unfiltered_p50_ms": b50,
               "unfiltered_p95_ms": b95, "p50_ratio": round(p50 / b50, 2), "recall_at_10": round(float(recall), 4)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{index.dense.live:,} passages ({type(index.dense.index).__name__}), {len(asked)} NewsQA questions, "
          "hybrid top 5 per question; recall@10 of the dense search against exact filtered search\n")
    print("| filter | passages | share | p50 ms | p95 ms | unfiltered p50 (same run) | ratio | recall@10 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['filter']} | {r['passages']:,} | {r['share']:.2%} | {r['p50_ms']} | {r['p95_ms']} | "
              f"{r['unfiltered_p50_ms']} | {r['p50_ratio']} | {r['recall_at_10']:.3f} |")


def cmd_duplicates(args) -> None:
    from datasketch import MinHash, MinHashLSH

    import retriever.hybrid as hybrid
    from qa.offline import go_offline
    from retriever import make_embedder, make_retriever, store
    from retriever.duplicates import MIN_WORDS, NEAR_DUPLICATE, fingerprint, same_story, shingles, similarity

    go_offline()
    index = store.load(Path(args.index))
    db = index._db()
    copies = db.execute("SELECT count(*), count(DISTINCT copy) FROM copies").fetchone()
    print(f"exact copies recorded at indexing: {copies[0]:,} paragraphs repeated by {copies[1]:,} documents")
    # Near-duplicates over the whole archive: MinHash LSH proposes pairs, the exact Jaccard confirms them.
    lsh = MinHashLSH(threshold=NEAR_DUPLICATE, num_perm=64)
    texts, docs = {}, {}
    started = time.perf_counter()
    for row, doc, text in db.execute("SELECT row, doc_id, text FROM passages"):
        words = text.lower().split()
        if len(words) < MIN_WORDS:
            continue  # one-line notices fold only when identical: not near-duplicates (retriever/duplicates.py)
        m = MinHash(num_perm=64, seed=1)
        m.update_batch([" ".join(words[i:i + 3]).encode() for i in range(len(words) - 2)])
        lsh.insert(row, m)
        texts[row], docs[row] = (text, m), doc
    pairs = set()
    for row, (text, m) in texts.items():
        for other in lsh.query(m):
            if other > row and docs[other] != docs[row]:
                if same_story(fingerprint(text), fingerprint(texts[other][0])):
                    pairs.add((row, other))
    print(f"near-duplicate passage pairs across documents (the same figures, Jaccard >= {NEAR_DUPLICATE}): {len(pairs):,} among "
          f"{len(texts):,} passages of {MIN_WORDS}+ words ({time.perf_counter() - started:.0f}s)")
    for a, b in random.Random(0).sample(sorted(pairs), min(20, len(pairs))):
        print(json.dumps({"a": [docs[a], texts[a][0][:160]], "b": [docs[b], texts[b][0][:160]],
                          "jaccard": round(similarity(shingles(texts[a][0]), shingles(texts[b][0])), 2)},
                         ensure_ascii=False))
    # Two question sets: NewsQA's (CNN stories, few copies) and Reuters headlines asked as questions (a newsroom
    # asking about the wire, where the copies are).
    titles = [t for (t,) in db.execute("SELECT title FROM documents WHERE publisher = 'reuters21578' ORDER BY id")]
    sets = {"NewsQA questions": questions(args.questions),
            "Reuters headlines": random.Random(0).sample(titles, min(args.questions, len(titles)))}
    embedder = make_embedder()
    retriever = make_retriever(index, "hybrid", 0.4, 0.2, ranker=True)  # the service's settings

    def with_twins(results) -> float:
        def twins(hits):
            s = [fingerprint(h.passage.text) for h in hits]
            return any(same_story(s[i], s[j]) for i in range(len(s)) for j in range(i))
        return float(np.mean([twins(r) for r in results]))

    for name, asked in sets.items():
        vectors = embedder.encode(asked)
        folded = [retriever.retrieve(q, v, 5) for q, v in zip(asked, vectors)]
        keep = hybrid.collapse
        hybrid.collapse = lambda ranked, k, threshold=NEAR_DUPLICATE: ranked[:k]  # no folding: as before
        try:
            unfolded = [retriever.retrieve(q, v, 5) for q, v in zip(asked, vectors)]
        finally:
            hybrid.collapse = keep
        print(f"top-5 lists with a near-duplicate pair, {len(asked)} {name}: without folding "
              f"{with_twins(unfolded):.1%}, with folding {with_twins(folded):.1%}; lists naming other articles "
              f"(also_in): {np.mean([any(h.also_in for h in r) for r in folded]):.1%}")


def cmd_recency(args) -> None:
    """What a recency preference does: Reuters headlines asked as questions, within Reuters (every story dated),
    top 5 without and with a half-life; how far behind the newest candidate the results are, how often the top one
    changes, and how often the headline's own story stays in the top 5."""
    from qa.dates import seconds_of
    from qa.filters import Scope
    from qa.offline import go_offline
    from retriever import make_embedder, make_retriever, store

    go_offline()
    index = store.load(Path(args.index))
    docs = index._db().execute("SELECT id, title FROM documents WHERE publisher = 'reuters21578' ORDER BY id").fetchall()
    docs = random.Random(1).sample(docs, min(args.questions, len(docs)))
    vectors = make_embedder().encode([t for _, t in docs])
    retriever = make_retriever(index, "hybrid", 0.4, 0.2, ranker=True)  # the service's settings
    newest = np.nanmax(index.dense.when)
    base = None
    for half_life in (None, 30.0, 7.0, 1.0):
        scope = Scope.of(sources=["reuters21578"], recency_half_life_days=half_life)
        hits = [retriever.retrieve_batch([t], v[None, :], 5, scope=scope)[0] for (_, t), v in zip(docs, vectors)]
        ages = [(newest - seconds_of(h.passage.published)) / 86_400 for hs in hits for h in hs if h.passage.published]
        own = np.mean([any(h.passage.doc_id == d for h in hs) for (d, _), hs in zip(docs, hits)])
        tops = [hs[0].passage.id if hs else None for hs in hits]
        base = tops if base is None else base
        print(json.dumps({"half_life_days": half_life, "questions": len(docs),
                          "mean_days_behind_newest": round(float(np.nanmean(ages)), 1),
                          "top1_changed": round(float(np.mean([a != b for a, b in zip(tops, base)])), 3),
                          "own_story_in_top5": round(float(own), 3)}), flush=True)


def cmd_api(args) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from qa.offline import go_offline
    from service.application import Application
    from service.settings import Settings

    go_offline()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="qa-bench-filters-") as tmp:
        settings = Settings().with_(index={"index_dir": Path(tmp) / "index"}, server={"rate_limit_per_minute": 0})
        service = Application.load(settings, build_if_missing=True, log=lambda m: None)
        doc = service.index.documents()[0].id
        bodies = {"plain": {"question": "Who is the Kremlin spokesperson?"},
                  "filtered": {"question": "Who is the Kremlin spokesperson?",
                               "filters": {"doc_ids": [doc], "until": "2100-01-01"}}}
        # Undated documents never pass a date bound: this one gets a date for the run.
        info = service.index.document(doc)
        ms = {"plain": [], "filtered": []}
        with TestClient(create_app(settings, loader=lambda _s: service), client=("127.0.0.1", 50000)) as client:
            text = service.index.document_text(doc)
            client.put(f"/v1/documents/{doc}-dated", json={"text": text, "title": info.title, "published": "2022-01-18"})
            bodies["filtered"]["filters"]["doc_ids"] = [f"{doc}-dated"]
            for name in ("plain", "filtered") * 5:
                assert client.post("/v1/ask", json=bodies[name]).status_code == 200
            for _ in range(args.asks):
                for name in ("plain", "filtered"):
                    t = time.perf_counter()
                    r = client.post("/v1/ask", json=bodies[name])
                    ms[name].append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
    p, f = statistics.median(ms["plain"]), statistics.median(ms["filtered"])
    print(json.dumps({"asks": args.asks, "plain_p50_ms": round(p, 1), "filtered_p50_ms": round(f, 1),
                      "ratio": round(f / p, 3)}))


def cmd_encode(args) -> None:
    import os
    import subprocess
    import tempfile

    from corpus.loader import load_corpus

    archive = ROOT.parent / "shared" / "data" / "news" / "archive.jsonl.gz"
    with gzip.open(archive, "rt", encoding="utf-8") as fh:
        lines = [line for _, line in zip(range(args.articles), fh)]
    with tempfile.TemporaryDirectory(prefix="qa-bench-encode-") as tmp:
        part = Path(tmp) / "part.jsonl"
        part.write_text("".join(lines), encoding="utf-8")
        texts = [p.text for p in load_corpus([part]).passages]
        env = {**os.environ, "QA_INDEX_DIR": str(Path(tmp) / "index"), "QA_CORPUS": json.dumps([str(part)]),
               "HF_HUB_OFFLINE": "1"}
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli.main", "index", str(part)], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        whole = time.perf_counter() - t
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(_model_dir()), device="cpu")
    t = time.perf_counter()
    model.encode(texts, batch_size=32)
    plain = time.perf_counter() - t
    print(json.dumps({"articles": len(lines), "passages": len(texts), "qa_index_s": round(whole, 1),
                      "qa_index_passages_per_s": round(len(texts) / whole, 1), "encode_s": round(plain, 1),
                      "encode_passages_per_s": round(len(texts) / plain, 1), "ratio": round(plain / whole, 2)}))


def _model_dir() -> Path:
    """The sentence-transformers model the embedder's export was made from (the PyPI package's folder)."""
    from retriever.embedder import default_model_path

    return Path(default_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("retrieval", "duplicates", "recency"):
        p = sub.add_parser(name)
        p.add_argument("--index", required=True, help="an index of the archive (qa index)")
        p.add_argument("--questions", type=int, default=300)
    p = sub.add_parser("api")
    p.add_argument("--asks", type=int, default=200)
    p = sub.add_parser("encode")
    p.add_argument("--articles", type=int, default=600)
    args = parser.parse_args()
    {"retrieval": cmd_retrieval, "duplicates": cmd_duplicates, "recency": cmd_recency, "api": cmd_api,
     "encode": cmd_encode}[args.cmd](args)


if __name__ == "__main__":
    main()
