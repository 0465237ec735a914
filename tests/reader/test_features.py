"""Answer token labels map back to the exact character span, in every window that holds it."""

import numpy as np
import pytest
from transformers import AutoTokenizer

from reader.features import featurize, label_windows

QUESTION = "what did wallace say?"
# Words of the tiny vocabulary, so every token's offsets are exact.
SENTENCE = "ben wallace said britain supplies anti - tank weapons to kyiv on monday ."


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir, local_files_only=True)


def _spans(context, phrase):
    start = 0
    while (i := context.find(phrase, start)) >= 0:
        yield i, i + len(phrase)
        start = i + 1


def test_labels_point_at_the_answer_characters(tokenizer):
    context = SENTENCE
    for answer in ("ben", "britain supplies", "anti - tank weapons", "monday .", "."):
        span = next(_spans(context, answer))
        feats = featurize(tokenizer, [QUESTION], [context], max_seq_len=64, doc_stride=16)
        s, e = label_windows(feats, [span])
        assert len(feats) == 1 and s[0] > 0
        assert (feats.offsets[0, s[0], 0], feats.offsets[0, e[0], 1]) == span


@pytest.mark.parametrize("max_seq_len,stride", [(24, 8), (20, 4), (32, 12)])
def test_windows_edges_and_overlap(tokenizer, max_seq_len, stride):
    """A long context in small windows: answers at window edges and inside the overlaps."""
    context = " ".join(f"{SENTENCE}" for _ in range(6))
    words = context.split(" ")
    positions = [0]
    for w in words[:-1]:
        positions.append(positions[-1] + len(w) + 1)
    checked_edge = checked_overlap = 0
    for i, w in enumerate(words):  # every word of the context as the answer in turn
        span = (positions[i], positions[i] + len(w))
        feats = featurize(tokenizer, [QUESTION], [context], max_seq_len=max_seq_len, doc_stride=stride)
        assert len(feats) > 2
        s, e = label_windows(feats, [span])
        holding = []
        for f in range(len(feats)):
            ctx = feats.context_mask[f].nonzero()[0]
            inside = feats.offsets[f, ctx[0], 0] <= span[0] and feats.offsets[f, ctx[-1], 1] >= span[1]
            if inside:
                holding.append(f)
                assert (feats.offsets[f, s[f], 0], feats.offsets[f, e[f], 1]) == span
                assert feats.context_mask[f, s[f]] and feats.context_mask[f, e[f]]
                checked_edge += s[f] == ctx[0] or e[f] == ctx[-1]
            else:
                assert s[f] == e[f] == 0  # cut or absent: the no-answer slot
        assert holding, "every answer lies whole in at least one window"
        checked_overlap += len(holding) > 1
    assert checked_edge and checked_overlap


def test_no_answer_and_several_pairs(tokenizer):
    contexts = [SENTENCE, "canada deployed special forces to kyiv ."]
    feats = featurize(tokenizer, [QUESTION, "where did canada deploy?"], contexts, max_seq_len=64, doc_stride=16)
    s, e = label_windows(feats, [None, next(_spans(contexts[1], "kyiv"))])
    assert list(feats.feature_passage) == [0, 1]
    assert s[0] == e[0] == 0
    assert contexts[1][feats.offsets[1, s[1], 0] : feats.offsets[1, e[1], 1]] == "kyiv"


@pytest.mark.parametrize("question", ["a " * 499 + "a", "." * 1000, "http://a/" * 111])
def test_very_long_questions_keep_their_head_and_leave_room_for_the_passage(tiny_model_dir, question):
    from transformers import AutoTokenizer

    from reader.features import clip_questions

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    features = featurize(tokenizer, [question], ["Ben Wallace said Britain supplies anti-tank weapons."], 64, 16)
    assert len(features) >= 1 and features.context_mask.any(axis=1).all()
    clipped = clip_questions(tokenizer, [question], 10)[0]
    assert question.startswith(clipped) and len(tokenizer(clipped, add_special_tokens=False)["input_ids"]) == 10


@pytest.mark.slow
def test_pair_tokenizer_gives_the_windows_of_the_transformers_tokenizer():
    from reader.onnx_reader import DEFAULT_MODEL_DIR
    from reader.tokenizer import PairTokenizer

    hf, ours = AutoTokenizer.from_pretrained(str(DEFAULT_MODEL_DIR)), PairTokenizer(DEFAULT_MODEL_DIR)
    contexts = ["Ben Wallace said Britain supplies anti-tank weapons to Ukraine. " * 40, "Canada deployed forces.", "Kyiv"]
    questions = ["Who supplies weapons?", "a " * 499, "Where?"]
    for width, stride in ((384, 128), (64, 16)):
        a, b = featurize(hf, questions, contexts, width, stride), featurize(ours, questions, contexts, width, stride)
        for field in ("input_ids", "attention_mask", "offsets", "context_mask", "feature_passage", "token_type_ids"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
