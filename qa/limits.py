"""Input bounds, declared once: settings, the HTTP schemas, the chat endpoint and the CLI all use these."""

from __future__ import annotations

import re

QUESTION_MAX_CHARS = 1000
TOP_K_MAX = 50
MAX_ANSWERS_MAX = 10
MAX_ID_CHARS = 128
# Documents one question may be scoped to (doc_ids): a story and its follow-ups, not an archive.
MAX_SCOPE_DOCUMENTS = 100
# Passages are at most this long (about 300-350 tokens, under the reader's 384-token window): a longer paragraph
# is cut at sentence ends into parts, so no passage makes unbounded work for the embedder or the reader, and the
# embedder (256 tokens) sees most of each (of 19,944 SQuAD paragraphs, 98.6% are shorter).
MAX_PASSAGE_CHARS = 1500
# An article's metadata, on every route that adds one (JSON, PUT, every kind of upload): a title is copied into
# each of the article's passages and answers, so none of these may grow with the request.
MAX_TITLE_CHARS = 500
MAX_URL_CHARS = 2000
MAX_PUBLISHED_CHARS = 100
# An uploaded PDF is read in a process of its own, stopped past this deadline and held to this much memory: one
# page of 4 MB of text operators (a 14 KB file) takes pypdf some 20 s, and a stream may decompress to 75 MB.
PDF_READ_SECONDS = 10.0
# qa index reads a folder's PDFs the same way, with a longer deadline (a bulk import, no client waiting).
PDF_INDEX_SECONDS = 60.0
PDF_READ_MEMORY_BYTES = 1 << 30
# Document ids: no control characters, no space at either end; explicit classes, so JSON Schema (ECMA)
# and Python's re read the pattern the same way.
ID_PATTERN = r"^[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"
_SURROGATE = re.compile("[\ud800-\udfff]")
# "Not blank": a character outside every whitespace of Python's str.strip and of JSON Schema's (ECMA) \s,
# spelled out so that both regex engines read it the same (their \s differ).
NONBLANK_PATTERN = r"[^\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"


def has_text(text: str) -> bool:
    return re.search(NONBLANK_PATTERN, text) is not None


def clean_text(text: str) -> str:
    """Lone surrogates (valid in JSON, not in UTF-8) become U+FFFD, so nothing downstream chokes on them."""
    return _SURROGATE.sub("\ufffd", text)


def check_question(text: str) -> str:
    """The question as asked (stripped), or ValueError saying what is wrong with it."""
    if len(text) > QUESTION_MAX_CHARS:
        raise ValueError(f"question must be at most {QUESTION_MAX_CHARS} characters (got {len(text)})")
    if not has_text(text):
        raise ValueError("question must not be empty")
    return clean_text(text).strip()


def quoted(value: object, limit: int = 60) -> str:
    """A short, encodable rendering of user input for error messages (never the whole of it)."""
    text = clean_text(value if isinstance(value, str) else repr(value))
    return repr(text if len(text) <= limit else text[:limit] + "…")
# A publisher's name, and an article's topics: kept per document and matched by filters.
MAX_SOURCE_CHARS = 200
MAX_TOPICS = 20
MAX_TOPIC_CHARS = 100
# Sources and topics one filter may name.
MAX_FILTER_VALUES = 100
# Documents one page of GET /v1/documents lists at most (an archive of 30,000 articles is 5 MB listed whole).
MAX_LIST_PAGE = 1000
MAX_LIST_OFFSET = 1_000_000_000  # past every document an index holds; SQLite's integers end at 2**63
