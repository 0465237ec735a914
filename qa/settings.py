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
    device: str = "cpu"
    host: str = "127.0.0.1"
    port: int = 8000
