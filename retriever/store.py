"""FAISS inner-product index plus JSON metadata, persisted atomically in one directory.

Layout: ``DIR/CURRENT`` names a version folder ``DIR/v-.../`` holding ``index.faiss`` and
``meta.json``. A new version is written completely, then ``CURRENT`` is swapped with
``os.replace``, so readers see either the old index or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from qa.atomic import fsync_dir, write_atomic
from qa.types import DocumentInfo, Passage

FORMAT_VERSION = 1
REBUILD_HINT = "qa index"


class IndexError_(Exception):
    """Base for index problems; the message names the command that fixes it."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    fingerprint: str
    sources: list[str]
    created: float
    format: int = FORMAT_VERSION


@dataclass
class StoredIndex:
    manifest: Manifest
    index: faiss.Index
    passages: list[Passage]
    documents: list[DocumentInfo]

    def search(self, queries: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(top_k, self.index.ntotal)
        if k == 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def vectors(self) -> np.ndarray:
        return self.index.reconstruct_n(0, self.index.ntotal)

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of these passage rows, in order (for re-scoring a candidate pool)."""
        return self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))


def build(vectors: np.ndarray, passages: list[Passage], documents: list[DocumentInfo], manifest: Manifest) -> StoredIndex:
    if len(vectors) != len(passages):
        raise ValueError(f"{len(vectors)} vectors for {len(passages)} passages")
    index = faiss.IndexFlatIP(manifest.dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return StoredIndex(manifest, index, passages, documents)


def save(stored: StoredIndex, directory: Path) -> Path:
    """Write a new version and make it current atomically; returns the version folder."""
    directory.mkdir(parents=True, exist_ok=True)
    version = Path(tempfile.mkdtemp(prefix=f"v-{int(time.time())}-", dir=directory))
    try:
        faiss.write_index(stored.index, str(version / "index.faiss"))
        meta = {
            "manifest": asdict(stored.manifest),
            "documents": [asdict(d) for d in stored.documents],
            "passages": [asdict(p) for p in stored.passages],
        }
        with open(version / "meta.json", "w", encoding="utf-8") as fh:
            json.dump(meta, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        fsync_dir(version)
        # The sources also live outside the version, so that a corrupt index still says what it was built from.
        write_atomic(directory / "SOURCES.json", json.dumps(stored.manifest.sources))
        write_atomic(directory / "CURRENT", version.name)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    for old in directory.glob("v-*"):
        if old != version and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return version


def known_sources(directory: Path) -> list[str] | None:
    """The sources the last saved index was built from, readable even when the index itself is not."""
    try:
        sources = json.loads((directory / "SOURCES.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [str(s) for s in sources] if isinstance(sources, list) else None


def load(directory: Path) -> StoredIndex:
    pointer = directory / "CURRENT"
    if not pointer.is_file():
        raise IndexMissing(f"no index at {directory}; build it with: qa index")
    version = directory / pointer.read_text(encoding="utf-8").strip()
    try:
        with open(version / "meta.json", encoding="utf-8") as fh:
            meta = json.load(fh)
        manifest = Manifest(**meta["manifest"])
        passages = [Passage(**p) for p in meta["passages"]]
        documents = [DocumentInfo(**d) for d in meta["documents"]]
        index = faiss.read_index(str(version / "index.faiss"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorrupt(f"index at {directory} is unreadable ({exc}); rebuild it with: {REBUILD_HINT}") from exc
    bad = next((p for p in passages if not all(isinstance(getattr(p, f), str) for f in ("id", "doc_id", "title", "text"))
                or not all(isinstance(getattr(p, f), int) for f in ("paragraph", "doc_start", "doc_end"))), None)
    if bad is not None:
        raise IndexCorrupt(f"index at {directory} is unreadable (a passage has a missing or mistyped field); "
                           f"rebuild it with: {REBUILD_HINT}")
    if index.ntotal != len(passages) or (index.ntotal and index.d != manifest.dim):
        raise IndexCorrupt(
            f"index at {directory} is inconsistent ({index.ntotal} vectors, {len(passages)} passages); "
            f"rebuild it with: {REBUILD_HINT}"
        )
    return StoredIndex(manifest, index, passages, documents)
