"""An explicit answerability head: one linear unit on the [CLS] vector, trained jointly with the span head.

It is kept beside the Hugging Face checkpoint (``answerability.pt``), so the checkpoint stays a plain
``*ForQuestionAnswering`` model that every tool loads; the head's logit says "this window answers".
"""

from __future__ import annotations

from pathlib import Path

HEAD_FILE = "answerability.pt"


def make_head(model, directory: Path | None = None):
    """A head sized for ``model``, with the weights saved in ``directory`` when it has them."""
    import torch

    head = torch.nn.Linear(model.config.hidden_size, 1)
    if directory is not None and (Path(directory) / HEAD_FILE).is_file():
        head.load_state_dict(torch.load(Path(directory) / HEAD_FILE, map_location="cpu"))
    return head.to(model.device)


def save_head(head, directory: Path) -> None:
    import torch

    torch.save(head.state_dict(), Path(directory) / HEAD_FILE)


def joint_loss(model, head, batch: dict, weight: float):
    """The span loss plus ``weight`` × the head's binary cross-entropy (a window answers when its start
    label is not the [CLS] position)."""
    import torch

    out = model(**batch, output_hidden_states=True)
    logit = head(out.hidden_states[-1][:, 0]).squeeze(-1)
    target = (batch["start_positions"] != 0).to(logit.dtype)
    return out.loss + weight * torch.nn.functional.binary_cross_entropy_with_logits(logit, target)


def window_logits(model, head, batch: dict):
    """Start, end and answerability logits of a batch of windows (no gradients)."""
    import torch

    with torch.inference_mode():
        out = model(**batch, output_hidden_states=True)
        return out.start_logits, out.end_logits, head(out.hidden_states[-1][:, 0]).squeeze(-1)
