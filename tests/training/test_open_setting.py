"""The open setting's operating point chosen from collected candidates, and written beside the model."""

import gzip
import json

import pytest

from reader.decode import Calibration
from training.open_setting import collect, tune, without


def _row(split, answers, passages, scores, candidates):
    return {"split": split, "id": "q", "title": "T", "answers": answers, "scores": scores, "docs": ["d"] * len(scores),
            "passages": passages, "candidates": candidates}


def test_tune_picks_weights_on_the_tune_split_and_writes_the_open_section(tmp_path):
    # The right span sits in the passage the retriever trusts; a distractor span with a higher margin sits in a
    # weak one. Only a retriever weight above 0 answers these questions right.
    rows = []
    for split in ("tune", "report"):
        for n in range(6):
            rows.append(_row(split, ["Okafor"], ["Designed by Okafor.", "Designed by Hale."], [0.9, 0.1],
                             [[1, 12, 16, 0.5, 3.0, 3.0], [0, 12, 18, 0.4, 2.5, 2.5]]))
            rows.append(_row(split, [], ["Nothing here.", "Nor here."], [0.05, 0.04],
                             [[0, 0, 7, 0.2, -1.0, -1.0]]))
    path = tmp_path / "candidates.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    (tmp_path / "calibration.json").write_text(json.dumps(Calibration(threshold=0.5).to_dict()))
    result = tune(path, tmp_path, answerable_share=0.5)
    assert result["chosen"]["retriever_weight"] > 0
    assert result["report_open"]["f1"] == 100.0 and result["report_gold_threshold"]["f1"] < 100.0
    gold, open_ = Calibration.load(tmp_path), Calibration.load(tmp_path, "open")
    assert gold.threshold == 0.5  # the gold-paragraph point stays
    assert open_.retriever_weight == result["chosen"]["retriever_weight"] and open_.slope is not None


def _write(path, rows):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def test_off_archive_questions_count_as_unanswerable_and_raise_the_threshold_above_them(tmp_path):
    # Answerable questions read at margin 3; a question the archive does not cover reads a confident-looking
    # span at 2.5. Only with the off-archive rows in the mix must the threshold sit between the two.
    rows = [_row("tune", ["Okafor"], ["Designed by Okafor."], [0.9], [[0, 12, 18, 0.9, 3.0, 3.0]]) for _ in range(6)]
    rows += [_row("tune", [], ["Nothing here."], [0.1], [[0, 0, 7, 0.1, -1.0, -1.0]]) for _ in range(2)]
    off = [dict(_row("tune_off", [], ["Designed by Hale."], [0.5], [[0, 12, 16, 0.8, 2.5, 2.5]]),
                squad_answers=["Okafor"]) for _ in range(6)]
    candidates = _write(tmp_path / "candidates.jsonl.gz", rows)
    plain = tune(candidates, answerable_share=0.8)
    mixed = tune(candidates, answerable_share=0.8, off_path=_write(tmp_path / "off.jsonl.gz", off), off_share=0.1)
    assert plain["chosen"]["threshold"] < 2.5 < mixed["chosen"]["threshold"] < 3.0
    assert mixed["tune_off_archive"] == {"questions": 6, "abstained": 100.0}
    assert mixed["chosen"]["off_archive_share"] == 0.1 and plain["chosen"]["off_archive_share"] == 0.0


def _squad(path, articles):
    data = {"version": "v2.0", "data": [
        {"title": title, "paragraphs": [{"context": context, "qas": [
            {"id": qid, "question": q, "is_impossible": not answer,
             "answers": [{"text": answer, "answer_start": context.index(answer)}] if answer else []}
            for qid, q, answer in qas]}]}
        for title, context, qas in articles]}
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(data, fh)


@pytest.mark.slow
def test_collect_off_archive_asks_only_answerable_tune_and_report_questions_labelled_unanswerable(
        real_service, tmp_path):
    # The real service's index holds only the bundled Ukraine article: every question below is off-archive.
    context = "The harbour dam was designed by Amara Okafor and opened in 1998."
    _squad(tmp_path / "dev-v2.0-public.json.gz", [
        ("Prime_number", context, [("t1", "Who designed the harbour dam?", "Amara Okafor"),
                                   ("t2", "Who demolished the harbour dam?", None)]),
        ("Steam_engine", context, [("r1", "When did the harbour dam open?", "1998")]),
        ("Some_other_article", context, [("o1", "What opened in 1998?", "The harbour dam")]),
    ])
    _squad(tmp_path / "dev-v1.1-public.json.gz",
           [("Another_article", context, [("s1", "Who designed it?", "Amara Okafor")])])
    out = tmp_path / "off.jsonl.gz"
    assert collect(real_service.settings.index.index_dir, out, squad=tmp_path, off_archive=True) == 2
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    assert [(r["id"], r["split"], r["answers"], r["squad_answers"]) for r in rows] == [
        ("t1", "tune_off", [], ["Amara Okafor"]), ("r1", "report_off", [], ["1998"])]
    for r in rows:  # each candidate is a span of one of the passages retrieved from the archive
        assert r["passages"] and len(r["scores"]) == len(r["passages"])
        for p, start, end, *_ in r["candidates"]:
            assert 0 <= start < end <= len(r["passages"][p])


def test_without_drops_the_asked_articles_and_keeps_the_rest_verbatim(tmp_path):
    lines = [json.dumps({"id": i, "title": i, "text": "x"}) + "\n" for i in ("Prime_number", "Other", "Yuan_dynasty")]
    src = tmp_path / "articles.jsonl"
    src.write_text("".join(lines), encoding="utf-8")
    assert without(src, tmp_path / "off.jsonl") == {"kept": 1, "dropped": 2}
    assert (tmp_path / "off.jsonl").read_text(encoding="utf-8") == lines[1]


def test_from_news_runs_gives_the_bench_recordings_in_this_modules_format(tmp_path):
    from training.news_runs import rows_path, save
    from training.open_setting import _load, from_news_runs

    def row(i, setting):
        text = f"Paragraph {i} says the answer is Kyiv."
        return {"domain": "squad", "split": "tune", "setting": setting, "id": f"q{i}", "title": "Kyiv",
                "question": "Where?", "answers": [] if setting == "off" else ["Kyiv"], "hit_rank": 0, "ms": 1.0,
                "scores": [0.7], "passages": [{"id": f"d{i}:0", "doc_id": f"d{i}", "title": "Kyiv", "paragraph": 0,
                                               "text": text, "doc_start": 0, "doc_end": len(text), "page": None}],
                "candidates": [[0, text.index("Kyiv"), text.index("Kyiv") + 4, 0.9, 3.0, 8.0]]}

    save([row(0, "open"), row(1, "open")], rows_path(tmp_path, "tune", "squad", "open"))
    save([row(0, "off")], rows_path(tmp_path, "tune", "squad", "off"))
    # No report recording yet: the tune rows are enough (report rows only add figures to tune's printout).
    assert from_news_runs(tmp_path, tmp_path / "c.jsonl.gz", tmp_path / "o.jsonl.gz") == (2, 1)
    cands, off = _load(tmp_path / "c.jsonl.gz"), _load(tmp_path / "o.jsonl.gz")
    assert [(r["split"], r["id"], r["answers"], r["docs"]) for r in cands] == [("tune", "q0", ["Kyiv"], ["d0"]),
                                                                           ("tune", "q1", ["Kyiv"], ["d1"])]
    assert cands[0]["texts"] == ["Kyiv"] and cands[0]["scores"] == [0.7]
    assert [(r["split"], r["answers"]) for r in off] == [("tune_off", [])]
    # Without the tune recording it says which command makes it.
    with pytest.raises(SystemExit, match="training.selector collect --split tune"):
        from_news_runs(tmp_path / "none", tmp_path / "c2.jsonl.gz", tmp_path / "o2.jsonl.gz")


def test_the_scoped_point_is_the_smallest_abstaining_enough_off_story():
    from training.scoped import MIN_OFF_STORY_ABSTAINED, choose

    own = [{"score": s, "f1": f, "turn": 1 + i % 2} for i, (s, f) in enumerate(
        [(0.9, 1.0), (0.5, 1.0), (0.2, 0.5), (0.05, 1.0), (0.01, 0.0), (None, 0.0)])]
    elsewhere = [{"score": s} for s in (0.3, 0.04, 0.02, 0.01, 0.01, None, None, None, None, None)]
    result = choose(own, elsewhere)
    point = result["chosen"]["min_score"]
    # 80% of the off-story questions must be abstained on: the five without an answer and those up to 0.02.
    assert MIN_OFF_STORY_ABSTAINED == 0.8 and point == 0.0201
    assert result["chosen"]["other_story_abstained"] == 80.0 and result["chosen"]["answered"] == 66.7
    assert result["chosen"]["first_turns_f1"] == pytest.approx(100 * (1.0 + 0.5) / 3, abs=0.01)
    assert result["never_abstaining"]["answered"] == 83.3  # the question without any span has no score
