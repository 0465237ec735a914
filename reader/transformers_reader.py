"""Reader for any Hugging Face extractive QA model loaded from a local directory (PyTorch)."""

from __future__ import annotations

import numpy as np

from qa.extras import require
from reader.span_reader import SpanReader


class TransformersReader(SpanReader):
    def __init__(self, model_path: str, *args, device: str = "cpu", **kwargs):
        # Refused here, in one line, rather than as an ImportError when the first question loads the model.
        require("torch", ("torch", "transformers"), "QA_READER=transformers (the PyTorch reader)")
        super().__init__(model_path, *args, **kwargs)
        self.device = device
        self._model = None

    def _load_model(self) -> None:
        from transformers import AutoModelForQuestionAnswering

        model = AutoModelForQuestionAnswering.from_pretrained(self.model_path, local_files_only=True)
        self._model = model.to(self.device).eval()

    def _forward_batch(self, input_ids, attention_mask, token_type_ids) -> tuple[np.ndarray, np.ndarray]:
        import torch

        inputs = {"input_ids": torch.as_tensor(input_ids, device=self.device),
                  "attention_mask": torch.as_tensor(attention_mask, device=self.device)}
        if token_type_ids is not None and "token_type_ids" in self._tokenizer.model_input_names:
            inputs["token_type_ids"] = torch.as_tensor(token_type_ids, device=self.device)
        with torch.inference_mode():
            out = self._model(**inputs)
        return out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
