"""Issue 32's smaller edges over a real server and the real models: concurrent PUTs of one new id, ids with a
slash, uploads that are not UTF-8 or open with a byte order mark, clients that hang up, SSE clients that reset."""

import json
import logging
import shutil
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api.app import create_app
from api.server import uvicorn_options
from retriever import store
from service.application import Application
from tests.conftest import serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def writable(real_service, tmp_path_factory):
    """A real server over a copy of the default index (these tests write documents), with the real models."""
    index_dir = tmp_path_factory.mktemp("edges") / "index"
    shutil.copytree(real_service.settings.index.index_dir, index_dir)
    settings = real_service.settings.with_(index={"index_dir": index_dir})
    service = Application(settings, store.load(index_dir), real_service.embedder, real_service.reader)
    options = {k: v for k, v in uvicorn_options(settings.server).items() if k not in ("log_config", "access_log")}
    with serving(create_app(settings, loader=lambda _s: service), **options) as url:
        yield url


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_five_concurrent_puts_of_a_new_id_answer_one_201_and_four_200(writable):
    """The existence check was made before the write lock: all five answered 201 "Created"."""
    port = _port(writable)
    for round_ in range(3):
        requests = []
        for i in range(5):
            body = json.dumps({"title": "Ferry", "text": " ".join(f"word{j}" for j in range(300)) + f" take {i}."}).encode()
            requests.append(b"PUT /v1/documents/race-%d HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % (round_, len(body)) + body)
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in requests]
        barrier, statuses = threading.Barrier(len(sockets)), []

        def put(i: int) -> None:
            barrier.wait()  # all five sent at once, on connections already open
            sockets[i].sendall(requests[i])
            sockets[i].settimeout(60)
            statuses.append(sockets[i].recv(64)[9:12])
            sockets[i].close()

        threads = [threading.Thread(target=put, args=(i,)) for i in range(len(sockets))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [b"200"] * 4 + [b"201"], (round_, statuses)
        assert httpx.get(f"{writable}/v1/documents/race-{round_}").status_code == 200


def test_an_id_with_a_slash_is_fetched_replaced_and_deleted_like_any_other(writable):
    """An upload accepted the id "desk/dam-1" and then no route could fetch or delete it (404 everywhere)."""
    record = {"id": "desk/dam-1", "title": "Dam", "text": "The slashed dam opened in May."}
    r = httpx.post(f"{writable}/v1/documents", files={"file": ("desk.jsonl", json.dumps(record).encode())})
    assert r.status_code == 201 and r.json()["documents"][0]["id"] == "desk/dam-1"
    assert "desk/dam-1" in [d["id"] for d in httpx.get(f"{writable}/v1/documents").json()["documents"]]
    for path in ("desk/dam-1", "desk%2Fdam-1"):  # as typed, and as a client that encodes the id sends it
        r = httpx.get(f"{writable}/v1/documents/{path}")
        assert r.status_code == 200 and r.json()["paragraphs_text"][0]["text"] == record["text"]
    r = httpx.put(f"{writable}/v1/documents/desk%2Fdam-1", json={"title": "Dam", "text": "The dam opened in June."})
    assert r.status_code == 200 and r.json()["id"] == "desk/dam-1"
    r = httpx.put(f"{writable}/v1/documents/desk/dam-2", json={"title": "Dam", "text": "A second slashed dam."})
    assert r.status_code == 201 and r.json()["id"] == "desk/dam-2"
    assert httpx.delete(f"{writable}/v1/documents/desk/dam-1").status_code == 204
    assert httpx.delete(f"{writable}/v1/documents/desk%2Fdam-2").status_code == 204
    assert httpx.get(f"{writable}/v1/documents/desk/dam-1").status_code == 404
    assert not [d for d in httpx.get(f"{writable}/v1/documents").json()["documents"] if d["id"].startswith("desk/")]


@pytest.mark.parametrize("name, data", [
    ("latin.txt", "Caf\xe9 cr\xe8me: the dam opened in M\xfcnchen.".encode("latin-1")),
    ("notes.md", "# Caf\xe9\n\nThe dam opened.".encode("latin-1")),
    ("binary.txt", bytes(range(256)) * 8),
])
def test_a_file_that_is_not_utf8_text_is_415_as_readme_says(writable, name, data):
    """It was 422 "cannot read (UnicodeDecodeError: ...)"."""
    r = httpx.post(f"{writable}/v1/documents", files={"file": (name, data, "text/plain")})
    assert r.status_code == 415, r.text
    assert "not a UTF-8 text file" in r.json()["message"] and "UnicodeDecodeError" not in r.text


def test_uploads_with_a_byte_order_mark_or_crlf_read_as_plain_utf8_files_do(writable):
    bom = b"\xef\xbb\xbf"
    r = httpx.post(f"{writable}/v1/documents", files={"file": (
        "bom.txt", bom + b"Lock news\r\n\r\nThe lock opened today.\r\nIt cost a million.\r\n\r\nThe mayor came.\r\n")})
    assert r.status_code == 201, r.text
    doc = r.json()["documents"][0]
    assert doc["title"] == "Lock news" and doc["paragraphs"] == 2
    paragraphs = httpx.get(f"{writable}/v1/documents/{doc['id']}").json()["paragraphs_text"]
    assert [p["text"] for p in paragraphs] == ["The lock opened today.\nIt cost a million.", "The mayor came."]
    r = httpx.post(f"{writable}/v1/documents", files={"file": ("bom.md", bom + b"# Canal news\n\nThe canal opened.\n")})
    assert r.status_code == 201 and r.json()["documents"][0]["title"] == "Canal news"
    assert r.json()["documents"][0]["paragraphs"] == 1
    record = json.dumps({"id": "bom-record", "title": "Weir", "text": "The weir opened."}).encode()
    r = httpx.post(f"{writable}/v1/documents", files={"file": ("bom.jsonl", bom + record)})
    assert r.status_code == 201 and r.json()["documents"][0]["id"] == "bom-record", r.text


def _requests_by_status(url: str) -> dict[tuple[str, str], float]:
    out = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith('qa_http_requests_total{method="POST"'):
            labels, value = line.rsplit(" ", 1)
            route = labels.split('route="', 1)[1].split('"', 1)[0]
            out[(route, labels.split('status="', 1)[1].split('"', 1)[0])] = float(value)
    return out


def test_a_client_that_hangs_up_is_counted_as_gone_not_as_a_500_or_a_504(writable):
    """A client hanging up mid-body was counted as a 500 (a server bug), one that half-closes after its question
    (uvicorn reads that as gone) as a 504 (a timeout). Both are 499, nginx's "client closed request"."""
    port = _port(writable)
    before = _requests_by_status(writable)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                  b'{"question"')
        time.sleep(0.3)
    question = json.dumps({"question": "Who is the Kremlin spokesperson?", "top_k": 50}).encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % len(question) + question)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(30)
        assert s.recv(100) == b""  # uvicorn closes a half-closed connection without an answer
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        after = _requests_by_status(writable)
        grown = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        if sum(grown.values()) >= 2:
            break
        time.sleep(0.2)
    assert grown == {("unmatched", "499"): 1, ("/v1/ask", "499"): 1}, grown


def test_sse_clients_that_reset_mid_answer_leave_no_flood_of_asyncio_warnings(writable, caplog):
    """Twelve streaming chats whose clients reset after the first byte: asyncio logged "socket.send() raised
    exception." for every chunk written after the reset (149 warnings here), each without a word of which
    request it was. The answers' own access-log lines remain."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    body = json.dumps({"model": "news-qa", "stream": True, "messages": [
        {"role": "user", "content": "Who is the Kremlin spokesperson?"}]}).encode()
    request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def reset(_):
        s = socket.create_connection(("127.0.0.1", _port(writable)))
        s.sendall(request)
        s.settimeout(60)
        first = s.recv(1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        s.close()
        return first

    with ThreadPoolExecutor(12) as pool:
        assert list(pool.map(reset, range(12))) == [b"H"] * 12
    time.sleep(1.0)
    flood = [r for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.WARNING]
    assert flood == [], f"{len(flood)} asyncio warnings, e.g. {flood[0].getMessage()!r}"
    assert httpx.get(f"{writable}/healthz").status_code == 200
