"""Average the weights of checkpoints from one training lineage (a "model soup"): one model, no extra cost to serve.

    python -m training.average runs/continue/final runs/stage3/final --output runs/soup

Only checkpoints continued from one another (same architecture, same starting point) average into
a working model. The first checkpoint's config and tokenizer are copied beside the averaged weights.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

WEIGHTS = "model.safetensors"
COPIED = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def average_checkpoints(dirs: list[Path], output: Path, weights: list[float] | None = None) -> Path:
    """Write the weighted mean of the checkpoints' tensors (equal weights by default) to ``output``."""
    from safetensors.torch import load_file, save_file

    if not dirs:
        raise ValueError("no checkpoints to average")
    weights = [1.0 / len(dirs)] * len(dirs) if weights is None else weights
    if len(weights) != len(dirs) or abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError("one weight per checkpoint, summing to 1")
    states = [load_file(str(Path(d) / WEIGHTS)) for d in dirs]
    keys = set(states[0])
    for d, state in zip(dirs, states):
        if set(state) != keys or any(state[k].shape != states[0][k].shape for k in keys):
            raise ValueError(f"{d}: not the same architecture as {dirs[0]}")
    mean = {k: sum(w * s[k].float() for w, s in zip(weights, states)).to(states[0][k].dtype).contiguous() for k in keys}
    output.mkdir(parents=True, exist_ok=True)
    save_file(mean, str(output / WEIGHTS))
    for name in COPIED:
        if (Path(dirs[0]) / name).is_file():
            shutil.copy(Path(dirs[0]) / name, output / name)
    # The lineage travels with the weights (ship.py copies training.json into figures.json).
    def lineage(d: Path) -> dict | None:
        path = Path(d) / "training.json"
        return json.loads(path.read_text()) if path.is_file() else None

    sources = [{"checkpoint": str(d), "weight": w, "training": lineage(d)} for d, w in zip(dirs, weights)]
    (output / "training.json").write_text(json.dumps({"averaged": sources}, indent=2) + "\n")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint directories (model.safetensors)")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--weights", type=float, nargs="+", help="one per checkpoint, summing to 1 (default: equal)")
    args = parser.parse_args(argv)
    try:
        average_checkpoints(args.checkpoints, args.output, args.weights)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"averaged {len(args.checkpoints)} checkpoints -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
