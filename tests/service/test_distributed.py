"""qa index --ray against a real two-node Ray cluster started here (head plus one worker, one CPU each):
the same passages and the same top-5 as a local build, with the embedding done on both nodes."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
RAY = Path(sys.executable).with_name("ray")
QUESTIONS = ["Who is the Kremlin spokesperson?", "What did Baerbock say about weapons?",
             "Which country is sending anti-tank weapons?", "Where did Olaf Scholz travel?",
             "How many troops has Russia massed near the border?"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray", reason="the 'cluster' extra (pip install -e '.[cluster]')")
    # Ray's socket paths must stay short: a folder directly under /tmp.
    tmp = tempfile.mkdtemp(prefix="qa-ray-", dir="/tmp")
    port = _free_port()
    env = {**os.environ, "RAY_DISABLE_USAGE_STATS": "1"}
    common = ["--num-cpus", "1", "--object-store-memory", "100000000", "--disable-usage-stats"]
    try:
        subprocess.run([str(RAY), "start", "--head", "--port", str(port), "--temp-dir", tmp,
                        "--include-dashboard", "false", *common], check=True, capture_output=True, env=env, timeout=180)
        subprocess.run([str(RAY), "start", "--address", f"127.0.0.1:{port}", *common], check=True,
                       capture_output=True, env=env, timeout=180)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(RAY), "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


def _corpus(folder: Path) -> Path:
    """The default article cut into four files, so that the pipeline has blocks for both nodes."""
    text = next((ROOT / "corpus" / "default").glob("*.txt")).read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("\n") if p.strip()]
    folder.mkdir()
    for i in range(4):
        (folder / f"part-{i}.txt").write_text("\n".join(paragraphs[i::4]) + "\n", encoding="utf-8")
    return folder


def _index(args, index_dir: Path):
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir), "RAY_DISABLE_USAGE_STATS": "1"}
    return subprocess.run([sys.executable, "-m", "cli.main", "index", "--replace", *args], capture_output=True,
                          text=True, env=env, timeout=900, cwd=ROOT)


def test_ray_build_matches_a_local_build(ray_cluster, tmp_path):
    from retriever import make_embedder, store
    from retriever.hybrid import HybridRetriever

    corpus = _corpus(tmp_path / "articles")
    on_ray = _index([str(corpus), "--ray", ray_cluster], tmp_path / "ray-index")
    assert on_ray.returncode == 0, on_ray.stderr
    assert "ray: 2 node(s)" in on_ray.stderr and "embedded on 2 node(s)" in on_ray.stderr
    local = _index([str(corpus)], tmp_path / "local-index")
    assert local.returncode == 0, local.stderr
    a, b = store.load(tmp_path / "ray-index"), store.load(tmp_path / "local-index")
    assert [p for p, _ in a.all_passages()] == [p for p, _ in b.all_passages()]
    embedder = make_embedder()
    vectors = embedder.encode(QUESTIONS)
    for q, v in zip(QUESTIONS, vectors):
        top = [[sp.passage.id for sp in HybridRetriever(index).retrieve(q, v, 5)] for index in (a, b)]
        assert top[0] == top[1], q
