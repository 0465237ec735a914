"""Candidate comparison on a tiny model: fp32 and every quantization scheme scored on the named articles only."""

import json

import pytest

from training.candidates import compare, exclusion_sets

pytestmark = pytest.mark.slow

CONTEXT = "ben wallace said britain supplies anti - tank weapons ."


def _squad2(path):
    qas = [{"id": "a", "question": "who said britain supplies weapons ?", "is_impossible": False,
            "answers": [{"text": "ben wallace", "answer_start": 0}]},
           {"id": "b", "question": "what did canada deploy ?", "is_impossible": True, "answers": []}]
    other = [{"id": "c", "question": "what did britain supply ?", "is_impossible": False,
              "answers": [{"text": "weapons", "answer_start": CONTEXT.index("weapons")}]}]
    data = [{"title": "Tiny", "paragraphs": [{"context": CONTEXT, "qas": qas}]},
            {"title": "Reported", "paragraphs": [{"context": CONTEXT, "qas": other}]}]
    path.write_text(json.dumps({"version": "v2.0", "data": data}))
    return path


def test_every_scheme_is_scored_on_the_named_articles(tiny_model_dir, tmp_path):
    rows = compare([tiny_model_dir], _squad2(tmp_path / "dev.json"), titles=("Tiny",), log=lambda _: None)
    schemes = [r["scheme"] for r in rows]
    assert schemes[0] == "fp32" and len(schemes) == 1 + len(set(schemes[1:])) and len(schemes) == 7
    for row in rows:
        assert row["total"] == 2 and 0 <= row["f1"] <= 100  # the "Reported" article is never read


def test_exclusion_sets_keep_the_default_and_name_real_nodes():
    nodes = [f"/bert/encoder/layer.{k}/{part}/MatMul" for k in range(3)
             for part in ("attention/self/query", "attention/output/dense", "intermediate/dense", "output/dense")]
    nodes.append("/qa_outputs/MatMul")
    sets = exclusion_sets(nodes)
    assert sets["default"] == ["/bert/encoder/layer.0/output/dense/MatMul", "/bert/encoder/layer.1/output/dense/MatMul"]
    assert "/qa_outputs/MatMul" in sets["default+head"] and len(sets["ffn_out_all"]) == 3
    assert all(set(s) <= set(nodes) for s in sets.values())


def test_bad_input_is_a_one_line_error(tiny_model_dir, tmp_path, capsys):
    from training.candidates import main

    for argv in ([str(tmp_path / "none"), "--squad2", str(tmp_path / "dev.json")],
                 [str(tiny_model_dir), "--squad2", str(tmp_path / "missing.json")]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and capsys.readouterr().err.startswith("error: ")


def test_only_the_named_schemes(tiny_model_dir, tmp_path):
    rows = compare([tiny_model_dir], _squad2(tmp_path / "dev.json"), titles=("Tiny",), log=lambda _: None,
                   schemes={"default"})
    assert [r["scheme"] for r in rows] == ["fp32", "int8 default"]
