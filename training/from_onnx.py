"""Recover a trainable fp32 Hugging Face checkpoint from the shipped dynamically quantized ONNX reader.

The shipped reader exists only as int8 ONNX, so a new training stage could not continue from it.
Dynamic quantization keeps every bias and LayerNorm under its PyTorch name and stores each Linear
weight as int8 with a scale and zero point under an anonymous ``onnx::MatMul_N`` name (transposed).
This walks the graph from each weight to the bias its MatMul adds, which names the Linear, and
dequantizes it. The result differs from the original fp32 weights by the rounding that the served
model already carries, so training continues from exactly what is served.

    python -m training.from_onnx reader/models/minilm-newsqa runs/shipped-fp32
"""

from __future__ import annotations

import argparse
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np


def _dequantize(inits: dict, name: str) -> np.ndarray:
    from onnx import numpy_helper

    q = numpy_helper.to_array(inits[f"{name}_quantized"]).astype(np.float32)
    scale = numpy_helper.to_array(inits[f"{name}_scale"]).astype(np.float32)
    zero = numpy_helper.to_array(inits[f"{name}_zero_point"]).astype(np.float32)
    return (q - zero) * scale


def recover_state_dict(onnx_path: Path) -> dict[str, np.ndarray]:
    """PyTorch-named fp32 arrays for every parameter of the exported BertForQuestionAnswering."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    inits = {i.name: i for i in graph.initializer}
    consumers = defaultdict(list)
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)

    def bias_after(tensor: str) -> str:
        """The named ``.bias`` that the first Add downstream of ``tensor`` adds (breadth first)."""
        frontier, seen = [tensor], set()
        while frontier:
            nxt = []
            for t in frontier:
                for node in consumers[t]:
                    if id(node) in seen:
                        continue
                    seen.add(id(node))
                    named = [i for i in node.input if i.endswith(".bias") and i in inits]
                    if node.op_type == "Add" and named:
                        return named[0]
                    nxt.extend(node.output)
            frontier = nxt
        raise ValueError(f"{onnx_path}: no bias found after {tensor}")

    state: dict[str, np.ndarray] = {}
    for name, init in inits.items():
        if name.endswith((".bias", ".weight")) and not name.startswith("onnx::"):
            state[name] = numpy_helper.to_array(init).astype(np.float32)
    for name in inits:
        if name.endswith("_quantized") and name.startswith("bert.embeddings."):
            base = name[: -len("_quantized")]
            state[base] = _dequantize(inits, base)
    for name in list(inits):
        if not name.startswith("onnx::MatMul_") or name.endswith(("_scale", "_zero_point")):
            continue
        base = name[: -len("_quantized")] if name.endswith("_quantized") else name
        weight = _dequantize(inits, base) if name.endswith("_quantized") else numpy_helper.to_array(inits[name]).astype(np.float32)
        # MatMul computes x @ W with W = weight.T of the Linear; the quantized form feeds a MatMulInteger.
        linear = bias_after(name)[: -len(".bias")]
        state[f"{linear}.weight"] = weight.T.copy()
    return state


def recover(model_dir: Path, out: Path) -> Path:
    """Write a Hugging Face QA checkpoint (config, tokenizer, safetensors) recovered from ``model_dir``."""
    import torch
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    model_dir, out = Path(model_dir), Path(out)
    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForQuestionAnswering.from_config(config)
    state = {k: torch.from_numpy(v) for k, v in recover_state_dict(model_dir / "model.onnx").items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("position_ids")]
    shapes = [k for k in state if k in own and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or shapes:
        raise ValueError(f"cannot recover {model_dir}: missing {missing[:5]}, wrong shapes {shapes[:5]}")
    model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, out / name)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    print(recover(args.model_dir, args.output))


if __name__ == "__main__":
    main()
