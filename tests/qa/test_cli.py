"""The qa command line as a user runs it: messages and exit codes, and nothing lost on bad input."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import DEV_GOLD, ROOT


def run_qa(*args, index_dir, timeout=300):
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_ask_without_index_names_the_rebuild_command(tmp_path):
    r = run_qa("ask", "Who is Baerbock?", index_dir=tmp_path / "idx")
    assert r.returncode != 0 and "qa index" in r.stderr


def test_ask_rejects_empty_question(tmp_path):
    r = run_qa("ask", "   ", index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "empty" in r.stderr


def test_eval_rejects_bad_gold_file(tmp_path):
    bad = tmp_path / "gold.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    r = run_qa("eval", str(bad), index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "gold.jsonl:1" in r.stderr


@pytest.mark.slow
def test_index_ask_eval_round_trip(tmp_path):
    idx = tmp_path / "idx"
    articles = tmp_path / "mine"
    articles.mkdir()
    (articles / "extra.jsonl").write_text(json.dumps({
        "id": "lighthouse", "title": "Harbour news",
        "text": "The new lighthouse in Port Ellery was designed by architect Mira Okafor.",
    }) + "\n", encoding="utf-8")
    (articles / "broken.txt").write_bytes(b"\xff\xfe broken bytes")
    r = run_qa("index", "--replace", str(ROOT / "corpus" / "default"), str(articles), index_dir=idx)
    assert r.returncode == 1 and "broken.txt" in r.stderr  # named, and the others still indexed
    assert "from 2 documents" in r.stdout

    r = run_qa("ask", "Who designed the lighthouse in Port Ellery?", "--json", index_dir=idx)
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    top = body["answers"][0]
    paragraph = next(p["passage"]["text"] for p in body["passages"] if p["passage"]["id"] == top["passage_id"])
    assert top["citation"]["doc_id"] == "lighthouse"
    assert paragraph[top["citation"]["start"] : top["citation"]["end"]] == top["text"]

    r = run_qa("ask", "What did Baerbock say about weapons?", index_dir=idx)
    assert r.returncode == 0 and "[[" in r.stdout and "paragraph" in r.stdout

    out = tmp_path / "figures.json"
    r = run_qa("eval", str(DEV_GOLD), "--json", str(out), index_dir=idx)
    assert r.returncode == 0, r.stderr
    figures = json.loads(out.read_text())
    for key in ("exact_match", "f1", "HasAns_f1", "NoAns_accuracy", "recall_at_1", "recall_at_5", "latency_ms_p95"):
        assert isinstance(figures[key], float)
    assert len(figures["rows"]) == figures["n"]
    for label in ("exact match", "F1", "NoAns accuracy", "recall@1 / @5", "latency p50/p95"):
        assert label in r.stdout
