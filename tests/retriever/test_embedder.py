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
