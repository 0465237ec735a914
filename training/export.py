"""Export a PyTorch QA model to ONNX and quantize it for the CPU (onnxruntime)."""

from __future__ import annotations

import shutil
from pathlib import Path

from reader.onnx_reader import MODEL_FILE

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "config.json")


def export_onnx(model_dir: str | Path, out_dir: str | Path, opset: int = 17) -> Path:
    """``out_dir/model.onnx`` (fp32, dynamic batch and length) plus the tokenizer files."""
    import torch
    from transformers import AutoModelForQuestionAnswering

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir, local_files_only=True).eval()
    # Plain tuple outputs trace cleanly; the names below are what the reader asks the session for.
    model.config.return_dict = False
    dummy = torch.ones(2, 16, dtype=torch.long)
    dynamic = {0: "batch", 1: "sequence"}
    target = out_dir / MODEL_FILE
    torch.onnx.export(
        model, (dummy, dummy, torch.zeros_like(dummy)), str(target),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["start_logits", "end_logits"],
        dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "token_type_ids": dynamic,
                      "start_logits": dynamic, "end_logits": dynamic},
        opset_version=opset, dynamo=False,
    )
    for name in TOKENIZER_FILES:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, out_dir / name)
    return target


def matmul_nodes(onnx_path: str | Path) -> list[str]:
    """Names of the MatMul nodes that carry weights, in graph order (the quantizable layers)."""
    import onnx

    model = onnx.load(str(onnx_path))
    weights = {init.name for init in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and any(i in weights for i in n.input)]


def ffn_output_nodes(nodes: list[str], layers: tuple[int, ...] | None = None) -> list[str]:
    """The feed-forward output projections (not the attention output ones), of ``layers`` or of every layer."""
    return [n for n in nodes if "/output/dense/" in n and "/attention/" not in n
            and (layers is None or any(f"/layer.{k}/" in n for k in layers))]


def default_exclusions(nodes: list[str]) -> list[str]:
    """The MatMuls kept in fp32 by default: the feed-forward output projections of layers 0 and 1.

    Chosen on the tune articles with the starting checkpoint: quantizing everything cost 1.0
    HasAns F1 (82.5 -> 81.5, never abstaining); keeping these two in fp32 cost 0.1 (82.4), for
    3.5 MB more. Keeping the last layer, the first layer or the embeddings in fp32 did not help.
    """
    return ffn_output_nodes(nodes, (0, 1))


def quantize(fp32_path: str | Path, int8_path: str | Path, exclude: list[str] = (), per_channel: bool = True,
             embeddings: bool = True) -> Path:
    """Dynamic int8 quantization of the weight MatMuls (per output channel), skipping ``exclude``.

    Per-channel scales keep a weight matrix's small columns from being rounded away by its
    largest one (the per-tensor default moved start logits by up to 2); ``embeddings``
    also stores the word-embedding table (Gather) in int8, most of the model's size.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = ["MatMul"] + (["Gather"] if embeddings else [])
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=per_channel,
                     op_types_to_quantize=ops, nodes_to_exclude=list(exclude))
    return Path(int8_path)


def quantized_copy(fp32_dir: Path, int8_dir: Path, exclude: list[str] = ()) -> Path:
    """``int8_dir``: the exported model quantized (``quantize``), beside copies of its tokenizer and config."""
    shutil.copytree(fp32_dir, int8_dir, ignore=shutil.ignore_patterns(MODEL_FILE))
    quantize(fp32_dir / MODEL_FILE, int8_dir / MODEL_FILE, exclude=exclude)
    return int8_dir
