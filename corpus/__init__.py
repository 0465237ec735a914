"""Article loading, paragraph splitting and the bundled default corpus."""

from corpus.loader import DEFAULT_CORPUS_DIR, Corpus, load_corpus

__all__ = ["DEFAULT_CORPUS_DIR", "Corpus", "load_corpus"]
