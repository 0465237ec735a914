"""Hybrid retrieval: BM25 finds exact names that the dense side ranks low; neither side scores every passage."""

import numpy as np

from qa.filters import Scope

from retriever.hybrid import HybridRetriever
from tests.conftest import make_stored


def _index(passages, embedder):
    return make_stored(passages, embedder)[0]


def test_lexical_weight_zero_is_pure_dense(three_passages, fake_embedder):
    index = _index(three_passages, fake_embedder)
    query = "special forces Monday"
    hybrid = HybridRetriever(index, lexical_weight=0.0).retrieve(query, fake_embedder.encode([query])[0], 3)
    vectors = np.stack([v for _, v in index.all_passages()])
    oracle = vectors @ fake_embedder.encode([query])[0]
    assert [h.passage.id for h in hybrid] == [three_passages[i].id for i in np.argsort(-oracle, kind="stable")]
    np.testing.assert_allclose([h.score for h in hybrid], np.sort(oracle)[::-1], rtol=1e-5)


def test_lexical_side_ranks_the_named_passage_first(three_passages, fake_embedder):
    index = _index(three_passages, fake_embedder)
    query = "What did Baerbock say?"
    hits = HybridRetriever(index, lexical_weight=1.0).retrieve(query, fake_embedder.encode([query])[0], 3)
    assert hits[0].passage.id == three_passages[0].id
    assert hits[0].score == 1.0


def test_lexical_scores_of_chosen_rows_match_the_search(three_passages, fake_embedder):
    index = _index(three_passages, fake_embedder)
    assert index.lexical("zebra xylophone", 5)[0].tolist() == []
    assert index.lexical_scores("zebra xylophone", np.array([1, 2, 3])).tolist() == [0.0, 0.0, 0.0]
    rows, scores = index.lexical("Wallace anti-tank", 5)
    assert rows[0] == 2
    np.testing.assert_allclose(index.lexical_scores("Wallace anti-tank", np.array([3, 2, 1])), [0.0, scores[0], 0.0])


def test_article_weight_adds_the_best_other_passage_of_the_same_article():
    import numpy as np

    from retriever.hybrid import Pool, fuse

    pool = Pool(np.arange(4), dense=np.array([0.8, 0.2, 0.5, 0.4]), lexical=np.array([1.0, 0.0, 0.5, 0.0]))
    docs = np.array(["a", "a", "b", "c"], dtype=object)
    mixed = 0.5 * pool.dense + 0.5 * pool.lexical
    assert np.allclose(fuse(pool, docs, 0.5, 0.0), mixed)
    # Each passage gets the best *other* passage of its article; a passage alone in its article gets nothing.
    oracle = mixed + 0.3 * np.array([mixed[1], mixed[0], 0.0, 0.0])
    assert np.allclose(fuse(pool, docs, 0.5, 0.3), oracle)
    # So the weak paragraph of a well-matched article (0.1 alone) passes a lone passage that matched better (0.2).
    assert mixed[1] < mixed[3] and fuse(pool, docs, 0.5, 0.3)[1] > fuse(pool, docs, 0.5, 0.3)[3]


def test_a_scope_searches_only_its_documents_and_scores_them_as_the_whole_index_would(three_passages, fake_embedder):
    from retriever.dense import DenseRetriever

    index = _index(three_passages, fake_embedder)
    query = "What did Baerbock say about weapons?"
    vector = fake_embedder.encode([query])[0]
    ids = ["d1", "d2"]  # not the Baerbock document that the whole index would rank first
    scope = Scope.of(doc_ids=ids)
    unscoped = HybridRetriever(index, lexical_weight=0.0).retrieve(query, vector, 3)
    scoped = HybridRetriever(index, lexical_weight=0.0).retrieve_batch([query], vector[None, :], 3, scope=scope)[0]
    assert {h.passage.doc_id for h in scoped} == set(ids)
    # Dense side alone: the scope's passages in the order and with the scores of the unscoped search.
    assert [(h.passage.id, round(h.score, 5)) for h in scoped] == [
        (h.passage.id, round(h.score, 5)) for h in unscoped if h.passage.doc_id in ids]
    dense = DenseRetriever(index).retrieve_batch([query], vector[None, :], 3, scope=scope)[0]
    assert [h.passage.id for h in dense] == [h.passage.id for h in scoped]
    assert HybridRetriever(index).retrieve_batch([query], vector[None, :], 3, scope=Scope.of(doc_ids=["nowhere"]))[0] == []
    assert DenseRetriever(index).retrieve_batch([query], vector[None, :], 3, scope=Scope.of(doc_ids=["nowhere"]))[0] == []
