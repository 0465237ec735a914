"""The passage store: search matches an exact numpy oracle; writes touch one document and survive reopening;
a full build swaps atomically; bad indexes are reported with the command that fixes them."""

import json
import sqlite3

import numpy as np
import pytest

from qa.types import Passage
from retriever import dense_index, store
from retriever.dense import DenseRetriever
from retriever.store import IndexCorrupt, IndexMissing
from tests.conftest import make_stored as _stored, new_documents


def test_search_matches_numpy_oracle(three_passages, fake_embedder):
    stored, vectors = _stored(three_passages, fake_embedder)
    queries = fake_embedder.encode(["Baerbock weapons", "Canada Kyiv", "tanks"])
    scores, rows = stored.search(queries, 3)
    oracle = queries @ vectors.T
    found = stored.passages_at(rows.ravel())
    ids = [[found[r].id for r in row] for row in rows]
    assert ids == [[three_passages[i].id for i in np.argsort(-o, kind="stable")] for o in oracle]
    np.testing.assert_allclose(scores, np.sort(oracle, axis=1)[:, ::-1], rtol=1e-5)


def test_hnsw_above_the_exact_size_keeps_recall_against_the_oracle(tmp_path, monkeypatch):
    """The approximate index (IVF) against exact search on the same vectors, also after writes."""
    monkeypatch.setattr(dense_index, "EXACT_MAX", 100)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 16))
    vectors = (centres[rng.integers(0, 20, 600)] + rng.normal(0, 0.3, (600, 16))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    passages = [Passage(f"d{i}:0", f"d{i}", "T", 0, f"text {i}", 0, len(f"text {i}")) for i in range(600)]
    manifest = store.Manifest("m", 16, "fp", [], 0.0)
    stored = store.build(tmp_path, manifest, new_documents(passages, vectors))
    assert stored.dense.index.__class__.__name__ == "IndexIVFFlat"
    queries = vectors[:50] + rng.normal(0, 0.1, (50, 16)).astype(np.float32)
    _, rows = stored.search(queries, 10)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10] + 1  # rows start at 1, in build order
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact)])
    assert recall >= 0.95
    # Delete some, add some: still what exact search over the live vectors finds.
    stored.write(new_documents(passages[:5], vectors[:5] * -1), deletes=[f"d{i}" for i in range(5, 10)])
    live = {r: v for r, v in zip(range(1, 601), vectors) if r > 10}  # rows 1-5 replaced, 6-10 deleted
    live.update({601 + i: -vectors[i] for i in range(5)})
    keys = np.array(sorted(live))
    matrix = np.stack([live[k] for k in keys])
    _, rows = store.load(tmp_path).search(queries, 10)
    exact = keys[np.argsort(-(queries @ matrix.T), axis=1)[:, :10]]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, exact)]) >= 0.95


def test_dense_retriever_returns_passages_best_first(three_passages, fake_embedder):
    stored, _ = _stored(three_passages, fake_embedder)
    hits = DenseRetriever(stored).retrieve(three_passages[2].text, fake_embedder.encode([three_passages[2].text])[0], top_k=2)
    assert hits[0].passage == three_passages[2]
    assert len(hits) == 2 and hits[0].score >= hits[1].score


def test_top_k_larger_than_index(three_passages, fake_embedder):
    stored, _ = _stored(three_passages, fake_embedder)
    assert len(DenseRetriever(stored).retrieve("x", fake_embedder.encode(["x"])[0], top_k=10)) == 3


def test_load_roundtrip(tmp_path, three_passages, fake_embedder):
    stored, vectors = _stored(three_passages, fake_embedder, tmp_path)
    loaded = store.load(tmp_path)
    assert [p for p, _ in loaded.all_passages()] == three_passages and loaded.manifest == stored.manifest
    np.testing.assert_allclose(np.stack([v for _, v in loaded.all_passages()]), vectors)
    assert [d.id for d in loaded.documents()] == [p.doc_id for p in three_passages]


def test_a_write_touches_one_document_and_survives_reopening(tmp_path, three_passages, fake_embedder):
    stored, _ = _stored(three_passages, fake_embedder, tmp_path)
    before = {p.id: r for r, (p, _) in zip(range(1, 10), stored.all_passages())}
    new = Passage("d9:0", "d9", "Doc 9", 0, "Poland sent tanks to Kyiv.", 0, 26)
    stored.write(new_documents([new], fake_embedder.encode([new.text])), deletes=["d1"])
    db = sqlite3.connect(stored.version / "store.sqlite")
    rows = dict(db.execute("SELECT id, row FROM passages"))
    # The untouched documents keep their rows; one passage gone, one added.
    assert rows == {"d0:0": before["d0:0"], "d2:0": before["d2:0"], "d9:0": 4}
    q = fake_embedder.encode([new.text])
    for index in (stored, store.load(tmp_path)):  # seen at once, and after reopening (replayed, not rebuilt)
        _, found = index.search(q, 3)
        assert set(found[0]) == {1, 3, 4} and index.passages_at([4])[4] == new
        assert 2 not in set(index.lexical("Wallace anti-tank weapons", 5)[0])
        assert index.lexical("Poland tanks", 5)[0][0] == 4


def test_replaying_after_a_crash_between_commit_and_lexical_index(tmp_path, three_passages, fake_embedder, monkeypatch):
    stored, _ = _stored(three_passages, fake_embedder, tmp_path)
    new = Passage("d9:0", "d9", "Doc 9", 0, "Poland sent tanks to Kyiv.", 0, 26)
    monkeypatch.setattr(store.StoredIndex, "_catch_up_words", lambda self: None)  # "killed" after the commit
    stored.write(new_documents([new], fake_embedder.encode([new.text])))
    monkeypatch.undo()
    assert store.load(tmp_path).lexical("Poland", 5)[0].tolist() == [4]


def test_other_processes_writes_are_picked_up(tmp_path, three_passages, fake_embedder):
    writer, _ = _stored(three_passages, fake_embedder, tmp_path)
    reader = store.load(tmp_path)
    writer.write(deletes=["d0"])
    reader.refresh(force=True)
    _, rows = reader.search(fake_embedder.encode([three_passages[0].text]), 3)
    assert 1 not in set(rows[0]) and sorted(r for r in rows[0] if r > 0) == [2, 3]


def test_compaction_drops_deleted_vectors_and_loads_the_same(tmp_path, three_passages, fake_embedder):
    stored, _ = _stored(three_passages, fake_embedder, tmp_path)
    stored.write(deletes=["d1"])
    stored.compact()
    assert stored.dense.index.ntotal == 2
    again = store.load(tmp_path)
    assert again.dense.index.ntotal == 2 and again.passage_count() == 2


def test_new_build_replaces_old_version_and_cleans_up(tmp_path, three_passages, fake_embedder):
    first, _ = _stored(three_passages, fake_embedder, tmp_path)
    smaller, _ = _stored(three_passages[:2], fake_embedder, tmp_path)
    assert store.load(tmp_path).passage_count() == 2
    # The replaced version stays for one more build (replicas and questions in flight move over).
    assert first.version.exists() and first.passage_count() == 3
    third, _ = _stored(three_passages[:1], fake_embedder, tmp_path)
    assert not first.version.exists() and smaller.version.exists() and third.version.exists()


def test_failed_build_keeps_the_previous_index(tmp_path, three_passages, fake_embedder):
    _stored(three_passages, fake_embedder, tmp_path)

    def failing():
        yield from new_documents(three_passages[:1], fake_embedder.encode([three_passages[0].text]))
        raise OSError("disk full")

    with pytest.raises(OSError):
        store.build(tmp_path, store.Manifest(fake_embedder.name, 4, "fp", [], 0.0), failing())
    assert store.load(tmp_path).passage_count() == 3
    assert len(list(tmp_path.glob("v-*"))) == 1


def test_missing_index_names_the_command(tmp_path):
    with pytest.raises(IndexMissing, match="qa index"):
        store.load(tmp_path / "nothing")


@pytest.mark.parametrize("damage", ["sqlite", "faiss", "pointer", "offsets", "dim", "sources", "pointer-folder",
                                    "pointer-bytes"])
def test_corrupt_index_names_the_command(tmp_path, three_passages, fake_embedder, damage):
    stored, _ = _stored(three_passages, fake_embedder, tmp_path)
    version = stored.version
    stored.close()
    if damage == "sqlite":
        (version / "store.sqlite").write_bytes(b"garbage" * 100)
        for extra in ("store.sqlite-wal", "store.sqlite-shm"):
            (version / extra).unlink(missing_ok=True)
    elif damage == "faiss":
        next(version.glob("dense-*.faiss")).write_bytes(b"garbage")
    elif damage == "pointer":
        (tmp_path / "CURRENT").write_text("v-does-not-exist", encoding="utf-8")
    elif damage == "pointer-folder":
        (tmp_path / "CURRENT").unlink()
        (tmp_path / "CURRENT").mkdir()
    elif damage == "pointer-bytes":
        (tmp_path / "CURRENT").write_bytes(b"v-\xff\n")
    else:
        db = sqlite3.connect(version / "store.sqlite")
        if damage == "offsets":
            db.execute("UPDATE passages SET doc_start = doc_end, doc_end = doc_start WHERE row = 1")
        else:
            manifest = json.loads(db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
            field = {"dim": {"dim": "x"}, "sources": {"sources": 5}}[damage]
            db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps({**manifest, **field}),))
        db.commit()
        db.close()
    with pytest.raises(IndexCorrupt, match="qa index") as raised:
        store.load(tmp_path)
    message = str(raised.value)
    assert "\n" not in message and str(tmp_path) in message  # one line, naming where
    if damage in ("pointer", "pointer-folder", "pointer-bytes"):
        assert str(tmp_path / "CURRENT") in message
    if damage in ("dim", "sources"):
        assert "store.sqlite" in message and "mistyped" in message


def test_an_index_folder_that_is_a_file_is_named_not_a_traceback(tmp_path):
    (tmp_path / "index").write_text("not a folder")
    with pytest.raises(IndexCorrupt, match="is a file, not a folder; point QA_INDEX_DIR at a folder"):
        store.load(tmp_path / "index")


def test_a_lexical_index_that_cannot_catch_up_is_rebuilt_from_the_store(tmp_path, three_passages, fake_embedder):
    # kill -9 in the middle of a tantivy commit once left a file that the next commit could not create again,
    # and the index would not load; the words are derived from SQLite, so they are made again instead.
    stored, _ = _stored(three_passages, fake_embedder, tmp_path)
    version = stored.version
    question = three_passages[0].text.split()[0]
    before = stored.lexical(question, 3)[0].tolist()
    stored.close()
    db = sqlite3.connect(version / "store.sqlite")
    db.execute("UPDATE meta SET value = ? WHERE key = 'lexical'", (json.dumps({"max_row": 0, "max_tomb": 0}),))
    db.commit()
    db.close()
    for f in (version / "lexical").iterdir():
        if f.name.endswith(".json"):
            f.write_text("{broken")
    again = store.load(tmp_path)
    assert again.lexical(question, 3)[0].tolist() == before and again.passage_count() == 3


def test_a_title_is_stored_once_with_its_document_not_in_every_passage(tmp_path, three_passages, fake_embedder):
    stored, _ = _stored(three_passages, fake_embedder, tmp_path)
    db = sqlite3.connect(tmp_path / store.current_version(tmp_path) / "store.sqlite")
    assert {t for (t,) in db.execute("SELECT title FROM passages")} == {""}
    assert [p.title for p in stored.passages_of("d1")] == ["Doc 1"]  # read from the document
    assert {p.title for p, _ in stored.all_passages()} == {"Doc 0", "Doc 1", "Doc 2"}
