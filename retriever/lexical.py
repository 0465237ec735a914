"""BM25 over the passages' words with tantivy (Lucene-like): an inverted index with block-max WAND, so a
question scores only the passages that can reach its top, not every passage.

Documents are the passages' normalised words (``qa.text.lexical_terms``), keyed by the passage row, with the
facts filters need (document code, published seconds, publisher) so that a filter is a clause of the query and the
top k is cut after it. Adding twice is harmless: ``add`` deletes the row first, which makes replaying a log
idempotent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.text import lexical_terms

# Bumped when the fields change: a lexical index of another schema is rebuilt from the store (it is derived).
SCHEMA_VERSION = 2


def _schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("terms", stored=False, tokenizer_name="whitespace")
    builder.add_integer_field("row", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("doc", stored=False, indexed=True, fast=False)
    builder.add_integer_field("published", stored=False, indexed=True, fast=True)
    builder.add_text_field("publisher", stored=False, tokenizer_name="raw")
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

    def add(self, rows, texts, facts=None) -> None:
        """``facts``: the rows' ``RowFacts`` (documents, dates, publishers), which filters match."""
        import tantivy

        writer = self._open_writer()
        for i, (row, text) in enumerate(zip(rows, texts)):
            writer.delete_documents_by_term("row", int(row))
            doc = tantivy.Document(terms=" ".join(lexical_terms(text)), row=int(row))
            if facts is not None:
                doc.add_unsigned("doc", int(facts.doc[i]))
                if not np.isnan(facts.when[i]):
                    doc.add_integer("published", int(np.floor(facts.when[i])))
                if facts.publisher[i] is not None:
                    doc.add_text("publisher", facts.publisher[i].lower())  # matched whatever its case
            writer.add_document(doc)

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

    def where(self, since: float | None = None, until: float | None = None, publishers=None, docs=None):
        """A filter as a query clause (AND of what is given; the store's ``select`` on the dense side matches the
        same passages): ``since <= published < until`` in seconds, publisher in ``publishers``, document code in
        ``docs``. None when nothing is given."""
        import tantivy

        parts = []
        if since is not None or until is not None:
            low = None if since is None else int(np.ceil(since))
            high = None if until is None else int(np.ceil(until)) - 1  # stored seconds are floored; "until" excludes
            parts.append(tantivy.Query.range_query(self._schema, "published", tantivy.FieldType.Integer, low, high))
        if publishers is not None:
            parts.append(tantivy.Query.term_set_query(self._schema, "publisher", [p.lower() for p in publishers]))
        if docs is not None:
            parts.append(tantivy.Query.term_set_query(self._schema, "doc", [int(d) for d in docs]))
        if not parts:
            return None
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, p) for p in parts])

    def search(self, query: str, k: int, where=None) -> tuple[np.ndarray, np.ndarray]:
        """Rows and BM25 scores of the best ``k`` passages sharing a word with ``query`` (and matching ``where``,
        a clause from ``where()``, before the top ``k`` is cut)."""
        import tantivy

        terms = lexical_terms(query)
        if not terms or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        searcher = self._index.searcher()
        wanted = self._terms_query(terms)
        if where is not None:
            wanted = tantivy.Query.boolean_query([(tantivy.Occur.Must, wanted),
                                                  (tantivy.Occur.Must, tantivy.Query.const_score_query(where, 0.0))])
        hits = searcher.search(wanted, k).hits
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
