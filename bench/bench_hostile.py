"""The probe's heavy requests against a real `qa serve`: status, seconds and the server's memory for each.

Repeats issue 16's runs on a fresh server with its own index: a 10 MB .txt of one paragraph, a 2.5 MB HTML
page of 35,000 <p>, the same HTML cut to just under the HTML limit, eight 10 MB uploads at once, questions
of 1,000 characters, and an article of 2,000 paragraphs (the largest one write may embed). Then issue 32's
cases over raw sockets where a client library would not send them: a body framed by Content-Length and
chunks (request smuggling), every connection slot held (the 503's shape), a client that pipelines questions
and never reads, PDFs past the parsing budget, upload metadata past the JSON route's bounds, bad uploads
that were 500s, and item 10's edges (concurrent PUTs of a new id, an id with a slash, Latin-1 and binary
.txt, a byte order mark, CRLF, clients that hang up, SSE clients that reset). Prints one line per case:
HTTP status (or what was seen), wall seconds, the server's resident memory after it (and its peak so far).

    python bench/bench_hostile.py [--port 8931]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_api import memory_mb, start_server  # noqa: E402


def post(url: str, body: bytes, content_type: str, timeout: float = 900) -> tuple[int, str]:
    request = urllib.request.Request(url, body, {"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def upload(base: str, name: str, data: bytes) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return post(f"{base}/v1/documents", body, f"multipart/form-data; boundary={boundary}")


def call(base: str, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def raw_request(method: str, path: str, body: bytes, headers: str = "") -> bytes:
    """One HTTP/1.1 request as bytes, Content-Length framed unless ``headers`` frames it."""
    framing = "" if "transfer-encoding" in headers.lower() else f"Content-Length: {len(body)}\r\n"
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{framing}{headers}\r\n"
            ).encode() + body


def read_all(s: socket.socket, limit_s: float) -> tuple[bytes, str]:
    """What the server sends until it closes (``closed``), resets (``reset``) or ``limit_s`` passes (``open``)."""
    s.settimeout(limit_s)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except ConnectionResetError:
        return data, "reset"
    except socket.timeout:
        return data, "open"
    return data, "closed"


def requests_by_status(base: str) -> dict[tuple[str, str], float]:
    """qa_http_requests_total of POSTs, by (route, status)."""
    out = {}
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('qa_http_requests_total{method="POST"'):
                labels, value = line.rsplit(" ", 1)
                route = labels.split('route="', 1)[1].split('"', 1)[0]
                out[(route, labels.split('status="', 1)[1].split('"', 1)[0])] = float(value)
    return out


def metric(base: str, prefix: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as r:
        return sum(float(line.rsplit(" ", 1)[1]) for line in r.read().decode().splitlines() if line.startswith(prefix))


def issue_32(base: str, port: int, run, log: Path) -> None:
    """Issue 32's cases, one line each (``run(label, call)``, the call answering (status, message))."""
    from tests.conftest import decompression_bomb_pdf, make_pdf, slow_pdf

    def connect() -> socket.socket:
        return socket.create_connection(("127.0.0.1", port))

    def smuggled() -> tuple[str, str]:  # item 8: a second request hidden in a body framed two ways
        hidden = b"0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        with connect() as s:
            s.sendall(raw_request("POST", "/v1/ask", hidden, f"Content-Length: {len(hidden)}\r\n"
                                                           "Transfer-Encoding: chunked\r\n"))
            data, end = read_all(s, 15)
        head, _, body = data.partition(b"\r\n\r\n")
        answers = data.count(b"HTTP/1.1 ")
        return f"{head[9:12].decode()} ({answers} answer, {end})", json.loads(body or b"{}").get("message", "")

    def slots_taken() -> tuple[str, str]:  # item 9: every slot held by half-sent requests; the refusal's shape
        held = []
        for _ in range(MAX_CONNECTIONS):
            s = connect()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            held.append(s)
        time.sleep(0.5)
        try:
            shapes = []
            for path, body in (("/v1/ask", {"question": "Who is the Kremlin spokesperson?"}),
                               ("/v1/chat/completions", {"model": "news-qa", "messages": [
                                   {"role": "user", "content": "Who is the Kremlin spokesperson?"}]})):
                with connect() as s:
                    s.sendall(raw_request("POST", path, json.dumps(body).encode()))
                    data, _ = read_all(s, 15)
                head, _, payload = data.partition(b"\r\n\r\n")
                lines = {k.strip().lower(): v.strip() for k, _, v in
                         (ln.decode("latin-1").partition(":") for ln in head.split(b"\r\n")[1:])}
                shapes.append(f"{head[9:12].decode()} {lines.get('content-type', '-')} Retry-After "
                              f"{lines.get('retry-after', '-')} {sorted(json.loads(payload or b'{}'))}")
        finally:
            for s in held:
                s.close()
        refused = metric(base, 'qa_rejected_requests_total{reason="connections"}')
        return "; ".join(shapes), f"qa_rejected_requests_total connections {refused:g}"

    def never_reads() -> tuple[str, str]:  # item 3: pipelined questions, not a byte of the answers read
        question = json.dumps({"question": "What did the Kremlin say?", "top_k": 50}).encode()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.sendall(raw_request("POST", "/v1/ask", question) * 12)
        started = time.monotonic()
        while s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == 1 and time.monotonic() - started < 120:
            time.sleep(0.2)
        state = "cut off" if s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != 1 else "still open"
        s.close()
        return state, f"after {time.monotonic() - started:.1f} s (QA_WRITE_TIMEOUT_S={WRITE_TIMEOUT_S})"

    def puts_at_once() -> tuple[str, str]:  # item 10: the existence check inside the write lock
        sockets = [connect() for _ in range(5)]
        barrier, statuses = threading.Barrier(5), []

        def put(i: int) -> None:
            body = json.dumps({"title": "Ferry", "text": f"The ferry leaves at {i}. " * 40}).encode()
            barrier.wait()
            sockets[i].sendall(raw_request("PUT", "/v1/documents/bench-race", body, "Connection: close\r\n"))
            statuses.append(read_all(sockets[i], 60)[0][9:12].decode())
            sockets[i].close()

        threads = [threading.Thread(target=put, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return " ".join(sorted(statuses)), "one 201 Created, then 200"

    def slashed_id() -> tuple[str, str]:  # item 10: an id with "/" fetched, replaced and deleted
        record = json.dumps({"id": "desk/dam-1", "text": "The slashed dam opened in May."}).encode()
        steps = [upload(base, "desk.jsonl", record)[0], call(base, "GET", "/v1/documents/desk/dam-1")[0],
                 call(base, "PUT", "/v1/documents/desk%2Fdam-1", {"text": "It opened in June."})[0],
                 call(base, "DELETE", "/v1/documents/desk/dam-1")[0], call(base, "GET", "/v1/documents/desk/dam-1")[0]]
        return " ".join(map(str, steps)), "upload, GET, PUT (%2F), DELETE, GET"

    def hang_ups() -> tuple[str, str]:  # item 10: counted as 499, not 500 / 504
        before = requests_by_status(base)
        with connect() as s:
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
                      b'\r\n{"question"')  # 11 of the 100 bytes promised
            time.sleep(0.3)
        with connect() as s:
            s.sendall(raw_request("POST", "/v1/ask", json.dumps({"question": "Who is the Kremlin spokesperson?",
                                                                  "top_k": 50}).encode()))
            s.shutdown(socket.SHUT_WR)
            read_all(s, 30)
        time.sleep(1.0)
        grown = {k: v - before.get(k, 0) for k, v in requests_by_status(base).items() if v != before.get(k, 0)}
        return " ".join(f"{status}" for (_, status), n in sorted(grown.items()) for _ in range(int(n))), \
            "mid-body hang-up, half-close during a question (qa_http_requests_total)"

    def sse_resets() -> tuple[str, str]:  # item 10: twelve streaming chats reset after their first byte
        body = json.dumps({"model": "news-qa", "stream": True, "messages": [
            {"role": "user", "content": "Who is the Kremlin spokesperson?"}]}).encode()
        before = log.read_text(errors="replace").count("socket.send() raised exception")

        def reset(_):
            with connect() as s:
                s.sendall(raw_request("POST", "/v1/chat/completions", body))
                s.settimeout(60)
                s.recv(1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

        with ThreadPoolExecutor(12) as pool:
            list(pool.map(reset, range(12)))
        time.sleep(1.0)
        warnings = log.read_text(errors="replace").count("socket.send() raised exception") - before
        return f"{warnings} warnings", "asyncio 'socket.send() raised exception.' lines in the server's log"

    run("32.8 Content-Length + chunked (smuggling)", smuggled)
    run(f"32.9 all {MAX_CONNECTIONS} connection slots held", slots_taken)
    run("32.3 12 pipelined top_k 50, never read", never_reads)
    run("32.4 PDF, 4 MB of text operators", lambda: upload(base, "slow.pdf", slow_pdf()))
    run("32.4 PDF decoding past pypdf's limit", lambda: upload(base, "bomb.pdf", decompression_bomb_pdf()))
    lines = make_pdf([[f"Line {i} of the harbour report: the dam's budget grew again, " * 3 for i in range(24_000)]])
    run(f"32.4 PDF, one page of 24,000 lines ({len(lines) / 2**20:.1f} MB)", lambda: upload(base, "lines.pdf", lines))
    def added(answer: tuple[int, str]) -> tuple[int, str]:
        """A 201's first document in a few words (its title's length, paragraphs), else the answer as it came."""
        status, text = answer
        if status != 201:
            return status, text
        doc = json.loads(text)["documents"][0]
        return status, f"id {doc['id'][:20]!r}, title {doc['title'][:20]!r} ({len(doc['title']):,} chars), " \
                       f"{doc['paragraphs']} paragraphs"

    run("32.2 .md heading of 1,000,000 chars", lambda: added(upload(
        base, "heading.md", b"# " + b"H" * 1_000_000 + b"\n\nThe dam cost four billion.")))
    run("32.2 .jsonl with a 3 MB title", lambda: upload(
        base, "title.jsonl", json.dumps({"text": "The dam cost four billion.", "title": "t" * 3_000_000}).encode()))
    run("32.5 .jsonl, two records with one id", lambda: upload(
        base, "twice.jsonl", b'{"id": "x", "text": "One."}\n{"id": "x", "text": "Two."}\n'))
    run("32.5 .jsonl record nested 100,000 deep", lambda: upload(
        base, "deep.jsonl", b'{"id": "d", "text": "One.", "x": ' + b"[" * 100_000 + b"}\n"))
    run("32.5 file name with a NUL byte", lambda: upload(base, "a\x00b.txt", b"The dam cost four billion."))
    run("32.10 five PUTs of one new id at once", puts_at_once)
    run("32.10 an id with a slash", slashed_id)
    run("32.10 Latin-1 .txt", lambda: upload(base, "latin.txt", "Caf\xe9 cr\xe8me in M\xfcnchen.".encode("latin-1")))
    run("32.10 binary .txt", lambda: upload(base, "binary.txt", bytes(range(256)) * 8))
    run("32.10 .jsonl opening with a BOM", lambda: added(upload(
        base, "bom.jsonl", b"\xef\xbb\xbf" + json.dumps({"id": "bom", "title": "Weir", "text": "The weir opened."}).encode())))
    run("32.10 .txt with a BOM and CRLF (2 paragraphs)", lambda: added(upload(
        base, "crlf.txt", b"\xef\xbb\xbfLock news\r\n\r\nThe lock opened.\r\nIt cost a million.\r\n\r\n"
                          b"The mayor came.\r\n")))
    run("32.10 .txt with CR line ends (2 paragraphs)", lambda: added(upload(
        base, "cr.txt", b"Weir news\r\rThe weir opened.\rIt cost a million.\r\rThe mayor left.\r")))
    run("32.10 client hangs up mid-body; half-close", hang_ups)
    run("32.10 12 SSE clients reset mid-answer", sse_resets)


# The server's limits for issue 32's cases: few enough connection slots to hold them all, and a write timeout
# short enough to see a client that never reads cut off within the run.
MAX_CONNECTIONS = 32
WRITE_TIMEOUT_S = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QA_INDEX_DIR": f"{tmp}/index", "QA_DOCUMENTS_DIR": f"{tmp}/documents",
               "QA_MAX_CONNECTIONS": str(MAX_CONNECTIONS), "QA_WRITE_TIMEOUT_S": str(WRITE_TIMEOUT_S)}
        log = Path(tmp) / "serve.log"
        server = start_server(env, args.port, log)
        try:
            rss, _ = memory_mb(server.pid)
            print(f"server ready, {rss:.0f} MB resident")

            def run(label: str, call) -> None:
                started = time.perf_counter()
                status, text = call()
                seconds = time.perf_counter() - started
                rss, peak = memory_mb(server.pid)
                message = json.loads(text).get("message", "") if text.startswith("{") else text
                print(f"{label:<46} {status}  {seconds:7.2f} s  {rss:6.0f} MB (peak {peak:.0f})  {message[:90]}",
                      flush=True)

            def one_paragraph(tag: str) -> bytes:  # 10 MB, no line break, every word different
                return " ".join(f"w{tag}{i}" for i in range(1_200_000)).encode()[: 10 * 1024 * 1024 - 4096]

            def html(paragraphs: int, pad: int) -> bytes:
                return ("<html><body><article>" + "".join(f"<p>Paragraph {i} says the dam cost {i} euros.{' ' * pad}</p>"
                                                          for i in range(paragraphs)) + "</article></body></html>").encode()

            big, small = html(35_000, 25), html(35_000, 0)
            run("10 MB .txt, one paragraph", lambda: upload(base, "one.txt", one_paragraph("a")))
            run(f"{len(big) / 2**20:.1f} MB HTML, 35,000 <p>", lambda: upload(base, "many.html", big))
            run(f"{len(small) / 2**20:.1f} MB HTML, 35,000 <p> (under the HTML limit)",
                lambda: upload(base, "under.html", small))
            with ThreadPoolExecutor(8) as pool:
                started = time.perf_counter()
                statuses = [s for s, _ in pool.map(lambda n: upload(base, f"u{n}.txt", one_paragraph(str(n))), range(8))]
            rss, peak = memory_mb(server.pid)
            print(f"{'eight 10 MB uploads at once':<46} {sorted(set(statuses))}  {time.perf_counter() - started:7.2f} s  "
                  f"{rss:6.0f} MB (peak {peak:.0f})")
            for q in ("a " * 499 + "a", "." * 1000, "http://a/" * 111):
                run(f"question of {len(q)} chars ({q[:10]!r}…)",
                    lambda q=q: post(f"{base}/v1/ask", json.dumps({"question": q}).encode(), "application/json"))
            article = "\n\n".join(f"Paragraph {i}: the harbour dam's budget line {i} grew by {i % 13} percent."
                                  for i in range(2000))
            run("article of 2,000 paragraphs (the write limit)", lambda: upload(base, "big.txt", article.encode()))
            run("a question answered from that article", lambda: post(
                f"{base}/v1/ask", json.dumps({"question": "By how much did budget line 1500 grow?"}).encode(),
                "application/json"))
            issue_32(base, args.port, run, log)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
