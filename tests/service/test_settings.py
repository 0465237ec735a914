"""Every variable README documents reaches its setting, under the flat QA_* names, grouped by concern."""

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import ReaderSettings, Settings, variable

README = Path(__file__).resolve().parents[2] / "README.md"

# Variable -> (its value in the environment, the value the setting gets, where it lands).
EXPECTED = {
    "QA_INDEX_DIR": ("/tmp/i", "/tmp/i", lambda s: str(s.index.index_dir)),
    "QA_DOCUMENTS_DIR": ("/tmp/d", "/tmp/d", lambda s: str(s.index.documents_path)),
    "QA_FEEDBACK_FILE": ("/tmp/f.jsonl", "/tmp/f.jsonl", lambda s: str(s.index.feedback_path)),
    "QA_CORPUS": ('["/tmp/c"]', ["/tmp/c"], lambda s: [str(p) for p in s.index.corpus]),
    "QA_EMBEDDING_MODEL": ("/tmp/e", "/tmp/e", lambda s: s.retrieval.embedding_model),
    "QA_RETRIEVER": ("dense", "dense", lambda s: s.retrieval.kind),
    "QA_LEXICAL_WEIGHT": ("0.5", 0.5, lambda s: s.retrieval.lexical_weight),
    "QA_ARTICLE_WEIGHT": ("0.1", 0.1, lambda s: s.retrieval.article_weight),
    "QA_TOP_K": ("4", 4, lambda s: s.retrieval.top_k),
    "QA_READER": ("transformers", "transformers", lambda s: s.reader.kind),
    "QA_READER_MODEL": ("/tmp/m", "/tmp/m", lambda s: s.reader.model),
    "QA_READER_MAX_SEQ_LEN": ("256", 256, lambda s: s.reader.max_seq_len),
    "QA_READER_DOC_STRIDE": ("64", 64, lambda s: s.reader.doc_stride),
    "QA_READER_MAX_ANSWER_TOKENS": ("20", 20, lambda s: s.reader.max_answer_tokens),
    "QA_READER_BATCH_SIZE": ("8", 8, lambda s: s.reader.batch_size),
    "QA_MIN_ANSWER_SCORE": ("0.25", 0.25, lambda s: s.reader.min_answer_score),
    "QA_ANSWER_SELECTOR": ("true", True, lambda s: s.reader.selector),
    "QA_MAX_ANSWERS": ("2", 2, lambda s: s.reader.max_answers),
    "QA_DEVICE": ("cuda", "cuda", lambda s: s.models.device),
    "QA_HOST": ("0.0.0.0", "0.0.0.0", lambda s: s.server.host),
    "QA_PORT": ("8080", 8080, lambda s: s.server.port),
    "QA_CHAT_MODEL": ("m2", "m2", lambda s: s.server.chat_model),
    "QA_API_KEYS": ("a,b", ["a", "b"], lambda s: s.server.key_list),
    "QA_API_KEYS_FOR_READS": ("true", True, lambda s: s.server.api_keys_for_reads),
    "QA_RATE_LIMIT_PER_MINUTE": ("7", 7, lambda s: s.server.rate_limit_per_minute),
    "QA_TRUSTED_PROXIES": ("127.0.0.1", "127.0.0.1", lambda s: s.server.trusted_proxies),
    "QA_MAX_CONCURRENT": ("3", 3, lambda s: s.server.max_concurrent),
    "QA_MAX_QUEUED": ("2", 2, lambda s: s.server.max_queued),
    "QA_QUEUE_TIMEOUT_S": ("1.5", 1.5, lambda s: s.server.queue_timeout_s),
    "QA_MAX_BODY_BYTES": ("2048", 2048, lambda s: s.server.max_body_bytes),
    "QA_MAX_CHAT_BODY_BYTES": ("4096", 4096, lambda s: s.server.max_chat_body_bytes),
    "QA_MAX_UPLOAD_BYTES": ("4096", 4096, lambda s: s.server.max_upload_bytes),
    "QA_BODY_TIMEOUT_S": ("3", 3.0, lambda s: s.server.body_timeout_s),
    "QA_MAX_CONNECTIONS": ("9", 9, lambda s: s.server.max_connections),
    "QA_KEEP_ALIVE_S": ("4", 4, lambda s: s.server.keep_alive_s),
    "QA_HEADER_TIMEOUT_S": ("6", 6.0, lambda s: s.server.header_timeout_s),
    "QA_WRITE_TIMEOUT_S": ("7.5", 7.5, lambda s: s.server.write_timeout_s),
    "QA_RECENCY_HALF_LIFE_DAYS": ("14", 14.0, lambda s: s.retrieval.recency_half_life_days),
    "QA_RANKER": ("false", False, lambda s: s.retrieval.ranker),
    "QA_MAX_HTML_BYTES": ("4096", 4096, lambda s: s.server.max_html_bytes),
    "QA_MAX_UPLOAD_DOCUMENTS": ("7", 7, lambda s: s.server.max_upload_documents),
    "QA_MAX_WRITE_PASSAGES": ("9", 9, lambda s: s.server.max_write_passages),
    "QA_QUESTION_TIMEOUT_S": ("12.5", 12.5, lambda s: s.server.question_timeout_s),
    "QA_SLACK_SIGNING_SECRET": ("sec", "sec", lambda s: s.slack.signing_secret and s.slack.signing_secret.get_secret_value()),
    "QA_SLACK_BOT_TOKEN": ("tok", "tok", lambda s: s.slack.bot_token and s.slack.bot_token.get_secret_value()),
    "QA_SLACK_API_URL": ("http://x/api/", "http://x/api/", lambda s: s.slack.api_url),
}


@pytest.fixture(autouse=True)
def _no_qa_variables(monkeypatch):
    """Each test starts from the defaults, whatever the shell running the tests has set."""
    for name in [n for n in os.environ if n.startswith("QA_")]:
        monkeypatch.delenv(name)


def test_every_documented_variable_is_a_setting():
    table = README.read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(QA_[A-Z_]+)`", table))
    assert documented == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_variable_reaches_its_setting(monkeypatch, name):
    raw, value, where = EXPECTED[name]
    assert where(Settings()) != value  # unset, the setting has its default
    monkeypatch.setenv(name, raw)
    assert where(Settings()) == value


def test_a_bad_value_names_its_variable(monkeypatch):
    monkeypatch.setenv("QA_READER_BATCH_SIZE", "many")
    with pytest.raises(ValidationError) as exc:
        Settings()
    assert variable(str(exc.value.errors()[0]["loc"][0]), exc.value.title) == "QA_READER_BATCH_SIZE"


def test_code_sets_fields_by_name_and_copies_are_checked():
    assert ReaderSettings(kind="transformers", min_answer_score=0.5).min_answer_score == 0.5
    settings = Settings().with_(server={"rate_limit_per_minute": 0}, index={"index_dir": "/tmp/x"})
    assert settings.server.rate_limit_per_minute == 0 and isinstance(settings.index.index_dir, Path)
    with pytest.raises(ValidationError):
        Settings().with_(reader={"max_answers": 0})
    with pytest.raises(ValidationError):
        Settings(readers={})
    with pytest.raises(ValueError, match="no settings group readers"):
        Settings().with_(readers={"kind": "onnx"})


def test_slack_is_on_only_with_both_secrets_non_empty(monkeypatch):
    monkeypatch.setenv("QA_SLACK_SIGNING_SECRET", "sec")
    assert not Settings().slack.enabled
    monkeypatch.setenv("QA_SLACK_BOT_TOKEN", "")
    assert not Settings().slack.enabled
    monkeypatch.setenv("QA_SLACK_BOT_TOKEN", "xoxb-1")
    assert Settings().slack.enabled
