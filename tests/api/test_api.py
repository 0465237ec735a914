"""HTTP API with fakes swapped in through dependency overrides, plus one real end-to-end run."""

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
    assert set(docs["documents"][0]) == {"id", "title", "url", "published", "paragraphs"}  # never the server's path
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
        def read_batch(self, questions, passages, max_answers):
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
