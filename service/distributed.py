"""Indexing across a Ray cluster: reading, passage splitting and embedding as a Ray Data pipeline.

Files are read and split by Ray tasks, passages embedded by an actor pool that holds the model (one per
CPU the cluster offers), and the driver writes the same store a local build writes: the documents come back
in file order and go through the same de-duplication, so a corpus built here and built locally holds the
same passages. Every node needs the project installed (``pip install -e '.[cluster]'``) and the files at
the same paths (a shared or copied folder). Ray is imported only here, only for ``qa index --ray``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from corpus.loader import Corpus, LoadResult, expand_paths, load_splits, passages_of
from qa.types import Document, Passage
from service.indexing import Progress


def _read(batch: dict) -> dict:
    """Ray task: the files of a batch as split documents (one row each, passages as JSON)."""
    docs, errors = [], []
    for path in batch["path"]:
        splits, problems = load_splits([path])
        errors += problems
        for split in splits:
            d = split.document
            docs.append(json.dumps({"id": d.id, "title": d.title, "text": d.text, "url": d.url,
                                    "published": d.published, "source": d.source, "publisher": d.publisher,
                                    "topics": list(d.topics),
                                    "passages": [[p.id, p.paragraph, p.doc_start, p.doc_end]
                                                 for p in passages_of(split)]}))
    return {"doc": docs or [""], "errors": [json.dumps(errors)] + [""] * (max(len(docs), 1) - 1)}


class _Embed:
    """Ray actor: holds the embedding model, embeds the passages of a batch of documents."""

    model_dir: str | None = None  # set on a subclass made per run (no constructor arguments in the object store)

    def __init__(self):
        import ray

        from retriever import make_embedder

        self.embedder = make_embedder(self.model_dir)
        self.embedder.warm_up()
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict) -> dict:
        texts, owners = [], []
        for i, raw in enumerate(batch["doc"]):
            if raw:
                d = json.loads(raw)
                for _, _, start, end in d["passages"]:
                    texts.append(d["text"][start:end])
                    owners.append(i)
        vectors = self.embedder.encode(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
        per_doc = [[] for _ in batch["doc"]]
        for owner, v in zip(owners, vectors):
            per_doc[owner].append(v)
        return {"doc": batch["doc"], "errors": batch["errors"],
                "vectors": [np.asarray(v, np.float32).tobytes() if v else b"" for v in per_doc],
                "node": [self.node] * len(batch["doc"])}


def ray_corpus(paths: list[Path | str], address: str, model_dir: str | None = None,
               progress: Progress | None = None, log=print) -> tuple[Corpus, dict[str, np.ndarray]]:
    """The corpus under ``paths`` and the vectors of its passages, computed on the Ray cluster at ``address``."""
    import logging
    import warnings

    import ray

    result = LoadResult()
    files = [str(p) for p in expand_paths([Path(p).resolve() for p in paths], result)]
    ray.init(address=address, logging_level="WARNING", log_to_driver=False)
    for name in ("ray", "ray.data"):  # Ray sets its own levels at init
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="ray")
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # documents come back in file order
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        nodes = len([n for n in ray.nodes() if n.get("Alive")])
        log(f"ray: {nodes} node(s), {cpus} CPU(s) at {address}; {len(files)} files")
        embed = type("Embed", (_Embed,), {"model_dir": model_dir})
        # One embedding actor per CPU (half of it: Ray Data keeps some of the budget for the reading tasks), spread
        # over the nodes (half a CPU each, two would fit on one node and leave another idle); one document per call,
        # so that small inputs are not bundled into one block that a single actor takes.
        data = (ray.data.from_items([{"path": f} for f in files], override_num_blocks=max(1, min(len(files), 4 * cpus)))
                .map_batches(_read, batch_size=1, num_cpus=0.1)
                .map_batches(embed, batch_size=1, num_cpus=0.5, scheduling_strategy="SPREAD",
                             compute=ray.data.ActorPoolStrategy(size=cpus, max_tasks_in_flight_per_actor=1)))
        corpus, vectors, used = _assemble(data.iter_rows(), result.errors, progress)
    finally:
        ray.shutdown()
    log(f"ray: embedded on {len(used)} node(s)")
    return corpus, vectors


def _assemble(rows, errors: list[str], progress: Progress | None) -> tuple[Corpus, dict[str, np.ndarray], set[str]]:
    """Documents in order, de-duplicated as ``load_corpus`` does (the first of an id wins)."""
    documents, passages, vectors, used = [], [], {}, set()
    seen_docs = set()
    done = 0
    for row in rows:
        if row["errors"]:
            errors += json.loads(row["errors"])
        if not row["doc"]:
            continue
        used.add(row["node"])
        d = json.loads(row["doc"])
        block = np.frombuffer(row["vectors"], dtype=np.float32).reshape(len(d["passages"]), -1) \
            if d["passages"] else np.zeros((0, 0), np.float32)
        done += len(d["passages"])
        if progress is not None:
            progress(done, done)
        if d["id"] in seen_docs:
            continue
        seen_docs.add(d["id"])
        doc = Document(d["id"], d["title"], d["text"], d["url"], d["published"], d["source"], d.get("publisher"),
                       tuple(d.get("topics") or ()))
        documents.append(doc)
        for (pid, paragraph, start, end), vector in zip(d["passages"], block):
            text = d["text"][start:end]
            vectors.setdefault(text, vector)
            passages.append(Passage(pid, doc.id, doc.title, paragraph, text, start, end))
    return Corpus(documents, passages, errors), vectors, used
