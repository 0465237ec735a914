"""TransformersReader mechanics with a tiny QA model built locally from a config (random weights:
this checks tokenisation, doc-stride windows, batching and span mapping, not accuracy)."""

import math

import pytest

from qa.pipeline import QAPipeline
from qa.types import Passage, ScoredPassage
from reader.decode import Calibration
from reader.transformers_reader import TransformersReader
from tests.conftest import FakeEmbedder, ListRetriever

# Random weights have no opinion on answerability: answer always, to exercise span mapping.
ALWAYS = Calibration(threshold=-math.inf)


def _scored(passages):
    return [ScoredPassage(p, 1.0 - i / 10) for i, p in enumerate(passages)]


def test_answers_are_verbatim_spans_of_the_given_passages(tiny_model_dir, three_passages):
    reader = TransformersReader(str(tiny_model_dir), max_seq_len=64, doc_stride=16, calibration=ALWAYS)
    answers = reader.read("What did Baerbock say about weapons?", _scored(three_passages), max_answers=3)
    by_id = {p.id: p for p in three_passages}
    assert 1 <= len(answers) <= 3
    for a in answers:
        assert by_id[a.passage_id].text[a.start : a.end] == a.text and a.text
        assert 0.0 <= a.score <= 1.0
    assert [a.score for a in answers] == sorted((a.score for a in answers), reverse=True)


def test_long_passage_is_split_into_overlapping_windows(tiny_model_dir, three_passages):
    reader = TransformersReader(str(tiny_model_dir), max_seq_len=32, doc_stride=8, batch_size=2, calibration=ALWAYS)
    reader.warm_up()
    long_text = " ".join(["Ben Wallace said Britain supplies anti-tank weapons."] * 12)
    long = Passage("long:0", "long", "Long", 0, long_text, 0, len(long_text))
    features = reader.preprocess(["What did Wallace say?"] * 2, [three_passages[0].text, long.text])
    assert (features.feature_passage == 1).sum() > 1 and (features.feature_passage == 0).sum() == 1
    tokens_seen = 0
    for f in range(len(features.input_ids)):
        text = [three_passages[0].text, long.text][features.feature_passage[f]]
        tokens = reader._tokenizer.convert_ids_to_tokens(features.input_ids[f].tolist())
        for token, (s, e), in_ctx in zip(tokens, features.offsets[f], features.context_mask[f]):
            if in_ctx:  # every passage token's offsets point at the characters it came from
                assert token == "[UNK]" or text[s:e].lower() == token.removeprefix("##")
                tokens_seen += 1
    assert tokens_seen > len(long_text.split())  # windows overlap, so tokens repeat
    start, end = reader.forward(features)
    assert start.shape == end.shape == features.input_ids.shape
    answers = reader.read("What did Wallace say?", _scored([long]), max_answers=5)
    assert answers and all(long.text[a.start : a.end] == a.text for a in answers)


def test_pipeline_with_transformers_reader_cites_exact_spans(tiny_model_dir, three_passages):
    reader = TransformersReader(str(tiny_model_dir), max_seq_len=64, doc_stride=16, calibration=ALWAYS)
    results = QAPipeline(FakeEmbedder(), ListRetriever(three_passages), reader).ask_batch(["Who supplies weapons?", "Where did Canada deploy?"])
    assert len(results) == 2 and all(r.answers for r in results)  # the autouse fixture checks every citation


def test_missing_model_directory_is_a_clear_error(tmp_path):
    reader = TransformersReader(str(tmp_path / "no-such-model"))
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        reader.warm_up()
