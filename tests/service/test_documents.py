"""Documents over HTTP: every route validates a document the same way, and a write touches that document only."""

import json
import time

import pytest

from service.application import Application
from service.documents import DocumentError, article, parse_upload
from service.settings import Settings
from tests.conftest import FakeEmbedder, FirstWordReader, make_stored


@pytest.mark.parametrize("record, why", [
    ({"id": "u1", "text": "Dam cost.", "url": {"a": 1}}, "url must be a string"),
    ({"id": "u1", "text": "Dam cost.", "published": 5}, "published must be a string"),
    ({"id": "a/b", "text": "Dam cost."}, None),  # allowed by the pattern (no control characters)...
    ({"id": "x" * 10_000, "text": "Dam cost."}, "1-128 characters"),
    ({"id": "bad\u0001id", "text": "Dam cost."}, "1-128 characters"),
    ({"id": 5, "text": "Dam cost."}, None),  # ...and ids are read as strings, as in corpus files
])
def test_jsonl_records_are_checked_like_json_articles(record, why):
    raw = (json.dumps(record) + "\n").encode()
    if why is None:
        assert parse_upload("u.jsonl", raw)
    else:
        with pytest.raises(DocumentError, match=why):
            parse_upload("u.jsonl", raw)


def test_lone_surrogates_are_replaced_and_offsets_still_slice():
    split = article("Line one \ud800 here.\n\nLine two.", "Title \udfff")
    assert "\ud800" not in split.document.text and "\udfff" not in split.document.title
    assert [split.document.text[s:e] for s, e in split.spans] == ["Line one \ufffd here.", "Line two."]


def test_markdown_upload_leaves_headings_out_as_qa_index_does():
    md = b"# Harbour news\n\nThe lighthouse opened.\n\n## More\n\nThe mayor spoke."
    [split] = parse_upload("news.md", md)
    assert split.document.title == "Harbour news"
    assert [split.document.text[s:e] for s, e in split.spans] == ["The lighthouse opened.", "The mayor spoke."]


def test_put_replace_and_delete_touch_one_document(three_passages, tmp_path):
    index, _ = make_stored(three_passages, FakeEmbedder(), tmp_path)
    app = Application(Settings().with_(index={"index_dir": tmp_path}), index, FakeEmbedder(), FirstWordReader())
    before = {p.id for p, _ in index.all_passages()}
    [info] = app.documents.put([article("The ferry leaves at noon.\n\nIt returns at six.", "Ferry", "ferry")], False)
    assert info.paragraphs == 2 and app.documents.stored("ferry")
    with pytest.raises(DocumentError) as exists:
        app.documents.put([article("Again.", "Ferry", "ferry")], False)
    assert exists.value.kind == "conflict"
    with pytest.raises(DocumentError) as corpus_doc:
        app.documents.delete("d0")  # from a corpus file, not this API
    assert corpus_doc.value.kind == "conflict" and "d0" in str(corpus_doc.value) and str(tmp_path) not in str(corpus_doc.value)
    app.documents.put([article("The ferry leaves at one.", "Ferry", "ferry")], True)
    assert [p.text for p in app.index.passages_of("ferry")] == ["The ferry leaves at one."]
    app.documents.delete("ferry")
    assert {p.id for p, _ in app.index.all_passages()} == before
    with pytest.raises(DocumentError) as gone:
        app.documents.get("ferry")
    assert gone.value.kind == "not_found"


@pytest.mark.parametrize("field, size", [("title", 3_000_000), ("url", 3_000_000), ("published", 2_000_000)])
def test_jsonl_metadata_over_the_json_routes_bounds_is_refused_naming_the_field(field, size):
    from qa.limits import MAX_PUBLISHED_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS

    limit = {"title": MAX_TITLE_CHARS, "url": MAX_URL_CHARS, "published": MAX_PUBLISHED_CHARS}[field]
    # At the bound: taken (a date is a date: the longest one that reads is within the bound).
    ok = {"id": "ok", "text": "Dam cost.", field: "2022-01-18T09:30:00.000000+00:00" if field == "published" else "x" * limit}
    assert parse_upload("u.jsonl", (json.dumps(ok) + "\n").encode())
    over = {"id": "u1", "text": "Dam cost.", field: "x" * size}
    with pytest.raises(DocumentError, match=rf"^u\.jsonl:2: {field} must be at most {limit:,} characters") as refused:
        parse_upload("u.jsonl", (json.dumps(ok) + "\n" + json.dumps(over) + "\n").encode())
    assert refused.value.kind == "invalid" and len(str(refused.value)) < 200


def test_a_files_own_heading_or_html_title_is_cut_to_the_title_bound():
    from qa.limits import MAX_TITLE_CHARS

    [md] = parse_upload("big.md", b"# " + b"H" * 1_000_000 + b"\n\nThe lighthouse opened.")
    assert len(md.document.title) == MAX_TITLE_CHARS and md.document.title.endswith("H\u2026")
    assert [md.document.text[s:e] for s, e in md.spans] == ["The lighthouse opened."]
    html = (b"<html><head><title>" + b"T" * 10_000 + b"</title></head><body><article><p>"
            + b"The harbour's new lighthouse opened on Monday after two years of work. " * 4 + b"</p></article></body></html>")
    [page] = parse_upload("page.html", html)
    assert len(page.document.title) == MAX_TITLE_CHARS and "lighthouse" in page.document.text
    with pytest.raises(DocumentError, match="title must be at most 500"):  # an article's declared title is not cut
        article("Dam cost.", "T" * 501)


def test_an_html_page_gives_its_site_name_date_and_address():
    html = (b'<html><head><title>Mayor quits</title><meta property="og:site_name" content="Riverside Post">'
            b'<meta property="article:published_time" content="2026-11-02">'
            b'<link rel="canonical" href="https://riverside.example/mayor-quits"></head><body><article>'
            b"<h1>Mayor quits</h1><p>The mayor of Kettleby, Oren Walsh, resigned on Monday after ten years.</p>"
            b"<p>Deputy Lina Osei will act as mayor until an election in March.</p></article></body></html>")
    [page] = parse_upload("mayor.html", html)
    d = page.document
    assert (d.title, d.publisher, d.published, d.url) == (
        "Mayor quits", "Riverside Post", "2026-11-02", "https://riverside.example/mayor-quits")


def test_bad_uploads_are_document_errors_not_crashes():
    with pytest.raises(DocumentError, match="control character") as nul:
        parse_upload("a\x00b.txt", b"Dam cost.\n\nIt opened.")
    assert nul.value.kind == "invalid"
    deep = b'{"id": "d", "text": "Dam cost.", "x": ' + b"[" * 100_000 + b"}\n"
    with pytest.raises(DocumentError, match="^deep.jsonl:1: a record is nested too deeply") as nested:
        parse_upload("deep.jsonl", deep)
    assert nested.value.kind == "invalid"


def test_one_id_twice_in_a_write_is_refused_before_anything_is_embedded(three_passages, tmp_path):
    index, _ = make_stored(three_passages, FakeEmbedder(), tmp_path)
    embedder = FakeEmbedder()  # records what it is asked to encode
    app = Application(Settings().with_(index={"index_dir": tmp_path}), index, embedder, FirstWordReader())
    same_id = b'{"id": "x", "text": "One."}\n{"id": "y", "text": "Two."}\n{"id": "x", "text": "Three."}\n'
    same_text = b'{"text": "One."}\n{"text": "One."}\n'  # no ids: both named by the same hash of the text
    for raw in (same_id, same_text):
        with pytest.raises(DocumentError, match="is given 2 times in one request") as twice:
            app.documents.put(parse_upload("u.jsonl", raw), False)
        assert twice.value.kind == "invalid"
    assert embedder.calls == [] and [d.id for d in app.index.documents()] == ["d0", "d1", "d2"]


def test_pdf_uploads_are_read_within_a_budget_and_refused_as_too_large_beyond_it():
    from tests.conftest import decompression_bomb_pdf, slow_pdf

    with pytest.raises(DocumentError, match="^bomb.pdf: the PDF's content is too large") as bomb:
        parse_upload("bomb.pdf", decompression_bomb_pdf())
    assert bomb.value.kind == "too_large"
    started = time.monotonic()
    with pytest.raises(DocumentError, match="longer than 1 s") as slow:
        parse_upload("slow.pdf", slow_pdf(), pdf_seconds=1)
    assert slow.value.kind == "too_large" and time.monotonic() - started < 5
