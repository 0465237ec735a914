"""Benchmark: index build time, p50/p95 latency and requests/s of POST /v1/ask (top_k 5) over the
seed questions against a real server on 127.0.0.1 (a fresh index in a temp dir; nothing else
touched), and where a question's time goes (embed / search / tokenize / encode / decode)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, log: Path | None = None, wait_s: float = 180) -> subprocess.Popen:
    """A real `qa serve` on 127.0.0.1:port with ``env``, returned once /readyz says ready (its output to ``log``)."""
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 (the server's lifetime)
    server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=out, stderr=out)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    tail = log.read_text(errors="replace")[-2000:] if log is not None else ""
    raise RuntimeError(f"qa serve on port {port} did not become ready\n{tail}")


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, MB (Linux /proc)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def build_time(index_dir: Path) -> float:
    from service.indexing import build_index
    from service.settings import Settings
    from retriever.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()  # model load is not index build
    report = build_index(Settings().index.corpus, embedder, index_dir)
    return report.seconds


def stage_breakdown(index_dir: Path, questions: list[str], top_k: int = 5, rounds: int = 3) -> dict[str, float]:
    """Median milliseconds per question of each stage, run in process on the same components."""
    from service.application import Application
    from service.settings import Settings
    from reader.decode import decode_spans

    service = Application.load(Settings().with_(index={"index_dir": index_dir}), log=lambda msg: None)
    pipeline = service.pipeline()
    embedder, retriever, reader = pipeline.embedder, pipeline.retriever, pipeline.reader
    stages: dict[str, list[float]] = {k: [] for k in ("embed", "search", "tokenize", "encode", "decode")}
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            vector = embedder.encode([q])[0]
            t1 = time.perf_counter()
            passages = retriever.retrieve(q, vector, top_k)
            t2 = time.perf_counter()
            features = reader.preprocess([q] * len(passages), [sp.passage.text for sp in passages])
            t3 = time.perf_counter()
            start, end = reader.forward(features)
            t4 = time.perf_counter()
            decode_spans(start, end, features.offsets, features.context_mask, features.feature_passage)
            t5 = time.perf_counter()
            for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                stages[name].append(seconds * 1000)
    return {name: float(np.median(values)) for name, values in stages.items()}


def sequential_latencies(client: httpx.Client, questions: list[str], rounds: int,
                         deadline: float = float("inf")) -> np.ndarray:
    """Milliseconds of each POST /v1/ask (top_k 5), one client, ``rounds`` passes over ``questions`` after one
    warm-up, stopping at ``deadline`` (time.perf_counter)."""
    client.post("/v1/ask", json={"question": "warm-up question?", "top_k": 5}).raise_for_status()
    latencies = []
    for _ in range(rounds):
        for q in questions:
            if time.perf_counter() > deadline:
                return np.array(latencies)
            t = time.perf_counter()
            client.post("/v1/ask", json={"question": q, "top_k": 5}).raise_for_status()
            latencies.append((time.perf_counter() - t) * 1000)
    return np.array(latencies)


def compare_readers(index_dir: Path, questions: list[str], other: Path, rounds: int, turns: int,
                    other_env: dict[str, str] | None = None, shipped_env: dict[str, str] | None = None) -> None:
    """/v1/ask p50 of the shipped reader against the reader in ``other``, servers taking turns (A B A B …) in one
    run so both see the same machine load; prints each turn and the ratio of the medians. ``other_env`` and
    ``shipped_env``: settings of either side (the retrieval of an earlier version, the answer selector on)."""
    runs: dict[str, list[float]] = {"shipped": [], str(other): []}
    for _ in range(turns):
        for name in runs:
            env = {**os.environ, "QA_INDEX_DIR": str(index_dir), **((shipped_env or {}) if name == "shipped" else {})}
            if name != "shipped":
                env.update(QA_READER_MODEL=name, **(other_env or {}))
            port = free_port()
            server = start_server(env, port)
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                    runs[name].append(float(np.percentile(sequential_latencies(client, questions, rounds), 50)))
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(f"/v1/ask p50, {name}: {runs[name][-1]:.1f} ms", flush=True)
    shipped, previous = (float(np.median(v)) for v in runs.values())
    print(f"/v1/ask p50 median of {turns} turns: shipped {shipped:.1f} ms, {other} {previous:.1f} ms; "
          f"shipped / other = {shipped / previous:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gold", default=str(ROOT / "tests" / "data" / "dev_gold.jsonl"))
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions (sequential)")
    parser.add_argument("--concurrency", type=int, default=4, help="clients for the throughput pass")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop sending after this long")
    parser.add_argument("--compare-reader", type=Path, default=None, metavar="DIR",
                        help="only compare /v1/ask p50 of the shipped reader with the reader model in DIR")
    parser.add_argument("--turns", type=int, default=3, help="with --compare-reader: servers started per reader")
    parser.add_argument("--other-env", action="append", default=[], metavar="NAME=VALUE",
                        help="with --compare-reader: a setting of the other side (repeatable)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="with --compare-reader: a setting of the shipped side (repeatable)")
    args = parser.parse_args()
    from qa.offline import go_offline

    go_offline()

    questions = [json.loads(line)["question"] for line in Path(args.gold).read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        seconds = build_time(index_dir)
        print(f"index build (default corpus, model already loaded): {seconds * 1000:.0f} ms")
        if args.compare_reader is not None:
            compare_readers(index_dir, questions, args.compare_reader.resolve(), args.rounds, args.turns,
                            dict(e.split("=", 1) for e in args.other_env), dict(e.split("=", 1) for e in args.env))
            return 0
        stages = stage_breakdown(index_dir, questions)
        print("where a question's time goes (median ms, in process, top_k 5): "
              + ", ".join(f"{name} {ms:.1f}" for name, ms in stages.items()))

        port = free_port()
        env = {**os.environ, "QA_INDEX_DIR": str(index_dir)}
        t0 = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                while True:
                    try:
                        if client.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None or time.perf_counter() - t0 > 180:
                        print("server did not become ready", file=sys.stderr)
                        return 1
                    time.sleep(0.2)
                print(f"server start to ready: {time.perf_counter() - t0:.1f} s")
                lat = sequential_latencies(client, questions, args.rounds, time.perf_counter() + args.max_seconds)
                print(f"sequential /v1/ask: n={len(lat)} p50={np.percentile(lat, 50):.1f} ms "
                      f"p95={np.percentile(lat, 95):.1f} ms mean={lat.mean():.1f} ms "
                      f"({1000 / lat.mean():.1f} req/s single client)")

            def one(q: str) -> None:
                with httpx.Client(base_url=base, timeout=60) as c:
                    c.post("/v1/ask", json={"question": q, "top_k": 5}).raise_for_status()

            work = questions * args.rounds
            t = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(one, work))
            elapsed = time.perf_counter() - t
            print(f"throughput /v1/ask: {len(work)} requests, {args.concurrency} clients: "
                  f"{len(work) / elapsed:.1f} req/s")
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
