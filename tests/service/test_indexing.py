"""Index lifecycle: built when missing, kept in step with changed files a document at a time, rebuilt for
another model, vectors of unchanged text reused, interrupted builds resumed."""

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
    assert [p.text for p, _ in stored.all_passages()] == ["Alpha paragraph about tanks.", "Beta paragraph about Kyiv."]
    assert store.load(tmp_path / "idx").manifest.sources == [str(src.resolve())]


def test_current_index_is_used_as_is(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    build_index([src], fake_embedder, tmp_path / "idx")
    created = store.load(tmp_path / "idx").manifest.created
    fake_embedder.calls.clear()
    open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False)
    assert store.load(tmp_path / "idx").manifest.created == created and fake_embedder.calls == []


def test_changed_files_are_synced_a_document_at_a_time(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    built = build_index([src], fake_embedder, tmp_path / "idx").index
    version = built.version
    (src / "b.txt").write_text("Gamma paragraph, new.\n", encoding="utf-8")
    fake_embedder.calls.clear()
    messages = []
    stored = open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False, log=messages.append)
    assert stored.passage_count() == 3 and stored.version == version  # written in place, not rebuilt
    assert fake_embedder.calls == [["Gamma paragraph, new."]]
    assert any("changed" in m for m in messages)
    (src / "a.txt").unlink()
    stored = open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False, log=messages.append)
    assert [p.text for p, _ in stored.all_passages()] == ["Gamma paragraph, new."]
    fake_embedder.calls.clear()
    assert open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False).passage_count() == 1
    assert fake_embedder.calls == []  # nothing changed: nothing re-read into the model


def test_an_interrupted_build_resumes_without_embedding_again(tmp_path, fake_embedder, monkeypatch):
    import retriever.store

    src = _corpus(tmp_path)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(retriever.store, "build", killed)
    with pytest.raises(KeyboardInterrupt):
        build_index([src], fake_embedder, tmp_path / "idx")
    monkeypatch.undo()
    fake_embedder.calls.clear()
    assert build_index([src], fake_embedder, tmp_path / "idx").embedded == 2  # counted, but from the cache
    assert fake_embedder.calls == [] and not (tmp_path / "idx" / ".vectors.sqlite").exists()


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
    assert store.load(tmp_path / "idx").passage_count() == 2


def test_index_whose_sources_vanished_is_kept(tmp_path, fake_embedder):
    src = _corpus(tmp_path)
    build_index([src], fake_embedder, tmp_path / "idx")
    (src / "a.txt").unlink()
    messages = []
    stored = open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False, log=messages.append)
    assert stored.passage_count() == 2 and any("cannot be read" in m for m in messages)


def test_syndicated_copies_and_empty_files_never_stop_an_import(tmp_path, fake_embedder):
    """The real archive has stories under two ids with one text, and stories whose paragraphs all stand in
    others; folders get empty files. None of them may abort the import (it once did: "cannot reshape")."""
    import gzip
    import json

    src = tmp_path / "articles"
    src.mkdir()
    story = "Wire story first paragraph.\n\nWire story second paragraph."
    records = [{"id": "wire-1", "title": "Wire", "text": story}, {"id": "wire-2", "title": "Wire copy", "text": story},
               {"id": "part", "title": "Part", "text": "Wire story second paragraph."},
               {"id": "own", "title": "Own", "text": "A paragraph of its own."}]
    (src / "archive.jsonl.gz").write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    (src / "empty.txt").write_bytes(b"")
    (src / "blank.txt").write_text("  \n\n \n", encoding="utf-8")
    (src / "heading.md").write_text("# Only a heading\n", encoding="utf-8")
    report = build_index([src], fake_embedder, tmp_path / "idx")
    stored = report.index
    # Every story is a document with its own paragraphs (retrieval shows one story once, naming the copies).
    assert {d.id for d in stored.documents()} == {"wire-1", "wire-2", "part", "own"}
    assert [p.text for p in stored.passages_of("wire-2")] == ["Wire story first paragraph.", "Wire story second paragraph."]
    assert [p.text for p in stored.passages_of("part")] == ["Wire story second paragraph."]
    assert stored.document("wire-2").title == "Wire copy" and stored.document("wire-2").paragraphs == 2
    # Identical texts are embedded once.
    assert report.embedded == 3
    # The files without a paragraph are named, each on its line; the rest is indexed.
    for name in ("empty.txt", "blank.txt", "heading.md"):
        assert any(name in e and "no paragraphs" in e for e in report.errors), report.errors


def test_a_file_changed_while_it_is_indexed_is_read_again_at_the_next_start(tmp_path, fake_embedder):
    """The sources' signature is taken before they are read: a file changed meanwhile (here, while the passages
    are embedded) makes the next start read it again, where an index holding the old text once looked current."""
    from service.indexing import sync_sources

    src = tmp_path / "articles"
    src.mkdir()
    article = src / "a.txt"
    article.write_text("Captain Original leads the crew.\n", encoding="utf-8")

    def changed_to(text):
        def progress(done, total):  # called once the files have been read
            article.write_text(text, encoding="utf-8")
        return progress

    def texts(stored):
        return [p.text for p, _ in stored.all_passages()]

    built = build_index([src], fake_embedder, tmp_path / "idx", progress=changed_to("Captain Changed After leads.\n"))
    assert texts(built.index) == ["Captain Original leads the crew."]  # what was read
    stored = open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False, log=lambda m: None)
    assert texts(stored) == ["Captain Changed After leads."]
    # The same for a sync (`qa index PATH` on an existing index).
    article.write_text("Captain Third reads the map.\n", encoding="utf-8")
    synced = sync_sources(stored, [src], fake_embedder, progress=changed_to("Captain Fourth, the last one.\n"))
    assert texts(synced.index) == ["Captain Third reads the map."]
    stored = open_index(tmp_path / "idx", fake_embedder, [src], build_if_missing=False, log=lambda m: None)
    assert texts(stored) == ["Captain Fourth, the last one."]
