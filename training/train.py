"""Fine-tune an encoder (or continue a QA checkpoint) for span extraction with learned abstention.

Everything here is an importable function (``build_examples``, ``build_features``, ``train``);
``qa train-reader`` only parses arguments into a ``TrainConfig``. Checkpoints are written
atomically every ``checkpoint_every`` steps, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa.atomic import replace_dir
from reader.features import featurize, label_windows
from reader.squad import SquadExample, load_squad
from retriever.embedder import default_model_path


@dataclass
class DataConfig:
    train_files: list[str]
    # Articles never to train on (the splits reserved for tuning and reporting).
    exclude_titles: list[str] = field(default_factory=list)
    # At most this many questions from each file (a seeded random sample); None: all.
    max_examples: int | None = None
    # With max_examples: this share of each file's sample drawn from its unanswerable questions (as far as
    # it has them); None: sampled at the file's own share.
    unanswerable_share: float | None = None
    # Shares of answerable questions that also yield a retrieval negative / a perturbed negative.
    retrieval_negative_rate: float = 0.3
    perturbed_negative_rate: float = 0.3
    max_seq_len: int = 256
    doc_stride: int = 128


@dataclass
class OptimConfig:
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    seed: int = 0


@dataclass
class RunConfig:
    output_dir: str
    init: str | None = None  # encoder or QA checkpoint directory; None: the bundled MiniLM
    device: str = "auto"
    checkpoint_every: int = 200
    max_steps: int | None = None  # stop early (smoke runs); the schedule still spans all epochs
    # Weight of a jointly trained answerability head's loss (training/answerability.py); 0: no head.
    answerability_weight: float = 0.0
    threads: int | None = None
    # "bf16": autocast matmuls to bfloat16 (weights and optimizer stay fp32); "auto": bf16 on CUDA and on
    # CPUs with native bf16 instructions (AVX512-BF16/AMX: about 1.9x faster per step on 2 EPYC cores), else fp32.
    precision: str = "auto"


@dataclass
class TrainConfig:
    data: DataConfig
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=lambda: RunConfig("reader-out"))


def sample_examples(found: list[SquadExample], n: int, unanswerable_share: float | None,
                    rng: random.Random) -> list[SquadExample]:
    """A seeded sample of ``n`` questions, with ``unanswerable_share`` of them unanswerable when given."""
    if unanswerable_share is None:
        return rng.sample(found, n)
    negatives = [e for e in found if e.is_impossible]
    positives = [e for e in found if not e.is_impossible]
    n_neg = min(len(negatives), round(n * unanswerable_share))
    n_pos = min(len(positives), n - n_neg)
    return rng.sample(negatives, n_neg) + rng.sample(positives, n_pos)


def build_examples(cfg: DataConfig, seed: int, entities=None, log=print) -> list[SquadExample]:
    """Questions of the training files plus the negatives made from them, in a seeded order."""
    from training.negatives import perturbed_negatives, retrieval_negatives, spacy_entities

    rng = random.Random(seed)
    exclude = set(cfg.exclude_titles)
    examples: list[SquadExample] = []
    for path in cfg.train_files:
        found = load_squad(Path(path), exclude_titles=exclude)
        if cfg.max_examples is not None and len(found) > cfg.max_examples:
            found = sample_examples(found, cfg.max_examples, cfg.unanswerable_share, rng)
        log(f"{path}: {len(found)} questions ({sum(e.is_impossible for e in found)} unanswerable)")
        examples.extend(found)
    if not examples:
        raise ValueError(f"no training questions in {', '.join(cfg.train_files)} (after --exclude-title)")
    retrieval = retrieval_negatives(examples, cfg.retrieval_negative_rate, rng)
    perturbed = []
    if cfg.perturbed_negative_rate > 0:
        perturbed = perturbed_negatives(examples, cfg.perturbed_negative_rate, entities or spacy_entities(), rng)
    log(f"negatives: {len(retrieval)} retrieval, {len(perturbed)} perturbed "
        f"({sum('-swap' in e.id for e in perturbed)} entity swaps, {sum('-rev' in e.id for e in perturbed)} name "
        f"reversals, {sum('-anto' in e.id for e in perturbed)} antonyms, {sum('-neg' in e.id for e in perturbed)} negations)")
    pool = examples + retrieval + perturbed
    rng.shuffle(pool)
    return pool


@dataclass
class TrainFeatures:
    """Unpadded windows (padding is per batch) with their labels."""

    input_ids: list[np.ndarray]
    token_type_ids: list[np.ndarray]
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)


def build_features(tokenizer, examples: list[SquadExample], max_seq_len: int, doc_stride: int,
                   chunk: int = 2000) -> TrainFeatures:
    ids, types, starts, ends = [], [], [], []
    for b in range(0, len(examples), chunk):
        part = examples[b : b + chunk]
        feats = featurize(tokenizer, [e.question for e in part], [e.context for e in part], max_seq_len, doc_stride)
        s, e = label_windows(feats, [ex.span for ex in part])
        lengths = feats.attention_mask.sum(axis=1)
        for f in range(len(feats)):
            ids.append(feats.input_ids[f, : lengths[f]].astype(np.int32))
            tt = feats.token_type_ids if feats.token_type_ids is not None else np.zeros_like(feats.input_ids)
            types.append(tt[f, : lengths[f]].astype(np.int8))
        starts.append(s)
        ends.append(e)
    return TrainFeatures(ids, types, np.concatenate(starts), np.concatenate(ends))


def length_grouped_batches(lengths: np.ndarray, batch_size: int, seed: int, group: int = 50) -> list[np.ndarray]:
    """Shuffled batches of similar lengths, so dynamic padding wastes little compute."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    batches = []
    for g in range(0, len(order), batch_size * group):
        chunk = order[g : g + batch_size * group]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _collate(features: TrainFeatures, idx: np.ndarray, device):
    import torch

    width = max(len(features.input_ids[i]) for i in idx)
    ids = np.zeros((len(idx), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for row, i in enumerate(idx):
        n = len(features.input_ids[i])
        ids[row, :n], types[row, :n], mask[row, :n] = features.input_ids[i], features.token_type_ids[i], 1
    as_t = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    return {
        "input_ids": as_t(ids), "token_type_ids": as_t(types), "attention_mask": as_t(mask),
        "start_positions": as_t(features.starts[idx]), "end_positions": as_t(features.ends[idx]),
    }


def use_bf16(precision: str, device) -> bool:
    """Whether to autocast to bfloat16: ``precision`` is "auto", "bf16" or "fp32"."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return True
    import torch

    # Without native bf16 the CPU emulates it, slower than fp32.
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and _cpu_has_native_bf16()


def _cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def train(config: TrainConfig, log=print, entities=None) -> Path:
    """Run (or resume) training; returns the directory of the final model (``OUTPUT/final``)."""
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    run, optim_cfg, data = config.run, config.optim, config.data
    out = Path(run.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint"
    device = torch.device("cuda" if run.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if run.device == "auto" else run.device))
    if run.threads:
        torch.set_num_threads(run.threads)
    random.seed(optim_cfg.seed)
    np.random.seed(optim_cfg.seed)
    torch.manual_seed(optim_cfg.seed)

    # The data first: bad or empty files fail before any model is loaded.
    t0 = time.perf_counter()
    examples = build_examples(data, optim_cfg.seed, entities=entities, log=log)
    data_s = time.perf_counter() - t0
    init = run.init or default_model_path()
    resuming = (ckpt / "state.json").exists()
    tokenizer = AutoTokenizer.from_pretrained(init, use_fast=True, local_files_only=True)
    model = AutoModelForQuestionAnswering.from_pretrained(str(ckpt) if resuming else init, local_files_only=True)
    model.to(device)
    head = None
    if run.answerability_weight > 0:
        from training.answerability import joint_loss, make_head, save_head

        head = make_head(model, ckpt if resuming else Path(init))
    t0 = time.perf_counter()
    features = build_features(tokenizer, examples, data.max_seq_len, data.doc_stride)
    data_s += time.perf_counter() - t0
    n_null = int((features.starts == 0).sum())
    log(f"{len(examples)} examples -> {len(features)} windows ({n_null} labelled no-answer), "
        f"featurized in {data_s:.0f}s")

    lengths = np.array([len(x) for x in features.input_ids])
    steps_per_epoch = math.ceil(len(features) / optim_cfg.batch_size)
    total_steps = max(1, math.ceil(steps_per_epoch * optim_cfg.epochs))
    decay = [p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm"))]
    no_decay = [p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm"))]
    if head is not None:
        decay.append(head.weight)
        no_decay.append(head.bias)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": optim_cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=optim_cfg.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(optim_cfg.warmup_ratio * total_steps), total_steps)
    step, loss_ema, loss_first, trained_s = 0, None, None, 0.0
    # One entry per process that trained (a resumed run has several): its steps, precision and seconds, so
    # the record says how each part ran even when a resume changed --precision or --threads.
    parts: list[dict] = []
    use_amp = use_bf16(run.precision, device)
    precision = "bf16" if use_amp else "fp32"
    if resuming:
        state = json.loads((ckpt / "state.json").read_text())
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", map_location=device))
        scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt"))
        step, loss_ema, loss_first, trained_s = state["step"], state["loss_ema"], state.get("loss_first"), state["trained_s"]
        parts = state.get("parts", [])
        log(f"resuming from {ckpt} at step {step}/{total_steps}")
        if parts and parts[-1]["precision"] != precision:
            log(f"note: the run so far trained in {parts[-1]['precision']}; this part trains in {precision}")
    part = {"from_step": step, "to_step": step, "precision": precision, "device": str(device),
            "threads": torch.get_num_threads(), "seconds": 0.0}
    parts.append(part)
    part_start_s = trained_s

    def save_checkpoint() -> None:
        part.update(to_step=step, seconds=round(trained_s - part_start_s, 1))

        def write(tmp: Path) -> None:
            model.save_pretrained(tmp)
            if head is not None:
                save_head(head, tmp)
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
            (tmp / "state.json").write_text(json.dumps({"step": step, "loss_ema": loss_ema, "loss_first": loss_first,
                                                                "trained_s": trained_s, "parts": parts}))
        replace_dir(ckpt, write)

    stop = min(total_steps, run.max_steps) if run.max_steps is not None else total_steps
    log(f"precision: {'bf16 autocast' if use_amp else 'fp32'} on {device}")
    model.train()
    # A bar on a terminal; in a log (a background run) a plain line every 30 s instead of carriage returns.
    plain = not sys.stderr.isatty()
    bar = tqdm(total=stop, initial=step, desc="train", unit="step", dynamic_ncols=True, disable=plain)
    said, first_step, started = time.monotonic(), step, time.monotonic()
    epoch = step // steps_per_epoch
    while step < stop:
        # The batch order of each epoch depends only on the seed and the epoch, so a resumed
        # run sees exactly the batches the killed one would have.
        batches = length_grouped_batches(lengths, optim_cfg.batch_size, optim_cfg.seed + epoch)
        for idx in batches[step - epoch * steps_per_epoch :]:
            if step >= stop:
                break
            t_step = time.perf_counter()
            batch = _collate(features, idx, device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss = model(**batch).loss if head is None else joint_loss(model, head, batch, run.answerability_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([*model.parameters(), *(head.parameters() if head is not None else ())],
                                           optim_cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            trained_s += time.perf_counter() - t_step
            value = float(loss.detach())
            loss_first = value if loss_first is None else loss_first
            loss_ema = value if loss_ema is None else 0.98 * loss_ema + 0.02 * value
            bar.update(1)
            bar.set_postfix(loss=f"{loss_ema:.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
            if plain and (time.monotonic() - said >= 30 or step == stop):
                said = time.monotonic()
                rate = (step - first_step) / max(said - started, 1e-9)
                eta = f", ETA {(stop - step) / rate / 60:.0f} min" if rate > 0 and step < stop else ""
                print(f"train: step {step}/{stop} ({100 * step / stop:.0f}%), {rate * 60:.1f} steps/min{eta}, "
                      f"loss {loss_ema:.3f}, lr {scheduler.get_last_lr()[0]:.1e}", file=sys.stderr, flush=True)
            if step % run.checkpoint_every == 0:
                save_checkpoint()
        epoch += 1
    bar.close()
    save_checkpoint()

    final = out / "final"

    def write_final(tmp: Path) -> None:
        model.save_pretrained(tmp)
        if head is not None:
            save_head(head, tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "training.json").write_text(json.dumps({
            "config": asdict(config), "init": init, "steps": step, "total_steps": total_steps,
            "examples": len(examples), "windows": len(features), "no_answer_windows": n_null,
            "loss_first": loss_first, "loss_ema": loss_ema, "train_seconds": round(trained_s, 1), "device": str(device),
            "torch_threads": torch.get_num_threads(), "parts": parts,
        }, indent=2) + "\n")

    replace_dir(final, write_final)
    log(f"trained {step} steps in {trained_s / 60:.1f} min; final loss (EMA) {loss_ema:.3f}; model in {final}")
    return final
