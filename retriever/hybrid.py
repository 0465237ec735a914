"""Hybrid retriever: dense inner product fused with BM25, so names and rare words that a small
embedding model blurs ("Which German foreign minister ...") still find their paragraph.

Neither side scores every passage: the candidates are the dense top ``candidates`` and the BM25 top
``candidates`` (tantivy's inverted index), and only that pool is scored on both sides (``pool``, the one
scoring call). The fused score adds, with ``article_weight``, the best score of another passage of the same
article in the pool: a news question is often written from the story's headline and lead, so the paragraph that
answers it can share few words with it while its article as a whole matches well.

A filter (``qa.filters.Scope``) is applied on both sides before their top ``candidates`` are cut: a selection of
at most ``SCOPE_EXACT_MAX`` passages is scored whole (exact), a wider one is searched with the filter inside the
dense search and inside the BM25 query. A recency preference adds ``RECENCY_WEIGHT`` times a half-life decay of
each passage's age behind the newest dated passage of the pool. Near-duplicate passages (one story syndicated
several times) are returned once, naming the other documents (``retriever.duplicates``).
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from qa.filters import Scope
from qa.types import ScoredPassage
from retriever.duplicates import collapse
from retriever.ranker import EXPAND_ARTICLES, Articles, PassageRanker, pool_features
from retriever.store import Selection, StoredIndex

# A filter letting through at most this many passages (a story, a conversation's few articles): every one of them
# is scored on both sides. Wider ones are searched with the filter inside both searches, which is faster from
# about this size on (bench/bench_filters.py: 1,150 passages scored whole took 12 ms, twice an unfiltered question).
SCOPE_EXACT_MAX = 500
# What the newest passage gains over an undated or very old one when recency is asked for (fused scores are
# about 0-1.2).
RECENCY_WEIGHT = 0.2
# The same preference against the learned ranker's scores: among a question's best 15 passages they spread about
# 15 times as wide as fused ones (medians 4.19 and 0.27 over 200 NewsQA tune questions on the news archive).
RECENCY_RANKED_WEIGHT = 3.0
DAY_S = 86_400.0
# Candidates looked at per passage returned, so that folding near-duplicates still leaves k distinct ones.
DUPLICATE_LOOKAHEAD = 3


@dataclass(frozen=True)
class Pool:
    """One question's candidate passages, scored on both sides: rows, dense cosine, BM25 scaled to the best = 1
    (``best``: that best passage's raw BM25)."""

    rows: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    best: float = 0.0


def fuse(pool: Pool, doc_of: np.ndarray, lexical_weight: float, article_weight: float) -> np.ndarray:
    """Each pooled passage's score: dense and BM25 mixed, plus ``article_weight`` times the best mixed score among
    the other passages of its article in the pool (0 when it is alone there)."""
    mixed = (1 - lexical_weight) * pool.dense + lexical_weight * pool.lexical
    if not article_weight or not len(mixed):
        return mixed
    return mixed + article_weight * Articles.of(doc_of, mixed).other


def recency(published: np.ndarray, half_life_days: float) -> np.ndarray:
    """Each passage's recency in [0, 1]: 1 for the newest dated one, halving every ``half_life_days`` behind it;
    0 when undated. Relative to the pool, so that an archive of 1987 has a "latest" too."""
    dated = ~np.isnan(published)
    out = np.zeros(len(published))
    if dated.any():
        age = (published[dated].max() - published[dated]) / DAY_S
        out[dated] = 0.5 ** (age / half_life_days)
    return out


class HybridRetriever:
    def __init__(self, index: StoredIndex, lexical_weight: float = 0.3, candidates: int = 50,
                 article_weight: float = 0.0, ranker: PassageRanker | None = None):
        self.index = index
        self.lexical_weight = lexical_weight
        self.candidates = candidates
        self.article_weight = article_weight
        # With a ranker, the pool widens to its best articles' passages and the ranker orders it (retriever/ranker.py).
        self.ranker = ranker

    def warm_up(self) -> None:
        if self.ranker is not None:
            self.ranker.warm_up()

    def pool(self, query: str, qvec: np.ndarray, dense_rows: np.ndarray, width: int, where=None) -> Pool:
        """The question's candidate pool (the dense search's rows and BM25's own top ``width``, within ``where``),
        scored on both sides; rows deleted meanwhile (no longer in the dense index) are left out, never cited."""
        lexical_rows, lexical_top = self.index.lexical(query, width, where)
        rows = np.array(sorted(r for r in {int(r) for r in dense_rows if r >= 0} | {int(r) for r in lexical_rows}
                               if self.index.has(r)), dtype=np.int64)
        return self._scored(query, qvec, rows, lexical_top.max(initial=0.0))

    def scoped_pool(self, query: str, qvec: np.ndarray, rows: np.ndarray) -> Pool:
        """Every passage of a scope (a few documents), scored on both sides; BM25 scaled to the scope's best."""
        return self._scored(query, qvec, rows, None)

    def _scored(self, query: str, qvec: np.ndarray, rows: np.ndarray, best: float | None) -> Pool:
        if not len(rows):
            return Pool(rows, np.zeros(0), np.zeros(0))
        dense = self.index.vectors_of(rows) @ qvec
        lexical = self.index.lexical_scores(query, rows)
        # BM25 scaled so that the question's best passage is 1 (0 everywhere when no word matches).
        best = float(lexical.max(initial=0.0) if best is None else best)
        return Pool(rows, dense, lexical / best if best > 0 else np.zeros(len(rows)), best)

    def ranked_pool(self, query: str, qvec: np.ndarray, pool: Pool, selection: Selection | None = None,
                    widen: bool = True) -> tuple[np.ndarray, np.ndarray, Pool]:
        """The pool as the ranker sees it (widened, unless it already is a whole scope, by every passage of its
        best ``EXPAND_ARTICLES`` articles that the filter lets through): (the ranker's features, each passage's
        fused score, the pool). Training (training/ranker.py) calls this too."""
        doc_of, paragraph, chars = self.index.layout_of(pool.rows)
        if widen:
            fused = fuse(pool, doc_of, self.lexical_weight, self.article_weight)
            best: list[str] = []
            for o in np.argsort(-fused, kind="stable"):
                if doc_of[o] and doc_of[o] not in best:
                    best.append(doc_of[o])
                    if len(best) == EXPAND_ARTICLES:
                        break
            extra = self.index.live_within(self.index.rows_of_documents(best), selection)
            extra = extra[~np.isin(extra, pool.rows)]
            if len(extra):
                # Only the new rows are scored and looked up; the pool stays in row order.
                more = self._scored(query, qvec, extra, pool.best)
                more_doc, more_paragraph, more_chars = self.index.layout_of(extra)
                order = np.argsort(np.concatenate([pool.rows, extra]), kind="stable")
                pool = Pool(np.concatenate([pool.rows, extra])[order], np.concatenate([pool.dense, more.dense])[order],
                            np.concatenate([pool.lexical, more.lexical])[order], pool.best)
                doc_of = np.concatenate([doc_of, more_doc])[order]
                paragraph = np.concatenate([paragraph, more_paragraph])[order]
                chars = np.concatenate([chars, more_chars])[order]
        X, fused = pool_features(query, pool.dense, pool.lexical, pool.best, doc_of, paragraph, chars,
                                 self.lexical_weight, self.article_weight)
        return X, fused, pool

    def retrieve_batch(self, queries: list[str], embeddings: np.ndarray, top_k: int,
                       scope: Scope | None = None) -> list[list[ScoredPassage]]:
        if not queries:
            return []
        width = max(self.candidates, top_k)
        selection = self.index.select(scope) if scope is not None and scope.filtered else None
        if selection is not None and not selection.count:
            return [[] for _ in queries]
        within = self.index.rows_at(selection.mask) if selection and selection.count <= SCOPE_EXACT_MAX else None
        if within is None:
            _, dense_rows = self.index.search(embeddings, width, None if selection is None else selection.mask)
        results = []
        for i, (query, qvec) in enumerate(zip(queries, embeddings)):
            if within is not None:
                pool = self.scoped_pool(query, qvec, within)
            else:
                pool = self.pool(query, qvec, dense_rows[i], width, None if selection is None else selection.where)
            if not len(pool.rows):
                results.append([])
                continue
            if self.ranker is not None:
                features, fused, pool = self.ranked_pool(query, qvec, pool, selection, widen=within is None)
                key = self.ranker.scores(features)
            else:
                doc_of = self.index.documents_of(pool.rows) if self.article_weight else np.zeros(len(pool.rows))
                key = fused = fuse(pool, doc_of, self.lexical_weight, self.article_weight)
            boost = np.zeros(len(pool.rows))
            if scope is not None and scope.recency_half_life_days:
                newer = recency(self.index.published_of(pool.rows), scope.recency_half_life_days)
                key = key + (RECENCY_WEIGHT if self.ranker is None else RECENCY_RANKED_WEIGHT) * newer
                boost = RECENCY_WEIGHT * newer
            results.append(self._distinct(pool.rows, key, fused + boost, top_k, boost))
        return results

    def _distinct(self, rows: np.ndarray, key: np.ndarray, fused: np.ndarray, top_k: int,
                  boost: np.ndarray | None = None) -> list[ScoredPassage]:
        """The best ``top_k`` passages by ``key``, one of each story, each scored with its ``fused`` score (the
        scale the reader's calibration knows; ``boost``: the part of it a preference added, kept apart):
        near-duplicates among the best ``DUPLICATE_LOOKAHEAD`` times ``top_k`` fold into the best of them, which
        lists their documents."""
        order = np.argsort(-key, kind="stable")
        ranked: list[ScoredPassage] = []
        seen, width = 0, top_k * DUPLICATE_LOOKAHEAD
        while True:
            # Records only for the passages considered (a row deleted since the search is left out).
            more = order[seen:width]
            found = self.index.passages_at(rows[more])
            ranked += [ScoredPassage(found[int(rows[o])], float(fused[o]),
                                     boost=0.0 if boost is None else float(boost[o]))
                       for o in more if int(rows[o]) in found]
            kept = collapse(ranked, top_k)
            # A story carried by many papers can fill the look-ahead with its copies: look further, until k
            # distinct passages or the end of the pool.
            if len(kept) >= top_k or width >= len(order):
                return kept
            seen, width = width, width * 2

    def retrieve(self, query: str, embedding: np.ndarray, top_k: int) -> list[ScoredPassage]:
        return self.retrieve_batch([query], embedding[None, :], top_k)[0]
