"""The one application every channel asks (HTTP, OpenAI-compatible, Slack, CLI).

It owns the pipeline, the model gate, the question metrics and the index swap; channels call ``ask`` and
``chat`` and never reach into the pipeline's parts.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry

from chat.rewrite import Rewriter, RuleRewriter, Turn
from chat.service import ChatReply, ChatService
from qa.deadline import Cancelled
from qa.filters import Scope
from qa.limits import MAX_ID_CHARS
from qa.pipeline import QAPipeline
from qa.protocols import Embedder, Reader
from qa.types import QAResult
from reader import make_reader
from retriever import make_embedder, make_retriever
from retriever import store
from retriever.store import StoredIndex
from service.documents import DocumentError, DocumentStore
from service.gate import Busy, ModelGate
from service.indexing import Log, open_index, stderr_log
from service.metrics import QuestionMetrics
from service.settings import Settings


def reader_from(settings: Settings, min_score: float | None = None, setting: str = "open") -> Reader:
    """The reader the settings ask for (``min_score`` overrides the operating point, e.g. 0 = never abstain).

    ``setting``: "open" (passages from the retriever: the service) or "gold" (each question with its own
    paragraph, as ``qa eval --reader-only``): each has its own tuned operating point.
    """
    r = settings.reader
    return make_reader(r.kind, r.model, device=settings.models.device, max_seq_len=r.max_seq_len,
                       doc_stride=r.doc_stride, max_answer_tokens=r.max_answer_tokens, batch_size=r.batch_size,
                       min_score=r.min_answer_score if min_score is None else min_score, setting=setting,
                       use_selector=r.selector)


def embedder_from(settings: Settings) -> Embedder:
    return make_embedder(settings.retrieval.embedding_model, device=settings.models.device)


def default_sources(settings: Settings) -> list[Path]:
    """What a new index is built from: the configured corpus (plus, from installs before documents lived in the
    index, a documents folder of .jsonl files if one is there)."""
    docs = settings.index.documents_path
    return list(settings.index.corpus) + ([docs] if docs.is_dir() and any(docs.glob("*.jsonl")) else [])


class Application:
    """A loaded QA service. Light to build; ``warm_up()`` loads every model (idempotent)."""

    def __init__(self, settings: Settings, index: StoredIndex, embedder: Embedder, reader: Reader,
                 registry: CollectorRegistry | None = None, rewriter: Rewriter | None = None):
        self.settings = settings
        self.embedder = embedder
        self.reader = reader
        self.rewriter = rewriter if rewriter is not None else RuleRewriter()
        server = settings.server
        self.gate = ModelGate(server.max_concurrent, server.queue_timeout_s, server.max_queued)
        self.metrics = QuestionMetrics(registry)
        self.metrics.track_index(lambda: (self.index.passage_count(), self.index.document_count()))
        self._swap_lock = threading.Lock()
        self._follow_lock = threading.Lock()
        self._index = index
        self._pipeline = self._pipeline_for(index)
        self.documents = DocumentStore(embedder, self, server.max_upload_documents, server.max_write_passages)
        self._followed = time.monotonic()

    def _pipeline_for(self, index: StoredIndex) -> QAPipeline:
        retrieval = self.settings.retrieval
        retriever = make_retriever(index, retrieval.kind, retrieval.lexical_weight, retrieval.article_weight,
                                   retrieval.ranker)
        return QAPipeline(self.embedder, retriever, self.reader, retrieval.top_k, self.settings.reader.max_answers)

    def warm_up(self) -> None:
        """Load the embedding model and the reader; ready (``/readyz``) only after this returns."""
        self.embedder.warm_up()
        self.reader.warm_up()
        self._pipeline.retriever.warm_up()

    # -- the index ------------------------------------------------------------------------------
    @property
    def index(self) -> StoredIndex:
        return self._index

    def follow(self, every_s: float = 0.2) -> None:
        """Serve the version another process made current (a full rebuild by ``qa index --replace`` next to
        running replicas); writes in place need nothing of this, the store picks them up itself."""
        now = time.monotonic()
        if now - self._followed < every_s or not self._follow_lock.acquire(blocking=False):
            return  # looked at recently, or another thread is looking now
        try:
            self._followed = now
            directory = self._index.directory  # the folder this index was loaded from
            name = store.current_version(directory)
            if name is not None and name != self._index.version.name:
                self.swap_index(store.load(directory))
        except store.IndexError_:
            pass  # keep serving what we have; the next look may find the new version complete
        finally:
            self._follow_lock.release()

    def swap_index(self, index: StoredIndex) -> None:
        """Serve ``index`` from now on; questions already running finish on the pipeline they started with."""
        pipeline = self._pipeline_for(index)
        with self._swap_lock:
            self._index, self._pipeline = index, pipeline

    # -- questions ------------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None, max_answers: int | None = None,
            channel: str = "api", scope: Scope | None = None) -> QAResult:
        """One question through the gate; counted in the metrics under ``channel``. Raises ``Busy``, and
        ``DocumentError`` (not_found) for a ``scope`` naming a document not indexed or letting nothing through."""
        self.follow()
        scope = self._checked(scope)
        with self._slot(channel):
            result = self._pipeline.ask(question, top_k, max_answers, scope)
        self._say_if_nothing_passed(scope, result)
        self.metrics.observe(result, channel)
        return result

    def chat(self, history: Sequence[Turn], question: str, top_k: int | None = None,
             max_answers: int | None = None, channel: str = "chat", scope: Scope | None = None) -> ChatReply:
        """The conversation's last question made standalone, then answered as ``ask`` does."""
        self.follow()
        scope = self._checked(scope)
        with self._slot(channel):
            reply = ChatService(self._pipeline, self.rewriter).reply(history, question, top_k, max_answers, scope)
        self._say_if_nothing_passed(scope, reply.result)
        self.metrics.observe(reply.result, channel)
        return reply

    def unindexed(self, doc_ids: Iterable[str]) -> list[str]:
        """Those of ``doc_ids`` that name no indexed document, in order."""
        return [d for d in doc_ids if self.index.document(d) is None]

    def _checked(self, scope: Scope | None) -> Scope | None:
        """The scope a question is asked within, with the configured recency preference where it sets none; a
        document id not indexed is refused before anything runs."""
        recency = self.settings.retrieval.recency_half_life_days
        if recency is not None and (scope is None or scope.recency_half_life_days is None):
            scope = replace(scope or Scope(), recency_half_life_days=recency)
        if scope is None:
            return None
        unknown = self.unindexed(scope.doc_ids)
        if unknown:
            raise DocumentError(f"doc_ids: no indexed document with id {unknown[0][:MAX_ID_CHARS]!r}", kind="not_found")
        return scope

    def _say_if_nothing_passed(self, scope: Scope | None, result: QAResult) -> None:
        """A filter that lets nothing through says so (rather than "no confident answer"). Asked only when the
        filtered question found no passage, so that the filter is not evaluated a second time on every question."""
        if scope is not None and scope.filtered and not result.passages and not self.index.select(scope).count:
            raise DocumentError(f"no documents {scope.describe()} in the index", kind="not_found")

    def sources(self) -> dict:
        """What filters can name: publishers with their document counts, and the span of published dates."""
        first, last = self.index.published_range()
        return {"sources": [{"name": p, "documents": n} for p, n in self.index.publishers()],
                "published": {"first": first, "last": last}}

    def conversations(self) -> ChatService:
        """Chat over the current pipeline without the gate: batch evaluation (``qa eval``) only."""
        return ChatService(self._pipeline, self.rewriter)

    def pipeline(self, reader: Reader | None = None) -> QAPipeline:
        """The current pipeline (for evaluation), optionally with another reader over the same retrieval."""
        return self._pipeline if reader is None else self._pipeline.with_reader(reader)

    @contextmanager
    def _slot(self, channel: str) -> Iterator[None]:
        try:
            with self.gate.slot():
                yield
        except Busy:
            self.metrics.busy.labels(channel).inc()
            raise
        except Cancelled:
            self.metrics.stopped.labels(channel).inc()
            raise

    @classmethod
    def load(cls, settings: Settings, build_if_missing: bool = False, log: Log = stderr_log, refresh: bool = True,
             registry: CollectorRegistry | None = None) -> "Application":
        """Open (or build) the index and load the models."""
        embedder = embedder_from(settings)
        reader = reader_from(settings)
        index = open_index(settings.index.index_dir, embedder, default_sources(settings), build_if_missing, log,
                           refresh)
        app = cls(settings, index, embedder, reader, registry)
        app.warm_up()
        return app
