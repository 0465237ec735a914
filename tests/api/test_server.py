"""The server closes connections that never finish a request or never read their answer, refuses past its
connection limit in the API's shape and a body framed two ways outright, and keeps serving everyone else."""

import json
import socket
import time

import httpx
import pytest

from api.app import create_app
from api.server import protocol
from tests.conftest import serving

pytestmark = pytest.mark.slow


def test_half_sent_requests_are_dropped_not_held(real_service):
    app = create_app(real_service.settings, loader=lambda _s: real_service)
    with serving(app, http=protocol(1.0), limit_concurrency=64) as url:
        port = int(url.rsplit(":", 1)[1])
        held = []
        for _ in range(100):  # more than the connection limit
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
            s.settimeout(15)
            held.append(s)
        closed = sum(s.recv(100) == b"" for s in held)  # recv returns b"" once the server closes
        for s in held:
            s.close()
        assert closed == len(held)
        with httpx.Client(base_url=url, timeout=30) as client:  # and a normal client, with keep-alive, is served
            for _ in range(3):
                r = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"})
                assert r.status_code == 200 and r.json()["answers"]


def _options(settings) -> dict:
    """How ``qa serve`` runs uvicorn for ``settings`` (less its logging set-up, which the test runner owns)."""
    from api.server import uvicorn_options

    return {k: v for k, v in uvicorn_options(settings.server).items() if k not in ("log_config", "access_log")}


def _read_until_closed(s: socket.socket, limit_s: float) -> bytes:
    """Everything the server sends until it closes the connection; fails if it is still open after ``limit_s``."""
    s.settimeout(limit_s)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        except socket.timeout:
            raise AssertionError(f"connection still open after {limit_s} s; received {data[:300]!r}")
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("framing", [
    b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n",
])
def test_content_length_with_chunked_is_refused_and_the_connection_closed(real_service, framing):
    """RFC 9112 6.1: a body framed two ways is what request smuggling rides on. A proxy reading Content-Length
    sees one request here; a server reading the chunks saw a second one (GET /healthz) hidden in the body."""
    app = create_app(real_service.settings, loader=lambda _s: real_service)
    with serving(app, **_options(real_service.settings)) as url:
        body = b"0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as s:
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + framing % len(body) + b"\r\n" + body)
            reply = _read_until_closed(s, 3.0)  # closed at once, not after the keep-alive timeout
        assert reply.count(b"HTTP/1.1 ") == 1 and reply.startswith(b"HTTP/1.1 400 "), reply
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert b"connection: close" in head.lower() and b"application/json" in head.lower()
        error = json.loads(payload)
        assert "Content-Length" in error["message"] and "Transfer-Encoding" in error["message"] and error["detail"]
        assert httpx.get(f"{url}/healthz").status_code == 200  # and the server goes on


def test_connection_limit_refusals_are_json_counted_and_slots_of_idle_connections_come_back(real_service):
    """With every slot (QA_MAX_CONNECTIONS) held by connections that never complete a request, others get a
    503 in the API's error shape with Retry-After, counted as a refusal; the holders are closed by their
    deadlines (headers, body) even when they keep sending a byte at a time, and the slots come back."""
    settings = real_service.settings.with_(server={"max_connections": 8, "header_timeout_s": 2.0,
                                                   "body_timeout_s": 2.0})
    app = create_app(settings, loader=lambda _s: real_service)
    with serving(app, **_options(settings)) as url:
        port = int(url.rsplit(":", 1)[1])
        held, opened = [], time.monotonic()
        for i in range(8):
            s = socket.create_connection(("127.0.0.1", port))
            if i < 2:  # complete headers, then a body that never ends (opened first: under the limit, admitted)
                s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 100\r\n\r\n{")
                time.sleep(0.3)  # its headers read while the server has room
            elif i < 5:  # headers that never end
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            held.append(s)  # the rest send nothing at all
        time.sleep(0.3)
        with httpx.Client(base_url=url, timeout=10) as client:
            r = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"})
            assert r.status_code == 503 and r.headers["content-type"] == "application/json"
            assert int(r.headers["retry-after"]) >= 1 and set(r.json()) == {"message", "detail"}
            assert "connections" in r.json()["message"]
            r = client.post("/v1/chat/completions", json={"model": "news-qa", "messages": [
                {"role": "user", "content": "Who is the Kremlin spokesperson?"}]})
            assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
            assert r.json()["error"]["type"] == "server_error" and r.json()["error"]["message"]
        closed_after = {}
        while len(closed_after) < len(held) and time.monotonic() - opened < 8:
            for i, s in enumerate(held):
                if i in closed_after:
                    continue
                s.setblocking(False)
                try:
                    if s.recv(65536) == b"":
                        closed_after[i] = time.monotonic() - opened
                    continue
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    closed_after[i] = time.monotonic() - opened
                    continue
                if i < 5:  # still open: one more byte, as a slowloris client sends to look alive
                    try:
                        s.send(b"x" if i < 2 else b"X")
                    except OSError:
                        pass
            time.sleep(0.2)
        for s in held:
            s.close()
        assert len(closed_after) == len(held) and max(closed_after.values()) < 3.8, closed_after
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"}).status_code == 200
            metrics = client.get("/metrics").text
        assert 'qa_rejected_requests_total{reason="connections"} 2.0' in metrics


def _tcp_state(s: socket.socket) -> int:
    """The kernel's TCP state of ``s`` (Linux): 1 established; a peer's FIN or reset moves it on."""
    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


def test_a_client_that_never_reads_is_cut_off_and_others_are_served(real_service):
    """Pipelined questions with 50 passages each, and not a byte of the answers read: once the answers fill what
    a connection may queue and nothing more goes out for QA_WRITE_TIMEOUT_S, the server resets the connection
    (before, it stayed open with the answers queued for as long as the client liked); another client is answered
    all along."""
    settings = real_service.settings.with_(server={"write_timeout_s": 1.0})
    app = create_app(settings, loader=lambda _s: real_service)
    question = json.dumps({"question": "What did the Kremlin say?", "top_k": 50}).encode()
    request = (b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % len(question) + question)
    with serving(app, **_options(settings)) as url:
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window, as a stalled client shows
        reader.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        reader.sendall(request * 12)  # about 19 KB of answer each
        started, answered = time.monotonic(), 0
        with httpx.Client(base_url=url, timeout=30) as client:
            while _tcp_state(reader) == 1 and time.monotonic() - started < 30:
                r = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"})
                assert r.status_code == 200 and r.json()["answers"]
                answered += 1
                time.sleep(0.2)
        cut_after = time.monotonic() - started
        reader.close()
        assert cut_after < 15, f"the connection of a client that reads nothing was still open after {cut_after:.0f} s"
        assert answered >= 1


async def _megabyte(scope, receive, send):
    """An app whose one answer is 1 MiB, sent as one message (as a JSON response is)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = bytes(range(256)) * 4096
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


def test_a_slow_reader_gets_a_large_answer_whole_and_a_stalled_one_is_reset():
    """A 1 MiB answer is queued a piece at a time: a client reading it slowly (three times longer than the write
    timeout) gets every byte, while one that reads nothing is reset about a write timeout after it stalls."""
    with serving(_megabyte, http=protocol(10.0, write_timeout=1.0)) as url:
        port = int(url.rsplit(":", 1)[1])
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        stalled.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := slow.recv(32 * 1024):
                data += chunk
                time.sleep(0.1)  # about 300 KB a second: over 3 s for the whole answer
            took = time.monotonic() - started
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ") and body == bytes(range(256)) * 4096 and took > 3
        while _tcp_state(stalled) == 1 and time.monotonic() - started < 10:
            time.sleep(0.1)
        assert _tcp_state(stalled) != 1, "a client that reads nothing still holds its connection after 10 s"
        stalled.close()
