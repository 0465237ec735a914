"""SQuAD-style scoring, checked against hand-computed values."""

import json

import pytest

from qa.evaluate import GoldFormatError, exact_match, f1, load_gold, normalize_answer, score_prediction


def test_normalisation_follows_squad():
    assert normalize_answer("The  Interfax, news agency!") == "interfax news agency"


def test_exact_match_and_f1():
    assert exact_match("the Global News", "Global News") == 1.0
    assert f1("Canadian Global News", "Global News") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert f1("Kyiv", "Lviv") == 0.0


def test_max_over_golds_and_no_answer():
    assert score_prediction("2014", ["in 2014", "2014"]) == (1.0, 1.0)
    assert score_prediction("", []) == (1.0, 1.0)
    assert score_prediction("something", []) == (0.0, 0.0)
    assert score_prediction("", ["Kyiv"]) == (0.0, 0.0)


def test_gold_file_errors_name_the_line(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps({"id": "1", "question": "q", "answers": []}) + "\n{\"id\": 2}\n", encoding="utf-8")
    with pytest.raises(GoldFormatError, match="gold.jsonl:2"):
        load_gold(path)


def test_dev_gold_set_shape():
    from tests.conftest import DEV_GOLD

    items = load_gold(DEV_GOLD)
    assert len(items) >= 40 and sum(1 for i in items if not i.answers) >= 8
    assert len({i.id for i in items}) == len(items)
