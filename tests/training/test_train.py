"""A smoke training run on a tiny SQuAD-format fixture: it learns, checkpoints, resumes, and exports."""

import json

import pytest
from transformers import AutoModelForQuestionAnswering

from training.train import DataConfig, OptimConfig, RunConfig, TrainConfig, train

pytestmark = pytest.mark.slow

CONTEXTS = [
    "ben wallace said britain supplies anti - tank weapons .",
    "canada deployed special forces to kyiv on monday .",
    "baerbock said germany will not send weapons .",
]
QAS = [
    (0, "what did britain supply ?", "anti - tank weapons"),
    (0, "who said britain supplies weapons ?", "ben wallace"),
    (1, "what did canada deploy ?", "special forces"),
    (1, "when did canada deploy forces ?", "monday"),
    (2, "what did baerbock say ?", "germany will not send weapons"),
    (2, "who will not send weapons ?", "germany"),
]


def _fixture(path):
    paragraphs = [{"context": c, "qas": []} for c in CONTEXTS]
    for i, (p, question, answer) in enumerate(QAS):
        paragraphs[p]["qas"].append({"id": f"q{i}", "question": question,
                                     "answers": [{"text": answer, "answer_start": CONTEXTS[p].index(answer)}]})
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "Tiny", "paragraphs": paragraphs}]}))
    return path


def fake_ner(texts):
    names = {"ben wallace": "PERSON", "baerbock": "PERSON", "canada": "GPE", "germany": "GPE", "britain": "GPE"}
    return [[(n, label) for n, label in names.items() if n in t] for t in texts]


def _config(tmp_path, init, max_steps=None, epochs=12.0):
    return TrainConfig(
        DataConfig([str(_fixture(tmp_path / "tiny.json"))], retrieval_negative_rate=0.5, perturbed_negative_rate=0.5,
                   max_seq_len=32, doc_stride=8),
        OptimConfig(epochs=epochs, batch_size=4, learning_rate=2e-3, warmup_ratio=0.1, seed=0),
        RunConfig(str(tmp_path / "out"), init=str(init), device="cpu", checkpoint_every=3, max_steps=max_steps),
    )


def test_short_run_learns_and_writes_a_loadable_model(tmp_path, tiny_model_dir, capsys):
    final = train(_config(tmp_path, tiny_model_dir), log=lambda m: None, entities=fake_ner)
    info = json.loads((final / "training.json").read_text())
    assert info["steps"] == info["total_steps"] > 10
    # Not on a terminal: plain progress lines (no carriage returns) with the rate and the loss.
    lines = [line for line in capsys.readouterr().err.split("\n") if "train: step" in line]
    assert lines and lines[-1].startswith(f"train: step {info['steps']}/{info['steps']} (100%)")
    assert all("steps/min" in line and "\r" not in line for line in lines)
    assert info["loss_ema"] < info["loss_first"]  # it learns
    assert info["no_answer_windows"] > 0  # the negatives are in the data
    AutoModelForQuestionAnswering.from_pretrained(final, local_files_only=True)


def test_killed_run_resumes_where_it_stopped(tmp_path, tiny_model_dir):
    first = _config(tmp_path, tiny_model_dir, max_steps=4)
    first.run.precision = "fp32"
    train(first, log=lambda m: None, entities=fake_ner)
    state = json.loads((tmp_path / "out" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 4
    messages = []
    resumed = _config(tmp_path, tiny_model_dir, max_steps=7)
    resumed.run.precision = "bf16"  # a part may run differently; the record says how each one ran
    final = train(resumed, log=messages.append, entities=fake_ner)
    assert any("resuming" in m and "step 4/" in m for m in messages)
    assert any("trained in fp32; this part trains in bf16" in m for m in messages)
    info = json.loads((final / "training.json").read_text())
    assert info["steps"] == 7
    assert [(p["from_step"], p["to_step"], p["precision"]) for p in info["parts"]] == [(0, 4, "fp32"), (4, 7, "bf16")]
    assert sum(p["seconds"] for p in info["parts"]) == pytest.approx(info["train_seconds"], abs=0.2)


def test_same_seed_same_model(tmp_path, tiny_model_dir):
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        final = train(_config(tmp_path / name, tiny_model_dir, max_steps=3), log=lambda m: None, entities=fake_ner)
        runs.append(json.loads((final / "training.json").read_text())["loss_ema"])
    assert runs[0] == runs[1]


def test_answerability_head_trains_jointly_and_resumes(tmp_path, tiny_model_dir):
    import torch

    from training.answerability import HEAD_FILE, make_head

    config = _config(tmp_path, tiny_model_dir, max_steps=3)
    config.run.answerability_weight = 1.0
    train(config, log=lambda m: None, entities=fake_ner)
    at_3 = torch.load(tmp_path / "out" / "checkpoint" / HEAD_FILE)["weight"]
    config.run.max_steps = 5
    messages = []
    final = train(config, log=messages.append, entities=fake_ner)
    assert any("step 3/" in m for m in messages) and (final / HEAD_FILE).is_file()
    model = AutoModelForQuestionAnswering.from_pretrained(final, local_files_only=True)
    head = make_head(model, final)  # loads the saved head
    assert torch.equal(head.weight, torch.load(final / HEAD_FILE)["weight"])
    assert not torch.equal(head.weight, at_3)  # resumed with the head in the optimizer: it kept learning


def test_auc_is_the_chance_a_positive_outranks_a_negative():
    import numpy as np

    from training.separation import auc

    assert auc(np.array([3.0, 2.0, 1.0, 0.0]), np.array([True, True, False, False])) == 1.0
    assert auc(np.array([0.0, 1.0, 2.0, 3.0]), np.array([True, True, False, False])) == 0.0
    assert auc(np.array([1.0, 1.0, 1.0, 1.0]), np.array([True, False, True, False])) == 0.5
    assert auc(np.array([2.0, -np.inf, 1.0]), np.array([True, True, False])) == 0.5


def test_precision_choice():
    import torch

    from training.train import use_bf16

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert use_bf16("bf16", cpu) and not use_bf16("fp32", cpu) and use_bf16("auto", cuda)
    with pytest.raises(ValueError, match="precision"):
        use_bf16("fp16", cpu)


def test_bf16_autocast_run_learns(tmp_path, tiny_model_dir):
    config = _config(tmp_path, tiny_model_dir)
    config.run.precision = "bf16"
    final = train(config, log=lambda m: None, entities=fake_ner)
    info = json.loads((final / "training.json").read_text())
    assert info["config"]["run"]["precision"] == "bf16"
    assert info["loss_ema"] < info["loss_first"]
