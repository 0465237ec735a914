"""Hybrid retrieval: BM25 finds exact names that the dense side ranks low."""

import numpy as np

from retriever.hybrid import HybridRetriever
from tests.conftest import make_stored


def _index(passages, embedder):
    return make_stored(passages, embedder)[0]


def test_lexical_weight_zero_is_pure_dense(three_passages, fake_embedder):
    index = _index(three_passages, fake_embedder)
    query = "special forces Monday"
    hybrid = HybridRetriever(index, lexical_weight=0.0).retrieve(query, fake_embedder.encode([query])[0], 3)
    oracle = index.vectors() @ fake_embedder.encode([query])[0]
    assert [h.passage.id for h in hybrid] == [three_passages[i].id for i in np.argsort(-oracle, kind="stable")]
    np.testing.assert_allclose([h.score for h in hybrid], np.sort(oracle)[::-1], rtol=1e-5)


def test_lexical_side_ranks_the_named_passage_first(three_passages, fake_embedder):
    index = _index(three_passages, fake_embedder)
    query = "What did Baerbock say?"
    hits = HybridRetriever(index, lexical_weight=1.0).retrieve(query, fake_embedder.encode([query])[0], 3)
    assert hits[0].passage.id == three_passages[0].id
    assert hits[0].score == 1.0


def test_lexical_scores_are_scaled_and_zero_without_matches(three_passages, fake_embedder):
    retriever = HybridRetriever(_index(three_passages, fake_embedder))
    assert retriever.lexical_scores("zebra xylophone").tolist() == [0.0, 0.0, 0.0]
    scores = retriever.lexical_scores("Wallace anti-tank")
    assert scores.max() == 1.0 and scores.argmax() == 1
