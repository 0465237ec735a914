"""Index lifecycle: built when missing, rebuilt when stale or foreign, vectors of unchanged text reused."""

import pytest

from service.indexing import build_index, open_index
from retriever import store
from retriever.store import IndexMissing


def _corpus(tmp_path):
    src = tmp_path / "articles"
    src.mkdir()
    (src / "a.txt").write_text("Alpha paragraph about tanks.\nBeta paragraph about Kyiv.\n", encoding="utf-8")
    return src


def test_missing_index_is_built_only_when_allowed(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    with pytest.raises(IndexMissing):
        open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False)
    stored = open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=True, log=lambda m: None)
    assert [p.text for p in stored.passages] == ["Alpha paragraph about tanks.", "Beta paragraph about Kyiv."]
    assert store.load(tmp_path / "idx").manifest.sources == [str(src.resolve())]


def test_current_index_is_used_as_is(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    build_index([src], fake_embedder, tmp_path / "idx")
    created = store.load(tmp_path / "idx").manifest.created
    fake_embedder.calls.clear()
    open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False)
    assert store.load(tmp_path / "idx").manifest.created == created and fake_embedder.calls == []


def test_stale_index_is_rebuilt_reusing_unchanged_vectors(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    build_index([src], fake_embedder, tmp_path / "idx")
    (src / "b.txt").write_text("Gamma paragraph, new.\n", encoding="utf-8")
    fake_embedder.calls.clear()
    messages = []
    stored = open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False, log=messages.append)
    assert len(stored.passages) == 3
    assert fake_embedder.calls == [["Gamma paragraph, new."]]
    assert any("changed" in m for m in messages)


def test_foreign_model_index_is_rebuilt(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    build_index([src], fake_embedder, tmp_path / "idx")
    fake_embedder.name = "another-model"
    messages = []
    open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False, log=messages.append)
    assert store.load(tmp_path / "idx").manifest.model == "another-model"
    assert any("model" in m for m in messages)


def test_empty_corpus_leaves_existing_index_alone(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    build_index([src], fake_embedder, tmp_path / "idx")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no paragraphs"):
        build_index([empty], fake_embedder, tmp_path / "idx")
    assert len(store.load(tmp_path / "idx").passages) == 2


def test_index_whose_sources_vanished_is_kept(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    build_index([src], fake_embedder, tmp_path / "idx")
    (src / "a.txt").unlink()
    messages = []
    stored = open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False, log=messages.append)
    assert len(stored.passages) == 2 and any("cannot be read" in m for m in messages)
