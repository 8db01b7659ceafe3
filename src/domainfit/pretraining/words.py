"""Whole-word boundaries for masking: which tokens continue the word before them, from WordPiece's `##` pieces
(English; for BPE/SentencePiece tokenizers the pre-tokenizer's words) and jieba's segmentation (Chinese, where the tokenizer splits every character on its own).

The shared training loop hands a model only padded `input_ids`, so each token's "continues a word" bit travels inside
its id (`pack`: id * 2 + bit; `unpack` in the model): glue written here, so the one loop serves pretraining unchanged.
The masking itself is transformers' `DataCollatorForLanguageModeling(whole_word_mask=True)`, which reads word
boundaries from offsets: `synthetic_offsets` turns the bits into offsets that say exactly those boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["pack", "synthetic_offsets", "tokenize_words", "unpack"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _jieba_words(text: str) -> list[int]:
    """For each character of `text`, the index of the jieba word that covers it."""
    import jieba

    jieba.setLogLevel(60)
    owner = [0] * len(text)
    for n, (_, start, end) in enumerate(jieba.tokenize(text)):
        for i in range(start, end):
            owner[i] = n
    return owner


def tokenize_words(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], list[list[int]]]:
    """Token ids per text (truncated, with special tokens) and per token 1 when it continues the previous token's word
    (a `##` piece, the next character of the same jieba word, or another piece of the same pre-tokenizer word: how
    BPE and SentencePiece tokenizers mark words), else 0."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, return_offsets_mapping=True)
    prefix = "##"
    specials = set(tokenizer.all_special_ids)
    conts: list[list[int]] = []
    for k, (text, ids, offsets) in enumerate(zip(texts, enc["input_ids"], enc["offset_mapping"])):
        owner = _jieba_words(text) if _HAN.search(text) else None
        word_ids = enc.word_ids(k)  # the pre-tokenizer's words: BPE/SentencePiece pieces of one word share one
        pieces = tokenizer.convert_ids_to_tokens(ids)
        cont = [0] * len(ids)
        for j in range(1, len(ids)):
            if ids[j] in specials or ids[j - 1] in specials:
                continue
            if pieces[j].startswith(prefix):
                cont[j] = 1
            elif owner is not None:
                a, b = offsets[j - 1][0], offsets[j][0]
                if a < len(owner) and b < len(owner) and _HAN.match(text[b]):
                    cont[j] = int(owner[a] == owner[b])
                    continue
            if word_ids[j] is not None and word_ids[j] == word_ids[j - 1]:
                cont[j] = 1
        conts.append(cont)
    return enc["input_ids"], conts


def pack(ids: Sequence[Sequence[int]], conts: Sequence[Sequence[int]]) -> list[list[int]]:
    return [[i * 2 + c for i, c in zip(row, bits)] for row, bits in zip(ids, conts)]


def unpack(packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return packed // 2, packed % 2


def synthetic_offsets(cont: torch.Tensor) -> torch.Tensor:
    """(batch, length, 2) offsets in which a token starts where the previous one ended exactly when it continues the
    previous token's word: what the collator's whole-word masking reads as "same word"."""
    gap = 1 - cont  # a new word starts one position after the previous token's end
    starts = torch.cumsum(1 + gap, dim=1)  # token j spans [s_j, s_j + 1) with s_j = s_{j-1} + 1 + gap_j
    return torch.stack([starts, starts + 1], dim=-1)
