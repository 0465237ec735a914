"""The query fast path gives sentence-transformers' own vectors."""

import numpy as np
import pytest

from retriever.embedder import SentenceTransformerEmbedder


@pytest.mark.slow
def test_direct_query_path_matches_sentence_transformers():
    e = SentenceTransformerEmbedder()
    queries = ["Who is the Kremlin spokesperson?", "What did Baerbock say about weapons and the situation in Ukraine?"]
    fast = e.encode(queries)
    assert e._plain_mean_pooling()
    reference = e._model.encode(queries, normalize_embeddings=True, convert_to_numpy=True)
    assert fast.dtype == np.float32 and fast.shape == (2, 384)
    assert np.abs(fast - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_int8_onnx_embedder_is_close_to_fp32_and_batch_invariant():
    from retriever import make_embedder
    from retriever.onnx_embedder import OnnxEmbedder

    texts = ["Who is the Kremlin spokesperson?", "Germany will not send weapons to Ukraine, Baerbock said on Monday.",
             "Canada deployed special forces to Kyiv."]
    onnx = make_embedder()
    assert isinstance(onnx, OnnxEmbedder) and onnx.name == "all-MiniLM-L6-v2-int8-rows"
    vectors = onnx.encode(texts)
    reference = SentenceTransformerEmbedder().encode(texts)
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (np.sum(vectors * reference, axis=1) > 0.985).all()  # cosine to the fp32 model
    # A text's vector does not depend on what it is embedded with (so a Ray build equals a local one).
    assert np.array_equal(onnx.encode(texts[1:2])[0], vectors[1])
    assert np.array_equal(onnx.encode(list(reversed(texts)))[::-1], vectors)


def test_many_texts_run_on_every_core_and_give_the_same_vectors_as_one_at_a_time():
    from retriever.onnx_embedder import OnnxEmbedder

    texts = [f"Paragraph {i}: " + "the harbour dam cost more than planned " * (1 + i % 7) for i in range(24)]
    alone = OnnxEmbedder(workers=1)
    side_by_side = OnnxEmbedder(workers=3)
    assert np.array_equal(alone.encode(texts), side_by_side.encode(texts))
    assert np.array_equal(alone.encode(texts[:1]), side_by_side.encode(texts[:1]))  # one text: the usual session


def test_texts_padded_into_one_batch_get_the_vectors_they_get_alone():
    # The shipped export quantizes each token on its own scale, so padding mates move nothing (issue 31:
    # indexing pads short paragraphs together).
    from retriever.onnx_embedder import OnnxEmbedder

    texts = ["Short one.", "A somewhat longer paragraph about the harbour dam and what it cost the city.",
             "Mid-length text on cocoa in Bahia.", "x " * 300]
    batched, alone = OnnxEmbedder(workers=1), OnnxEmbedder(batch_size=1, workers=1)
    assert batched._batches([3, 20, 9, 256]) == [[0, 2, 1], [3]]  # by length, within the token budget
    assert np.array_equal(batched.encode(texts), alone.encode(texts))
