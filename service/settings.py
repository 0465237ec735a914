"""Runtime settings from ``QA_*`` environment variables (pydantic-settings), grouped by concern.

Each group reads its own variables; the names are the flat ``QA_*`` ones README documents
(``QA_READER_MODEL`` is ``settings.reader.model``). Bounds live here and in ``qa.limits``, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from corpus.loader import DEFAULT_CORPUS_DIR
from qa.filters import RECENCY_MAX_DAYS, RECENCY_MIN_DAYS
from qa.limits import MAX_ANSWERS_MAX, TOP_K_MAX
from reader.features import DOC_STRIDE, MAX_SEQ_LEN


def _config(prefix: str = "QA_") -> SettingsConfigDict:
    # A field named apart from its variable (QA_READER is reader.kind) sets validation_alias to the
    # variable; populate_by_name keeps the field's own name for code: ReaderSettings(kind="onnx").
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", populate_by_name=True)


class IndexSettings(BaseSettings):
    """Where the index, the documents added over HTTP and the feedback live, and what a new index holds."""

    model_config = _config()

    index_dir: Path = Path(".qa/index")
    # Documents added over HTTP live in the index itself; a .jsonl folder here (from earlier versions) is
    # still read as a source. None: "documents" beside the index.
    documents_dir: Path | None = None
    # Sources used when no index exists yet; `qa index PATH` adds more.
    corpus: list[Path] = Field(default_factory=lambda: [DEFAULT_CORPUS_DIR])
    # "This answer is wrong" reports (POST /v1/feedback); None: feedback.jsonl beside the index.
    feedback_file: Path | None = None

    @property
    def documents_path(self) -> Path:
        return self.documents_dir if self.documents_dir is not None else self.index_dir.parent / "documents"

    @property
    def feedback_path(self) -> Path:
        return self.feedback_file if self.feedback_file is not None else self.index_dir.parent / "feedback.jsonl"


class RetrievalSettings(BaseSettings):
    model_config = _config()

    # None: the shipped int8 ONNX export of all-MiniLM-L6-v2 (retriever/models/minilm-l6-int8); a directory
    # with a model.onnx: such an export; any other directory: a sentence-transformers model (PyTorch).
    embedding_model: str | None = None
    kind: Literal["hybrid", "dense"] = Field(default="hybrid", validation_alias="QA_RETRIEVER")
    # Share of BM25 in the hybrid score (0 = dense only). With article_weight, chosen on the NewsQA and SQuAD tune
    # questions' recall@5 by python -m training.retrieval (README, "News scoreboard").
    lexical_weight: float = Field(default=0.4, ge=0.0, le=1.0)
    # Weight of a passage's article: the best score of another passage of the same article among the candidates
    # (0 = each passage alone). See retriever/hybrid.py.
    article_weight: float = Field(default=0.2, ge=0.0, le=1.0)
    # true: each question's pool widens to every passage of its best articles and the learned passage ranker
    # shipped in retriever/models/ranker orders it (RANKER.md there); false: the fixed fusion above orders it.
    ranker: bool = Field(default=True, validation_alias="QA_RANKER")
    # Passages per question when a request does not say.
    top_k: int = Field(default=5, ge=1, le=TOP_K_MAX)
    # Prefer newer passages for every question that does not say otherwise: a passage this many days older than
    # the newest candidate weighs half as much (retriever/hybrid.py). None (the default): no preference.
    recency_half_life_days: float | None = Field(default=None, ge=RECENCY_MIN_DAYS, le=RECENCY_MAX_DAYS)


class ReaderSettings(BaseSettings):
    model_config = _config("QA_READER_")

    # onnx: an exported QA model under ONNX Runtime (default: the shipped reader/models/minilm-newsqa);
    # transformers: any local Hugging Face extractive QA model under PyTorch.
    kind: Literal["onnx", "transformers"] = Field(default="onnx", validation_alias="QA_READER")
    # Local model directory; None means the shipped reader (for kind onnx).
    model: str | None = None
    max_seq_len: int = MAX_SEQ_LEN
    doc_stride: int = DOC_STRIDE
    max_answer_tokens: int = 30
    batch_size: int = 16
    # The operating point: answer only with a score (estimated probability of being right) of at
    # least this. None: the model's calibrated threshold (calibration.json), tuned on held-out data.
    min_answer_score: float | None = Field(default=None, ge=0.0, le=1.0,
                                           validation_alias="QA_MIN_ANSWER_SCORE")
    # true: the learned answer selector shipped beside the model (selector.txt) ranks the spans and gives the score;
    # false (the default, see reader/models/minilm-newsqa/SELECTOR.md for why): the calibrated margin does.
    selector: bool = Field(default=False, validation_alias="QA_ANSWER_SELECTOR")
    # Answers per question when a request does not say.
    max_answers: int = Field(default=3, ge=1, le=MAX_ANSWERS_MAX, validation_alias="QA_MAX_ANSWERS")


class SlackSettings(BaseSettings):
    """The Bolt app at /slack/events: on only when both secrets are set; neither is ever logged."""

    model_config = _config("QA_SLACK_")

    signing_secret: SecretStr | None = None
    bot_token: SecretStr | None = None
    # Slack Web API base URL (default Slack's own); tests point it at a local fake.
    api_url: str | None = None

    @property
    def enabled(self) -> bool:
        """Both secrets set and non-empty (an empty variable leaves Slack off)."""
        return all(v is not None and v.get_secret_value().strip() for v in (self.signing_secret, self.bot_token))


class ServerSettings(BaseSettings):
    """The HTTP server: where it listens, who may call it, and how much it takes on."""

    model_config = _config()

    host: str = "127.0.0.1"
    port: int = 8000
    # The model id the OpenAI-compatible endpoint lists (GET /v1/models) and answers as.
    chat_model: str = "news-qa"
    # API keys (comma-separated, never logged): with keys set, writes need one (Authorization:
    # Bearer KEY or X-API-Key); without any, writes are accepted from this machine only.
    api_keys: SecretStr | None = None
    # Also require a key for reads (ask, chat, listings).
    api_keys_for_reads: bool = False
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses, or *); empty: none, so every
    # client is known by its own address (for rate limits and logs).
    trusted_proxies: str = ""
    # Requests per minute per key (or per client address without one); 0 disables.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    # Questions the models work on at once; up to max_queued more wait (at most queue_timeout_s); the rest
    # get 503 + Retry-After at once.
    max_concurrent: int = Field(default=4, ge=1, le=256)
    max_queued: int = Field(default=8, ge=0, le=4096)
    queue_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # A question not answered within this gets 504 (its work is bounded by passage length and top_k, so the
    # worker finishes soon after and frees its slot; the client is not kept waiting).
    question_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # Request bodies: JSON endpoints and document uploads; a body slower than body_timeout_s gets 408.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # A chat UI sends the whole conversation with every question (only its last turns are read).
    max_chat_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Work one write may ask for (more gets 413; bulk imports belong to `qa index`): HTML parsed (trafilatura
    # takes seconds a megabyte), documents in one upload, and passages embedded for one request.
    max_html_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_upload_documents: int = Field(default=1000, ge=1)
    max_write_passages: int = Field(default=2000, ge=1)
    body_timeout_s: float = Field(default=15.0, gt=0, le=600)
    # Open connections uvicorn serves at once (more get 503) and its keep-alive idle timeout.
    max_connections: int = Field(default=256, ge=8)
    keep_alive_s: int = Field(default=5, ge=1, le=300)
    # A connection that has not sent complete request headers within this is closed.
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # A connection whose client takes nothing of a queued answer for this long is closed (a client that never
    # reads would otherwise keep the answer in memory and the connection open).
    write_timeout_s: float = Field(default=30.0, gt=0, le=600)

    @property
    def key_list(self) -> list[str]:
        raw = self.api_keys.get_secret_value() if self.api_keys is not None else ""
        return [k.strip() for k in raw.split(",") if k.strip()]


class ModelSettings(BaseSettings):
    model_config = _config()

    # Where the embedder and the PyTorch reader run ("cpu", "cuda"); the ONNX reader runs on the CPU.
    device: str = "cpu"


class Settings(BaseModel):
    """Every setting, by concern; ``Settings()`` reads the environment."""

    # A misspelt group is an error, not a silently ignored override.
    model_config = ConfigDict(extra="forbid")

    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    reader: ReaderSettings = Field(default_factory=ReaderSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)

    def with_(self, **groups: dict) -> "Settings":
        """A copy with some fields of some groups replaced and checked: ``settings.with_(index={"index_dir": d})``."""
        def replaced(group: BaseSettings, fields: dict) -> BaseSettings:
            # Keyword arguments win over the environment, so the copy keeps every other value as it was.
            return type(group)(**{**group.model_dump(), **fields})

        unknown = sorted(set(groups) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"no settings group {', '.join(unknown)} (groups: {', '.join(type(self).model_fields)})")
        return self.model_copy(update={name: replaced(getattr(self, name), fields) for name, fields in groups.items()})

    def answer_fingerprint(self) -> str:
        """A short hash of the settings that shape an answer (models, retrieval, operating point, defaults per
        request): two processes with the same one answer a question alike over the same index."""
        import hashlib
        import json

        shaping = {"retrieval": self.retrieval.model_dump(mode="json"),
                   "reader": self.reader.model_dump(mode="json", exclude={"batch_size"})}
        return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def variable(field: str, group: str | None = None) -> str:
    """The environment variable behind ``field`` (of the group class named ``group``, else of any group)."""
    if field.upper().startswith("QA_"):
        return field.upper()
    groups = [cls for cls in BaseSettings.__subclasses__() if cls.__module__ == __name__]
    owner = next((cls for cls in groups if cls.__name__ == group or (group is None and field in cls.model_fields)), None)
    return f"{owner.model_config['env_prefix'] if owner else 'QA_'}{field}".upper()
