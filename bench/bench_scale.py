"""Scale benchmark: lexical and dense search candidates over N passages, timed and checked against exact search.

Passages are real SQuAD train paragraphs, repeated with changed words to reach N. Vectors: the first
``--embed`` distinct paragraphs and their questions are embedded with the real model; the other passages
get their base paragraph's vector plus noise (so that a million passages do not take hours to embed).
Two modes, each printing one JSON object per line; times are wall time, one question at a time:

    python bench/bench_scale.py --passages 20000 200000 --candidates   # the parts, side by side
    python bench/bench_scale.py --passages 20000 200000 1000000         # the project's store, end to end
    python bench/bench_scale.py --passages 1000000 --base-index runs/filters/archive-index   # real news base

The store mode builds the real store (retriever/store.py) of N passages in documents of 10, then a fresh
process loads it with the embedding model and the reader (as ``qa serve`` does) and reports
``passages, retrieval_p50_ms, retrieval_p95_ms, recall_at_10, rss_mb, ready_s, write_ms`` (hybrid retrieval
per question; dense recall@10 against exact search over the same vectors; resident memory of that process
with the models loaded; the slowest of adding, replacing and deleting one 10-paragraph document, durable).

``--base-index DIR``: the base is an index of the real news archive (``qa index archive.jsonl.gz``): its
passages with their real vectors (every one, not 2,000 repeated), each document's published time and publisher,
and NewsQA questions; passages beyond the archive repeat one of it with changed words, its vector plus noise, and
its document's date and publisher. The store mode then also times filtered retrieval (date ranges of about 10%,
1% and 0.1% of the passages, and one publisher) and checks the dense search's recall@10 against exact search over
the vectors of exactly the passages each filter lets through.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.text import lexical_terms  # noqa: E402

SQUAD = ROOT.parent / "shared" / "data" / "squad" / "train-v1.1.json.gz"


def squad_paragraphs(limit: int) -> tuple[list[str], list[tuple[str, int]]]:
    """Distinct train paragraphs and (question, paragraph index) pairs."""
    with gzip.open(SQUAD, "rt", encoding="utf-8") as fh:
        data = json.load(fh)["data"]
    paragraphs, questions = [], []
    for article in data:
        for p in article["paragraphs"]:
            paragraphs.append(p["context"])
            questions += [(qa["question"], len(paragraphs) - 1) for qa in p["qas"][:1]]
            if len(paragraphs) >= limit:
                return paragraphs, questions
    return paragraphs, questions


def variants(base: list[str], n: int, seed: int = 0) -> list[int]:
    """Which base paragraph each of n passages repeats (the first len(base) are the bases themselves)."""
    rng = random.Random(seed)
    return list(range(min(n, len(base)))) + [rng.randrange(len(base)) for _ in range(max(0, n - len(base)))]


def changed(text: str, k: int, rng: random.Random, vocab: list[str]) -> str:
    words = text.split()
    for _ in range(max(1, len(words) // 12)):
        words[rng.randrange(len(words))] = rng.choice(vocab)
    return " ".join(words) + f" v{k}"


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return round(statistics.median(ms), 2), round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2)


def time_queries(fn, queries) -> tuple[list, list[float]]:
    out, ms = [], []
    for q in queries:
        t = time.perf_counter()
        out.append(fn(q))
        ms.append((time.perf_counter() - t) * 1000)
    return out, ms


# -- lexical candidates -------------------------------------------------------------------------
def fts5(texts: list[str], tmp: Path):
    db = sqlite3.connect(tmp / "fts.db")
    db.execute("CREATE VIRTUAL TABLE p USING fts5(text, tokenize='porter unicode61')")
    db.executemany("INSERT INTO p(rowid, text) VALUES (?, ?)", ((i, t) for i, t in enumerate(texts)))
    db.commit()

    def search(query: str, k: int = 50) -> list[int]:
        terms = [t for t in lexical_terms(query)]
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        return [r for (r,) in db.execute("SELECT rowid FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT ?", (match, k))]

    return search


def tantivy_index(texts: list[str], tmp: Path):
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=False, tokenizer_name="en_stem")
    builder.add_integer_field("row", stored=True, indexed=True, fast=True)
    schema = builder.build()
    (tmp / "tantivy").mkdir()
    index = tantivy.Index(schema, path=str(tmp / "tantivy"))
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    for i, t in enumerate(texts):
        writer.add_document(tantivy.Document(text=t, row=i))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()

    def search(query: str, k: int = 50) -> list[int]:
        terms = lexical_terms(query)
        if not terms:
            return []
        parsed = index.parse_query(" ".join(terms), ["text"])
        return [searcher.doc(addr)["row"][0] for _, addr in searcher.search(parsed, k).hits]

    return search


def rank_bm25(texts: list[str], tmp: Path):
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([lexical_terms(t) or ["<empty>"] for t in texts])

    def search(query: str, k: int = 50) -> list[int]:
        scores = bm25.get_scores(lexical_terms(query))
        return list(np.argsort(-scores)[:k])

    return search


def bm25s_index(texts: list[str], tmp: Path):
    import bm25s

    retriever = bm25s.BM25()
    retriever.index([lexical_terms(t) or ["<empty>"] for t in texts], show_progress=False)

    def search(query: str, k: int = 50) -> list[int]:
        terms = [t for t in lexical_terms(query) if t in retriever.vocab_dict]
        if not terms:
            return []
        rows, _ = retriever.retrieve([terms], k=k, show_progress=False, n_threads=1)
        return list(rows[0])

    return search


LEXICAL = {"sqlite-fts5": fts5, "tantivy": tantivy_index, "bm25s": bm25s_index, "rank-bm25": rank_bm25}


# -- dense candidates ---------------------------------------------------------------------------
def dense_candidates(vectors: np.ndarray):
    import faiss

    d = vectors.shape[1]
    n = len(vectors)
    flat = faiss.IndexFlatIP(d)
    flat.add(vectors)
    yield "faiss-flat", flat, 0.0
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    hnsw.add(vectors)
    built = time.perf_counter() - t
    for ef in (96, 256):
        hnsw.hnsw.efSearch = ef
        yield f"faiss-hnsw32-ef{ef}", hnsw, built
    t = time.perf_counter()
    nlist = max(16, int(4 * np.sqrt(n)))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors[np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)])
    ivf.add(vectors)
    ivf.nprobe = 24
    yield f"faiss-ivf{nlist}-nprobe24", ivf, time.perf_counter() - t


def corpus_at(n: int, base: list[str], base_vectors: np.ndarray, vocab: list[str], embedded: int):
    """N passage texts (bases first, then bases with changed words) and their vectors."""
    rng = random.Random(n)
    which = variants(base, n)
    texts = [base[b] if i < len(base) else changed(base[b], i, rng, vocab) for i, b in enumerate(which)]
    noise = np.random.default_rng(n).normal(0, 0.04, (n, base_vectors.shape[1])).astype(np.float32)
    vectors = base_vectors[[b % embedded for b in which]] + noise
    vectors[: min(n, embedded)] = base_vectors[: min(n, embedded)]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, vectors


def archive_base(directory: Path, questions: int) -> tuple[list[str], np.ndarray, np.ndarray, list, list[str]]:
    """An archive index's passages, their stored vectors, their documents' published seconds (NaN undated) and
    publishers, and NewsQA questions (a fixed sample)."""
    from bench.bench_filters import questions as newsqa_questions

    db = sqlite3.connect(f"file:{directory / (directory / 'CURRENT').read_text().strip() / 'store.sqlite'}?mode=ro",
                         uri=True)
    texts, vectors, when, publishers = [], [], [], []
    for text, vector, published, publisher in db.execute(
            "SELECT p.text, p.vector, d.published_at, d.publisher FROM passages p JOIN documents d ON d.id = p.doc_id "
            "ORDER BY p.row"):
        texts.append(text)
        vectors.append(np.frombuffer(vector, dtype=np.float32))
        when.append(np.nan if published is None else published)
        publishers.append(publisher)
    return texts, np.stack(vectors), np.array(when), publishers, newsqa_questions(questions)


def store_documents(texts: list[str], vectors: np.ndarray, per_doc: int = 10, facts=None):
    """The passages as documents of ``per_doc`` paragraphs each (offsets exact in the joined text); ``facts``:
    each document's (published ISO or None, publisher or None)."""
    from qa.types import DocumentInfo, Passage
    from retriever.store import NewDocument

    for d in range(0, len(texts), per_doc):
        parts = texts[d : d + per_doc]
        text, passages = "", []
        doc_id = f"doc{d // per_doc}"
        for i, part in enumerate(parts):
            if i:
                text += "\n\n"
            start = len(text)
            text += part
            passages.append(Passage(f"{doc_id}:{i}", doc_id, f"Article {d // per_doc}", i, part, start, len(text)))
        published, publisher = facts[d // per_doc] if facts is not None else (None, None)
        yield NewDocument(DocumentInfo(doc_id, f"Article {d // per_doc}", None, published, "bench", len(parts),
                                       publisher), text, passages, vectors[d : d + per_doc])


def probe(directory: Path, queries_file: Path) -> dict:
    """In a fresh process: load the store with both models, then time retrieval and writes."""
    started = time.perf_counter()
    from qa.offline import go_offline
    from reader import make_reader
    from retriever import make_embedder, store
    from retriever.hybrid import HybridRetriever

    go_offline()
    index = store.load(directory)
    embedder, reader = make_embedder(), make_reader()
    embedder.warm_up()
    reader.warm_up()
    ready = time.perf_counter() - started
    data = np.load(queries_file, allow_pickle=False)
    questions, vectors, exact = list(data["questions"]), data["vectors"], data["exact"]
    retriever = HybridRetriever(index)
    for q, v in zip(questions[:10], vectors[:10]):  # warm caches
        retriever.retrieve(q, v, 5)
    _, ms = time_queries(lambda qv: retriever.retrieve(qv[0], qv[1], 5), list(zip(questions, vectors)))
    _, dense = index.search(vectors, 10)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(dense, exact)]))
    filtered = []
    if "filters" in data:
        from bench.bench_filters import side_by_side
        from qa.filters import Scope

        for f, (name, fields) in enumerate(json.loads(str(data["filters"]))):
            scope = Scope.of(**fields)
            selection = index.select(scope)
            plain_ms, filter_ms = side_by_side(retriever, questions, vectors, scope)
            _, found = index.search(vectors, 10, selection.mask)
            truth = data[f"exact_{f}"]
            hit = np.mean([len(set(a[a >= 0]) & set(b[b >= 0])) / max((b >= 0).sum(), 1) for a, b in zip(found, truth)])
            (p50, p95), (b50, _) = percentiles(filter_ms), percentiles(plain_ms)
            filtered.append({"filter": name, "passages": selection.count, "share": round(selection.count / index.dense.live, 5),
                             "p50_ms": p50, "p95_ms": p95, "unfiltered_p50_ms": b50, "ratio": round(p50 / b50, 2),
                             "recall_at_10": round(float(hit), 4)})
    doc = next(store_documents([f"Probe paragraph {i} about the harbour." for i in range(10)],
                               vectors[:10]))
    from dataclasses import replace

    doc = replace(doc, info=replace(doc.info, id="probe-doc"),
                  passages=[replace(p, id=f"probe-doc:{p.paragraph}", doc_id="probe-doc") for p in doc.passages])
    writes = {}
    for name, call in (("add", lambda: index.write([doc])), ("replace", lambda: index.write([doc])),
                       ("delete", lambda: index.write(deletes=["probe-doc"]))):
        t = time.perf_counter()
        call()
        writes[name] = round((time.perf_counter() - t) * 1000, 1)
    p50, p95 = percentiles(ms)
    rss = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmRSS"))) // 1024
    return {"passages": index.passage_count(), "retrieval_p50_ms": p50, "retrieval_p95_ms": p95,
            "recall_at_10": round(recall, 4), "rss_mb": rss, "ready_s": round(ready, 2),
            "write_ms": max(writes.values()), "writes_ms": writes, "dense": type(index.dense.index).__name__,
            **({"filtered": filtered} if filtered else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, nargs="+", default=[20_000])
    parser.add_argument("--candidates", action="store_true", help="compare search libraries instead of the store")
    parser.add_argument("--probe", nargs=2, metavar=("DIR", "QUERIES"), help=argparse.SUPPRESS)
    parser.add_argument("--embed", type=int, default=2000, help="distinct paragraphs embedded for real")
    parser.add_argument("--base-index", type=Path, default=None,
                        help="an index of the real news archive as the base (its passages and vectors, all real)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", type=Path, default=None,
                        help="store mode: build each store in KEEP/N and leave it (re-time: --probe KEEP/N/index KEEP/N/queries.npz)")
    parser.add_argument("--lexical", nargs="*", default=list(LEXICAL), choices=list(LEXICAL))
    parser.add_argument("--slow-queries", type=int, default=20, help="questions for candidates that score every passage")
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(Path(args.probe[0]), Path(args.probe[1]))), flush=True)
        return

    from qa.offline import go_offline
    from retriever import make_embedder

    go_offline()
    embedder = make_embedder()
    t = time.perf_counter()
    facts = None
    if args.base_index is not None:
        base, base_vectors, when, publishers, queries = archive_base(args.base_index, args.queries)
        args.embed, facts = len(base), (when, publishers)
    else:
        base, qs = squad_paragraphs(max(args.embed, 20_000))
        base_vectors = embedder.encode(base[: args.embed])
        queries = [q for q, p in qs if p < args.embed][: args.queries]
    query_vectors = embedder.encode(queries)
    print(f"# embedded {args.embed} paragraphs and {len(queries)} questions in {time.perf_counter() - t:.0f}s",
          file=sys.stderr)
    vocab = sorted({w for t in base[:2000] for w in t.split() if w.isalpha()})
    for n in args.passages:
        texts, vectors = corpus_at(n, base, base_vectors, vocab, args.embed)
        if not args.candidates:
            print(json.dumps(measure_store(n, texts, vectors, queries, query_vectors,
                                           None if facts is None else (variants(base, n), *facts),
                                           keep=args.keep)), flush=True)
            continue
        with tempfile.TemporaryDirectory(prefix="qa-scale-") as tmp:
            for name in args.lexical:
                t = time.perf_counter()
                search = LEXICAL[name](texts, Path(tmp))
                built = time.perf_counter() - t
                asked = queries if name != "rank-bm25" else queries[: args.slow_queries]
                _, ms = time_queries(search, asked)
                p50, p95 = percentiles(ms)
                print(json.dumps({"passages": n, "kind": "lexical", "candidate": name, "build_s": round(built, 1),
                                  "query_p50_ms": p50, "query_p95_ms": p95, "questions": len(asked)}), flush=True)
            exact = None
            for name, index, built in dense_candidates(vectors):
                found, ms = time_queries(lambda v: index.search(v[None, :], 10)[1][0], query_vectors)
                if exact is None:
                    exact = found
                recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)])
                p50, p95 = percentiles(ms)
                print(json.dumps({"passages": n, "kind": "dense", "candidate": name, "build_s": round(built, 1),
                                  "query_p50_ms": p50, "query_p95_ms": p95, "recall_at_10": round(float(recall), 4),
                                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), flush=True)


def filter_oracle(n: int, vectors: np.ndarray, query_vectors: np.ndarray, which: list[int], when: np.ndarray,
                  publishers: list, per_doc: int = 10) -> tuple[list, dict, list]:
    """Each document's facts (its first passage's base), filters of about 10%, 1%, 0.1% of the passages by date
    and one publisher's, and the exact top 10 rows within each (numpy over the passages each lets through)."""
    doc_when = np.array([when[which[d]] for d in range(0, n, per_doc)])
    doc_pub = [publishers[which[d]] for d in range(0, n, per_doc)]
    row_when = np.repeat(doc_when, per_doc)[:n]
    row_pub = np.array(np.repeat(np.array(doc_pub, dtype=object), per_doc)[:n])
    moment = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))  # noqa: E731
    facts = [(None if np.isnan(w) else moment(w), p) for w, p in zip(doc_when, doc_pub)]
    dated = np.sort(row_when[~np.isnan(row_when)])
    filters, masks = [], []
    for share in (0.10, 0.01, 0.001):
        want = int(share * n)
        start = (len(dated) - want) // 2
        lo, hi = float(dated[start]), float(dated[start + want - 1])  # to the second: until includes its second
        filters.append((f"date {moment(lo)}..{moment(hi)} (~{share:.1%})", {"since": moment(lo), "until": moment(hi)}))
        masks.append(~np.isnan(row_when) & (row_when >= lo) & (row_when < hi + 1))
    named = [p for p in dict.fromkeys(doc_pub) if p]
    smallest = min(named, key=lambda p: int((row_pub == p).sum()))
    filters.append((f"source {smallest}", {"sources": [smallest]}))
    masks.append(row_pub == smallest)
    exact = {}
    for f, mask in enumerate(masks):
        ids = np.flatnonzero(mask)
        top = np.full((len(query_vectors), 10), -1, dtype=np.int64)
        for i in range(0, len(query_vectors), 20):
            sims = query_vectors[i : i + 20] @ vectors[ids].T
            order = np.argsort(-sims, axis=1)[:, :10]
            top[i : i + 20, : order.shape[1]] = ids[order] + 1  # rows count from 1 in build order
        exact[f"exact_{f}"] = top
    return facts, exact, filters


def measure_store(n: int, texts: list[str], vectors: np.ndarray, queries: list[str], query_vectors: np.ndarray,
                  archive=None, keep: Path | None = None) -> dict:
    """``archive``: (base passage of each passage, base published seconds, base publishers): filters too.

    ``keep``: build in that (new) folder and leave it, so ``--probe DIR/index DIR/queries.npz`` can time it again."""
    import subprocess

    import faiss

    from retriever import store

    facts, oracle, filters = (None, {}, None) if archive is None else filter_oracle(n, vectors, query_vectors, *archive)
    with tempfile.TemporaryDirectory(prefix="qa-scale-store-") as scratch:
        tmp = scratch if keep is None else str(keep / str(n))
        Path(tmp).mkdir(parents=True, exist_ok=keep is None)
        t = time.perf_counter()
        manifest = store.Manifest("all-MiniLM-L6-v2", vectors.shape[1], "bench", [], time.time())
        store.build(Path(tmp) / "index", manifest, store_documents(texts, vectors, facts=facts)).close()
        build_s = time.perf_counter() - t
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        exact = flat.search(query_vectors, 10)[1] + 1  # rows count from 1 in build order
        extra = {} if filters is None else {"filters": json.dumps(filters), **oracle}
        np.savez(Path(tmp) / "queries.npz", questions=np.array(queries), vectors=query_vectors, exact=exact, **extra)
        out = subprocess.run([sys.executable, __file__, "--probe", str(Path(tmp) / "index"), str(Path(tmp) / "queries.npz")],
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
    return {**result, "build_s": round(build_s, 1)}


if __name__ == "__main__":
    main()
