"""FAISS store: search matches a brute-force oracle; saves are atomic; bad indexes are reported."""

import numpy as np
import pytest

from retriever import store
from retriever.dense import DenseRetriever
from retriever.store import IndexCorrupt, IndexMissing
from tests.conftest import make_stored as _stored


def test_search_matches_numpy_oracle(three_passages, fake_embedder):
    stored, vectors = _stored(three_passages, fake_embedder)
    queries = fake_embedder.encode(["Baerbock weapons", "Canada Kyiv", "tanks"])
    scores, ids = stored.search(queries, 3)
    oracle = queries @ vectors.T
    np.testing.assert_array_equal(ids, np.argsort(-oracle, axis=1, kind="stable"))
    np.testing.assert_allclose(scores, np.sort(oracle, axis=1)[:, ::-1], rtol=1e-5)


def test_dense_retriever_returns_passages_best_first(three_passages, fake_embedder):
    stored, _ = _stored(three_passages, fake_embedder)
    hits = DenseRetriever(stored).retrieve(three_passages[2].text, fake_embedder.encode([three_passages[2].text])[0], top_k=2)
    assert hits[0].passage == three_passages[2]
    assert len(hits) == 2 and hits[0].score >= hits[1].score


def test_top_k_larger_than_index(three_passages, fake_embedder):
    stored, _ = _stored(three_passages, fake_embedder)
    assert len(DenseRetriever(stored).retrieve("x", fake_embedder.encode(["x"])[0], top_k=10)) == 3


def test_save_load_roundtrip(tmp_path, three_passages, fake_embedder):
    stored, vectors = _stored(three_passages, fake_embedder)
    store.save(stored, tmp_path)
    loaded = store.load(tmp_path)
    assert loaded.passages == three_passages and loaded.manifest == stored.manifest
    np.testing.assert_allclose(loaded.vectors(), vectors)


def test_new_save_replaces_old_version_and_cleans_up(tmp_path, three_passages, fake_embedder):
    stored, _ = _stored(three_passages, fake_embedder)
    first = store.save(stored, tmp_path)
    smaller, _ = _stored(three_passages[:2], fake_embedder)
    second = store.save(smaller, tmp_path)
    assert len(store.load(tmp_path).passages) == 2
    assert not first.exists() and second.exists()


def test_failed_save_keeps_the_previous_index(tmp_path, three_passages, fake_embedder, monkeypatch):
    stored, _ = _stored(three_passages, fake_embedder)
    store.save(stored, tmp_path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.json, "dump", boom)
    with pytest.raises(OSError):
        store.save(_stored(three_passages[:1], fake_embedder)[0], tmp_path)
    assert len(store.load(tmp_path).passages) == 3
    assert len(list(tmp_path.glob("v-*"))) == 1


def test_missing_index_names_the_command(tmp_path):
    with pytest.raises(IndexMissing, match="qa index"):
        store.load(tmp_path / "nothing")


@pytest.mark.parametrize("damage", ["meta", "faiss", "pointer"])
def test_corrupt_index_names_the_command(tmp_path, three_passages, fake_embedder, damage):
    stored, _ = _stored(three_passages, fake_embedder)
    version = store.save(stored, tmp_path)
    if damage == "meta":
        (version / "meta.json").write_text("{truncated", encoding="utf-8")
    elif damage == "faiss":
        (version / "index.faiss").write_bytes(b"garbage")
    else:
        (tmp_path / "CURRENT").write_text("v-does-not-exist", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="qa index"):
        store.load(tmp_path)
