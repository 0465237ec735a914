"""Load benchmark: N concurrent clients asking POST /v1/ask for S seconds against a real server (fresh
index in a temp dir): throughput, latency of answered requests, status codes, and the server's memory."""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_api import free_port, memory_mb, start_server  # noqa: E402


async def client_loop(base: str, questions: list[str], deadline: float, out: list, codes: collections.Counter):
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            try:
                r = await client.post("/v1/ask", json={"question": random.choice(questions), "top_k": 5})
                codes[r.status_code] += 1
                if r.status_code == 200:
                    out.append((time.perf_counter() - t) * 1000)
                elif r.status_code in (429, 503):
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")))
            except httpx.HTTPError as exc:
                codes[type(exc).__name__] += 1


async def run(base: str, questions: list[str], clients: int, seconds: float):
    latencies: list[float] = []
    codes: collections.Counter = collections.Counter()
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client_loop(base, questions, deadline, latencies, codes) for _ in range(clients)))
    return latencies, codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate-limit", type=int, default=0, help="QA_RATE_LIMIT_PER_MINUTE for the server (0: off, "
                        "since every client here shares one address)")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in (ROOT / "tests/data/dev_gold.jsonl").read_text().splitlines()]
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        port = free_port()
        env = {**os.environ, "QA_INDEX_DIR": f"{tmp}/index", "QA_RATE_LIMIT_PER_MINUTE": str(args.rate_limit)}
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            httpx.post(base + "/v1/ask", json={"question": questions[0]}, timeout=30)
            before = memory_mb(server.pid)[0]
            t0 = time.perf_counter()
            latencies, codes = asyncio.run(run(base, questions, args.clients, args.seconds))
            elapsed = time.perf_counter() - t0
            after = memory_mb(server.pid)[0]
            alive = httpx.get(base + "/healthz", timeout=5).status_code
        finally:
            server.terminate()
            server.wait(timeout=30)
    lat = np.array(latencies) if latencies else np.array([float("nan")])
    errors = sum(n for c, n in codes.items() if not isinstance(c, int) or c >= 500 and c != 503)
    print(f"{args.clients} clients for {elapsed:.0f} s: {len(latencies) / elapsed:.1f} answered req/s; "
          f"answered p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms")
    print("status codes: " + ", ".join(f"{c}: {n}" for c, n in sorted(codes.items(), key=str)))
    print(f"errors (5xx other than 503 busy, or transport): {errors}; server RSS {before:.0f} → {after:.0f} MB; "
          f"/healthz after: {alive}")
    return 0 if errors == 0 and alive == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
