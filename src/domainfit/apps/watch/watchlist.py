"""Which watchlist names a text mentions: every alias, case-folded, at word boundaries in both scripts.

Latin-script aliases (CMB, China Merchants Bank) match only between non-letters/digits, so "CMB" is not found in
"CMBS". A Chinese alias must start and end on a word boundary of jieba's segmentation (Sun Junyi's jieba: a prefix
dictionary DAG with the most probable path, HMM for unknown words), with every watchlist spelling added to its
dictionary: 招行 is found in "招行发布年报" and "与招行合作" but not in "公司正在招行政人员" (招 / 行政 / 人员) or
"在招行业专家" (招 / 行业). The alternation of all aliases is one regular expression (longest first); jieba runs only
on texts where a Chinese alias was found. Written here: the boundary rules (no library does both scripts).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Sequence

__all__ = ["Watchlist"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_WORDCHAR = re.compile(r"\w")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class Watchlist:
    """names: [(name, [aliases])]. `match(text)` -> the names mentioned, in watchlist order."""

    def __init__(self, names: Sequence[tuple[str, Sequence[str]]]) -> None:
        self.names = [name for name, _ in names]
        self._owner: dict[str, str] = {}
        for name, aliases in names:
            for spelling in (name, *aliases):
                self._owner.setdefault(_fold(spelling.strip()), name)
        spellings = sorted(self._owner, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in spellings)) if spellings else None
        self._cjk_words = [s for s in spellings if _CJK.search(s)]
        self._tokenizer = None
        self._lock = threading.Lock()

    def _jieba(self):
        with self._lock:
            if self._tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                for word in self._cjk_words:
                    tokenizer.add_word(word)
                self._tokenizer = tokenizer
            return self._tokenizer

    def _boundaries(self, text: str) -> set[int]:
        cuts = {0, len(text)}
        for _, start, end in self._jieba().tokenize(text):
            cuts.update((start, end))
        return cuts

    def match(self, text: str) -> list[str]:
        if self._pattern is None or not text:
            return []
        folded = _fold(text)
        found: set[str] = set()
        cuts: set[int] | None = None
        for hit in self._pattern.finditer(folded):
            start, end = hit.span()
            spelling = hit.group(0)
            ok = True
            for edge, outside in ((spelling[0], folded[start - 1] if start else ""),
                                  (spelling[-1], folded[end] if end < len(folded) else "")):
                if _CJK.match(edge):
                    continue  # checked against the segmentation below
                if outside and _WORDCHAR.match(outside) and not _CJK.match(outside):
                    ok = False  # a Latin alias inside a longer Latin word ("CMB" in "CMBS")
            if ok and (_CJK.match(spelling[0]) or _CJK.match(spelling[-1])):
                if cuts is None:
                    cuts = self._boundaries(folded)
                ok = (not _CJK.match(spelling[0]) or start in cuts) and (not _CJK.match(spelling[-1]) or end in cuts)
            if ok:
                found.add(self._owner[spelling])
        return [name for name in self.names if name in found]
