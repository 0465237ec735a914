"""The probe's heavy requests against a real `qa serve`: status, seconds and the server's memory for each.

Repeats issue 16's runs on a fresh server with its own index: a 10 MB .txt of one paragraph, a 2.5 MB HTML
page of 35,000 <p>, the same HTML cut to just under the HTML limit, eight 10 MB uploads at once, questions
of 1,000 characters, and an article of 2,000 paragraphs (the largest one write may embed). Prints one line
per request: HTTP status, wall seconds, the server's resident memory after it (and its peak so far).

    python bench/bench_hostile.py [--port 8931]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QA_INDEX_DIR": f"{tmp}/index", "QA_DOCUMENTS_DIR": f"{tmp}/documents"}
        server = start_server(env, args.port)
        try:
            rss, _ = memory_mb(server.pid)
            print(f"server ready, {rss:.0f} MB resident")

            def run(label: str, call) -> None:
                started = time.perf_counter()
                status, text = call()
                seconds = time.perf_counter() - started
                rss, peak = memory_mb(server.pid)
                message = json.loads(text).get("message", "") if text.startswith("{") else ""
                print(f"{label:<46} {status}  {seconds:7.2f} s  {rss:6.0f} MB (peak {peak:.0f})  {message[:90]}")

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
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
