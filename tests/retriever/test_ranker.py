"""The learned passage ranker: its features match the fixed fusion they extend, the pool widens to the best
articles' passages within the filter only, and the shipped model loads with the features it was fitted on."""

import json

import numpy as np
import pytest

from qa.filters import Scope
from qa.types import Passage
from retriever import make_retriever
from retriever.hybrid import HybridRetriever, Pool, fuse
from retriever.ranker import DEFAULT_DIR, FEATURES, RANKER_META, PassageRanker, pool_features

STORY = [  # one article: only its first paragraph shares the question's words
    "Annalena Baerbock visited Kyiv on Monday.",
    "The minister met officials at the foreign ministry.",
    "She said Germany will not send weapons but will send a field hospital.",
]
OTHERS = [
    "Ben Wallace said Britain supplies anti-tank weapons.",
    "Canada deployed special forces to Kyiv on Monday.",
    "Cocoa prices rose in Bahia after the rains.",
]


def _stored(embedder):
    """A real store: the three-paragraph story and three one-paragraph documents."""
    import tempfile
    from pathlib import Path

    from qa.types import DocumentInfo
    from retriever import store

    articles = {"story": ("Baerbock in Kyiv", STORY), **{f"o{i}": (f"Other {i}", [t]) for i, t in enumerate(OTHERS)}}
    docs = []
    for doc_id, (title, paragraphs) in articles.items():
        text, passages = "\n\n".join(paragraphs), []
        for i, para in enumerate(paragraphs):
            start = text.index(para)
            passages.append(Passage(f"{doc_id}:{i}", doc_id, title, i, para, start, start + len(para)))
        docs.append(store.NewDocument(DocumentInfo(doc_id, title, None, None, "src", len(paragraphs)), text, passages,
                                      embedder.encode(paragraphs)))
    manifest = store.Manifest(embedder.name, embedder.dim, "fp", ["src"], 0.0)
    return store.build(Path(tempfile.mkdtemp(prefix="qa-test-ranker-")), manifest, docs)


def test_features_extend_the_fixed_fusion():
    dense, lexical = np.array([0.8, 0.2, 0.5, 0.4]), np.array([1.0, 0.0, 0.5, 0.0])
    docs = np.array(["a", "a", "b", "c"], dtype=object)
    X, fused = pool_features("Who said what in Kyiv?", dense, lexical, 7.5, docs, np.array([0, 3, 0, 1]),
                             np.array([100, 200, 300, 400]), 0.5, 0.3)
    col = {name: X[:, i] for i, name in enumerate(FEATURES)}
    assert X.shape == (4, len(FEATURES)) and X.dtype == np.float32
    assert np.allclose(fused, fuse(Pool(np.arange(4), dense, lexical), docs, 0.5, 0.3))
    assert np.allclose(col["fused"], fused)
    mixed = 0.5 * dense + 0.5 * lexical
    assert np.allclose(col["article_other"], [mixed[1], mixed[0], 0.0, 0.0])
    assert col["article_pooled"].tolist() == [2, 2, 1, 1]
    assert col["article_rank"].tolist() == [0, 0, 1, 2]  # a's best (0.9) > b (0.5) > c (0.2)
    assert col["dense_rank"].tolist() == [0, 3, 1, 2] and col["lexical_rank"].tolist() == [0, 2, 1, 3]
    assert col["paragraph"].tolist() == [0, 3, 0, 1] and set(col["lexical_best"]) == {7.5}
    assert set(col["pool_size"]) == {4} and set(col["question_words"]) == {5}


def test_the_pool_widens_to_the_best_articles_passages_and_the_ranker_orders_it(fake_embedder):
    index = _stored(fake_embedder)
    question = "What did Annalena Baerbock say in Kyiv?"
    qvec = fake_embedder.encode([question])[0]
    # One candidate a side (top 1): the fixed rule's pool is what the two searches found.
    ranked = HybridRetriever(index, lexical_weight=0.4, candidates=1, article_weight=0.2, ranker=PassageRanker())
    plain = ranked.pool(question, qvec, index.search(qvec[None, :], 1)[1][0], 1)
    assert len(plain.rows) <= 2
    features, fused, pool = ranked.ranked_pool(question, qvec, plain)
    ids = {int(r): p.id for r, p in index.passages_at(pool.rows).items()}
    # Every paragraph of the best article joined the pool, the story's third among them.
    assert {f"story:{i}" for i in range(3)} <= set(ids.values())
    assert np.allclose(fused, fuse(pool, index.documents_of(pool.rows), 0.4, 0.2))
    # Results come in the ranker's order, each keeping its fused score (the scale the reader's calibration knows).
    found = ranked.retrieve(question, qvec, 1)
    assert len(found) == 1
    order = np.argsort(-ranked.ranker.scores(features), kind="stable")
    assert found[0].passage.id == ids[int(pool.rows[order[0]])]
    assert found[0].score == pytest.approx(fused[order[0]])
    assert features.shape == (len(pool.rows), len(FEATURES))


def test_widening_stays_within_the_filter(fake_embedder, monkeypatch):
    import retriever.hybrid as hybrid

    monkeypatch.setattr(hybrid, "SCOPE_EXACT_MAX", 0)  # searched with the filter inside, then widened
    index = _stored(fake_embedder)
    question = "What did Annalena Baerbock say in Kyiv?"
    qvec = fake_embedder.encode([question])[0]
    ranked = HybridRetriever(index, lexical_weight=0.4, candidates=1, article_weight=0.2, ranker=PassageRanker())
    scope = Scope.of(doc_ids=["o0", "o1"])
    hits = ranked.retrieve_batch([question], qvec[None, :], 5, scope=scope)[0]
    assert hits and {sp.passage.doc_id for sp in hits} <= {"o0", "o1"}


def test_live_within_leaves_out_deleted_rows_and_what_the_filter_keeps_out(fake_embedder):
    index = _stored(fake_embedder)
    story_rows = index.rows_of_documents(["story"])
    assert len(story_rows) == 3
    assert index.live_within(story_rows).tolist() == story_rows.tolist()
    assert index.live_within(story_rows, index.select(Scope.of(doc_ids=["o2"]))).tolist() == []
    index.write(deletes=["story"])
    assert index.live_within(story_rows).tolist() == []
    docs, paragraphs, chars = index.layout_of(np.concatenate([story_rows[:1], index.rows_of_documents(["o1"])]))
    assert docs.tolist() == ["", "o1"] and paragraphs.tolist() == [-1, 0] and chars.tolist() == [0, len(OTHERS[1])]


def test_the_shipped_ranker_is_served_by_default_and_won_its_rule():
    meta = json.loads((DEFAULT_DIR / RANKER_META).read_text())
    assert tuple(meta["features"]) == FEATURES and meta["rule_met"] is True
    retriever = make_retriever(None, "hybrid", 0.4, 0.2, ranker=True)  # no index needed to load the model
    assert isinstance(retriever.ranker, PassageRanker)
    retriever.warm_up()
    scores = retriever.ranker.scores(np.zeros((3, len(FEATURES)), dtype=np.float32))
    assert scores.shape == (3,) and np.isfinite(scores).all()
    assert make_retriever(None, "hybrid", 0.4, 0.2, ranker=False).ranker is None


def test_the_ranker_ships_in_the_package_and_the_service_uses_it(real_service):
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["retriever"]
    for name in (RANKER_META, "ranker.txt"):
        assert any(fnmatch.fnmatch(f"models/ranker/{name}", p) for p in patterns), name
    assert isinstance(real_service.pipeline().retriever.ranker, PassageRanker)
