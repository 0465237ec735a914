"""Runtime settings from ``QA_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from corpus.loader import DEFAULT_CORPUS_DIR
from qa.limits import MAX_ANSWERS_MAX, TOP_K_MAX


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    index_dir: Path = Path(".qa/index")
    # Where documents added over HTTP are kept (one .jsonl each); None: "documents" beside the index.
    documents_dir: Path | None = None
    # Sources used when no index exists yet; `qa index PATH` adds more.
    corpus: list[Path] = Field(default_factory=lambda: [DEFAULT_CORPUS_DIR])
    # Local sentence-transformers directory; None means the bundled all-MiniLM-L6-v2.
    embedding_model: str | None = None
    retriever: Literal["hybrid", "dense"] = "hybrid"
    # Share of BM25 in the hybrid score (0 = dense only).
    lexical_weight: float = Field(default=0.3, ge=0.0, le=1.0)
    # onnx: an exported QA model under ONNX Runtime (default: the shipped reader/models/minilm-newsqa);
    # transformers: any local Hugging Face extractive QA model under PyTorch.
    reader: Literal["onnx", "transformers"] = "onnx"
    # Local model directory; None means the shipped reader (for reader=onnx).
    reader_model: str | None = None
    reader_max_seq_len: int = 384
    reader_doc_stride: int = 128
    reader_max_answer_tokens: int = 30
    reader_batch_size: int = 16
    # The operating point: answer only with a score (estimated probability of being right) of at
    # least this. None: the model's calibrated threshold (calibration.json), tuned on held-out data.
    min_answer_score: float | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int = Field(default=5, ge=1, le=TOP_K_MAX)
    max_answers: int = Field(default=3, ge=1, le=MAX_ANSWERS_MAX)
    # The model id the OpenAI-compatible endpoint lists (GET /v1/models) and answers as.
    chat_model: str = "news-qa"
    # Slack (Bolt app at /slack/events): on only when both are set; never logged.
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    # Slack Web API base URL (default Slack's own); tests point it at a local fake.
    slack_api_url: str | None = None
    # Operations. API keys (comma-separated, never logged): with keys set, writes need one (Authorization:
    # Bearer KEY or X-API-Key); without any, writes are accepted from this machine only.
    api_keys: SecretStr | None = None
    # Also require a key for reads (ask, chat, listings).
    api_keys_for_reads: bool = False
    # Requests per minute per key (or per client address without one); 0 disables.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    # Questions the models work on at once; up to max_queued more wait (at most queue_timeout_s); the rest
    # get 503 + Retry-After at once.
    max_concurrent: int = Field(default=4, ge=1, le=256)
    max_queued: int = Field(default=8, ge=0, le=4096)
    queue_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # Request bodies: JSON endpoints and document uploads; a body slower than body_timeout_s gets 408.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    body_timeout_s: float = Field(default=15.0, gt=0, le=600)
    # Open connections uvicorn serves at once (more get 503) and its keep-alive idle timeout.
    max_connections: int = Field(default=256, ge=8)
    keep_alive_s: int = Field(default=5, ge=1, le=300)
    # A connection that has not sent complete request headers within this is closed.
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # "This answer is wrong" reports (POST /v1/feedback) land here; qa eval reads the file as gold.
    feedback_file: Path | None = None
    device: str = "cpu"
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def feedback_path(self) -> Path:
        return self.feedback_file if self.feedback_file is not None else self.index_dir.parent / "feedback.jsonl"

    @property
    def key_list(self) -> list[str]:
        raw = self.api_keys.get_secret_value() if self.api_keys is not None else ""
        return [k.strip() for k in raw.split(",") if k.strip()]

    @property
    def documents_path(self) -> Path:
        return self.documents_dir if self.documents_dir is not None else self.index_dir.parent / "documents"
