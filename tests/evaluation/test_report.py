"""qa eval --report: the HTML page, its plots and its pieces."""

import re

import numpy as np
import pytest

from evaluation.report import question_type, sweep
from tests.conftest import DEV_GOLD
from tests.cli.test_cli import run_qa


@pytest.mark.parametrize("question, kind", [
    ("How many troops are there?", "how many"), ("How much did it cost?", "how many"), ("Who is he?", "who"),
    ("Whom did he meet?", "who"), ("What year was it?", "when"), ("How did it end?", "how"),
    ("Which country?", "which"), ("What did she say?", "what"), ("Is it true?", "other"),
])
def test_question_types(question, kind):
    assert question_type(question) == kind


def test_sweep_answers_above_the_threshold_and_counts_abstentions_right_on_unanswerables():
    rows = [{"score": 0.9, "f1": 1.0, "has_answer": True}, {"score": 0.3, "f1": 0.0, "has_answer": False},
            {"score": 0.6, "f1": 0.0, "has_answer": True}]
    f1, rate = sweep(rows, np.array([0.0, 0.5, 1.0]))
    assert np.allclose(f1, [100 / 3, 200 / 3, 100 / 3]) and np.allclose(rate, [100, 200 / 3, 0])


@pytest.mark.slow
def test_report_page_has_every_plot_and_the_worst_misses(tmp_path):
    r = run_qa("eval", str(DEV_GOLD), "--report", str(tmp_path / "out"), index_dir=tmp_path / "idx")
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<img alt="(types|hasans|reliability|calibration|sweep|latency)" src="data:image/png;base64,', page)) == 6
    assert "right at 80% coverage" in page and "expected calibration error" in page
    assert "Worst misses" in page and "<mark>" in page and "http" not in page.replace("http-equiv", "")
