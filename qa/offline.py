"""The one place that tells the Hugging Face libraries never to reach a model hub (air-gapped servers, CI)."""

from __future__ import annotations

import os

# Set only when unset, so an operator who really wants the hub can still say so.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def go_offline() -> None:
    """Before any Hugging Face import that could download: models load from local paths only."""
    for name, value in OFFLINE.items():
        os.environ.setdefault(name, value)
