"""The default reader: an exported QA model run by ONNX Runtime on the CPU, no PyTorch involved."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reader.span_reader import SpanReader

MODEL_FILE = "model.onnx"
# The reader trained and shipped with the project (see its MODEL_CARD.md).
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models" / "minilm-newsqa"


class OnnxReader(SpanReader):
    def __init__(self, model_path: str, *args, threads: int | None = None, **kwargs):
        super().__init__(model_path, *args, **kwargs)
        self.threads = threads
        self._session = None
        self._inputs: set[str] = set()

    def _load_tokenizer(self):
        from reader.tokenizer import PairTokenizer

        return PairTokenizer(self.model_path)  # no transformers, so no PyTorch, on the serving path

    def _load_model(self) -> None:
        import onnxruntime as ort

        path = Path(self.model_path) / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no ONNX model (export one with python -m training.ship)")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads:
            options.intra_op_num_threads = self.threads
        # Idle ORT workers otherwise spin after each run and starve the PyTorch query embedder that
        # runs next on the same cores (measured: embedding 6.5 ms alone, 17 ms after a spinning read).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def _forward_batch(self, input_ids, attention_mask, token_type_ids) -> tuple[np.ndarray, np.ndarray]:
        feed = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = (token_type_ids if token_type_ids is not None else np.zeros_like(input_ids)).astype(np.int64)
        start, end = self._session.run(["start_logits", "end_logits"], feed)
        return start, end
