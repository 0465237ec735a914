"""Checkpoint averaging: the mean of the tensors, refused across architectures."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from training.average import average_checkpoints, main


def _checkpoint(path, value, shape=(2, 3)):
    path.mkdir()
    save_file({"w": torch.full(shape, float(value)), "b": torch.full((3,), float(value) * 2)}, str(path / "model.safetensors"))
    (path / "config.json").write_text("{}")
    return path


def test_average_is_the_weighted_mean_and_keeps_the_config(tmp_path):
    a, b = _checkpoint(tmp_path / "a", 1.0), _checkpoint(tmp_path / "b", 3.0)
    out = average_checkpoints([a, b], tmp_path / "out")
    state = load_file(str(out / "model.safetensors"))
    assert torch.equal(state["w"], torch.full((2, 3), 2.0)) and torch.equal(state["b"], torch.full((3,), 4.0))
    assert (out / "config.json").is_file()
    lineage = json.loads((out / "training.json").read_text())["averaged"]
    assert [(Path(x["checkpoint"]).name, x["weight"]) for x in lineage] == [("a", 0.5), ("b", 0.5)]
    weighted = load_file(str(average_checkpoints([a, b], tmp_path / "w", [0.75, 0.25]) / "model.safetensors"))
    assert torch.allclose(weighted["w"], torch.full((2, 3), 1.5))


def test_other_architecture_or_bad_weights_are_refused(tmp_path, capsys):
    a, c = _checkpoint(tmp_path / "a", 1.0), _checkpoint(tmp_path / "c", 1.0, shape=(3, 3))
    with pytest.raises(ValueError, match="same architecture"):
        average_checkpoints([a, c], tmp_path / "out")
    with pytest.raises(SystemExit) as exc:
        main([str(a), str(a), "--output", str(tmp_path / "o"), "--weights", "0.9", "0.9"])
    assert exc.value.code == 2 and "summing to 1" in capsys.readouterr().err
