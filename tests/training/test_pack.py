"""A checkpoint packed into size-capped parts (fp16) and unpacked back (fp32), checked on the way."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForQuestionAnswering

from training.pack import MANIFEST, PREFIX, WEIGHTS, pack, unpack
from training.splits import REPORT, TUNE


def test_pack_cuts_parts_under_the_cap_and_unpack_restores_the_model(tiny_model_dir, tmp_path):
    parts = pack(tiny_model_dir, tmp_path / "out", part_bytes=20_000)
    assert parts[0].name == f"{PREFIX}00" and len(parts) > 1 and all(p.stat().st_size <= 20_000 for p in parts)
    assert json.loads((tmp_path / "out" / MANIFEST).read_text())["parts"] == len(parts)
    back = unpack(tmp_path / "out", tmp_path / "ckpt")
    assert sorted(p.name for p in back.iterdir()) == sorted(p.name for p in tiny_model_dir.iterdir() if p.is_file())
    before, after = load_file(str(tiny_model_dir / WEIGHTS)), load_file(str(back / WEIGHTS))
    assert before.keys() == after.keys()
    for name, tensor in before.items():
        assert after[name].dtype == tensor.dtype
        assert torch.allclose(after[name], tensor, atol=1e-3, rtol=1e-3)  # fp16 rounding only
    AutoModelForQuestionAnswering.from_pretrained(str(back), local_files_only=True)


def test_unpack_refuses_parts_that_do_not_match_the_manifest(tiny_model_dir, tmp_path):
    parts = pack(tiny_model_dir, tmp_path / "out", part_bytes=20_000)
    parts[-1].write_bytes(parts[-1].read_bytes()[:-1] + b"x")
    with pytest.raises(ValueError, match="sha256"):
        unpack(tmp_path / "out", tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()  # nothing half-written


@pytest.mark.slow
def test_the_device_script_trains_from_the_served_reader_and_returns_parts(tmp_path):
    # The GPU run's own script, on the CPU for one step over a tiny SQuAD file: what the device call would do.
    root = Path(__file__).resolve().parents[2]
    context = "The harbour dam was designed by Amara Okafor and opened in 1998."
    qas = [{"id": f"q{n}", "question": q, "is_impossible": not a,
            "answers": [{"text": a, "answer_start": context.index(a)}] if a else []}
           for n, (q, a) in enumerate([("Who designed the dam?", "Amara Okafor"), ("When did it open?", "1998"),
                                       ("Who demolished the dam?", None)])]
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train-v2.0-partial.json.gz", "dev-v2.0-public.json.gz"):
        with gzip.open(data / name, "wt", encoding="utf-8") as fh:
            json.dump({"version": "v2.0", "data": [{"title": "Dam", "paragraphs": [{"context": context, "qas": qas}]}]}, fh)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PY": sys.executable, "OUT": str(out), "DATA": str(data), "WORK": str(tmp_path / "work"),
           "DEVICE": "cpu", "MAX_STEPS": "1", "BATCH": "2", "MAX_SEQ_LEN": "64", "DOC_STRIDE": "16"}
    run = subprocess.run(["bash", str(root / "training" / "device_train.sh"), "run"], env=env, cwd=root,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert MANIFEST in names and "train.log" in names and len(names) <= 8
    assert all((out / n).stat().st_size <= 16 * 1024 * 1024 for n in names)
    back = unpack(out, tmp_path / "ckpt")
    record = json.loads((back / "training.json").read_text())
    assert record["steps"] == 1
    assert set(record["config"]["data"]["exclude_titles"]) == set(TUNE + REPORT)
    AutoModelForQuestionAnswering.from_pretrained(str(back), local_files_only=True)
