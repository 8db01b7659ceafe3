"""Words and their character offsets: raw text split into words (Latin words, each CJK character alone, punctuation
alone), and tokens joined back into a text with the offsets of each; shared by the readers, the predictor and serving."""

from __future__ import annotations

import unicodedata

__all__ = ["Offsets", "is_wide", "join_tokens", "split_words"]

Offsets = list[tuple[int, int]]

_WIDE_RANGES = (
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half- and full-width forms (full-width punctuation and digits)
    (0x20000, 0x3134F),  # CJK extensions B to G
)


def is_wide(ch: str) -> bool:
    """True for a Chinese or Japanese character or full-width mark: one character, one token, no spaces around."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _WIDE_RANGES)


def split_words(text: str) -> Offsets:
    """(start, end) of each word of `text`: runs of letters/digits/marks; each punctuation mark or symbol alone;
    each CJK character alone; whitespace between. The same split serves reading spans and serving predictions.

    >>> t = "Apple's 北京 office."
    >>> [t[a:b] for a, b in split_words(t)]
    ['Apple', "'", 's', '北', '京', 'office', '.']
    """
    words: Offsets = []
    start = -1
    for i, ch in enumerate(text):
        alone = is_wide(ch) or unicodedata.category(ch)[0] in "PS"
        if start >= 0 and (alone or ch.isspace()):
            words.append((start, i))
            start = -1
        if alone:
            words.append((i, i + 1))
        elif start < 0 and not ch.isspace():
            start = i
    if start >= 0:
        words.append((start, len(text)))
    return words


def join_tokens(tokens: list[str]) -> tuple[str, Offsets]:
    """The text the tokens spell and each token's offsets: joined by a space, except between two CJK tokens, so a
    character-per-line Chinese file gives natural text ("我爱北京", not "我 爱 北 京")."""
    parts: list[str] = []
    offsets: Offsets = []
    position = 0
    for i, token in enumerate(tokens):
        if i and not (is_wide(tokens[i - 1][-1:] or " ") and is_wide(token[:1] or " ")):
            parts.append(" ")
            position += 1
        parts.append(token)
        offsets.append((position, position + len(token)))
        position += len(token)
    return "".join(parts), offsets


# ---------------------------------------------------------------------------------------------------- drafts
