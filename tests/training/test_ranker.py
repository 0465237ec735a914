"""Cross-fitted recording: each tune question is retrieved by the fold ranker that never saw its article."""

import json
import shutil

from retriever.ranker import DEFAULT_DIR, RANKER_META, RANKER_MODEL
from training.news_runs import Question
from training.ranker import FOLDS, fold_rankers, folds_of


def _question(domain: str, title: str) -> Question:
    return Question(domain, "tune", "q", "Who?", ("Kyiv",), title, "Kyiv.", "Kyiv.")


def test_each_article_is_in_one_fold_the_same_every_run():
    found = [{"article": f"newsqa:{i % 7}"} for i in range(30)] + [{"article": "squad:Kyiv"}]
    first, again = folds_of(found), folds_of(list(reversed(found)))
    assert first == again and set(first) == {f"newsqa:{i}" for i in range(7)} | {"squad:Kyiv"}
    assert set(first.values()) <= set(range(FOLDS)) and len(set(first.values())) == FOLDS


def test_fold_rankers_pick_the_articles_fold_and_the_shipped_one_elsewhere(tmp_path):
    for k in range(FOLDS):
        (tmp_path / f"fold-{k}").mkdir()
        for name in (RANKER_MODEL, RANKER_META):
            shutil.copy(DEFAULT_DIR / name, tmp_path / f"fold-{k}" / name)
    (tmp_path / "folds.json").write_text(json.dumps({"newsqa:Baerbock in Kyiv": 3, "squad:Steam_engine": 0}))
    ranker_of = fold_rankers(tmp_path)
    assert ranker_of(_question("newsqa", "Baerbock in Kyiv")).model_dir == tmp_path / "fold-3"
    assert ranker_of(_question("squad", "Steam_engine")).model_dir == tmp_path / "fold-0"
    assert ranker_of(_question("newsqa", "an article of the report half")).model_dir == DEFAULT_DIR
