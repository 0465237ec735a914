"""The default embedder: all-MiniLM-L6-v2 exported to int8 ONNX, run by ONNX Runtime (no PyTorch).

Mean pooling over the attention mask and L2 normalisation, as sentence-transformers does for this model.
The shipped export quantizes each MatMul's input per token (``training.export.per_row_activations``), so a text's
vector is the same alone or padded into any batch (``embedder.json`` says ``batch_invariant``): many texts run
padded together in batches sorted by length, up to ``BULK_TOKENS`` a batch. An export without that flag
(one scale for a whole input tensor) runs texts one at a time, since there padding mates would move a vector.

Many texts at once (indexing) run on every core, a batch per core: one single-threaded session shared by
``workers`` threads (ONNX Runtime releases the GIL while it runs), which keeps each core busy with whole
batches instead of splitting small matrices across cores. A single text (a question) runs on the
multi-threaded session.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from qa.offline import go_offline

MODEL_FILE = "model.onnx"
# Shipped with the project (made by python -m training.export_embedder).
DEFAULT_DIR = Path(__file__).resolve().parent / "models" / "minilm-l6-int8"
# A batch-invariant export pads texts together up to this many tokens a run (padded length x texts): short
# news paragraphs (about 50 tokens) go five at a time, 1.1-1.4x faster than alone in noisy runs on this
# machine; longer ones one or two at a time, where bigger batches measured no faster.
BULK_TOKENS = 256
# And never more texts than this in one run.
BULK_BATCH = 8


class OnnxEmbedder:
    """Loads on ``warm_up()`` (or first use); never reaches a model hub."""

    def __init__(self, model_dir: str | Path | None = None, batch_size: int | None = None, threads: int | None = None,
                 workers: int | None = None):
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_DIR
        meta_file = self.model_dir / "embedder.json"
        self.meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        # Stamped into the index: vectors of another model (or of the fp32 one) make a foreign index.
        self.name = self.meta.get("name", self.model_dir.name)
        # None: batches where the export makes them harmless, else a text at a time.
        if batch_size is None:
            batch_size = BULK_BATCH if self.meta.get("batch_invariant") else 1
        self.batch_size, self.threads = batch_size, threads
        # Texts embedded side by side when many come at once (None: one per core).
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._session = self._tokenizer = self._bulk = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            path = self.model_dir / MODEL_FILE
            if not path.is_file():
                raise FileNotFoundError(f"embedding model not found: {path}")
            go_offline()
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tokenizer.enable_truncation(int(self.meta.get("max_seq_length", 256)))
            # The package's tokenizer.json pads every text to 128 tokens: batches are padded here, to their longest.
            tokenizer.no_padding()
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if self.threads:
                options.intra_op_num_threads = self.threads
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._tokenizer = tokenizer
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            if self.workers > 1:
                single = ort.SessionOptions()
                single.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                single.intra_op_num_threads = 1
                single.inter_op_num_threads = 1
                self._bulk = ort.InferenceSession(str(path), single, providers=["CPUExecutionProvider"])

    @property
    def dim(self) -> int:
        return int(self.meta.get("dim", 384))

    def encode(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        batches = self._batches([len(e.ids) for e in encodings])
        if self._bulk is not None and len(batches) >= 2 * self.workers:
            def run(share: list[list[int]]) -> None:
                for idx in share:
                    out[idx] = self._encode_batch([encodings[i] for i in idx], self._bulk)

            # Dealt round-robin, so each worker gets short and long texts alike.
            with ThreadPoolExecutor(self.workers) as pool:
                list(pool.map(run, [batches[w :: self.workers] for w in range(self.workers)]))
            return out
        for idx in batches:
            out[idx] = self._encode_batch([encodings[i] for i in idx])
        return out

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Text positions by length, grouped while a batch's padded size stays within ``BULK_TOKENS``."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        if self.batch_size <= 1:
            return [[i] for i in order]
        batches: list[list[int]] = [[]]
        for i in order:  # ascending, so the newest text sets the batch's padded length
            current = batches[-1]
            if current and (len(current) == self.batch_size or (len(current) + 1) * lengths[i] > BULK_TOKENS):
                batches.append(current := [])
            current.append(i)
        return batches

    def _encode_batch(self, encodings: list, session=None) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        session = session if session is not None else self._session
        hidden = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask,
                                                     "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
