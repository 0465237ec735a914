"""Reader test fixtures: a tiny QA model (random weights) and its tokenizer, built locally."""

import pytest
import torch
from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

WORDS = ("what did baerbock say about weapons germany will not send ben wallace britain supplies anti tank "
         "canada deployed special forces to kyiv on monday the a and of").split()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-qa")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "-", "?"] + WORDS
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertForQuestionAnswering(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


