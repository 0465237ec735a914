"""Gold files: our JSONL, SQuAD JSON (plain or gzipped), with errors that name the line."""

import json

import pytest

from evaluation.evaluate import GoldFormatError, load_gold


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


def test_squad_json_and_gzip_load_with_paragraphs(tmp_path):
    import gzip

    context = "Mira Okafor designed the lighthouse."
    data = {"version": "1.1", "data": [{"title": "Harbour", "paragraphs": [{"context": context, "qas": [
        {"id": "x", "question": "Who designed it?", "answers": [{"text": "Mira Okafor", "answer_start": 0}]},
        {"id": "y", "question": "When?", "is_impossible": True, "answers": []}]}]}]}
    plain, zipped = tmp_path / "s.json", tmp_path / "s.json.gz"
    plain.write_text(json.dumps(data), encoding="utf-8")
    with gzip.open(zipped, "wt", encoding="utf-8") as fh:
        json.dump(data, fh)
    for path in (plain, zipped):
        items = load_gold(path)
        assert [(i.id, i.answers, i.context, i.title) for i in items] == [
            ("x", ["Mira Okafor"], context, "Harbour"), ("y", [], context, "Harbour")]
