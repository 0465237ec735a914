"""Corpus loading: formats, paragraph offsets, ids, de-duplication and unreadable files."""

import json

from corpus.loader import DEFAULT_CORPUS_DIR, content_id, load_corpus, paragraph_spans


def test_lines_are_paragraphs_when_there_are_no_blank_lines():
    text = "First line.\nSecond line.\n\n"
    assert [text[s:e] for s, e in paragraph_spans(text.rstrip("\n") + "\n")] == ["First line.", "Second line."]


def test_blank_line_blocks_are_paragraphs_and_keep_inner_newlines():
    text = "  Para one\ncontinues.\n\n\nPara two.\n"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["Para one\ncontinues.", "Para two."]


def test_passage_offsets_point_into_the_document(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha one.\n\n  Beta two.  \n\nGamma three.\n", encoding="utf-8")
    corpus = load_corpus([tmp_path])
    doc = corpus.documents[0]
    assert [p.text for p in corpus.passages] == ["Alpha one.", "Beta two.", "Gamma three."]
    for p in corpus.passages:
        assert doc.text[p.doc_start : p.doc_end] == p.text
    assert [p.paragraph for p in corpus.passages] == [0, 1, 2]


def test_ids_are_content_hashes_and_stable(tmp_path):
    (tmp_path / "a.txt").write_text("Same text.\n", encoding="utf-8")
    first = load_corpus([tmp_path / "a.txt"]).documents[0].id
    assert first == load_corpus([tmp_path / "a.txt"]).documents[0].id == content_id("Same text.\n")
    (tmp_path / "a.txt").write_text("Other text.\n", encoding="utf-8")
    assert load_corpus([tmp_path / "a.txt"]).documents[0].id != first


def test_markdown_title_from_heading_and_headings_not_paragraphs(tmp_path):
    (tmp_path / "n.md").write_text("# Big news\n\nBody paragraph.\n\n## Section\n\nMore body.\n", encoding="utf-8")
    corpus = load_corpus([tmp_path])
    assert corpus.documents[0].title == "Big news"
    assert [p.text for p in corpus.passages] == ["Body paragraph.", "More body."]


def test_jsonl_records_keep_their_fields_and_bad_lines_are_named(tmp_path):
    rec = {"id": "art-1", "title": "T", "text": "One.\nTwo.", "url": "http://x", "published": "2022-01-18"}
    (tmp_path / "a.jsonl").write_text(json.dumps(rec) + "\n{not json\n" + json.dumps({"title": "no text"}) + "\n",
                                      encoding="utf-8")
    corpus = load_corpus([tmp_path])
    (doc,) = corpus.documents
    assert (doc.id, doc.title, doc.url, doc.published) == ("art-1", "T", "http://x", "2022-01-18")
    assert [p.id for p in corpus.passages] == ["art-1:0", "art-1:1"]
    assert any("a.jsonl:2" in e for e in corpus.errors) and any("a.jsonl:3" in e for e in corpus.errors)


def test_exact_duplicate_paragraphs_are_stored_once(tmp_path):
    (tmp_path / "a.txt").write_text("Shared paragraph.\nOnly in a.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Shared paragraph.\nOnly in b.\n", encoding="utf-8")
    texts = [p.text for p in load_corpus([tmp_path]).passages]
    assert texts.count("Shared paragraph.") == 1 and len(texts) == 3


def test_unreadable_file_is_named_and_the_others_still_load(tmp_path):
    (tmp_path / "good.txt").write_text("Good paragraph.\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfa broken")
    corpus = load_corpus([tmp_path, tmp_path / "missing.txt"])
    assert [p.text for p in corpus.passages] == ["Good paragraph."]
    assert any("bad.txt" in e for e in corpus.errors) and any("missing.txt" in e for e in corpus.errors)


def test_fingerprint_changes_with_content(tmp_path):
    (tmp_path / "a.txt").write_text("One.\n", encoding="utf-8")
    before = load_corpus([tmp_path]).fingerprint()
    assert before == load_corpus([tmp_path]).fingerprint()
    (tmp_path / "a.txt").write_text("One.\nTwo.\n", encoding="utf-8")
    assert load_corpus([tmp_path]).fingerprint() != before


def test_default_corpus_is_bundled():
    corpus = load_corpus([DEFAULT_CORPUS_DIR])
    assert len(corpus.documents) == 1 and not corpus.errors
    assert any("Baerbock" in p.text for p in corpus.passages)
