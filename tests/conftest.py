"""Shared fixtures: tiny passages, a 4-number fake embedder, and the citation invariant check."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import numpy as np
import pytest

from qa.pipeline import QAPipeline
from qa.types import DocumentInfo, Passage
from retriever import store

ROOT = Path(__file__).resolve().parents[1]
DEV_GOLD = ROOT / "tests" / "data" / "dev_gold.jsonl"


class FakeEmbedder:
    """Deterministic 4-number embeddings from word hashes: same words, close vectors."""

    name = "fake-4d"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                h = hashlib.md5(word.strip(".,?!").encode()).digest()
                out[row, h[0] % 4] += 1.0 + h[1] / 255
            out[row] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def make_stored(passages: list[Passage], embedder) -> tuple[store.StoredIndex, np.ndarray]:
    """An in-memory index of ``passages`` embedded by ``embedder``, and the vectors it holds."""
    vectors = embedder.encode([p.text for p in passages])
    docs = [DocumentInfo(p.doc_id, p.title, None, None, None, 1) for p in passages]
    manifest = store.Manifest(embedder.name, embedder.dim, "fp", ["src"], 0.0)
    return store.build(vectors, passages, docs, manifest), vectors


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def three_passages() -> list[Passage]:
    texts = [
        "Annalena Baerbock said Germany will not send weapons.",
        "Ben Wallace said Britain supplies anti-tank weapons.",
        "Canada deployed special forces to Kyiv on Monday.",
    ]
    return [Passage(f"d{i}:0", f"d{i}", f"Doc {i}", 0, t, 0, len(t)) for i, t in enumerate(texts)]


@pytest.fixture(autouse=True)
def _check_citations(monkeypatch):
    """Every answer any test obtains through the pipeline must be its paragraph's exact slice."""
    original = QAPipeline.ask_batch

    def checked(self, *args, **kwargs):
        results = original(self, *args, **kwargs)
        for result in results:
            passages = {sp.passage.id: sp.passage for sp in result.passages}
            for a in result.answers:
                paragraph = passages[a.passage_id]
                assert paragraph.text[a.citation.start : a.citation.end] == a.text
                assert paragraph.doc_id == a.citation.doc_id and paragraph.paragraph == a.citation.paragraph
                assert 0.0 <= a.score <= 1.0
        return results

    monkeypatch.setattr(QAPipeline, "ask_batch", checked)


@pytest.fixture(scope="session")
def real_service(tmp_path_factory):
    """The real default service (MiniLM retriever, shipped ONNX reader) over the bundled corpus, built once per session."""
    from qa.factory import load_service
    from qa.settings import Settings

    settings = Settings().with_(index={"index_dir": tmp_path_factory.mktemp("index")})
    return load_service(settings, build_if_missing=True, log=lambda msg: None)


@contextlib.contextmanager
def serving(app, **config):
    """``app`` served by uvicorn on a free local port (a real server, for real clients and a browser)."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(real_service):
    """The real app over the real default service."""
    from api.app import create_app

    with serving(create_app(real_service.settings, loader=lambda _settings: real_service)) as url:
        yield url
