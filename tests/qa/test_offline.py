"""Every entry point goes offline before a Hugging Face library loads, unless the operator said otherwise."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env_after(code: str, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_cli_and_readers_set_the_offline_variables():
    assert _env_after("import os, cli.main; print(os.environ['HF_HUB_OFFLINE'], os.environ['TRANSFORMERS_OFFLINE'])") == "1 1"
    code = ("import os; from reader.onnx_reader import OnnxReader, DEFAULT_MODEL_DIR; OnnxReader(str(DEFAULT_MODEL_DIR)).warm_up();"
            " print(os.environ['HF_HUB_OFFLINE'])")
    assert _env_after(code) == "1"


def test_an_operator_setting_wins():
    assert _env_after("import os, cli.main; print(os.environ['HF_HUB_OFFLINE'])", HF_HUB_OFFLINE="0") == "0"
