"""PDF articles: text per page (pypdf), paragraphs rebuilt across line breaks, each paragraph's page kept."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from qa.dates import from_pdf

# A PDF starts with this (after, at most, a byte-order mark or blank space).
PDF_MAGIC = b"%PDF-"
_SENTENCE_END = ('.', '!', '?', ':', '"', '”', "'", '’', ')')


class PdfError(ValueError):
    """The bytes are not a readable PDF with text in it; the message says why, without internals."""


class PdfTooLarge(PdfError):
    """Reading the PDF needs more than its budget: more time or memory, or past pypdf's decompression limits."""


def is_pdf(raw: bytes) -> bool:
    """Whether the bytes are a PDF; a text that merely mentions "%PDF-" is not one."""
    return raw[:1024].lstrip(b"\xef\xbb\xbf \t\r\n\x00").startswith(PDF_MAGIC)


@dataclass(frozen=True)
class PdfText:
    """The article's text (paragraphs separated by blank lines), each paragraph's span and 1-based page."""

    title: str | None
    text: str
    spans: tuple[tuple[int, int], ...]
    pages: tuple[int, ...]
    published: str | None = None  # the document's creation date from its metadata (ISO 8601)


def _page_paragraphs(text: str) -> tuple[list[str], list[str]]:
    """A page's lines joined back into paragraphs, and its headings apart: a blank line, or a short line that
    ends a sentence, ends a paragraph; a short line without a sentence's end that starts one is a heading;
    a word hyphenated at a line's end is joined again."""
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    widths = sorted(len(ln) for ln in lines if ln)
    full = widths[int(len(widths) * 0.8)] if widths else 0  # what a full line of this page is
    paragraphs: list[str] = []
    headings: list[str] = []
    current: list[str] = []  # the paragraph's lines so far (joined once: a page of one long paragraph stays linear)
    for line in lines:
        if not line:
            if current:
                paragraphs.append(" ".join(current))
            current = []
            continue
        if not current and not line.endswith(_SENTENCE_END) and len(line) < 0.6 * full and line[:1].isupper():
            headings.append(line)
            continue
        if current and current[-1].endswith("-") and line[:1].islower():
            current[-1] = current[-1][:-1] + line
        else:
            current.append(line)
        if line.endswith(_SENTENCE_END) and len(line) < 0.8 * full:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return [re.sub(r"\s+", " ", p).strip() for p in paragraphs if p.strip()], headings


def read_pdf(raw: bytes, seconds: float | None = None, memory_bytes: int | None = None) -> PdfText:
    """Paragraphs of a PDF's text layer; a paragraph broken by a page break is joined (its page: where it starts).

    With ``seconds``, the PDF is read in a process of its own, stopped past that deadline and (where the system
    allows) held to ``memory_bytes``: a hostile PDF costs at most that, and is PdfTooLarge."""
    if not is_pdf(raw):
        raise PdfError("not a PDF (it does not start with %PDF-)")
    return _read(raw) if seconds is None else _read_in_worker(raw, seconds, memory_bytes)


def _read_in_worker(raw: bytes, seconds: float, memory_bytes: int | None) -> PdfText:
    root = str(Path(__file__).resolve().parents[1])  # where the corpus package is, for the worker's import
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    try:
        done = subprocess.run([sys.executable, "-m", "corpus.pdf", str(memory_bytes or 0)], input=raw,
                              capture_output=True, timeout=seconds, env=env, check=False)
    except subprocess.TimeoutExpired:  # run() has killed the worker
        raise PdfTooLarge(f"reading the PDF takes longer than {seconds:g} s; send its text as .txt or .md") from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    if done.returncode != 0 or not isinstance(answer, dict):
        raise PdfError(f"cannot read the PDF (the reader stopped with status {done.returncode})")
    if "error" in answer:
        raise (PdfTooLarge if answer.get("too_large") else PdfError)(answer["error"])
    return PdfText(answer["title"], answer["text"], tuple(map(tuple, answer["spans"])), tuple(answer["pages"]),
                   answer.get("published"))


def _worker(memory_bytes: int) -> int:
    """``python -m corpus.pdf MEMORY_BYTES``: a PDF on stdin, its PdfText (or the error) as JSON on stdout."""
    if memory_bytes > 0:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        except (ImportError, ValueError, OSError):  # not on this system: the deadline still holds
            pass
    raw = sys.stdin.buffer.read()
    try:
        pdf = _read(raw)
        answer = {"title": pdf.title, "text": pdf.text, "spans": pdf.spans, "pages": pdf.pages,
                  "published": pdf.published}
    except PdfError as exc:
        answer = {"error": str(exc), "too_large": isinstance(exc, PdfTooLarge)}
    sys.stdout.write(json.dumps(answer))
    return 0


def _read(raw: bytes) -> PdfText:
    from pypdf import PdfReader, errors  # only when a PDF arrives

    # A stream decoding past pypdf's limits (LimitReachedError, where this pypdf has it), or past our memory.
    too_large = (MemoryError, *((errors.LimitReachedError,) if hasattr(errors, "LimitReachedError") else ()))
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise PdfError("the PDF is encrypted; send an unprotected copy")
        texts = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = (meta.title or "").strip() if meta is not None else ""
        created = from_pdf(str(meta.get("/CreationDate") or "")) if meta is not None else None
    except PdfError:
        raise
    except too_large:
        raise PdfTooLarge("the PDF's content is too large once decompressed") from None
    except (errors.PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
            RecursionError) as exc:
        raise PdfError(f"cannot read the PDF ({exc.__class__.__name__})") from None
    paragraphs: list[tuple[str, int]] = []
    first_heading = None
    for number, text in enumerate(texts, start=1):
        page_paragraphs, headings = _page_paragraphs(text)
        first_heading = first_heading or (headings[0] if headings else None)
        for n, paragraph in enumerate(page_paragraphs):
            previous = paragraphs[-1][0] if paragraphs else ""
            if n == 0 and previous and not previous.endswith(_SENTENCE_END) and paragraph[:1].islower():
                paragraphs[-1] = (f"{previous} {paragraph}", paragraphs[-1][1])  # continued from the last page
            else:
                paragraphs.append((paragraph, number))
    if not paragraphs:
        raise PdfError("the PDF has no text layer (scanned pages? run OCR on it first)")
    spans, pos = [], 0
    for paragraph, _ in paragraphs:
        spans.append((pos, pos + len(paragraph)))
        pos += len(paragraph) + 2
    # No title in the metadata: the first heading (a headline), as Markdown's first heading is.
    return PdfText(title or first_heading, "\n\n".join(p for p, _ in paragraphs), tuple(spans),
                   tuple(pg for _, pg in paragraphs), created)


if __name__ == "__main__":
    sys.exit(_worker(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
