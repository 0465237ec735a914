"""BM25 over the passages' words with tantivy (Lucene-like): an inverted index with block-max WAND, so a
question scores only the passages that can reach its top, not every passage.

Documents are the passages' normalised words (``qa.text.lexical_terms``), keyed by the passage row.
Adding twice is harmless: ``add`` deletes the row first, which makes replaying a log idempotent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.text import lexical_terms


def _schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("terms", stored=False, tokenizer_name="whitespace")
    builder.add_integer_field("row", stored=True, indexed=True, fast=True)
    return builder.build()


class LexicalIndex:
    """One tantivy index in ``path``; one writer at a time (the store's write lock), any number of readers."""

    def __init__(self, path: Path):
        import tantivy

        self.path = Path(path)
        create = not self.path.is_dir()
        self.path.mkdir(parents=True, exist_ok=True)
        self._schema = _schema()
        self._index = tantivy.Index(self._schema, path=str(self.path), reuse=not create)
        self._writer = None

    # -- writes (under the store's write lock) ---------------------------------------------------
    def _open_writer(self):
        if self._writer is None:
            self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
            # Files a killed writer left half-made (a delete file whose name the next commit would reuse) go
            # before this writer commits anything.
            self._writer.garbage_collect_files()
        return self._writer

    def add(self, rows, texts) -> None:
        import tantivy

        writer = self._open_writer()
        for row, text in zip(rows, texts):
            writer.delete_documents_by_term("row", int(row))
            writer.add_document(tantivy.Document(terms=" ".join(lexical_terms(text)), row=int(row)))

    def delete(self, rows) -> None:
        writer = self._open_writer()
        for row in rows:
            writer.delete_documents_by_term("row", int(row))

    def commit(self) -> None:
        """Make the writes durable and visible, and let go of tantivy's own writer lock."""
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self.reload()

    def reload(self) -> None:
        self._index.reload()

    # -- reads -----------------------------------------------------------------------------------
    def _terms_query(self, terms: list[str]):
        import tantivy

        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "terms", t)) for t in dict.fromkeys(terms)])

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and BM25 scores of the best ``k`` passages sharing a word with ``query``."""
        terms = lexical_terms(query)
        if not terms or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        searcher = self._index.searcher()
        hits = searcher.search(self._terms_query(terms), k).hits
        rows = [searcher.doc(addr)["row"][0] for _, addr in hits]
        return np.array(rows, dtype=np.int64), np.array([s for s, _ in hits], dtype=np.float64)

    def scores(self, query: str, rows: np.ndarray) -> np.ndarray:
        """BM25 of ``query`` against exactly these rows (0 where no word is shared)."""
        import tantivy

        out = np.zeros(len(rows))
        terms = lexical_terms(query)
        if not terms or not len(rows):
            return out
        only = tantivy.Query.const_score_query(tantivy.Query.term_set_query(self._schema, "row", [int(r) for r in rows]), 0.0)
        searcher = self._index.searcher()
        query_ = tantivy.Query.boolean_query([(tantivy.Occur.Must, self._terms_query(terms)), (tantivy.Occur.Must, only)])
        at = {int(r): i for i, r in enumerate(rows)}
        for score, addr in searcher.search(query_, len(rows)).hits:
            out[at[searcher.doc(addr)["row"][0]]] = score
        return out
