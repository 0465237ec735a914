"""Shared fixtures and fakes: tiny passages, a 4-number embedder, a list retriever, fixed readers, and the
citation invariant check. Fakes live here only; test modules import them."""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from pathlib import Path

import numpy as np
import pytest

from qa.pipeline import QAPipeline
from qa.types import Answer, DocumentInfo, Passage, ScoredPassage
from retriever import store

ROOT = Path(__file__).resolve().parents[1]
DEV_GOLD = ROOT / "tests" / "data" / "dev_gold.jsonl"


class FakeEmbedder:
    """Deterministic 4-number embeddings from word hashes: same words, close vectors."""

    name = "fake-4d"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def warm_up(self) -> None:
        pass

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                h = hashlib.md5(word.strip(".,?!").encode()).digest()
                out[row, h[0] % 4] += 1.0 + h[1] / 255
            out[row] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class ListRetriever:
    """Returns the first ``top_k`` of its passages for every question (score ``score``, else 0.9, 0.8, ...);
    remembers the questions it was asked."""

    def __init__(self, passages: list[Passage], score: float | None = None):
        self.passages, self.score, self.asked = passages, score, []

    def retrieve_batch(self, queries, embeddings, top_k, scope=None):
        assert embeddings.shape[0] == len(queries)  # the pipeline embeds, once per batch
        self.asked.extend(queries)
        passages = [p for p in self.passages if scope is None or not scope.doc_ids or p.doc_id in scope.doc_ids]
        return [[ScoredPassage(p, self.score if self.score is not None else 0.9 - i / 10)
                 for i, p in enumerate(passages[:top_k])] for _ in queries]

    def retrieve(self, query, embedding, top_k):
        return self.retrieve_batch([query], embedding[None, :], top_k)[0]


class FixedReader:
    """Gives the same answers to every question."""

    def __init__(self, answers: list[Answer]):
        self.answers = answers

    def warm_up(self) -> None:
        pass

    def read_batch(self, questions, passages, max_answers, within_documents=False):
        return [list(self.answers) for _ in questions]


class FirstWordReader:
    """Answers with the first word of the top passage; abstains on questions about 'nothing'."""

    def warm_up(self) -> None:
        pass

    def read_batch(self, questions, passages, max_answers, within_documents=False):
        out = []
        for q, ps in zip(questions, passages):
            if "nothing" in q or not ps:
                out.append([])
                continue
            p = ps[0].passage
            word = p.text.split()[0]
            out.append([Answer(word, 0.8, p.id, 0, len(word))][:max_answers])
        return out


def new_documents(passages: list[Passage], vectors: np.ndarray, source: str | None = None) -> list[store.NewDocument]:
    """One document per passage (its whole text), for building stores in tests."""
    return [store.NewDocument(DocumentInfo(p.doc_id, p.title, None, None, source, 1), p.text, [p], v[None, :])
            for p, v in zip(passages, vectors)]


def make_stored(passages: list[Passage], embedder, directory: Path | None = None) -> tuple[store.StoredIndex, np.ndarray]:
    """A real store (in a fresh temporary folder unless given) of ``passages`` embedded by ``embedder``, and
    the vectors it holds."""
    import tempfile

    vectors = embedder.encode([p.text for p in passages])
    manifest = store.Manifest(embedder.name, embedder.dim, "fp", ["src"], 0.0)
    directory = Path(tempfile.mkdtemp(prefix="qa-test-store-")) if directory is None else directory
    return store.build(directory, manifest, new_documents(passages, vectors)), vectors


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


TINY_WORDS = ("what did baerbock say about weapons germany will not send ben wallace britain supplies anti tank "
              "canada deployed special forces to kyiv on monday the a and of").split()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny QA model (random weights) and its tokenizer, built locally: the reader's and training's mechanics."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    path = tmp_path_factory.mktemp("tiny-qa")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "-", "?"] + TINY_WORDS
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertForQuestionAnswering(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


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
    from service.application import Application
    from service.settings import Settings

    settings = Settings().with_(index={"index_dir": tmp_path_factory.mktemp("index")})
    return Application.load(settings, build_if_missing=True, log=lambda msg: None)


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


def make_pdf(pages: list[list[str]], title: str | None = None, compress: bool = False) -> bytes:
    """A real PDF (text in Helvetica, one line per string, a blank string = a gap) with a correct xref table:
    what a word processor's export looks like to a text extractor, without a PDF library to write it.
    ``compress``: each page's content stream FlateDecode'd, as most PDFs have them."""
    def escape(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", None,
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for lines in pages:
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 720 Td"] + [f"({escape(line)}) Tj T*" for line in lines] + ["ET"]
        stream = "\n".join(ops).encode("latin-1")
        stream, flate = (zlib.compress(stream), b" /Filter /FlateDecode") if compress else (stream, b"")
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(stream), flate) + stream + b"\nendstream")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       b"/Contents %d 0 R >>" % len(objects))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join(f"{k} 0 R" for k in kids).encode(), len(kids))
    info = None
    if title is not None:
        objects.append(b"<< /Title (" + escape(title).encode("latin-1") + b") >>")
        info = len(objects)
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1) + (b" /Info %d 0 R" % info if info else b"") + b" >>"
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def decompression_bomb_pdf() -> bytes:
    """About 80 KB whose one stream decodes past pypdf's 75 MB limit."""
    return make_pdf([["Harbour news", " " * 80_000_000]], compress=True)


def slow_pdf() -> bytes:
    """About 20 KB: one page of 100,000 text lines (4 MB of operators), which pypdf reads for many seconds."""
    return make_pdf([["The harbour dam opened today."] * 100_000], compress=True)


def pytest_terminal_summary(terminalreporter):
    """Say it loudly at the end when the chat page's browser test did not run (no chromium here)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "chromium" in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_sep("!", "the chat page's browser test was SKIPPED: chromium/chromedriver not installed "
                                        "(apt-get install chromium chromium-driver; .ci/run installs them)", yellow=True)


# A small dated archive: the same kind of story from two publishers years apart, and another topic (filters).
ARCHIVE = [
    {"id": "reuters-cocoa", "title": "BAHIA COCOA REVIEW", "source": "reuters21578", "published": "1987-02-26T15:01:01",
     "topics": ["cocoa"], "text": "Showers continued throughout the week in the Bahia cocoa zone, alleviating the "
                                  "drought since early January.\n\nComissaria Smith said the temporao crop in Bahia "
                                  "is expected to total 1.2 million bags."},
    {"id": "bbc-cocoa", "title": "Cocoa farmers in Bahia", "source": "bbc", "published": "2005-03-10",
     "topics": ["cocoa", "business"], "text": "Farmers in Bahia said the cocoa crop is expected to total 2.5 million "
                                              "bags this year, helped by rain.\n\nPrices fell in London."},
    {"id": "reuters-grain", "title": "GRAIN EXPORTS", "source": "reuters21578", "published": "1987-04-01",
     "topics": ["grain"], "text": "Wheat exports from Argentina rose to 300,000 tonnes in March, the grain board "
                                  "said."},
]


@pytest.fixture(scope="session")
def archive_file(tmp_path_factory) -> Path:
    import json

    path = tmp_path_factory.mktemp("archive") / "archive.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in ARCHIVE), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def archive_service(real_service, archive_file, tmp_path_factory):
    """The real models over the small dated archive (its own index)."""
    from service.application import Application
    from service.indexing import build_index

    index_dir = tmp_path_factory.mktemp("archive-index")
    settings = real_service.settings.with_(index={"index_dir": index_dir, "corpus": [archive_file]})
    index = build_index([archive_file], real_service.embedder, index_dir).index
    return Application(settings, index, real_service.embedder, real_service.reader)


@pytest.fixture(scope="module")
def archive_server(archive_service):
    from api.app import create_app

    with serving(create_app(archive_service.settings, loader=lambda _settings: archive_service)) as url:
        yield url
