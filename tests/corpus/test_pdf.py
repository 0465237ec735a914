"""PDF reading within a budget: pypdf's decompression limit and a deadline are refusals (PdfTooLarge), not 500s."""

import time

import pytest

from corpus.pdf import PdfTooLarge, read_pdf
from tests.conftest import decompression_bomb_pdf, make_pdf, slow_pdf


@pytest.mark.parametrize("seconds", [None, 30])  # in this process, and in a worker
def test_a_stream_past_pypdfs_limit_is_too_large_not_a_crash(seconds):
    bomb = decompression_bomb_pdf()
    assert len(bomb) < 100_000
    with pytest.raises(PdfTooLarge, match="too large once decompressed"):
        read_pdf(bomb, seconds, 1 << 30)


def test_a_pdf_that_takes_longer_than_its_deadline_is_stopped():
    started = time.monotonic()
    with pytest.raises(PdfTooLarge, match="longer than 1 s"):
        read_pdf(slow_pdf(), 1, 1 << 30)
    assert time.monotonic() - started < 5


def test_the_worker_reads_what_this_process_reads():
    pdf = make_pdf([["Report on the Harbour Dam", "The new harbour dam was finished in March after four years of",
                     "construction work. It cost 3.2 billion euros."],
                    ["The dam was designed by the engineer Anneke Visser, who", "led the project."]], compress=True)
    here = read_pdf(pdf)
    assert read_pdf(pdf, 30, 1 << 30) == here
    assert here.title == "Report on the Harbour Dam" and here.pages == (1, 2)
