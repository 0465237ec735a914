"""The qa command line as a user runs it: messages and exit codes, and nothing lost on bad input."""

import json
import sqlite3
import os
import subprocess
import sys

import pytest

from tests.conftest import DEV_GOLD, ROOT


def run_qa(*args, index_dir, timeout=300):
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_ask_on_a_fresh_clone_builds_the_default_index_as_serve_does(tmp_path):
    r = run_qa("ask", "Who is the Kremlin spokesperson?", index_dir=tmp_path / "idx")
    assert r.returncode == 0, r.stderr
    assert "no index" in r.stderr and "indexed 39 passages" in r.stderr and "[[Dmitry Peskov]]" in r.stdout
    assert "paragraph 39," in r.stdout  # numbered from 1 for people (the 39th of 39)
    r = run_qa("ask", "What is the boiling point of mercury?", index_dir=tmp_path / "idx")
    assert r.returncode == 0 and r.stdout.startswith("No confident answer")
    assert "The closest passage (" in r.stdout  # never empty-handed, and honest about it
    # Asking loads neither PyTorch nor transformers: ONNX Runtime and the tokenizers library only.
    code = ("import sys, runpy; sys.argv = ['qa', 'ask', 'Who is the Kremlin spokesperson?']\n"
            "try:\n    runpy.run_module('cli.main', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('loaded:', sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))")
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx")}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "Peskov" in r.stdout and r.stdout.splitlines()[-1] == "loaded: []", r.stderr


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
    paragraph = next(p["text"] for p in body["passages"] if p["id"] == top["passage_id"])
    assert top["citation"]["doc_id"] == "lighthouse"
    assert paragraph[top["citation"]["start"] : top["citation"]["end"]] == top["text"] == \
        top["context"][top["citation"]["start"] : top["citation"]["end"]]

    r = run_qa("ask", "Who is the Kremlin spokesperson?", index_dir=idx)
    assert r.returncode == 0 and "[[Dmitry Peskov]]" in r.stdout and "paragraph" in r.stdout

    out = tmp_path / "figures.json"
    r = run_qa("eval", str(DEV_GOLD), "--json", str(out), index_dir=idx)
    assert r.returncode == 0, r.stderr
    figures = json.loads(out.read_text())
    for key in ("exact", "f1", "HasAns_f1", "NoAns_exact", "recall_at_1", "recall_at_5", "latency_ms_p95"):
        assert isinstance(figures[key], float)
    assert len(figures["rows"]) == figures["total"]
    for label in ("exact / F1", "NoAns accuracy", "recall@1 / @5", "latency p50/p95"):
        assert label in r.stdout


def _tiny_squad(path):
    """Two made-up articles in SQuAD 2.0 format, gzipped: answerable and unanswerable questions."""
    import gzip

    lighthouse = "The new lighthouse in Port Ellery was designed by architect Mira Okafor and opened in 2001."
    harbour = "Fishing boats from Dunmore use the harbour of Port Ellery every spring, when the herring arrive."
    data = {"version": "v2.0", "data": [
        {"title": "Lighthouse", "paragraphs": [{"context": lighthouse, "qas": [
            {"id": "a1", "question": "Who designed the lighthouse in Port Ellery?", "is_impossible": False,
             "answers": [{"text": "Mira Okafor", "answer_start": lighthouse.index("Mira Okafor")},
                         {"text": "architect Mira Okafor", "answer_start": lighthouse.index("architect")}]},
            {"id": "a2", "question": "What is the boiling point of mercury?", "is_impossible": True, "answers": []},
        ]}]},
        {"title": "Harbour", "paragraphs": [{"context": harbour, "qas": [
            {"id": "b1", "question": "Where do the fishing boats come from?", "is_impossible": False,
             "answers": [{"text": "Dunmore", "answer_start": harbour.index("Dunmore")}]},
        ]}]},
    ]}
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(data, fh)
    return path


OFFICIAL_KEYS = ("exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total", "NoAns_exact", "NoAns_f1",
                 "NoAns_total", "latency_ms_p50", "latency_ms_p95")


@pytest.mark.slow
def test_eval_reads_squad_json_reader_only_and_open(tmp_path):
    squad = _tiny_squad(tmp_path / "tiny-v2.json.gz")
    out = tmp_path / "reader.json"
    r = run_qa("eval", str(squad), "--reader-only", "--json", str(out), index_dir=tmp_path / "unused")
    assert r.returncode == 0, r.stderr
    figures = json.loads(out.read_text())
    assert all(key in figures for key in OFFICIAL_KEYS)
    assert (figures["total"], figures["HasAns_total"], figures["NoAns_total"]) == (3, 2, 1)
    rows = {row["id"]: row for row in figures["rows"]}
    assert rows["a1"]["f1"] == 1.0 and rows["a1"]["prediction"] in ("Mira Okafor", "architect Mira Okafor")
    assert rows["a2"]["prediction"] == "" and rows["a2"]["em"] == 1.0
    assert not (tmp_path / "unused").exists()  # reader-only touches no index

    out = tmp_path / "open.json"
    r = run_qa("eval", str(squad), "--article", "Lighthouse", "--json", str(out), index_dir=tmp_path / "unused")
    assert r.returncode == 0, r.stderr
    figures = json.loads(out.read_text())
    assert figures["total"] == 2 and figures["recall_at_1"] == 100.0 and figures["HasAns_f1"] == 100.0
    assert not (tmp_path / "unused").exists()  # the open setting indexes into a temporary folder


def test_eval_refuses_reader_only_without_paragraphs_and_unknown_articles(tmp_path):
    r = run_qa("eval", str(DEV_GOLD), "--reader-only", index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "SQuAD" in r.stderr
    r = run_qa("eval", str(_tiny_squad(tmp_path / "t.json.gz")), "--article", "Nope", index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "Nope" in r.stderr
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(b"not gzip")
    r = run_qa("eval", str(broken), "--reader-only", index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "broken.json.gz" in r.stderr


def test_train_reader_help_and_bad_input(tmp_path):
    r = run_qa("train-reader", "--help", index_dir=tmp_path / "idx")
    assert r.returncode == 0 and "MODEL_CARD.md" in r.stdout and "--exclude-title" in r.stdout
    r = run_qa("train-reader", "--train", str(tmp_path / "missing.json.gz"), index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "missing.json.gz" in r.stderr
    squad = _tiny_squad(tmp_path / "t.json.gz")
    r = run_qa("train-reader", "--train", str(squad), "--init", str(tmp_path / "nope"), index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "nope" in r.stderr


def test_train_reader_refuses_unreadable_or_empty_data(tmp_path):
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(b"not gzip")
    r = run_qa("train-reader", "--train", str(broken), "--output", str(tmp_path / "out"), index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "broken.json.gz" in r.stderr and "Traceback" not in r.stderr
    squad = _tiny_squad(tmp_path / "t.json.gz")
    r = run_qa("train-reader", "--train", str(squad), "--exclude-title", "Lighthouse", "--exclude-title", "Harbour",
               "--output", str(tmp_path / "out"), index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "no training questions" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("env, expected", [
    ({"QA_CORPUS": "not json"}, "QA_CORPUS: expected JSON"),
    ({"QA_TOP_K": "abc"}, "QA_TOP_K: Input should be a valid integer"),
])
def test_bad_settings_are_one_line_errors(tmp_path, env, expected):
    r = subprocess.run([sys.executable, "-m", "cli.main", "ask", "Who?"], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx"), **env}, timeout=120)
    assert r.returncode != 0 and expected in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_fifo_is_skipped_and_a_mistyped_index_is_one_line(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    idx = tmp_path / "idx"
    r = run_qa("index", str(fifo), index_dir=idx, timeout=120)
    assert r.returncode == 1 and "not a regular file" in r.stderr and "indexed 39 passages" in r.stdout
    # Named, and never recorded as a source: recorded, it made every later qa index exit 1 (issue 32.10).
    assert "pipe.txt" not in (idx / "SOURCES.json").read_text()
    version = idx / (idx / "CURRENT").read_text().strip()
    with sqlite3.connect(version / "store.sqlite") as db:  # offsets that no longer match the text
        db.execute("UPDATE passages SET doc_end = doc_start - 1 WHERE row = 1")
    r = run_qa("ask", "Who is the Kremlin spokesperson?", index_dir=idx)
    assert r.returncode != 0 and "unreadable" in r.stderr and "Traceback" not in r.stderr
    # qa index rebuilds it from its recorded sources (the FIFO not among them).
    r = run_qa("index", index_dir=idx)
    assert "recorded sources" in r.stderr and "indexed 39 passages" in r.stdout
    assert r.returncode == 0 and "pipe.txt" not in r.stderr


@pytest.mark.slow
def test_a_fifo_a_symlink_loop_and_a_dev_zero_link_in_a_folder_are_named_and_never_read(tmp_path):
    """They were skipped without a word (issue 32.10); read, the FIFO would block and /dev/zero never end."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "ferry.txt").write_text("The ferry to Port Ellery leaves at noon.\n", encoding="utf-8")
    os.mkfifo(folder / "pipe.txt")
    (folder / "loop.md").symlink_to(folder / "loop.md")
    (folder / "zero.jsonl").symlink_to("/dev/zero")
    r = run_qa("index", str(folder), index_dir=tmp_path / "idx", timeout=120)
    assert r.returncode == 1 and "indexed 40 passages from 2 documents" in r.stdout, r.stderr
    named = sorted(line for line in r.stderr.splitlines() if line.startswith("error: skipped"))
    assert named == [f"error: skipped {folder}/loop.md: a symbolic link that leads nowhere (a loop, or its target is gone)",
                     f"error: skipped {folder}/pipe.txt: not a regular file or directory (a FIFO, socket or device)",
                     f"error: skipped {folder}/zero.jsonl: not a regular file or directory (a FIFO, socket or device)"]


@pytest.mark.slow
def test_read_commands_never_rewrite_the_index(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.txt").write_text("The canal museum opens at nine.", encoding="utf-8")
    idx = tmp_path / "idx"
    assert run_qa("index", str(extra), index_dir=idx).returncode == 0
    current = (idx / "CURRENT").read_text()
    (extra / "note.txt").write_text("The canal museum opens at ten.", encoding="utf-8")  # now stale
    r = run_qa("ask", "When does the canal museum open?", index_dir=idx)
    assert r.returncode == 0 and "out of date" in r.stderr and (idx / "CURRENT").read_text() == current
    extra.rename(tmp_path / "moved")  # a source gone missing
    r = run_qa("ask", "When does the canal museum open?", index_dir=idx)
    assert r.returncode == 0 and "cannot be found" in r.stderr and (idx / "CURRENT").read_text() == current


@pytest.mark.slow
def test_eval_scores_conversations_turn_by_turn(tmp_path):
    out = tmp_path / "chat.json"
    r = run_qa("eval", str(ROOT / "tests" / "data" / "chat_gold.jsonl"), "--json", str(out), index_dir=tmp_path / "idx")
    assert r.returncode == 0, r.stderr
    assert "first turns" in r.stdout and "follow-ups" in r.stdout and "turn 2:" in r.stdout
    figures = json.loads(out.read_text())
    assert figures["conversations"] == 20 and figures["total"] == 57
    assert figures["first_turns"]["total"] == 20 and figures["follow_ups"]["total"] == 37
    assert sum(t["total"] for t in figures["by_turn"].values()) == 57
    follow = [row for row in figures["rows"] if row["turn"] > 1]
    assert any(row["asked"] != row["question"] for row in follow)  # follow-ups were rewritten
    assert all(row["asked"] == row["question"] for row in figures["rows"] if row["turn"] == 1)


def test_eval_refuses_a_broken_conversation_file(tmp_path):
    bad = tmp_path / "conv.jsonl"
    bad.write_text('{"id": "c1", "turns": []}\n', encoding="utf-8")
    r = run_qa("eval", str(bad), index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "conv.jsonl:1" in r.stderr and "Traceback" not in r.stderr


def test_version_and_help_load_no_model_library(tmp_path):
    code = ("import sys, runpy; sys.argv = ['qa', '--version']\n"
            "try:\n    runpy.run_module('cli.main', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'onnxruntime', 'transformers', 'faiss') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.stdout.splitlines() == ["qa 0.1.0", "[]"], r.stderr


@pytest.mark.slow
def test_ask_uses_a_running_server_found_on_the_configured_port_or_named(tmp_path, live_server, real_service):
    import urllib.request

    port = live_server.rsplit(":", 1)[1]
    nowhere = tmp_path / "no-index-here"

    def ask(*args, index_dir=nowhere, **variables):
        env = {**os.environ, "QA_PORT": port, "QA_INDEX_DIR": str(index_dir), **variables}
        return subprocess.run([sys.executable, "-m", "cli.main", "ask", "Who is the Kremlin spokesperson?", *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    def served() -> float:
        text = urllib.request.urlopen(f"{live_server}/metrics", timeout=10).read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith('qa_questions_total{channel="api"'))

    before = served()
    found = ask(index_dir=real_service.settings.index.index_dir)  # the server on QA_PORT serves this index: asked
    assert found.returncode == 0 and "[[Dmitry Peskov]]" in found.stdout, found.stderr
    assert served() == before + 1
    other = ask()  # a server that serves another index is not this command's: asked here
    assert other.returncode == 0 and "no index" in other.stderr and served() == before + 1
    # Another operating point set for this command only: the server would ignore it, so it is asked here.
    strict = ask(index_dir=real_service.settings.index.index_dir, QA_MIN_ANSWER_SCORE="1")
    assert strict.returncode == 0 and strict.stdout.startswith("No confident answer") and served() == before + 1
    named = ask("--server", live_server, "--json")
    assert named.returncode == 0, named.stderr
    result = json.loads(named.stdout)
    assert result["answers"][0]["text"] == "Dmitry Peskov" and result["answers"][0]["context"]
    down = ask("--server", "http://127.0.0.1:9")  # nothing listens there
    assert down.returncode == 2 and down.stderr.startswith("error: cannot ask the server at http://127.0.0.1:9")
    assert len(down.stderr.strip().splitlines()) == 1
    local = ask("--local", index_dir=real_service.settings.index.index_dir)  # asked here although the server is up
    assert local.returncode == 0 and "[[Dmitry Peskov]]" in local.stdout and served() == before + 2


@pytest.mark.parametrize("server", ["not-a-url", "127.0.0.1:8000", "http://[::1", "http://127.0.0.1:99999", "ftp://x"])
def test_ask_with_a_server_that_is_not_an_address_is_a_one_line_error(tmp_path, server):
    """--server not-a-url printed urllib's traceback ("unknown url type")."""
    r = run_qa("ask", "--server", server, "Who is the Kremlin spokesperson?", index_dir=tmp_path / "idx", timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: --server takes the server's address, like http://")
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("json_out", [False, True])
def test_ask_into_a_pipe_nobody_reads_stops_quietly(tmp_path, live_server, json_out):
    """`qa ask ... | head -c0` printed a BrokenPipeError traceback. Now nothing on stderr, and 141 (128 + SIGPIPE)
    as other tools whose reader went away."""
    args = ["ask", "--server", live_server, *(["--json"] if json_out else []), "Who is the Kremlin spokesperson?"]
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx"), "HF_HUB_OFFLINE": "1"}
    p = subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()  # as head -c0 does: the pipe's only reader is gone before the answer is written
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141 and err == ""


@pytest.mark.slow
def test_eval_shows_progress_writes_rows_as_it_goes_and_a_stopped_run_keeps_its_figures(tmp_path, real_service):
    import signal
    import time

    gold = [json.loads(line) for line in DEV_GOLD.read_text().splitlines() if line.strip()]
    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({**g, "id": f"{g['id']}-{n}"}) + "\n" for n in range(20) for g in gold))
    rows = tmp_path / "rows.jsonl"
    env = {**os.environ, "QA_INDEX_DIR": str(real_service.settings.index.index_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "eval", str(many), "--rows", str(rows), "--json",
                             str(tmp_path / "fig.json")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and (not rows.exists() or len(rows.read_text().splitlines()) < 5):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    done = len(rows.read_text().splitlines())
    assert 5 <= done < 20 * len(gold)
    assert f"of {20 * len(gold)}: figures for those" in err and "eval: " in err and "questions/s" in err
    assert "exact / F1" in out
    figures = json.loads((tmp_path / "fig.json").read_text())
    assert figures["interrupted"]["done"] >= done and figures["total"] == figures["interrupted"]["done"]


def test_eval_report_without_its_extra_is_refused_before_any_work(tmp_path):
    code = ("import sys, importlib.util as u; real = u.find_spec\n"
            "u.find_spec = lambda name, *a: None if name == 'matplotlib' else real(name, *a)\n"
            "sys.argv = ['qa', 'eval', sys.argv[1], '--report', sys.argv[2]]\n"
            "import runpy; runpy.run_module('cli.main', run_name='__main__')")
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx")}
    r = subprocess.run([sys.executable, "-c", code, str(DEV_GOLD), str(tmp_path / "rep")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "needs the 'report' extra" in r.stderr
    assert not (tmp_path / "idx").exists()  # nothing was built or asked first


def test_serve_on_a_busy_port_is_refused_at_once_before_loading_anything(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_qa("serve", "--port", str(port), index_dir=tmp_path / "idx", timeout=60)
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr and "--port" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "idx").exists()


@pytest.mark.slow
def test_conversations_are_asked_within_the_story_they_name(tmp_path):
    conv = tmp_path / "conv.jsonl"
    turns = [{"question": "Who is the Kremlin spokesperson?", "answers": ["Dmitry Peskov"]},
             {"question": "What did he tell reporters?", "answers": []}]
    conv.write_text(json.dumps({"id": "c1", "doc_id": "a55cb55b65e2c03f", "turns": turns}) + "\n"
                    + json.dumps({"id": "c2", "turns": turns[:1]}) + "\n", encoding="utf-8")
    out = tmp_path / "out.json"
    r = run_qa("eval", str(conv), "--json", str(out), index_dir=tmp_path / "idx")
    assert r.returncode == 0, r.stderr
    assert "(2 asked within their story)" in r.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [row["scoped"] for row in rows] == [True, True, False]
    r = run_qa("eval", str(conv), "--unscoped", "--json", str(out), index_dir=tmp_path / "idx")
    assert r.returncode == 0 and not any(row["scoped"] for row in json.loads(out.read_text())["rows"])
    # A story that is not indexed is named at once, before any question.
    conv.write_text(json.dumps({"id": "c3", "doc_id": "not-indexed", "turns": turns}) + "\n", encoding="utf-8")
    r = run_qa("eval", str(conv), index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "not-indexed" in r.stderr and "--unscoped" in r.stderr and "Traceback" not in r.stderr
    r = run_qa("ask", "Who is the Kremlin spokesperson?", "--local", "--doc", "not-indexed", index_dir=tmp_path / "idx")
    assert r.returncode == 2 and "not-indexed" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_qa("ask", "Who is the Kremlin spokesperson?", "--local", "--doc", "a55cb55b65e2c03f", "--json",
               index_dir=tmp_path / "idx")
    assert r.returncode == 0 and {p["doc_id"] for p in json.loads(r.stdout)["passages"]} == {"a55cb55b65e2c03f"}
    # No answer within the story says where it looked: the story, not the whole index.
    r = run_qa("ask", "What is the boiling point of mercury?", "--local", "--doc", "a55cb55b65e2c03f",
               index_dir=tmp_path / "idx")
    assert r.returncode == 0 and r.stdout.startswith("No confident answer in the selected articles.")


@pytest.mark.slow
def test_ask_with_filters_answers_from_the_filtered_stories_and_shows_date_and_source(tmp_path, archive_file):
    from tests.conftest import ARCHIVE

    gz = tmp_path / "archive.jsonl.gz"
    import gzip

    gz.write_bytes(gzip.compress(archive_file.read_bytes()))  # archives come compressed
    index_dir = tmp_path / "idx"
    r = run_qa("index", str(gz), index_dir=index_dir)
    assert r.returncode == 0, r.stderr
    question = "How many bags is the Bahia cocoa crop expected to total?"
    r = run_qa("ask", question, "--local", "--source", "reuters21578", "--until", "1987-03-01", index_dir=index_dir)
    assert r.returncode == 0, r.stderr
    assert "1.2 million" in r.stdout.splitlines()[0]
    assert "BAHIA COCOA REVIEW [reuters21578 · 26 Feb 1987 · paragraph 2, doc reuters-cocoa" in r.stdout
    r = run_qa("ask", question, "--local", "--source", "bbc", "--json", index_dir=index_dir)
    cited = json.loads(r.stdout)["answers"][0]["citation"]
    assert (cited["doc_id"], cited["published"], cited["source"]) == ("bbc-cocoa", ARCHIVE[1]["published"], "bbc")
    r = run_qa("ask", question, "--local", "--source", "reuters21578", "--since", "2023-01-01", index_dir=index_dir)
    assert r.returncode != 0 and r.stderr.strip().splitlines() == [
        "error: no documents from reuters21578 published since 2023-01-01 in the index"]
    r = run_qa("ask", question, "--local", "--since", "last week", index_dir=index_dir)
    assert r.returncode == 2 and r.stderr.startswith("error: --since: 'last week' is not a date")
    for flag in ("--doc", "--source", "--topic"):  # blank: refused, as the API does, not the whole index asked
        r = run_qa("ask", question, "--local", flag, " ", index_dir=index_dir)
        assert r.returncode == 2 and r.stderr.strip().splitlines() == [f"error: {flag}: a value must not be blank"], r.stderr
    r = run_qa("ask", question, "--local", "--until", "9999-12-31", "--source", "bbc", index_dir=index_dir)
    assert r.returncode == 0 and "bbc" in r.stdout, r.stderr  # the end of time bounds nothing (it was a traceback)
