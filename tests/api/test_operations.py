"""Operating the service: hostile input, limits, keys, documents over HTTP, metrics, request ids, feedback, docs."""

import json
import re
import shutil
import threading

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from evaluation.evaluate import load_gold
from service.application import Application
from service.settings import Settings

LOCAL = ("127.0.0.1", 50000)
REMOTE = ("203.0.113.9", 50000)


def app_for(service, **groups):
    """An app over ``service`` with some settings replaced, by group: ``app_for(s, server={...})``."""
    return create_app(service.settings.with_(**groups), loader=lambda _s: service)


@pytest.fixture(scope="module")
def own_service(tmp_path_factory, real_service):
    """A service with its own index and documents folder (these tests write to them)."""
    root = tmp_path_factory.mktemp("ops")
    shutil.copytree(real_service.settings.index.index_dir, root / "index")
    return Application.load(Settings().with_(index={"index_dir": root / "index"}), log=lambda m: None)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/v1/ask", "/v1/chat/completions", "/v1/feedback"])
def test_hostile_bodies_get_short_4xx_never_5xx(real_service, path):
    bodies = [
        b'{"question": "hi", "top_k": NaN}', b'{"question": "hi", "top_k": Infinity}', b'{"question": "hi", "top_k": -Infinity}',
        b'{"question": "hi", "top_k": 1e400}', b'{"question": "hi", "top_k": true}', b'{"question": "hi", "top_k": "5"}',
        b'{"question": "hi", "max_answers": 2.5}', b'{"question": "\\ud800"}', b'{"question": "hi", "top_k": "\\udfff"}',
        b'{"question": "' + b"x" * 50_000 + b'"}', b"\xff\xfe\xfa", b'{"question":', b"[1, 2]", b"null", b'"text"',
        b'{"question": null}', b'{"question": "   "}', b'{"question": "hi", "verdict": "\\ud800"}',
        b'{"model": "\\ud800", "messages": [{"role": "user", "content": "\\ud800"}]}',
        b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}',
        b'{"model": "m", "messages": [{"role": "user", "content": 5}]}',
        b'{"model": "m", "messages": "' + b"y" * 60_000 + b'"}',
    ]
    with TestClient(app_for(real_service), client=LOCAL) as client:
        for body in bodies:
            r = client.post(path, content=body, headers={"content-type": "application/json"})
            assert r.status_code < 500, (body[:60], r.text)
            assert len(r.content) < 3000, (body[:60], len(r.content))  # never echoes large input
            json.loads(r.text)  # and always encodable JSON
            assert "function" not in r.text and " at 0x" not in r.text, r.text  # no validator internals


@pytest.mark.slow
def test_size_limits_and_upload_limit(real_service):
    with TestClient(app_for(real_service, server={"max_body_bytes": 2048, "max_upload_bytes": 4096,
                                                   "max_chat_body_bytes": 2048}), client=LOCAL) as client:
        r = client.post("/v1/ask", content=b'{"question": "' + b"a" * 3000 + b'"}', headers={"content-type": "application/json"})
        assert r.status_code == 413 and "2048" in r.json()["message"]
        chunked = client.post("/v1/ask", content=iter([b'{"question": "', b"a" * 3000, b'"}']),
                              headers={"content-type": "application/json"})
        assert chunked.status_code == 413
        r = client.post("/v1/chat/completions", content=b"x" * 3000, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "error" in r.json()  # OpenAI's shape on OpenAI routes
        r = client.post("/v1/documents", files={"file": ("big.txt", b"word " * 2000)})
        assert r.status_code == 413


@pytest.mark.slow
def test_rate_limit_per_client_with_retry_after(real_service):
    with TestClient(app_for(real_service, server={"rate_limit_per_minute": 3, "api_keys": "key-a"}), client=LOCAL) as client:
        codes = [client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"}).status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        r = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        # A made-up key is still this address; a real key is its own client; health checks are never limited.
        assert client.post("/v1/ask", json={"question": "Who?"}, headers={"X-API-Key": "made-up"}).status_code == 429
        assert client.post("/v1/ask", json={"question": "Who?"}, headers={"X-API-Key": "key-a"}).status_code == 200
        assert client.get("/healthz").status_code == 200


@pytest.mark.slow
def test_keys_guard_writes_and_optionally_reads(own_service):
    article = {"id": "keyed", "title": "Keyed", "text": "The keyed article says the ferry leaves at noon."}
    with TestClient(app_for(own_service), client=REMOTE) as remote:
        r = remote.post("/v1/documents", json=article)
        assert r.status_code == 403 and "QA_API_KEYS" in r.json()["message"]
        assert remote.post("/v1/ask", json={"question": "When does the ferry leave?"}).status_code == 200
    with TestClient(app_for(own_service, server={"api_keys": "k-one,k-two"}), client=REMOTE) as client:
        assert client.post("/v1/documents", json=article).status_code == 401
        assert client.post("/v1/documents", json=article, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.post("/v1/documents", json=article, headers={"Authorization": "Bearer k-two"}).status_code == 201
        assert client.delete("/v1/documents/keyed", headers={"X-API-Key": "k-one"}).status_code == 204
        assert client.post("/v1/ask", json={"question": "When does the ferry leave?"}).status_code == 200
    with TestClient(app_for(own_service, server={"api_keys": "k-one", "api_keys_for_reads": True}), client=REMOTE) as client:
        assert client.post("/v1/ask", json={"question": "Who?"}).status_code == 401
        assert client.post("/v1/ask", json={"question": "Who?"}, headers={"X-API-Key": "k-one"}).status_code == 200
        assert client.get("/healthz").status_code == 200


# Routes open to anyone whatever the keys: liveness, readiness and metrics for the operator's probes.
OPEN_ROUTES = {"/healthz", "/readyz", "/metrics"}


@pytest.mark.slow
def test_every_route_follows_the_key_policy(own_service):
    """Walks every operation the app serves (its OpenAPI schema), so that a new route cannot miss the key check:
    with keys required for reads, no key and a wrong key get 401 everywhere but the open routes."""
    app = app_for(own_service, server={"api_keys": "k-one", "api_keys_for_reads": True})
    operations = [(path, method) for path, ops in app.openapi()["paths"].items() for method in ops]
    assert ("/v1/documents", "get") in operations and ("/v1/documents/{doc_id}", "get") in operations
    with TestClient(app, client=REMOTE) as client:
        for path, method in operations:
            url = re.sub(r"\{[^}]+\}", "x", path)
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "k-two"}):
                status = client.request(method.upper(), url, headers=headers, json={}).status_code
                if path in OPEN_ROUTES:
                    assert status != 401, (method, path)
                else:
                    assert status == 401, (method, path, headers, status)
        assert client.get("/v1/documents", headers={"X-API-Key": "k-one"}).status_code == 200


@pytest.mark.slow
def test_documents_over_http_are_answerable_at_once_and_survive_a_restart(own_service, tmp_path):
    with TestClient(app_for(own_service), client=LOCAL) as client:
        article = {"id": "harbour-1", "title": "Harbour news",
                   "text": "The new lighthouse in Port Ellery was designed by architect Mira Okafor.\n\n"
                           "It opened on Monday with a ceremony attended by the mayor, Tom Hale."}
        r = client.post("/v1/documents", json=article)
        assert r.status_code == 201 and r.json()["documents"][0]["paragraphs"] == 2
        assert client.post("/v1/documents", json=article).status_code == 409
        top = client.post("/v1/ask", json={"question": "Who designed the lighthouse in Port Ellery?"}).json()["answers"][0]
        assert top["citation"]["doc_id"] == "harbour-1" and "Okafor" in top["text"]
        detail = client.get("/v1/documents/harbour-1").json()
        assert [p["paragraph"] for p in detail["paragraphs_text"]] == [0, 1]
        assert detail["paragraphs_text"][0]["text"][top["citation"]["start"]:top["citation"]["end"]] == top["text"]

        replaced = {"title": "Harbour news", "text": "The new lighthouse in Port Ellery was designed by engineer Lars Bodin."}
        assert client.put("/v1/documents/harbour-1", json=replaced).status_code == 200
        top = client.post("/v1/ask", json={"question": "Who designed the lighthouse in Port Ellery?"}).json()["answers"][0]
        assert "Bodin" in top["text"]

        html = (b"<html><head><title>Bridge</title></head><body><nav>Home</nav><article><h1>Bridge reopens</h1>"
                b"<p>The old bridge over the river Tane reopened on Friday after repairs, the city council said.</p>"
                b"<p>Engineer Ravi Sen led the repair work, which took nine months.</p></article></body></html>")
        r = client.post("/v1/documents", files={"file": ("bridge.html", html, "text/html")})
        assert r.status_code == 201 and r.json()["documents"][0]["title"] == "Bridge reopens"
        r = client.post("/v1/documents", files={"file": ("notes.txt", b"The canal museum opens at nine.\n\nEntry is free.")})
        assert r.status_code == 201
        # The same file again is a 409 pointing at PUT, and PUT takes the file (it took JSON only).
        notes = r.json()["documents"][0]["id"]
        revised = b"The canal museum opens at ten.\n\nEntry is free."
        r = client.post("/v1/documents", files={"file": ("notes.txt", b"The canal museum opens at nine.\n\nEntry is free.")})
        assert r.status_code == 409 and "PUT" in r.json()["message"]
        r = client.put(f"/v1/documents/{notes}", files={"file": ("notes.txt", revised)})
        assert r.status_code == 200 and r.json()["id"] == notes and r.json()["paragraphs"] == 2, r.json()
        assert client.get(f"/v1/documents/{notes}").json()["paragraphs_text"][0]["text"] == "The canal museum opens at ten."
        r = client.put("/v1/documents/two", files={"file": ("two.jsonl", b'{"text": "One."}\n{"text": "Two."}\n')})
        assert r.status_code == 422 and "holds 2" in r.json()["message"], r.json()
        r = client.put("/v1/documents/x", content=b"plain", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415, r.json()
        # Two file parts: refused, not all but the last dropped unseen.
        r = client.post("/v1/documents", files=[("file", ("a.txt", b"First.")), ("file", ("b.txt", b"Second."))])
        assert r.status_code == 422 and "one 'file' part" in r.json()["message"], r.json()
        # Bytes that are not UTF-8 in the id (caf%E9 and caf%E8 both read as caf\ufffd): refused, not merged.
        r = client.put("/v1/documents/caf%E9", files={"file": ("t.txt", b"The cafe opened.")})
        assert r.status_code == 422 and "UTF-8" in r.json()["message"], r.json()
        # A lone surrogate in JSON is replaced, as on every other route (PUT refused it once).
        r = client.put("/v1/documents/surrogate", content=b'{"text": "Engineer Ravi \\ud800 Kumar led the repairs."}',
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 201 and client.get("/v1/documents/surrogate").json()["paragraphs_text"][0]["text"] == \
            "Engineer Ravi \ufffd Kumar led the repairs.", r.json()
        assert client.delete("/v1/documents/surrogate").status_code == 204
        assert client.post("/v1/documents", files={"file": ("x.pdf", b"%PDF-1.4\n\xe2\xe3\xcf\xd3")}).status_code == 422  # unreadable PDF
        assert client.post("/v1/documents", files={"file": ("bad.jsonl", b"{not json")}).status_code == 422
        default_id = next(d["id"] for d in client.get("/v1/documents").json()["documents"] if d["title"].startswith("Ukraine"))
        assert client.delete(f"/v1/documents/{default_id}").status_code == 409
        assert client.get("/v1/documents/nope").status_code == 404

    # A restart (a new service over the same folders) keeps every uploaded document.
    again = Application.load(own_service.settings, log=lambda m: None)
    titles = {d.title for d in again.index.documents()}
    assert {"Harbour news", "Bridge reopens", "Notes"} <= titles
    with TestClient(app_for(own_service), client=LOCAL) as client:
        assert client.delete("/v1/documents/harbour-1").status_code == 204
        assert client.get("/v1/documents/harbour-1").status_code == 404
        r = client.post("/v1/ask", json={"question": "Who designed the lighthouse in Port Ellery?"}).json()
        assert all(a["citation"]["doc_id"] != "harbour-1" for a in r["answers"])


@pytest.mark.slow
def test_questions_during_writes_always_see_a_whole_index(own_service):
    errors = []
    with TestClient(app_for(own_service, server={"rate_limit_per_minute": 0}), client=LOCAL) as client:
        def ask_many():
            for _ in range(15):
                r = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"})
                if r.status_code != 200 or not r.json()["answers"] or "Peskov" not in r.json()["answers"][0]["text"]:
                    errors.append(r.text[:200])

        readers = [threading.Thread(target=ask_many) for _ in range(2)]
        for t in readers:
            t.start()
        for i in range(4):
            r = client.put("/v1/documents/churn", json={"title": "Churn", "text": f"Revision {i} of the churn note."})
            assert r.status_code in (200, 201)
        for t in readers:
            t.join()
        client.delete("/v1/documents/churn")
    assert not errors


def metric(text: str, name: str) -> float:
    """One sample's value in Prometheus text (0 when absent)."""
    line = next((ln for ln in text.splitlines() if ln.startswith(name + " ")), None)
    return float(line.split()[-1]) if line else 0.0


@pytest.mark.slow
def test_metrics_request_ids_and_json_access_logs(real_service, caplog):
    caplog.set_level("INFO", logger="qa.access")
    with TestClient(app_for(real_service), client=LOCAL) as client:
        # The application's question metrics live as long as the (shared) service: compare before and after.
        before = client.get("/metrics").text
        r = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"}, headers={"X-Request-ID": "req-42"})
        assert r.headers["x-request-id"] == "req-42"
        client.post("/v1/ask", json={"question": "Who won the 2022 football World Cup?"})
        generated = client.get("/healthz").headers["x-request-id"]
        assert len(generated) == 32
        assert client.post("/v1/ask", json={"question": "x", "top_k": 0}, headers={"X-Request-ID": "bad id!"}).headers["x-request-id"] != "bad id!"
        text = client.get("/metrics").text
    assert 'qa_http_requests_total{method="POST",route="/v1/ask",status="200"} 2.0' in text
    assert 'qa_http_request_seconds_bucket{le="+Inf",route="/v1/ask"}' in text
    grew = lambda name: metric(text, name) - metric(before, name)  # noqa: E731
    assert grew('qa_stage_seconds_count{stage="retrieve"}') == grew('qa_stage_seconds_count{stage="read"}') == 2
    assert grew('qa_questions_total{channel="api",outcome="answer"}') == 1
    assert grew('qa_questions_total{channel="api",outcome="no_answer"}') == 1
    assert f"qa_index_passages {float(real_service.index.passage_count())}" in text
    assert "qa_model_load_seconds" in text
    record = next(r for r in caplog.records if getattr(r, "path", "") == "/v1/ask")
    assert record.request_id == "req-42" and record.status == 200 and record.route == "/v1/ask"


@pytest.mark.slow
def test_feedback_is_stored_and_read_back_as_gold(real_service, tmp_path):
    path = tmp_path / "feedback.jsonl"
    with TestClient(app_for(real_service, index={"feedback_file": str(path)}), client=LOCAL) as client:
        ok = client.post("/v1/feedback", json={"question": "Who is the Kremlin spokesperson?", "answer": "Dmitry Peskov", "verdict": "up"})
        fixed = client.post("/v1/feedback", json={"question": "What did Baerbock say about weapons?", "answer": "Germany",
                                                 "verdict": "down", "correct_answer": "Germany hasn’t changed its refusal to provide it with weapons"})
        vague = client.post("/v1/feedback", json={"question": "Who?", "answer": "Wallace", "verdict": "down"})
        assert client.post("/v1/feedback", json={"question": "q", "verdict": "maybe"}).status_code == 422
    assert ok.status_code == fixed.status_code == vague.status_code == 201
    assert vague.json() == {"stored": True, "usable_as_gold": False}
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3
    # With keys set, feedback is a write like any other: no key, no line written.
    with TestClient(app_for(real_service, index={"feedback_file": str(path)}, server={"api_keys": "k1"}),
                    client=LOCAL) as client:
        body = {"question": "Who?", "answer": "Wallace", "verdict": "up"}
        assert client.post("/v1/feedback", json=body).status_code == 401
        assert client.post("/v1/feedback", json=body, headers={"X-API-Key": "k1"}).status_code == 201
    assert len(path.read_text(encoding="utf-8").splitlines()) == 4
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    gold = load_gold(path)
    assert [(g.question, g.answers) for g in gold] == [
        ("Who is the Kremlin spokesperson?", ["Dmitry Peskov"]),
        ("What did Baerbock say about weapons?", ["Germany hasn’t changed its refusal to provide it with weapons"])]


def test_api_docs_are_served_from_packaged_assets():
    with TestClient(create_app(loader=None)) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assets = [a for a in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/redoc.standalone.js") if a in html]
            assert assets and "cdn" not in html.lower() and "googleapis" not in html
            assert all(client.get(a).status_code == 200 for a in assets)


@pytest.mark.slow
@pytest.mark.parametrize("question", ["a " * 499 + "a", "." * 1000, "http://a/" * 111])
def test_long_valid_questions_are_answered_not_500(real_service, question):
    """Questions keep their first 64 tokens for the reader (README); the rest never reaches a 500."""
    with TestClient(app_for(real_service), client=LOCAL) as client:
        assert client.post("/v1/ask", json={"question": question}).status_code == 200
        r = client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": question}]})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]


@pytest.mark.slow
def test_forwarded_headers_do_not_buy_a_fresh_rate_limit_bucket(real_service):
    import random

    import httpx

    from api.server import uvicorn_options
    from tests.conftest import serving

    settings = real_service.settings.with_(server={"rate_limit_per_minute": 3})
    options = {k: v for k, v in uvicorn_options(settings.server).items() if k not in ("log_config", "access_log")}
    with serving(create_app(settings, loader=lambda _s: real_service), **options) as url:
        codes = [httpx.post(f"{url}/v1/ask", json={"question": "Who?"},
                            headers={"X-Forwarded-For": f"10.0.{random.randrange(256)}.{i}"}).status_code
                 for i in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


@pytest.fixture(scope="module")
def limited_service(tmp_path_factory, real_service):
    """A service with its own index and tight bounds on the work one request may ask for."""
    root = tmp_path_factory.mktemp("limited")
    shutil.copytree(real_service.settings.index.index_dir, root / "index")
    settings = Settings().with_(index={"index_dir": root / "index"},
                                server={"max_write_passages": 6, "max_upload_documents": 2, "max_html_bytes": 4096,
                                        "question_timeout_s": 0.001})
    return Application.load(settings, log=lambda m: None)


@pytest.mark.slow
def test_writes_that_ask_for_too_much_work_get_413_and_store_nothing(limited_service):
    before = {d.id for d in limited_service.index.documents()}
    with TestClient(create_app(limited_service.settings, loader=lambda _s: limited_service), client=LOCAL) as client:
        many_records = "".join(json.dumps({"id": f"r{i}", "text": f"Record {i} says the dam cost {i} dollars."}) + "\n"
                               for i in range(3))
        r = client.post("/v1/documents", files={"file": ("three.jsonl", many_records.encode())})
        assert r.status_code == 413 and "3 documents" in r.json()["message"] and "qa index" in r.json()["message"]
        long_text = "\n\n".join(f"Paragraph {i} reports that the dam cost {i} million dollars." for i in range(7))
        r = client.post("/v1/documents", json={"id": "long", "text": long_text})
        assert r.status_code == 413 and "7 passages" in r.json()["message"]
        one_huge_paragraph = " ".join(f"Sentence {i} is about the dam." for i in range(2000))  # ~60 KB, one paragraph
        r = client.post("/v1/documents", files={"file": ("huge.txt", one_huge_paragraph.encode())})
        assert r.status_code == 413 and "passages" in r.json()["message"]  # cut into bounded passages, then counted
        html = "<html><body><article>" + "<p>The dam cost a lot of money.</p>" * 200 + "</article></body></html>"
        r = client.post("/v1/documents", files={"file": ("big.html", html.encode())})
        assert r.status_code == 413 and "HTML uploads are at most 4,096 bytes" in r.json()["message"]
        two = "".join(json.dumps({"id": f"ok{i}", "text": f"Record {i} says the dam cost {i} dollars."}) + "\n"
                      for i in range(2))
        assert client.post("/v1/documents", files={"file": ("two.jsonl", two.encode())}).status_code == 201
    assert {d.id for d in limited_service.index.documents()} == before | {"ok0", "ok1"}


@pytest.mark.slow
def test_a_question_past_its_deadline_gets_504_in_each_api_shape(limited_service):
    with TestClient(create_app(limited_service.settings, loader=lambda _s: limited_service), client=LOCAL) as client:
        r = client.post("/v1/ask", json={"question": "How much did the dam cost?"})
        assert r.status_code == 504 and "not answered within 0.001 s" in r.json()["message"]
        r = client.post("/v1/chat/completions", json={"model": "news-qa", "messages": [
            {"role": "user", "content": "How much did the dam cost?"}]})
        assert r.status_code == 504 and r.json()["error"]["type"] == "server_error"
        assert client.get("/readyz").status_code == 200  # the server goes on


@pytest.fixture
def full_disk(tmp_path):
    """A small filesystem of its own (tmpfs; needs root, as CI has), to be filled up by the test."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small filesystem here (not root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.slow
def test_a_full_disk_is_507_storage_full_and_questions_go_on(full_disk, real_service):
    shutil.copytree(real_service.settings.index.index_dir, full_disk / "index")
    service = Application.load(Settings().with_(index={"index_dir": full_disk / "index"}), log=lambda m: None)
    with open(full_disk / "filler", "wb") as fh:  # take every byte left
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    with TestClient(create_app(service.settings, loader=lambda _s: service), client=LOCAL,
                    raise_server_exceptions=False) as client:
        text = "\n\n".join(f"Paragraph {i}: the new dam on the river cost {i} million euros in all." for i in range(40))
        r = client.post("/v1/documents", json={"id": "full", "text": text})
        assert r.status_code == 507 and r.json()["message"].startswith("storage full"), r.text
        assert "x-request-id" in r.headers and "/" not in r.json()["message"]  # no server paths
        r = client.post("/v1/feedback", json={"question": "q", "answer": "a", "verdict": "up"})
        assert r.status_code == 507
        assert client.post("/v1/ask", json={"question": "What did Baerbock say about weapons?"}).status_code == 200
        (full_disk / "filler").unlink()
        assert client.post("/v1/documents", json={"id": "full", "text": text}).status_code == 201


@pytest.mark.slow
def test_pdf_upload_is_answered_with_its_page_and_mismatched_bytes_are_415(own_service):
    from tests.conftest import make_pdf

    pdf = make_pdf([["Report on the Harbour Dam", "The new harbour dam was finished in March after four years of",
                     "construction work. It cost 3.2 billion euros.",
                     "Engineers expect the dam to protect the old town from storm floods", "for a century."],
                    ["The harbour dam was designed by the Dutch engineer Anneke Visser, who", "led the project."]])
    with TestClient(app_for(own_service), client=LOCAL) as client:
        r = client.post("/v1/documents", files={"file": ("dam.pdf", pdf, "application/pdf")})
        assert r.status_code == 201, r.text
        doc = r.json()["documents"][0]
        assert doc["title"] == "Report on the Harbour Dam" and doc["paragraphs"] == 3
        answer = client.post("/v1/ask", json={"question": "Who designed the harbour dam?"}).json()["answers"][0]
        assert answer["text"] == "Anneke Visser" and answer["citation"]["page"] == 2
        assert client.post("/v1/documents", files={"file": ("dam.txt", pdf)}).status_code == 415
        r = client.post("/v1/documents", files={"file": ("notes.pdf", b"plain words, no PDF")})
        assert r.status_code == 415 and "not a PDF" in r.json()["message"]
        r = client.post("/v1/documents", files={"file": ("broken.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 50)})
        assert r.status_code == 422 and "PDF" in r.json()["message"] and "Traceback" not in r.text
        passages = client.get(f"/v1/documents/{doc['id']}").json()["paragraphs_text"]
        assert all("%PDF" not in p["text"] and "endobj" not in p["text"] for p in passages)


@pytest.mark.slow
def test_work_stops_past_the_deadline_or_when_the_client_goes_away(tmp_path_factory, real_service):
    import socket
    import time
    import urllib.request

    from qa.deadline import Cancelled, Deadline
    from tests.conftest import serving

    root = tmp_path_factory.mktemp("abandon")
    shutil.copytree(real_service.settings.index.index_dir, root / "index")
    service = Application.load(Settings().with_(index={"index_dir": root / "index"}), log=lambda m: None)
    # Functions first: an expired deadline stops the pipeline before the reader, and the reader between batches.
    with Deadline(-1).active(), pytest.raises(Cancelled):
        service.ask("Who is the Kremlin spokesperson?", channel="cli")
    assert service.metrics.stopped.labels("cli")._value.get() == 1
    question = "Who is the Kremlin spokesperson?"
    passages = service.pipeline().retriever.retrieve(question, service.embedder.encode([question])[0], 5)
    with Deadline(-1).active(), pytest.raises(Cancelled):
        service.reader.read(question, passages, 1)
    assert service.gate.running == 0  # the slot came back
    # Then a client that leaves: long passages and top_k 50 make seconds of reading, stopped when it goes.
    text = "\n\n".join(" ".join(f"Clause {p}.{s} of the harbour treaty sets out duty {s} for port {p}." for s in range(22))
                       for p in range(60))
    with TestClient(app_for(service), client=LOCAL) as client:
        assert client.post("/v1/documents", files={"file": ("treaty.txt", text.encode())}).status_code == 201
    with serving(create_app(service.settings, loader=lambda _s: service)) as url:
        port = int(url.rsplit(":", 1)[1])
        body = json.dumps({"question": "What duty does clause 7 of the harbour treaty set out for port 12?",
                           "top_k": 50}).encode()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            time.sleep(0.3)
        stopped = 0.0
        for _ in range(100):  # counted once the worker reaches its next check and gives its slot back
            stopped = metric(urllib.request.urlopen(f"{url}/metrics").read().decode(),
                             'qa_questions_stopped_total{channel="api"}')
            if stopped:
                break
            time.sleep(0.1)
        assert stopped == 1.0
        assert service.gate.running == 0


@pytest.mark.slow
def test_a_full_gate_is_a_quick_503_with_retry_after_in_each_api_shape(own_service):
    import contextlib

    with TestClient(app_for(own_service), client=LOCAL) as client, contextlib.ExitStack() as stack:
        # Every model slot and every queue place taken (as by other questions): the next one is refused.
        gate = own_service.gate
        for _ in range(gate.limit):
            stack.enter_context(gate.slot())
        saved_queued, gate.queued = gate.queued, 0
        try:
            r = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"})
            assert r.status_code == 503 and r.headers["retry-after"] and "busy" in r.json()["message"].lower()
            r = client.post("/v1/chat/completions", json={"model": "news-qa", "messages": [
                {"role": "user", "content": "Who is the Kremlin spokesperson?"}]})
            assert r.status_code == 503 and r.json()["error"]["type"] == "server_error"
        finally:
            gate.queued = saved_queued


@pytest.mark.slow
def test_a_question_scoped_to_documents_is_answered_from_them_only(own_service):
    """doc_ids scopes /v1/ask (a conversation about one story): every passage and citation comes from the scope;
    an id that is not indexed is a 404 naming the field, never an empty answer."""
    story = {"id": "ferry-story", "title": "Ferry", "text": "The ferry to Port Ellery leaves at noon on Fridays.\n\n"
                                                           "Its captain, Ines Marlow, has sailed it for ten years."}
    with TestClient(app_for(own_service), client=LOCAL) as client:
        assert client.post("/v1/documents", json=story).status_code == 201
        r = client.post("/v1/ask", json={"question": "Who is the captain?", "doc_ids": ["ferry-story"]})
        assert r.status_code == 200
        body = r.json()
        assert body["passages"] and {p["doc_id"] for p in body["passages"]} == {"ferry-story"}
        assert all(a["citation"]["doc_id"] == "ferry-story" for a in body["answers"])
        assert "Marlow" in body["answers"][0]["text"]
        whole = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"}).json()
        assert any(p["doc_id"] != "ferry-story" for p in whole["passages"])
        scoped = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?",
                                              "doc_ids": ["ferry-story"]}).json()
        assert {p["doc_id"] for p in scoped["passages"]} == {"ferry-story"}
        bad = client.post("/v1/ask", json={"question": "Who?", "doc_ids": ["no-such-story"]})
        assert bad.status_code == 404 and "doc_ids" in bad.json()["message"] and "no-such-story" in bad.json()["message"]
        assert client.post("/v1/ask", json={"question": "Who?", "doc_ids": []}).status_code == 422
        assert client.delete("/v1/documents/ferry-story").status_code == 204
