"""Build the embedder, reader, index and pipeline that the settings ask for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from functools import cached_property

from chat.service import ChatService
from qa.documents import DocumentStore
from qa.indexing import Log, stderr_log, open_index
from qa.pipeline import QAPipeline
from qa.settings import Settings
from qa.protocols import Reader, Retriever
from retriever.dense import DenseRetriever
from retriever.hybrid import HybridRetriever
from retriever.embedder import SentenceTransformerEmbedder
from retriever.store import StoredIndex


def make_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(settings.retrieval.embedding_model, device=settings.models.device)


def make_reader(settings: Settings) -> Reader:
    options = dict(max_seq_len=settings.reader.max_seq_len, doc_stride=settings.reader.doc_stride,
                   max_answer_tokens=settings.reader.max_answer_tokens, batch_size=settings.reader.batch_size,
                   min_score=settings.reader.min_answer_score)
    if settings.reader.kind == "transformers":
        if not settings.reader.model:
            raise ValueError("QA_READER=transformers needs QA_READER_MODEL (a local model directory)")
        from reader.transformers_reader import TransformersReader

        return TransformersReader(settings.reader.model, device=settings.models.device, **options)
    from reader.onnx_reader import DEFAULT_MODEL_DIR, OnnxReader

    # An empty QA_READER_MODEL means unset, as an absent one does.
    return OnnxReader(settings.reader.model or str(DEFAULT_MODEL_DIR), **options)


def make_retriever(settings: Settings, index: StoredIndex) -> Retriever:
    if settings.retrieval.kind == "dense":
        return DenseRetriever(index)
    return HybridRetriever(index, lexical_weight=settings.retrieval.lexical_weight)


@dataclass
class Service:
    """Everything a loaded QA service holds: the index (for listings) and the pipeline."""

    settings: Settings
    index: StoredIndex
    pipeline: QAPipeline
    embedder: SentenceTransformerEmbedder | None = None

    def swap_index(self, index: StoredIndex) -> None:
        """Serve ``index`` from now on; questions already running finish on the retriever they started with."""
        retriever = make_retriever(self.settings, index)
        self.index = index
        self.pipeline.retriever = retriever

    @cached_property
    def documents(self) -> DocumentStore:
        """Documents added over HTTP, stored under ``settings.index.documents_dir`` so that rebuilds keep them."""
        return DocumentStore(self.settings.index.documents_path, self.settings.index.index_dir, self.embedder,
                             current=lambda: self.index, swap=self.swap_index)

    @cached_property
    def chat(self) -> ChatService:
        """Conversations: follow-ups made standalone, then the same pipeline."""
        return ChatService(self.pipeline)


def default_sources(settings: Settings) -> list[Path]:
    """What a new index is built from: the configured corpus, plus documents added over HTTP if any."""
    docs = settings.index.documents_path
    return list(settings.index.corpus) + ([docs] if docs.is_dir() and any(docs.glob("*.jsonl")) else [])


def load_service(settings: Settings, build_if_missing: bool = False, log: Log = stderr_log,
                 refresh: bool = True) -> Service:
    embedder = make_embedder(settings)
    reader = make_reader(settings)
    index = open_index(settings.index.index_dir, embedder, default_sources(settings), build_if_missing, log, refresh)
    reader.warm_up()
    pipeline = QAPipeline(embedder, make_retriever(settings, index), reader, settings.retrieval.top_k,
                          settings.reader.max_answers)
    return Service(settings, index, pipeline, embedder)
