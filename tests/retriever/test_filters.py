"""Filtered retrieval: both sides cut their top k after the filter, checked against an exact numpy oracle at
every selectivity, on the exact and the approximate (IVF) index, and after writes; recency prefers newer passages."""

import numpy as np
import pytest

from qa.dates import seconds_of
from qa.filters import Scope
from qa.types import DocumentInfo, Passage
from retriever import dense_index, store
from retriever.dense import DenseRetriever
from retriever.hybrid import HybridRetriever

PUBLISHERS = ["reuters", "bbc", "cnn", None]
N = 1200


def _corpus(n=N, dim=16, seed=0):
    """``n`` one-passage documents with clustered vectors, a date each (one in ten undated), a publisher, topics."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, dim))
    vectors = (centres[rng.integers(0, 12, n)] + rng.normal(0, 0.4, (n, dim))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs, facts = [], []
    for i in range(n):
        day = None if i % 10 == 9 else f"{1987 + i % 5}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        publisher = PUBLISHERS[i % 7 % 4]
        topics = ("cocoa",) if i % 13 == 0 else ("grain", "trade") if i % 3 == 0 else ()
        text = f"cocoa harvest report number {i} " + ("bahia " if i % 2 else "ghana ") * (1 + i % 3)
        p = Passage(f"d{i}:0", f"d{i}", f"Doc {i}", 0, text, 0, len(text))
        info = DocumentInfo(f"d{i}", f"Doc {i}", None, day, "src", 1, publisher, topics)
        docs.append(store.NewDocument(info, text, [p], vectors[i][None, :]))
        facts.append((seconds_of(day), publisher, topics))
    return docs, vectors, facts


def _oracle(vectors, facts, queries, k, keep):
    """Exact search over the passages ``keep`` lets through: rows (1-based build order) best first."""
    ids = np.array([i for i in range(len(facts)) if keep(facts[i], i)], dtype=np.int64)
    if not len(ids):
        return [[] for _ in queries]
    sims = queries @ vectors[ids].T
    return [list(ids[np.argsort(-s, kind="stable")[:k]] + 1) for s in sims]


def _recall(found, exact):
    return np.mean([len(set(a) & set(b)) / max(len(b), 1) for a, b in zip(found, exact)])


SCOPES = {
    # (scope, which passages pass)
    "all dated since 1989": (Scope.of(since="1989-01-01"), lambda f, i: f[0] is not None and f[0] >= seconds_of("1989-01-01")),
    "one year": (Scope.of(since="1988-01-01", until="1988-12-31"),
                 lambda f, i: f[0] is not None and seconds_of("1988-01-01") <= f[0] < seconds_of("1989-01-01")),
    "a publisher": (Scope.of(sources=["BBC"]), lambda f, i: f[1] == "bbc"),
    "a topic": (Scope.of(topics=["cocoa"]), lambda f, i: "cocoa" in f[2]),
    "publisher and month": (Scope.of(sources=["reuters"], since="1990-03-01", until="1990-03-31"),
                            lambda f, i: f[1] == "reuters" and f[0] is not None
                            and seconds_of("1990-03-01") <= f[0] < seconds_of("1990-04-01")),
    "three documents": (Scope.of(doc_ids=["d5", "d600", "d1100"]), lambda f, i: i in (5, 600, 1100)),
}


@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize("exact_max", [5, 100_000])
@pytest.mark.parametrize("name", list(SCOPES))
def test_dense_search_within_a_filter_matches_the_exact_filtered_oracle(tmp_path, monkeypatch, name, approximate,
                                                                       exact_max):
    """Both strategies (vectors of the selection multiplied; FAISS with the selection as an id bitmap) on both
    indexes; every selectivity from three passages to most of them."""
    monkeypatch.setattr(dense_index, "EXACT_MAX", 100 if approximate else 100_000)
    monkeypatch.setattr(dense_index, "FILTER_EXACT_MAX", exact_max)
    docs, vectors, facts = _corpus()
    stored = store.build(tmp_path, store.Manifest("m", 16, "fp", [], 0.0), docs)
    assert (type(stored.dense.index).__name__ == "IndexIVFFlat") == approximate
    scope, keep = SCOPES[name]
    queries = vectors[:40] + np.random.default_rng(1).normal(0, 0.1, (40, 16)).astype(np.float32)
    selection = stored.select(scope)
    expected = sum(keep(f, i) for i, f in enumerate(facts))
    assert selection.count == expected > 0
    _, rows = stored.search(queries, 10, selection.mask)
    found = [[r for r in row if r >= 0] for row in rows]
    exact = _oracle(vectors, facts, queries, 10, keep)
    # As many as exist (up to k), every one passing the filter, and the ones exact search finds.
    assert all(len(f) == min(10, expected) for f in found)
    assert all(keep(facts[r - 1], r - 1) for f in found for r in f)
    assert _recall(found, exact) >= (0.95 if approximate else 1.0)


def test_a_selective_filter_still_gets_k_passages_from_both_sides(tmp_path):
    """A filter passing about 6% of the passages: BM25 and the dense side each return their k within it, not the
    filtered remains of an unfiltered top k."""
    docs, vectors, facts = _corpus()
    stored = store.build(tmp_path, store.Manifest("m", 16, "fp", [], 0.0), docs)
    scope = Scope.of(sources=["reuters"], since="1990-01-01", until="1990-12-31")
    selection = stored.select(scope)
    assert 10 <= selection.count <= 100
    rows, scores = stored.lexical("cocoa bahia", 10, selection.where)
    assert len(rows) == 10 and all(facts[r - 1][1] == "reuters" for r in rows)
    everywhere, _ = stored.lexical("cocoa bahia", 10)
    assert not set(rows) <= set(everywhere)  # the filtered top 10 is not the unfiltered top 10 filtered
    # The lexical clause lets through exactly the passages the dense mask does.
    all_rows, _ = stored.lexical("cocoa", N, selection.where)
    assert set(all_rows.tolist()) == set(stored.rows_at(selection.mask).tolist())


@pytest.mark.parametrize("scoped_max", [5, 10_000])
def test_hybrid_and_dense_retrievers_answer_only_from_the_filter(tmp_path, monkeypatch, scoped_max):
    import retriever.hybrid as hybrid

    monkeypatch.setattr(hybrid, "SCOPE_EXACT_MAX", scoped_max)  # scored whole, or searched with the filter inside
    docs, vectors, facts = _corpus()
    stored = store.build(tmp_path, store.Manifest("m", 16, "fp", [], 0.0), docs)
    scope = Scope.of(sources=["cnn"], topics=["grain"])
    qvec = vectors[7]
    for retriever in (HybridRetriever(stored), DenseRetriever(stored)):
        hits = retriever.retrieve_batch(["cocoa harvest"], qvec[None, :], 5, scope=scope)[0]
        assert len(hits) == 5
        for h in hits:
            i = int(h.passage.doc_id[1:])
            assert facts[i][1] == "cnn" and "grain" in facts[i][2]
            assert h.passage.source == "cnn" and h.passage.published == docs[i].info.published
    nothing = Scope.of(sources=["cnn"], since="2030-01-01")
    assert stored.select(nothing).count == 0
    assert HybridRetriever(stored).retrieve_batch(["cocoa"], qvec[None, :], 5, scope=nothing) == [[]]


def test_filters_follow_writes_and_reopening(tmp_path):
    docs, vectors, facts = _corpus(200)
    stored = store.build(tmp_path, store.Manifest("m", 16, "fp", [], 0.0), docs)
    scope = Scope.of(sources=["ap"])
    assert stored.select(scope).count == 0
    info = DocumentInfo("new", "New", None, "2001-09-11", "api", 1, "AP", ("news",))
    text = "cocoa harvest report from the wire"
    stored.write([store.NewDocument(info, text, [Passage("new:0", "new", "New", 0, text, 0, len(text))],
                                    vectors[:1])])
    for index in (stored, store.load(tmp_path)):
        selection = index.select(scope)
        assert selection.count == 1
        rows, _ = index.lexical("cocoa", 10, selection.where)
        assert index.passages_at(rows)[int(rows[0])].doc_id == "new"
        assert index.select(Scope.of(topics=["news"], until="2001-09-11")).count == 1
        assert index.select(Scope.of(topics=["news"], until="2001-09-10")).count == 0
    stored.write(deletes=["new"])
    assert stored.select(scope).count == 0 and store.load(tmp_path).select(scope).count == 0


def test_recency_prefers_the_newer_of_two_equal_passages(tmp_path):
    vector = np.ones((1, 4), np.float32) / 2
    texts = {"old": "The cocoa harvest in Bahia was 1.2 million bags.", "new": "Bahia farmers expect a record crop.",
             "undated": "Rain helped growers across the region."}
    docs = [store.NewDocument(DocumentInfo(d, d, None, day, "src", 1, "wire"), texts[d],
                              [Passage(f"{d}:0", d, d, 0, texts[d], 0, len(texts[d]))], vector)
            for d, day in (("old", "1987-02-26"), ("new", "1987-06-01"), ("undated", None))]
    stored = store.build(tmp_path, store.Manifest("m", 4, "fp", [], 0.0), docs)
    retriever = HybridRetriever(stored, lexical_weight=0.0)  # the same vector: equal without a preference
    plain = retriever.retrieve_batch(["cocoa Bahia"], vector, 3)[0]
    assert len({round(h.score, 6) for h in plain}) == 1
    recent = retriever.retrieve_batch(["cocoa Bahia"], vector, 3, scope=Scope.of(recency_half_life_days=30))[0]
    assert [h.passage.doc_id for h in recent] == ["new", "old", "undated"]
    assert recent[0].score > recent[1].score > recent[2].score
    # The preference is kept apart from the evidence, which stays equal (the reader states probabilities from it).
    assert recent[0].boost > recent[1].boost > recent[2].boost == 0.0
    assert len({round(h.score - h.boost, 6) for h in recent}) == 1 and all(h.boost == 0.0 for h in plain)


def test_the_approximate_index_finds_passages_added_since_within_a_filter(tmp_path, monkeypatch):
    """IVF, a filter of about a tenth of the passages (the nearest cells holding enough of them are searched):
    a passage written after the build, in the filter, is found as the exact search finds it."""
    monkeypatch.setattr(dense_index, "EXACT_MAX", 100)
    monkeypatch.setattr(dense_index, "FILTER_EXACT_MAX", 5)
    docs, vectors, facts = _corpus()
    stored = store.build(tmp_path, store.Manifest("m", 16, "fp", [], 0.0), docs)
    text = "cocoa harvest report from the newest wire"
    info = DocumentInfo("late", "Late", None, "1988-06-15", "api", 1, "bbc", ())
    stored.write([store.NewDocument(info, text, [Passage("late:0", "late", "Late", 0, text, 0, len(text))],
                                    vectors[3:4])])
    scope = Scope.of(sources=["bbc"], since="1988-01-01", until="1988-12-31")
    selection = stored.select(scope)
    assert 0.01 < selection.count / stored.dense.live < 0.5
    _, rows = stored.search(vectors[3:4], 10, selection.mask)
    assert stored.passages_at(rows[0][:1])[int(rows[0][0])].doc_id == "late"  # its own vector, and in the filter


def test_a_date_range_is_one_span_of_positions_and_stays_exact_after_writes(tmp_path, monkeypatch):
    """The index lays its vectors out by publication date, so a date range is searched as one span of positions
    (FAISS bisects each cell); a passage written since (outside the laid-out positions) and a deletion inside the
    span are honoured, the results match the exact filtered oracle, and reopening (replay) keeps it so."""
    monkeypatch.setattr(dense_index, "EXACT_MAX", 100)
    monkeypatch.setattr(dense_index, "FILTER_EXACT_MAX", 5)
    docs, vectors, facts = _corpus()
    stored = store.build(tmp_path, store.Manifest("m", 16, "fp", [], 0.0), docs)
    when = stored.dense.when
    dated = when[~np.isnan(when)]
    assert np.all(np.diff(dated) >= 0) and np.isnan(when[len(dated):]).all()  # by date, undated last
    text = "cocoa harvest report from the newest wire"
    info = DocumentInfo("late", "Late", None, "1988-06-15", "api", 1, "bbc", ())
    stored.write([store.NewDocument(info, text, [Passage("late:0", "late", "Late", 0, text, 0, len(text))],
                                    vectors[3:4])], deletes=["d1"])
    # The oracle's rows: the built ones (1-based) and the late passage after them; d1 deleted.
    vectors, facts = np.vstack([vectors, vectors[3:4]]), facts + [(seconds_of("1988-06-15"), "bbc", ())]
    in_1988 = lambda f, i: (i != 1 and f[0] is not None
                            and seconds_of("1988-01-01") <= f[0] < seconds_of("1989-01-01"))
    queries = vectors[:40] + np.random.default_rng(1).normal(0, 0.1, (40, 16)).astype(np.float32)
    queries[0] = vectors[-1]
    exact = _oracle(vectors, facts, queries, 10, in_1988)
    for index in (stored, store.load(tmp_path)):
        assert index.passages_at([N + 1])[N + 1].doc_id == "late"
        selection = index.select(Scope.of(since="1988-01-01", until="1988-12-31"))
        positions = np.flatnonzero(selection.mask & ~index.dense.dead)
        assert index.dense._span(positions) is not None  # searched as a span, not with the bitmap
        _, rows = index.search(queries, 10, selection.mask)
        found = [[r for r in row if r >= 0] for row in rows]
        assert all(len(f) == 10 for f in found)
        assert all(in_1988(facts[r - 1], r - 1) for f in found for r in f)
        assert found[0][0] == N + 1 and _recall(found, exact) >= 0.95
