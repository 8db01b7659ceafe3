"""A tiny WordPiece BERT (## pieces, a few Chinese characters, most missing) and a small mixed corpus."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import save_tiny_bert

ENGLISH = ["my card was blocked", "the transfer failed again", "unbelievable delivery delay", "refund my order please",
           "the courier never arrived", "food arrived cold and late"]
CHINESE = ["外卖送得太慢了", "饭菜都凉了", "骑手态度很好", "味道不错下次还点", "送餐速度很快", "包装很精致",
           "外卖小哥很准时", "菜太咸了不好吃"]
KNOWN_HAN = ["外", "了", "很", "好"]  # the rest of the Chinese characters are [UNK] for this tokenizer


def corpus_lines(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.choice(CHINESE), rng.choice(CHINESE + ENGLISH)
        out.append(f"{a}，{b} {i % 7}")
    return out + ["", "   ", out[0], out[1]]  # empties and duplicates: dropped and counted


@pytest.fixture(scope="session")
def wordpiece_backbone(tmp_path_factory) -> Path:
    words = sorted({w for t in ENGLISH for w in t.split()} - {"unbelievable", "delivery", "courier"})
    pieces = ["un", "##believ", "##able", "deliver", "##y", "cour", "##ier", "##s", "##ed"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", *KNOWN_HAN, *"0123456789", *words, *pieces,
             *"abcdefghijklmnopqrstuvwxyz"]
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-wordpiece"), list(dict.fromkeys(vocab)))


@pytest.fixture()
def corpus_txt(tmp_path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(corpus_lines(120)) + "\n", encoding="utf-8")
    return path
