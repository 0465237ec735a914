"""HTTP API with fakes swapped in through dependency overrides, plus one real end-to-end run."""

import json
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import get_service
from service.application import Application
from service.settings import Settings
from tests.conftest import FakeEmbedder, FirstWordReader, make_stored


@pytest.fixture
def client(three_passages):
    index, _ = make_stored(three_passages, FakeEmbedder())
    service = Application(Settings(), index, FakeEmbedder(), FirstWordReader())
    app = create_app(loader=None)
    app.dependency_overrides[get_service] = lambda: service
    with TestClient(app) as c:
        yield c


@pytest.fixture
def writer(three_passages, tmp_path):
    """A client on this machine (writes need no key), over an index in its own folder."""
    index, _ = make_stored(three_passages, FakeEmbedder(), tmp_path)
    service = Application(Settings().with_(index={"index_dir": tmp_path}), index, FakeEmbedder(), FirstWordReader())
    with TestClient(create_app(loader=lambda _s: service), client=("127.0.0.1", 50000),
                    raise_server_exceptions=False) as c:
        c.service = service
        yield c


def test_ask_returns_cited_span(client, three_passages):
    r = client.post("/v1/ask", json={"question": "Who said what?", "top_k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["no_answer"] is False and len(body["passages"]) == 2
    answer = body["answers"][0]
    passage = next(p for p in body["passages"] if p["id"] == answer["passage_id"])
    c = answer["citation"]
    assert passage["text"][c["start"] : c["end"]] == answer["text"]
    assert (c["doc_id"], c["paragraph"], c["title"]) == (passage["doc_id"], passage["paragraph"], passage["title"])
    assert set(body["timings_ms"]) >= {"retrieve", "read", "total"}


def test_no_answer_is_explicit(client):
    body = client.post("/v1/ask", json={"question": "Tell me nothing"}).json()
    assert body["no_answer"] is True and body["answers"] == []


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"question": ""}, "empty"),
        ({"question": "   \n "}, "empty"),
        ({"question": "x" * 1001}, "1000"),
        ({"question": "ok?", "top_k": 0}, "top_k"),
        ({"question": "ok?", "top_k": 51}, "top_k"),
        ({"question": "ok?", "max_answers": 0}, "max_answers"),
        ({}, "question"),
    ],
)
def test_bad_input_is_422_with_message(client, payload, fragment):
    r = client.post("/v1/ask", json=payload)
    assert r.status_code == 422
    assert fragment in r.json()["message"]


def test_documents_and_health(client):
    docs = client.get("/v1/documents").json()
    assert docs["total"] == 3 and [d["id"] for d in docs["documents"]] == ["d0", "d1", "d2"]
    # "source" is the publisher (None here), never the server's path to the file.
    assert set(docs["documents"][0]) == {"id", "title", "url", "published", "source", "topics", "paragraphs"}
    assert docs["documents"][0]["source"] is None
    # A page of the list: total still counts them all; a page past the end is empty, a bad one a 422.
    page = client.get("/v1/documents", params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 3 and [d["id"] for d in page["documents"]] == ["d1"]
    assert client.get("/v1/documents", params={"offset": 5}).json() == {"documents": [], "total": 3}
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}, {"offset": 2**63}):
        r = client.get("/v1/documents", params=bad)
        assert r.status_code == 422 and next(iter(bad)) in r.json()["message"], r.json()
    assert client.get("/healthz").json() == {"status": "ok", "detail": None, "index_version": None,
                                               "answer_settings": None}
    assert client.get("/docs").status_code == 200


def test_not_ready_when_index_missing(tmp_path):
    app = create_app(Settings().with_(index={"index_dir": tmp_path / "none"}))
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and "qa index" in r.json()["detail"]
        r = c.post("/v1/ask", json={"question": "Anything?"})
        assert r.status_code == 503 and "qa index" in r.json()["detail"]


@pytest.mark.slow
def test_real_service_answers_from_the_cited_paragraph(real_service):
    app = create_app(real_service.settings, loader=lambda s: real_service)
    with TestClient(app) as c:
        assert c.get("/readyz").json()["status"] == "ready"
        body = c.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"}).json()
        unanswerable = c.post("/v1/ask", json={"question": "Who won the 2022 football World Cup?"}).json()
    assert not body["no_answer"] and unanswerable["no_answer"] and unanswerable["answers"] == []
    top = body["answers"][0]
    passage = next(p for p in body["passages"] if p["id"] == top["passage_id"])
    assert "Kremlin spokesperson" in passage["text"] and "Peskov" in top["text"]
    assert passage["text"][top["citation"]["start"] : top["citation"]["end"]] == top["text"]


def test_ready_only_once_every_model_is_warm(three_passages):
    class ColdEmbedder(FakeEmbedder):
        warm = False

        def warm_up(self):
            self.warm = True

    embedder = ColdEmbedder()
    index, _ = make_stored(three_passages, FakeEmbedder())
    service = Application(Settings(), index, embedder, FirstWordReader())
    app = create_app(loader=lambda _settings: service)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200 and embedder.warm


def test_a_bug_is_a_500_with_request_id_and_a_closed_connection(three_passages, caplog):
    class BrokenReader(FirstWordReader):
        def read_batch(self, questions, passages, max_answers, within_documents=False):
            raise RuntimeError("secret internals")

    index, _ = make_stored(three_passages, FakeEmbedder())
    service = Application(Settings(), index, FakeEmbedder(), BrokenReader())
    app = create_app(loader=lambda _settings: service)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/v1/ask", json={"question": "Who?"}, headers={"X-Request-ID": "req-500"})
        assert r.status_code == 500 and r.headers["x-request-id"] == "req-500"
        assert r.headers["connection"] == "close" and "internals" not in r.text
        r = client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "Who?"}]})
        assert r.status_code == 500 and r.json()["error"]["type"] == "server_error" and "x-request-id" in r.headers
    logged = next(rec for rec in caplog.records if rec.levelname == "ERROR")
    assert logged.request_id == "req-500" and "secret internals" in caplog.text


def test_the_page_and_its_icon_are_served_from_here(client):
    page = client.get("/")
    assert page.status_code == 200 and 'href="/favicon.ico"' in page.text
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg")


def test_uploads_get_the_json_routes_bounds_on_title_url_and_published(writer):
    record = {"id": "big", "text": "The dam cost four billion.", "title": "t" * 3_000_000, "url": "u" * 3_000_000,
              "published": "p" * 2_000_000}
    r = writer.post("/v1/documents", files={"file": ("big.jsonl", json.dumps(record).encode(), "application/jsonl")})
    assert r.status_code == 422 and re.match(r"big\.jsonl:1: (title|url|published) must be at most", r.json()["message"])
    for field in ("url", "published"):
        small = {**record, "title": "Dam", field: record[field]}
        small.update({f: "2022-01-18" if f == "published" else "x" for f in ("url", "published") if f != field})
        r = writer.post("/v1/documents", files={"file": ("one.jsonl", json.dumps(small).encode())})
        assert r.status_code == 422 and f"{field} must be at most" in r.json()["message"] and len(r.content) < 300
    assert writer.service.index.document("big") is None
    # A Markdown heading of a million characters: the article is taken, its title cut to the same bound, so no
    # passage (nor answer) carries more.
    md = b"# " + b"H" * 1_000_000 + b"\n\nThe dam cost four billion.\n\nIt opened in May."
    r = writer.post("/v1/documents", files={"file": ("dam.md", md, "text/markdown")})
    assert r.status_code == 201 and len(r.json()["documents"][0]["title"]) == 500
    doc_id = r.json()["documents"][0]["id"]
    assert {len(p.title) for p in writer.service.index.passages_of(doc_id)} == {500}
    r = writer.post("/v1/documents", json={"text": "Dam.", "title": "t" * 501})
    assert r.status_code == 422 and "title" in r.json()["message"]


def multipart(filename: bytes, content: bytes) -> dict:
    """A hand-made multipart body (an HTTP client would percent-encode what a raw socket can send)."""
    body = (b'--BOUND\r\nContent-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--BOUND--\r\n")
    return {"content": body, "headers": {"content-type": "multipart/form-data; boundary=BOUND"}}


@pytest.mark.parametrize("filename, content, fragment", [
    (b"a\x00b.txt", b"The dam cost four billion.", "control character"),
    (b"twice.jsonl", b'{"id": "x", "text": "One."}\n{"id": "x", "text": "Two."}\n', "'x' is given 2 times"),
    (b"deep.jsonl", b'{"id": "d", "text": "One.", "x": ' + b"[" * 100_000 + b"}\n", "nested too deeply"),
])
def test_bad_uploads_are_422_with_a_message_not_500(writer, filename, content, fragment):
    r = writer.post("/v1/documents", **multipart(filename, content))
    assert r.status_code == 422, r.text
    assert fragment in r.json()["message"] and set(r.json()) == {"message", "detail"}
    assert [d["id"] for d in writer.get("/v1/documents").json()["documents"]] == ["d0", "d1", "d2"]


def test_a_pdf_decoding_past_pypdfs_limit_is_413_not_500(writer):
    from tests.conftest import decompression_bomb_pdf

    r = writer.post("/v1/documents", files={"file": ("bomb.pdf", decompression_bomb_pdf(), "application/pdf")})
    assert r.status_code == 413 and "too large once decompressed" in r.json()["message"]
    assert writer.get("/v1/documents").json()["total"] == 3
