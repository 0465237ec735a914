"""LightGBM for serving: its Booster, without the optional libraries lightgbm imports for its other interfaces."""

from __future__ import annotations

import importlib
import json
import sys
import threading
from pathlib import Path
from types import ModuleType

# lightgbm.compat imports scikit-learn, pandas and others whenever they are installed (the train extra has them),
# for its scikit-learn and DataFrame interfaces: a second at every start (1.25 s against 0.26 s, -X importtime).
# The shipped ranker and selector only predict with a Booster on numpy arrays.
_OPTIONAL = ("sklearn", "pandas", "pyarrow", "dask", "matplotlib", "graphviz", "datatable")
_lock = threading.Lock()


def lightgbm() -> ModuleType:
    """The lightgbm module, imported without its optional interfaces unless something imported them already."""
    with _lock:
        if "lightgbm" in sys.modules:
            return sys.modules["lightgbm"]
        blocked = [name for name in _OPTIONAL if name not in sys.modules]
        for name in blocked:
            sys.modules[name] = None  # importing it raises ImportError, which lightgbm.compat expects and skips
        try:
            return importlib.import_module("lightgbm")
        finally:
            for name in blocked:
                if sys.modules.get(name, 0) is None:
                    del sys.modules[name]


def load_booster(model_dir: Path, model_file: str, meta_file: str, features: tuple[str, ...], fit_command: str):
    """A shipped model: its Booster and its card (``meta_file``), refused with the command that refits it when the
    card names other features than the code computes."""
    meta_path = Path(model_dir) / meta_file
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if tuple(meta["features"]) != features:
        raise ValueError(f"{meta_path}: trained on other features; retrain it ({fit_command})")
    return lightgbm().Booster(model_file=str(Path(model_dir) / model_file)), meta
