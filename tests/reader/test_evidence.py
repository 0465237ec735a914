"""A yes/no question is answered with the sentence holding the reader's span: which questions, which sentence."""

import pytest

from qa.types import Answer
from reader.evidence import MAX_EVIDENCE_CHARS, as_evidence, is_yes_no, sentence_bounds


@pytest.mark.parametrize("question", ["Did Germany send weapons?", "Was there a war going on there?",
                                      "And did he testify?", "is she the minister?", "Hasn't it changed?",
                                      "Can Ukraine buy them?"])
def test_yes_no_questions(question):
    assert is_yes_no(question)


@pytest.mark.parametrize("question", ["What did Baerbock say about weapons?", "Who is the minister?",
                                      "Was the minister Baerbock or Wallace?", "Where?", "Isabel who?",
                                      "Didier Drogba scored when?", ""])
def test_other_questions(question):
    assert not is_yes_no(question)


TEXT = ("U.S. officials met Mr. Smith on Jan. 5 in Kyiv. Germany has refused to send weapons, Baerbock said. "
        "She offered helmets instead.")


def span(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def test_the_sentence_around_a_span_skips_abbreviations():
    b, e = sentence_bounds(TEXT, *span(TEXT, "Kyiv"))
    assert TEXT[b:e] == "U.S. officials met Mr. Smith on Jan. 5 in Kyiv."
    b, e = sentence_bounds(TEXT, *span(TEXT, "weapons"))
    assert TEXT[b:e] == "Germany has refused to send weapons, Baerbock said."
    b, e = sentence_bounds(TEXT, *span(TEXT, "helmets"))
    assert TEXT[b:e] == "She offered helmets instead."


def test_a_span_across_sentences_gets_both():
    b, e = sentence_bounds(TEXT, *span(TEXT, "Baerbock said. She"))
    assert TEXT[b:e] == TEXT[TEXT.index("Germany"):]


def test_an_overlong_sentence_keeps_the_span():
    long = "Aid arrived " + "and more aid " * (MAX_EVIDENCE_CHARS // 10) + "in Kyiv."
    assert sentence_bounds(long, *span(long, "Kyiv")) == span(long, "Kyiv")


def test_evidence_is_verbatim_and_keeps_score_and_passage():
    start, end = span(TEXT, "weapons")
    widened = as_evidence(Answer("weapons", 0.42, "p1", start, end), TEXT)
    assert (widened.score, widened.passage_id) == (0.42, "p1")
    assert TEXT[widened.start : widened.end] == widened.text
    assert widened.start <= start and end <= widened.end


def test_known_sentences_give_the_same_bounds():
    from reader.evidence import sentence_spans

    spans = sentence_spans(TEXT)
    assert [TEXT[a:b].strip() for a, b in spans][1] == "Germany has refused to send weapons, Baerbock said."
    for part in ("Kyiv", "weapons", "Baerbock said. She", "helmets"):
        assert sentence_bounds(TEXT, *span(TEXT, part), spans) == sentence_bounds(TEXT, *span(TEXT, part))
