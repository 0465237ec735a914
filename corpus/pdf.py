"""PDF articles: text per page (pypdf), paragraphs rebuilt across line breaks, each paragraph's page kept."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

# A PDF starts with this (after, at most, a byte-order mark or blank space).
PDF_MAGIC = b"%PDF-"
_SENTENCE_END = ('.', '!', '?', ':', '"', '”', "'", '’', ')')


class PdfError(ValueError):
    """The bytes are not a readable PDF with text in it; the message says why, without internals."""


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


def _page_paragraphs(text: str) -> tuple[list[str], list[str]]:
    """A page's lines joined back into paragraphs, and its headings apart: a blank line, or a short line that
    ends a sentence, ends a paragraph; a short line without a sentence's end that starts one is a heading;
    a word hyphenated at a line's end is joined again."""
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    widths = sorted(len(ln) for ln in lines if ln)
    full = widths[int(len(widths) * 0.8)] if widths else 0  # what a full line of this page is
    paragraphs: list[str] = []
    headings: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if not current and not line.endswith(_SENTENCE_END) and len(line) < 0.6 * full and line[:1].isupper():
            headings.append(line)
            continue
        if current.endswith("-") and line[:1].islower():
            current = current[:-1] + line
        else:
            current = f"{current} {line}" if current else line
        if line.endswith(_SENTENCE_END) and len(line) < 0.8 * full:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return [re.sub(r"\s+", " ", p).strip() for p in paragraphs if p.strip()], headings


def read_pdf(raw: bytes) -> PdfText:
    """Paragraphs of a PDF's text layer; a paragraph broken by a page break is joined (its page: where it starts)."""
    if not is_pdf(raw):
        raise PdfError("not a PDF (it does not start with %PDF-)")
    from pypdf import PdfReader  # only when a PDF arrives
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise PdfError("the PDF is encrypted; send an unprotected copy")
        texts = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = (meta.title or "").strip() if meta is not None else ""
    except PdfError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError) as exc:
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
    return PdfText(title or first_heading, "\n\n".join(p for p, _ in paragraphs), tuple(spans), tuple(pg for _, pg in paragraphs))
