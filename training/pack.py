"""Carry a trained reader checkpoint through a size-limited channel (the device machine's files) and back.

``pack`` writes the checkpoint's small files and its weights in fp16 as one tar cut into parts of at most
``PART_BYTES`` (that channel returns at most 8 files of 16 MiB); ``unpack`` joins the parts, checks the
tar's sha256, and writes the checkpoint back with fp32 weights, atomically.

    python -m training.pack pack runs/gpu/final $OUT
    python -m training.pack unpack DIR_WITH_PARTS runs/gpu/final
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
import tempfile
from pathlib import Path

from qa.atomic import replace_dir, write_atomic

PART_BYTES = 15 * 1024 * 1024
WEIGHTS = "model.safetensors"
PREFIX = "reader.tar.part"
MANIFEST = "reader.tar.json"


def _convert(src: Path, dst: Path, dtype: str) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    to = {"fp16": torch.float16, "fp32": torch.float32}[dtype]
    tensors = {k: (v.to(to) if v.is_floating_point() else v).contiguous() for k, v in load_file(str(src)).items()}
    save_file(tensors, str(dst), metadata={"format": "pt"})


def pack(checkpoint: Path, out: Path, part_bytes: int = PART_BYTES) -> list[Path]:
    """The checkpoint as ``reader.tar.partNN`` files (weights in fp16) and a manifest; returns the parts."""
    checkpoint, out = Path(checkpoint), Path(out)
    if not (checkpoint / WEIGHTS).is_file():
        raise FileNotFoundError(f"{checkpoint} has no {WEIGHTS}")
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=buf, mode="w") as tar:
        half = Path(tmp) / WEIGHTS
        _convert(checkpoint / WEIGHTS, half, "fp16")
        for path in sorted(checkpoint.iterdir()):
            if path.is_file():
                tar.add(half if path.name == WEIGHTS else path, arcname=path.name)
    data = buf.getvalue()
    parts = []
    for n, start in enumerate(range(0, len(data), part_bytes)):
        part = out / f"{PREFIX}{n:02d}"
        write_atomic(part, data[start : start + part_bytes])
        parts.append(part)
    manifest = {"parts": len(parts), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    write_atomic(out / MANIFEST, json.dumps(manifest) + "\n")
    return parts


def unpack(src: Path, checkpoint: Path) -> Path:
    """Join the parts in ``src`` (checked against the manifest) into ``checkpoint`` with fp32 weights."""
    src = Path(src)
    manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    data = b"".join((src / f"{PREFIX}{n:02d}").read_bytes() for n in range(manifest["parts"]))
    if len(data) != manifest["bytes"] or hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise ValueError(f"the parts in {src} do not make the packed checkpoint (size or sha256 differs)")

    def write(tmp: Path) -> None:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            tar.extractall(tmp, filter="data")
        _convert(tmp / WEIGHTS, tmp / WEIGHTS, "fp32")

    replace_dir(Path(checkpoint), write)
    return Path(checkpoint)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="checkpoint -> parts")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("unpack", help="parts -> checkpoint")
    p.add_argument("src", type=Path)
    p.add_argument("checkpoint", type=Path)
    args = parser.parse_args(argv)
    if args.command == "pack":
        print(f"{len(pack(args.checkpoint, args.out))} parts in {args.out}")
    else:
        print(unpack(args.src, args.checkpoint))


if __name__ == "__main__":
    main()
