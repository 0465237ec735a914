"""The ONNX Runtime reader decodes the same spans as the PyTorch one from the same model."""

import math

import numpy as np
import pytest

from qa.types import Passage, ScoredPassage
from reader.decode import Calibration
from reader.onnx_reader import OnnxReader
from training.export import export_onnx, matmul_nodes, quantize
from reader.transformers_reader import TransformersReader

ALWAYS = Calibration(threshold=-math.inf)
QUESTIONS = ["What did Baerbock say about weapons?", "Who supplies anti-tank weapons?"]


@pytest.fixture(scope="module")
def tiny_onnx_dir(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-onnx")
    export_onnx(tiny_model_dir, out)
    return out


def _passages(three_passages):
    long_text = " ".join(["Ben Wallace said Britain supplies anti-tank weapons."] * 8)
    long = Passage("long:0", "long", "Long", 0, long_text, 0, len(long_text))
    return [ScoredPassage(p, 1.0) for p in [*three_passages, long]]


def test_onnx_and_torch_readers_agree(tiny_model_dir, tiny_onnx_dir, three_passages):
    options = dict(max_seq_len=32, doc_stride=8, batch_size=3, calibration=ALWAYS)
    torch_reader = TransformersReader(str(tiny_model_dir), **options)
    onnx_reader = OnnxReader(str(tiny_onnx_dir), **options)
    passages = _passages(three_passages)
    texts = [[sp.passage.text for sp in passages]] * len(QUESTIONS)
    for a, b in zip(torch_reader.candidates_batch(QUESTIONS, texts), onnx_reader.candidates_batch(QUESTIONS, texts)):
        assert [(c.passage_index, c.start_char, c.end_char) for c in a[:5]] == \
               [(c.passage_index, c.start_char, c.end_char) for c in b[:5]]
        np.testing.assert_allclose([c.margin for c in a], [c.margin for c in b], atol=1e-4)
    answers = onnx_reader.read_batch(QUESTIONS, [passages] * 2, max_answers=3)
    assert all(answers)
    for found in answers:
        for ans in found:
            p = next(sp.passage for sp in passages if sp.passage.id == ans.passage_id)
            assert p.text[ans.start : ans.end] == ans.text


def test_quantized_model_runs_and_keeps_excluded_layers(tiny_onnx_dir, tmp_path, three_passages):
    nodes = matmul_nodes(tiny_onnx_dir / "model.onnx")
    assert nodes and any("qa_outputs" in n for n in nodes)
    target = tmp_path / "int8"
    target.mkdir()
    for f in tiny_onnx_dir.iterdir():
        if f.name != "model.onnx":
            (target / f.name).write_bytes(f.read_bytes())
    quantize(tiny_onnx_dir / "model.onnx", target / "model.onnx", exclude=nodes[:1])
    import onnx

    ops = {n.name: n.op_type for n in onnx.load(str(target / "model.onnx")).graph.node}
    assert ops.get(nodes[0]) == "MatMul"  # left in fp32
    assert any(op in ("MatMulInteger", "DynamicQuantizeMatMul") for op in ops.values())
    reader = OnnxReader(str(target), max_seq_len=32, doc_stride=8, calibration=ALWAYS)
    assert reader.read(QUESTIONS[0], _passages(three_passages), max_answers=2)


def test_missing_onnx_file_is_a_clear_error(tiny_model_dir):
    with pytest.raises(FileNotFoundError, match="no ONNX model"):
        OnnxReader(str(tiny_model_dir)).warm_up()
