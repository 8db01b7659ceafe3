"""Word tokens for the classical baselines (TF-IDF, BM25): jieba's segmentation for Chinese text, the baselines' regex
elsewhere. Chinese puts no spaces between words, so the regex sees single characters; jieba gives words (外卖, 态度).
Segmentation is jieba's; only the choice of tokens (keep those with a letter or digit, lowercase) is written here."""

from __future__ import annotations

import re

__all__ = ["has_chinese", "word_tokens"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORDLIKE = re.compile(r"\w", re.UNICODE)
_SPACED = re.compile(r"(?u)\b\w\w+\b")


def has_chinese(text: str) -> bool:
    return bool(_HAN.search(text))


def word_tokens(text: str) -> list[str]:
    """jieba words for a text with Chinese characters (punctuation and spaces dropped), else words of two or more
    letters as scikit-learn's default pattern finds them; lowercased."""
    if not has_chinese(text):
        return _SPACED.findall(text.lower())
    import jieba

    jieba.setLogLevel(60)  # its "Building prefix dict" notice
    return [w.lower() for w in jieba.lcut(text) if _WORDLIKE.search(w)]
