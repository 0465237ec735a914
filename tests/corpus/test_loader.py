"""Corpus loading: formats, paragraph offsets, ids, de-duplication and unreadable files."""

import json

from corpus.loader import DEFAULT_CORPUS_DIR, content_id, load_corpus, paragraph_spans
from qa.limits import MAX_PASSAGE_CHARS
from tests.conftest import make_pdf


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


def test_a_paragraph_is_kept_once_per_document_and_in_every_document_that_has_it(tmp_path):
    (tmp_path / "a.txt").write_text("Shared paragraph.\nOnly in a.\nShared paragraph.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Shared paragraph.\nOnly in b.\n", encoding="utf-8")
    by_doc = {}
    for p in load_corpus([tmp_path]).passages:
        by_doc.setdefault(p.title.lower(), []).append(p.text)
    assert by_doc == {"a": ["Shared paragraph.", "Only in a."], "b": ["Shared paragraph.", "Only in b."]}


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


def test_a_long_paragraph_becomes_bounded_passages_at_sentence_ends_with_exact_offsets(tmp_path):
    sentences = [f"Sentence number {i} says something about the dam and its cost." for i in range(200)]
    long_paragraph = " ".join(sentences)
    run_of_letters = ("abcdefghijklmnopqrstuvwxyz" * 300)[:7000]
    text = "Short first paragraph.\n\n" + long_paragraph + "\n\n" + run_of_letters
    (tmp_path / "long.txt").write_text(text, encoding="utf-8")
    corpus = load_corpus([tmp_path])
    doc = corpus.documents[0]
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in corpus.passages)
    for p in corpus.passages:
        assert doc.text[p.doc_start : p.doc_end] == p.text  # every passage an exact slice of the document
    parts = [p for p in corpus.passages if p.paragraph == 1]
    assert len(parts) > 1 and all(p.text.endswith(".") for p in parts)  # cut after sentences, not inside
    assert [p.id for p in parts][:2] == [f"{doc.id}:1", f"{doc.id}:1.1"]
    assert " ".join(p.text for p in parts) == long_paragraph  # nothing lost but the spaces between parts
    run = [p for p in corpus.passages if p.paragraph == 2]
    assert "".join(p.text for p in run) == run_of_letters  # no space anywhere: cut hard, still bounded


def test_a_pdf_is_read_as_paragraphs_with_their_pages_and_a_pdf_named_txt_is_refused(tmp_path):
    pdf = make_pdf([["The Harbour Dam Report", "The new harbour dam was finished in March after four years of",
                     "construction. It cost 3.2 billion euros, the ministry said on", "Tuesday.",
                     "Engineers expect the dam to protect the old town from storm floods", "for a century."],
                    ["Critics said the cost had doubled since the first plan in 2015, and", "asked for an inquiry."]])
    (tmp_path / "dam-report.pdf").write_bytes(pdf)
    corpus = load_corpus([tmp_path])
    assert not corpus.errors
    doc = corpus.documents[0]
    assert doc.title == "The Harbour Dam Report"  # the headline, not a paragraph
    assert [p.page for p in corpus.passages] == [1, 1, 2]
    assert corpus.passages[0].text.startswith("The new harbour dam was finished in March after four years of construction.")
    assert "%PDF" not in doc.text and all(doc.text[p.doc_start:p.doc_end] == p.text for p in corpus.passages)
    (tmp_path / "dam-report.pdf").unlink()
    (tmp_path / "disguised.txt").write_bytes(pdf)
    (tmp_path / "fake.pdf").write_text("just text, not a PDF")
    corpus = load_corpus([tmp_path])
    assert corpus.passages == []
    assert any("disguised.txt: a PDF named .txt" in e for e in corpus.errors)
    assert any("fake.pdf: not a PDF" in e for e in corpus.errors)


def test_a_text_files_short_first_line_without_a_period_is_its_title(tmp_path):
    (tmp_path / "dam_report.txt").write_text("Harbour dam opens after four years\n\nThe dam cost 3.2 billion euros.\n\n"
                                            "It protects the old town.", encoding="utf-8")
    (tmp_path / "plain.txt").write_text("The dam cost 3.2 billion euros.\n\nIt protects the old town.", encoding="utf-8")
    corpus = load_corpus([tmp_path])
    titles = {d.source.rsplit("/", 1)[1]: d.title for d in corpus.documents}
    assert titles == {"dam_report.txt": "Harbour dam opens after four years", "plain.txt": "Plain"}
    first = [p for p in corpus.passages if p.title == "Harbour dam opens after four years"]
    assert [p.text for p in first] == ["The dam cost 3.2 billion euros.", "It protects the old town."]
    assert first[0].paragraph == 0


def test_crlf_and_cr_only_text_files_split_as_the_lf_file_does(tmp_path):
    """Issue 32.10: a CRLF file was split per line (4 paragraphs for the LF file's 2), a CR-only one was one
    paragraph with the title inside it."""
    lf = "Harbour news\n\nThe dam opened today.\nIt cost four billion.\n\nThe mayor spoke.\n"
    for name, text in (("lf", lf), ("crlf", lf.replace("\n", "\r\n")), ("cr", lf.replace("\n", "\r"))):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_bytes(text.encode())
        md = text.replace("Harbour news", "# Harbour news").replace("The ", "Then the ")  # its own paragraphs
        (tmp_path / name / f"{name}.md").write_bytes(md.encode())
    read = {}
    for name in ("lf", "crlf", "cr"):
        corpus = load_corpus([tmp_path / name])
        assert not corpus.errors
        read[name] = [(d.title, [p.text for p in corpus.passages if p.doc_id == d.id]) for d in corpus.documents]
        for p in corpus.passages:  # offsets still slice the stored text
            assert next(d for d in corpus.documents if d.id == p.doc_id).text[p.doc_start:p.doc_end] == p.text
    assert sorted(read["lf"]) == [("Harbour news", ["The dam opened today.\nIt cost four billion.", "The mayor spoke."]),
                                  ("Harbour news", ["Then the dam opened today.\nIt cost four billion.",
                                                    "Then the mayor spoke."])]
    assert sorted(read["crlf"]) == sorted(read["lf"]) and sorted(read["cr"]) == sorted(read["lf"])


def test_a_utf8_byte_order_mark_is_not_part_of_the_text(tmp_path):
    """Issue 32.10: a BOM opened the .txt title, made the .md heading a paragraph and the .jsonl's first record
    invalid JSON."""
    bom = b"\xef\xbb\xbf"
    (tmp_path / "a.txt").write_bytes(bom + b"Harbour news\n\nThe dam opened.\n\nThe mayor spoke.\n")
    (tmp_path / "b.md").write_bytes(bom + b"# Ferry news\n\nThe ferry left.\n")
    (tmp_path / "c.jsonl").write_bytes(bom + json.dumps({"id": "c1", "title": "Rail", "text": "The train ran."}).encode())
    corpus = load_corpus([tmp_path])
    assert corpus.errors == []
    assert sorted((d.title, d.text.startswith("\ufeff")) for d in corpus.documents) == [
        ("Ferry news", False), ("Harbour news", False), ("Rail", False)]
    assert sorted(p.text for p in corpus.passages) == ["The dam opened.", "The ferry left.", "The mayor spoke.",
                                                       "The train ran."]


def test_fifos_symlink_loops_and_devices_in_a_folder_are_named_and_never_opened(tmp_path):
    """Issue 32.10: they were skipped without a word. A FIFO or /dev/zero opened would block or never end."""
    import os

    (tmp_path / "good.txt").write_text("The dam opened today.\n", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    (tmp_path / "zero.jsonl").symlink_to("/dev/zero")
    (tmp_path / "notes.bin").symlink_to("/dev/zero")  # not named like an article: not ours to mention
    corpus = load_corpus([tmp_path])
    assert [p.text for p in corpus.passages] == ["The dam opened today."]
    assert sorted(corpus.errors) == [f"{tmp_path}/loop.md: a symbolic link that leads nowhere (a loop, or its target "
                                     "is gone)",
                                     f"{tmp_path}/pipe.txt: not a regular file or directory (a FIFO, socket or device)",
                                     f"{tmp_path}/zero.jsonl: not a regular file or directory (a FIFO, socket or device)"]


def test_a_jsonl_record_nested_too_deeply_is_a_named_line_and_the_others_are_read(tmp_path):
    from corpus.loader import load_corpus

    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n"
                                         + '{"id": "ok", "text": "The ferry leaves at noon."}\n', encoding="utf-8")
    corpus = load_corpus([tmp_path])
    assert [d.id for d in corpus.documents] == ["ok"]
    assert corpus.errors == [f"{tmp_path / 'deep.jsonl'}:1: a record is nested too deeply to read"]
