"""Build, open and refresh the persisted index: stale or foreign indexes are rebuilt, never used."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from corpus.loader import Corpus, load_corpus
from qa.types import DocumentInfo
from retriever import store
from qa.protocols import Embedder
from retriever.store import IndexMissing, Manifest, StoredIndex

Log = Callable[[str], None]


def stderr_log(msg: str) -> None:
    print(msg, file=sys.stderr)


@dataclass
class BuildReport:
    index: StoredIndex
    errors: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"indexed {len(self.index.passages)} paragraphs from {len(self.index.documents)} documents "
                f"({self.embedded} embedded, {self.reused} reused) in {self.seconds:.1f}s")


def _document_infos(corpus: Corpus) -> list[DocumentInfo]:
    counts: dict[str, int] = {}
    for p in corpus.passages:
        counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
    return [DocumentInfo(d.id, d.title, d.url, d.published, d.source, counts.get(d.id, 0)) for d in corpus.documents]


def build_index(
    sources: list[Path | str],
    embedder: Embedder,
    index_dir: Path,
    previous: StoredIndex | None = None,
    corpus: Corpus | None = None,
) -> BuildReport:
    """Embed the corpus under ``sources`` and save it; vectors of unchanged paragraphs are reused."""
    started = time.perf_counter()
    sources = [str(Path(s).resolve()) for s in sources]
    corpus = corpus or load_corpus(sources)
    if not corpus.passages:
        raise ValueError("no paragraphs to index" + "".join(f"\n  {e}" for e in corpus.errors))
    cached: dict[str, np.ndarray] = {}
    if previous is not None and previous.manifest.model == embedder.name:
        cached = dict(zip((p.text for p in previous.passages), previous.vectors()))
    todo = [p.text for p in corpus.passages if p.text not in cached]
    fresh = dict(zip(todo, embedder.encode(todo))) if todo else {}
    vectors = np.stack([cached.get(p.text, fresh.get(p.text)) for p in corpus.passages])
    manifest = Manifest(embedder.name, int(vectors.shape[1]), corpus.fingerprint(), sources, time.time())
    stored = store.build(vectors, corpus.passages, _document_infos(corpus), manifest)
    store.save(stored, index_dir)
    return BuildReport(stored, corpus.errors, len(todo), len(corpus.passages) - len(todo), time.perf_counter() - started)


def stale_reason(stored: StoredIndex, embedder: Embedder) -> tuple[str | None, Corpus | None]:
    """Why ``stored`` cannot be used as it is (None if current), plus the freshly loaded corpus."""
    m = stored.manifest
    if m.format != store.FORMAT_VERSION:
        return f"index format {m.format} is not {store.FORMAT_VERSION}", None
    if m.model != embedder.name:
        return f"index was built with model {m.model!r}, not {embedder.name!r}", None
    corpus = load_corpus(m.sources)
    if corpus.fingerprint() != m.fingerprint:
        return "the corpus changed since the index was built", corpus
    return None, corpus


def open_index(
    index_dir: Path,
    embedder: Embedder,
    default_sources: list[Path],
    build_if_missing: bool,
    log: Log = stderr_log,
    refresh: bool = True,
) -> StoredIndex:
    """Load the index; rebuild it if stale or foreign (``refresh``); build it if missing and allowed.

    A corrupt index raises ``IndexCorrupt`` rather than being replaced (``qa index`` rebuilds it from
    its recorded sources). Read-only callers pass ``refresh=False``: a stale index is then used as built.
    A source that has gone missing (moved checkout, unmounted share) never triggers a rebuild, which
    would drop its documents: the index keeps serving them.
    """
    try:
        stored = store.load(index_dir)
    except IndexMissing:
        if not build_if_missing:
            raise
        log(f"no index at {index_dir}; building it from {', '.join(map(str, default_sources))}")
        return _report(build_index(default_sources, embedder, index_dir), log).index
    missing = [s for s in stored.manifest.sources if not Path(s).exists()]
    if missing:
        log(f"warning: source(s) of the index at {index_dir} cannot be found ({', '.join(missing)}); "
            "using the index as built")
        return stored
    reason, corpus = stale_reason(stored, embedder)
    if reason is None:
        return stored
    if not refresh:
        log(f"warning: the index at {index_dir} is out of date ({reason}); answering from it as built "
            "(qa index or qa serve refreshes it)")
        return stored
    if corpus is not None and not corpus.passages:
        log(f"warning: the sources of the index at {index_dir} cannot be read; using the index as built")
        return stored
    log(f"rebuilding index at {index_dir}: {reason}")
    report = build_index(stored.manifest.sources, embedder, index_dir, previous=stored, corpus=corpus)
    return _report(report, log).index


def _report(report: BuildReport, log: Log) -> BuildReport:
    for error in report.errors:
        log(f"warning: skipped {error}")
    log(report.summary())
    return report
