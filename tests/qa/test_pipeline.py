"""Pipeline: citations come from the passage the reader named, and bad spans are refused."""

import pytest

from qa.pipeline import CitationError, QAPipeline
from qa.types import Answer
from tests.conftest import FakeEmbedder, FixedReader, ListRetriever


def test_citation_points_into_the_answers_paragraph(three_passages):
    p = three_passages[1]
    start = p.text.index("Britain")
    reader = FixedReader([Answer("Britain", 0.7, p.id, start, start + 7)])
    result = QAPipeline(FakeEmbedder(), ListRetriever(three_passages, score=0.5), reader).ask("Who supplies weapons?")
    (a,) = result.answers
    assert (a.citation.doc_id, a.citation.title, a.citation.paragraph) == (p.doc_id, p.title, p.paragraph)
    assert p.text[a.citation.start : a.citation.end] == "Britain" and not result.no_answer


def test_span_that_is_not_verbatim_is_refused(three_passages):
    p = three_passages[0]
    reader = FixedReader([Answer("Berlin", 0.9, p.id, 0, 6)])
    with pytest.raises(CitationError):
        QAPipeline(FakeEmbedder(), ListRetriever(three_passages, score=0.5), reader).ask("Where?")


def test_max_answers_and_batch(three_passages):
    p = three_passages[2]
    answers = [Answer(p.text[0:6], 0.9, p.id, 0, 6), Answer(p.text[7:15], 0.5, p.id, 7, 15)]
    embedder = FakeEmbedder()
    pipeline = QAPipeline(embedder, ListRetriever(three_passages, score=0.5), FixedReader(answers), top_k=3, max_answers=1)
    results = pipeline.ask_batch(["a?", "b?"])
    assert [len(r.answers) for r in results] == [1, 1] and len(results[0].passages) == 3
    assert embedder.calls == [["a?", "b?"]]  # one embedding call for the batch
    assert set(results[0].timings_ms) == {"embed", "retrieve", "read", "total"}


def test_questions_within_named_documents_tell_the_reader(three_passages):
    from qa.filters import Scope

    class Recording(FixedReader):
        def read_batch(self, questions, passages, max_answers, within_documents=False):
            self.within = within_documents
            return super().read_batch(questions, passages, max_answers)

    reader = Recording([])
    pipeline = QAPipeline(FakeEmbedder(), ListRetriever(three_passages, score=0.5), reader)
    for scope, within in ((None, False), (Scope.of(since="2020-01-01"), False), (Scope.of(doc_ids=["d1"]), True)):
        pipeline.ask("Who supplies weapons?", scope=scope)
        assert reader.within is within


def test_a_publisher_the_scope_selects_is_not_searched_or_read_as_words(three_passages):
    """"What did Reuters report about ...?" within reuters21578: the name is the filter (wire stories never name
    their wire); the question is embedded, retrieved and read without it, and the result keeps the user's words."""
    from qa.filters import Scope

    class Recording(FixedReader):
        def read_batch(self, questions, passages, max_answers, within_documents=False):
            self.questions = list(questions)
            return super().read_batch(questions, passages, max_answers)

    embedder, retriever, reader = FakeEmbedder(), ListRetriever(three_passages, score=0.5), Recording([])
    pipeline = QAPipeline(embedder, retriever, reader)
    question = "What did Reuters report about cocoa in Bahia?"
    result = pipeline.ask(question, scope=Scope.of(sources=["reuters21578"], until="1987-03-01"))
    unnamed = "What did report about cocoa in Bahia?"
    assert embedder.calls[-1] == retriever.asked[-1:] == reader.questions == [unnamed]
    assert result.question == question
    # Another publisher's scope, no scope, or the name not as the one who reported: asked as written.
    for scope, asked in ((Scope.of(sources=["bbc"]), question), (None, question),
                         (Scope.of(sources=["cnn"]), "What did the senator tell CNN?"),
                         (Scope.of(sources=["BBC"]), "What did the BBC's reporter see?")):
        pipeline.ask(asked, scope=scope)
        assert reader.questions == [asked]
    pipeline.ask("What did the BBC say about the vote?", scope=Scope.of(sources=["bbc", "reuters21578"]))
    assert reader.questions == ["What did say about the vote?"]
