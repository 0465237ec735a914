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


def per_row_activations(int8_path: str | Path) -> int:
    """Rewrite ``int8_path`` in place: each MatMul's input quantized per row (token), symmetric, not per tensor.

    ``quantize_dynamic`` scales a MatMul's whole input tensor by one factor, so a text's vector depended on the
    texts padded into its batch; a scale per token makes every text's result the same alone or in any batch
    (int8 products add up exactly in int32), so texts can be embedded many at a time, and a token's values are no
    longer rounded against another token's outliers (closer to fp32). The token's scale multiplies after ONNX
    Runtime's fused integer MatMul (``MatMulIntegerToFloat`` takes one scale for A, or one per column), so the
    fusion stays correct. Returns how many inputs were rewritten.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(int8_path))
    graph = model.graph
    graph.initializer.extend([numpy_helper.from_array(np.array(127.0, dtype=np.float32), "per_row_127"),
                              numpy_helper.from_array(np.array(1e-8, dtype=np.float32), "per_row_eps"),
                              numpy_helper.from_array(np.array(128.0, dtype=np.float32), "per_row_128"),
                              numpy_helper.from_array(np.array(128, dtype=np.uint8), "per_row_zero")])
    row_scales: set[str] = set()
    rewritten: list = []
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            rewritten.append(node)
            continue
        x, (quantized, scale, zero) = node.input[0], node.output
        p = node.name + "_per_row"
        row_scales.add(scale)
        # uint8 around a zero point of 128: a symmetric int8 range that ONNX Runtime's u8s8 kernels take.
        rewritten += [
            helper.make_node("Abs", [x], [p + "_abs"], name=p + "_abs"),
            helper.make_node("ReduceMax", [p + "_abs"], [p + "_max"], name=p + "_max", axes=[-1], keepdims=1),
            helper.make_node("Max", [p + "_max", "per_row_eps"], [p + "_safe"], name=p + "_safe"),
            helper.make_node("Div", [p + "_safe", "per_row_127"], [scale], name=p + "_scale"),
            helper.make_node("Div", [x, scale], [p + "_div"], name=p + "_div"),
            helper.make_node("Round", [p + "_div"], [p + "_round"], name=p + "_round"),
            helper.make_node("Add", [p + "_round", "per_row_128"], [p + "_shift"], name=p + "_shift"),
            helper.make_node("Cast", [p + "_shift"], [quantized], name=p + "_cast", to=TensorProto.UINT8),
            helper.make_node("Identity", ["per_row_zero"], [zero], name=p + "_zero"),
        ]
    # quantize_dynamic multiplies the int32 product by Mul(input scale, weight scale); keep the weight scale
    # there and multiply by the row scale after it.
    combined: dict[str, str] = {}
    moved: list = []
    for node in rewritten:
        if node.op_type == "Mul" and node.input[0] in row_scales:
            combined[node.output[0]] = node.input[0]
            moved.append(helper.make_node("Identity", [node.input[1]], [node.output[0]], name=node.name))
        else:
            moved.append(node)
    final: list = []
    for node in moved:
        if node.op_type == "Mul" and len(node.input) == 2 and node.input[1] in combined:
            y = node.output[0]
            final.append(helper.make_node("Mul", list(node.input), [y + "_by_weight"], name=node.name))
            final.append(helper.make_node("Mul", [y + "_by_weight", combined[node.input[1]]], [y],
                                          name=node.name + "_by_row"))
        else:
            final.append(node)
    if len(combined) != sum(1 for n in final if n.op_type == "MatMulInteger"):
        raise ValueError(f"{int8_path}: unexpected quantized graph (scales {len(combined)})")
    del graph.node[:]
    graph.node.extend(final)
    del graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(int8_path))
    return len(row_scales)
