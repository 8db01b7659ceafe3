"""Words of a text and how token attributions become word attributions.

A word is a run of letters or digits (Latin, Cyrillic, ...), one punctuation mark, or — in Chinese, Japanese and
Korean text, which has no spaces — one character (`chinese="char"`) or one jieba word (`chinese="jieba"`). A word's
attribution is the sum of its word pieces' (a token belongs to the word its first character falls in, found from the
fast tokenizer's offsets). Written by hand: the splitting is a regular expression, jieba does the Chinese words.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

__all__ = ["CHINESE_MODES", "Word", "merge_tokens", "token_spans", "word_spans"]

CHINESE_MODES = ("char", "jieba")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_WORD = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+|[^\w\s]|_")

Word = tuple[int, int]  # (start, end) character offsets, end exclusive


def word_spans(text: str, chinese: str = "char") -> list[Word]:
    """(start, end) of every word of `text`, in order."""
    if chinese not in CHINESE_MODES:
        raise ValueError(f"chinese must be one of {CHINESE_MODES}, not {chinese!r}")
    spans: list[Word] = []
    for m in _WORD.finditer(text):
        start, end = m.span()
        if not re.match(rf"[{_CJK}]", text[start]):
            spans.append((start, end))
        elif chinese == "char" or end - start == 1:
            spans.extend((i, i + 1) for i in range(start, end))
        else:
            import jieba

            jieba.setLogLevel(60)  # its "building prefix dict" lines go to stderr otherwise
            spans.extend((start + s, start + e) for _, s, e in jieba.tokenize(text[start:end]))
    return spans


def token_spans(tokenizer, text: str, max_length: int) -> tuple[list[int], list[tuple[int, int]]]:
    """The token ids the model reads for `text` (special tokens included, truncated as the Predictor does) and each
    token's (start, end) in `text`; (0, 0) for a special token."""
    enc = tokenizer(text, truncation=True, max_length=max_length, add_special_tokens=True, return_offsets_mapping=True)
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def merge_tokens(text: str, offsets: Sequence[tuple[int, int]], token_scores: Sequence[float], *,
                 chinese: str = "char") -> list[dict]:
    """[{"word", "start", "end", "weight"}] for every word the model saw (a word cut off by truncation is left out):
    the sum of its tokens' scores. A token that spans several words (a Chinese vocabulary's two-character piece,
    read by character) shares its score equally among them. Special tokens ((0, 0) offsets) are dropped."""
    words = word_spans(text, chinese)
    starts = [s for s, _ in words]
    weights: dict[int, float] = {}
    for (s, e), score in zip(offsets, token_scores):
        if e <= s:
            continue
        first = max(0, bisect.bisect_right(starts, s) - 1)
        if first < len(words) and s >= words[first][1]:  # whitespace the tokenizer kept (rare): the next word's
            first += 1
        covered = list(range(first, min(len(words), bisect.bisect_left(starts, e)))) or [first][: first < len(words)]
        for i in covered:
            weights[i] = weights.get(i, 0.0) + float(score) / len(covered)
    return [{"word": text[words[i][0]:words[i][1]], "start": words[i][0], "end": words[i][1], "weight": weights[i]}
            for i in sorted(weights)]
