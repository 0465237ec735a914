"""The shipped int8 reader recovered into a trainable fp32 checkpoint that reads like the served model."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_recovered_checkpoint_gives_the_served_models_spans(tmp_path):
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from reader.onnx_reader import DEFAULT_MODEL_DIR
    from training.from_onnx import recover

    out = recover(DEFAULT_MODEL_DIR, tmp_path / "fp32")
    model = AutoModelForQuestionAnswering.from_pretrained(out, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(out, local_files_only=True)
    session = ort.InferenceSession(str(DEFAULT_MODEL_DIR / "model.onnx"), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    pairs = [("Who designed the lighthouse?", "The new lighthouse in Port Ellery was designed by architect Mira Okafor."),
             ("What did Germany offer to send?", "Baerbock said Germany has offered to send cybersecurity specialists.")]
    for question, context in pairs:
        enc = tokenizer([question], [context], return_tensors="np")
        served = session.run(None, {k: v.astype(np.int64) for k, v in enc.items() if k in names})
        with torch.no_grad():
            mine = model(**{k: torch.tensor(v) for k, v in enc.items()})
        # Same best start and end (the weights are the served ones; only activation rounding differs).
        assert int(np.argmax(served[0])) == int(mine.start_logits.argmax())
        assert int(np.argmax(served[1])) == int(mine.end_logits.argmax())
        assert np.abs(served[0] - mine.start_logits.numpy()).max() < 1.5
