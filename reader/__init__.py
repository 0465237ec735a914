"""Extractive readers that turn retrieved passages into verbatim span answers; ``make_reader`` builds one."""

from __future__ import annotations

from typing import Literal

from qa.protocols import Reader


def make_reader(kind: Literal["onnx", "transformers"] = "onnx", model: str | None = None, device: str = "cpu",
                **options) -> Reader:
    """The ONNX Runtime reader (``model`` None: the shipped one) or a PyTorch reader of a local HF QA model.

    ``options`` are the span reader's: max_seq_len, doc_stride, max_answer_tokens, batch_size, min_score, setting,
    use_selector (the learned answer selector beside the model, when it ships one).
    Imports happen here, so that importing ``reader`` loads neither onnxruntime nor torch.
    """
    if kind == "transformers":
        if not model:
            raise ValueError("QA_READER=transformers needs QA_READER_MODEL (a local model directory)")
        from reader.transformers_reader import TransformersReader

        return TransformersReader(model, device=device, **options)
    from reader.onnx_reader import DEFAULT_MODEL_DIR, OnnxReader

    # An empty model means unset, as an absent one does.
    return OnnxReader(model or str(DEFAULT_MODEL_DIR), **options)
