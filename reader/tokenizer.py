"""The Hugging Face fast tokenizer's pair interface, straight on the ``tokenizers`` library.

``featurize`` needs only what this class offers (question/passage pairs cut into overlapping windows,
character offsets, sequence ids). Loading ``transformers`` for it would import PyTorch too (seconds on every
``qa ask``); this reads the same ``tokenizer.json`` and gives the same windows (tests compare the two).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class Encoded(dict):
    """The arrays featurize reads, plus ``sequence_ids(i)`` as a BatchEncoding has it."""

    def __init__(self, encodings, arrays: dict):
        super().__init__(arrays)
        self._encodings = encodings
        self._width = arrays["input_ids"].shape[1]

    def sequence_ids(self, i: int) -> list[int | None]:
        ids = self._encodings[i].sequence_ids
        return ids + [None] * (self._width - len(ids))  # padding belongs to no sequence


class PairTokenizer:
    padding_side = "right"
    is_fast = True
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(self, model_dir: str | Path):
        from tokenizers import Tokenizer

        path = Path(model_dir) / "tokenizer.json"
        if not path.is_file():
            raise OSError(f"{path}: no tokenizer.json")
        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.pad_id = self._tokenizer.token_to_id("[PAD]") or 0

    def __call__(self, first: list[str], second: list[str] | None = None, truncation=None, max_length=None,
                 stride: int = 0, return_overflowing_tokens: bool = False, return_offsets_mapping: bool = False,
                 padding="longest", return_tensors=None, add_special_tokens: bool = True):
        tok = self._tokenizer
        if truncation and max_length:
            tok.enable_truncation(max_length, stride=stride, strategy=truncation)
        else:
            tok.no_truncation()
        try:
            if second is None:
                encodings = tok.encode_batch(list(first), add_special_tokens=add_special_tokens)
            else:
                encodings = tok.encode_batch(list(zip(first, second)), add_special_tokens=add_special_tokens)
        finally:
            tok.no_truncation()
        if return_tensors != "np":  # plain lists, as clip_questions reads them
            return {"input_ids": [e.ids for e in encodings], "offset_mapping": [e.offsets for e in encodings]}
        flat, owner = [], []
        for i, e in enumerate(encodings):
            for piece in [e, *(e.overflowing if return_overflowing_tokens else [])]:
                flat.append(piece)
                owner.append(i)
        width = max(len(e.ids) for e in flat)
        n = len(flat)
        ids = np.full((n, width), self.pad_id, dtype=np.int64)
        types, mask = np.zeros((n, width), np.int64), np.zeros((n, width), np.int64)
        offsets = np.zeros((n, width, 2), np.int64)
        for r, e in enumerate(flat):
            k = len(e.ids)
            ids[r, :k], types[r, :k], mask[r, :k] = e.ids, e.type_ids, e.attention_mask
            offsets[r, :k] = e.offsets
        arrays = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask,
                  "overflow_to_sample_mapping": np.array(owner, dtype=np.int64)}
        if return_offsets_mapping:
            arrays["offset_mapping"] = offsets
        return Encoded(flat, arrays)
