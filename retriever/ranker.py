"""The learned passage ranker: which of a question's candidate passages hold its answer, from what both searches say.

The hybrid retriever's fixed fusion (dense + BM25 + the article term) finds the answering paragraph of a news question
in its top 5 for under half of them: news questions are written from a story's headline and highlights, so the
paragraph that answers shares few words with them while its article as a whole matches. The retriever therefore
widens each question's pool with every passage of its best ``EXPAND_ARTICLES`` articles, and this model (LightGBM,
LambdaRank; RankQA, Kratzwald et al. 2019, re-ranks on such features) orders the pool from the features below:
each passage's scores and ranks on both sides, its article's standing in the pool, where it stands in its article,
and the question's shape. Features are computed here, once, for training (training/ranker.py) and serving alike.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import boosting
from qa.text import wh_class

RANKER_MODEL = "ranker.txt"
RANKER_META = "ranker.json"
# The shipped ranker, beside the shipped embedder.
DEFAULT_DIR = Path(__file__).resolve().parent / "models" / "ranker"
# Articles whose every passage joins the pool (chosen on the tune questions: training/ranker.py).
EXPAND_ARTICLES = 5

FEATURES = (
    # the passage on each side, and fused as the fixed rule does
    "dense", "lexical", "mixed", "fused", "dense_rank", "lexical_rank", "fused_rank", "dense_gap", "fused_gap",
    # its article among the pool's passages
    "article_other", "article_pooled", "article_rank", "article_mean", "article_dense", "article_lexical",
    "article_sum",
    # where it stands in its article
    "paragraph", "chars",
    # the question
    "question_words", "wh", "pool_size", "lexical_best",
)


@dataclass(frozen=True)
class Articles:
    """Each pooled passage's article among the pool's passages, from their scores (vectorised: no loop over
    articles, which a pool widened to whole articles holds dozens of)."""

    other: np.ndarray  # the best score of another passage of the same article (0 when it is alone there)
    pooled: np.ndarray  # how many of the article's passages are in the pool
    rank: np.ndarray  # the article's rank by its best passage (0: the best article)
    mean: np.ndarray
    total: np.ndarray
    code: np.ndarray  # the article of each passage, as an index into the pool's articles

    @classmethod
    def of(cls, doc_of: np.ndarray, scores: np.ndarray) -> "Articles":
        n = len(scores)
        _, code = np.unique(doc_of, return_inverse=True)
        code = code.reshape(-1)
        count = np.bincount(code, minlength=code.max(initial=-1) + 1)
        total = np.bincount(code, weights=scores, minlength=len(count))
        # Within each article, best first: the first of a run is its best passage, the second its runner-up.
        order = np.lexsort((-scores, code))
        first = np.ones(n, dtype=bool)
        first[1:] = code[order][1:] != code[order][:-1]
        best = np.zeros(len(count))
        best[code[order][first]] = scores[order][first]
        second = np.zeros(len(count))
        runner = np.flatnonzero(~first[1:] & first[:-1]) + 1 if n > 1 else np.zeros(0, dtype=np.int64)
        second[code[order][runner]] = scores[order][runner]
        other = np.where(count[code] > 1, best[code], 0.0)
        top = order[first]
        other[top] = second[code[top]]
        standing = np.empty(len(count))
        standing[np.argsort(-best, kind="stable")] = np.arange(len(count))
        return cls(other, count[code].astype(np.float64), standing[code], total[code] / count[code], total[code], code)


def _ranks(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values))
    out[np.argsort(-values, kind="stable")] = np.arange(len(values))
    return out


def pool_features(question: str, dense: np.ndarray, lexical: np.ndarray, lexical_best: float, doc_of: np.ndarray,
                  paragraph: np.ndarray, chars: np.ndarray, lexical_weight: float,
                  article_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """One row of ``FEATURES`` per pooled passage (float32), and each passage's fused score (the fixed rule's).

    ``dense``: cosine to the question; ``lexical``: BM25 scaled so that the question's best passage is 1;
    ``lexical_best``: that best passage's raw BM25 (how well the question's words match anything at all)."""
    n = len(dense)
    mixed = (1 - lexical_weight) * dense + lexical_weight * lexical
    articles = Articles.of(doc_of, mixed)
    best_dense = np.full(articles.code.max(initial=-1) + 1, -np.inf)
    np.maximum.at(best_dense, articles.code, dense)
    best_lexical = np.full(len(best_dense), -np.inf)
    np.maximum.at(best_lexical, articles.code, lexical)
    fused = mixed + article_weight * articles.other
    X = np.column_stack([
        dense, lexical, mixed, fused, _ranks(dense), _ranks(lexical), _ranks(fused),
        dense.max(initial=0.0) - dense, fused.max(initial=0.0) - fused,
        articles.other, articles.pooled, articles.rank, articles.mean, best_dense[articles.code],
        best_lexical[articles.code], articles.total,
        paragraph, chars,
        np.full(n, len(question.split())), np.full(n, wh_class(question)), np.full(n, n), np.full(n, lexical_best),
    ]).astype(np.float32)
    return X.reshape(n, len(FEATURES)), fused


@dataclass
class PassageRanker:
    """The shipped ranker (``ranker.txt``, LightGBM's text format) and its card (``ranker.json``)."""

    model_dir: Path = DEFAULT_DIR

    def __post_init__(self):
        self._booster = None
        self.meta: dict = {}
        self._lock = threading.Lock()

    @staticmethod
    def available(model_dir: Path = DEFAULT_DIR) -> bool:
        return (Path(model_dir) / RANKER_MODEL).is_file() and (Path(model_dir) / RANKER_META).is_file()

    def warm_up(self) -> None:
        with self._lock:
            if self._booster is not None:
                return
            self._booster, self.meta = boosting.load_booster(self.model_dir, RANKER_MODEL, RANKER_META, FEATURES,
                                                             "python -m training.ranker fit")

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Each pooled passage's score (higher: more likely to hold the answer; comparable within a question)."""
        self.warm_up()
        if not len(features):
            return np.zeros(0)
        return np.asarray(self._booster.predict(features, num_threads=1), dtype=np.float64)


@functools.lru_cache(maxsize=1)
def shipped() -> PassageRanker:
    """The shipped ranker, one per process: every pipeline built over a new index version shares its loaded model."""
    return PassageRanker()
