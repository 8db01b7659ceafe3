"""Near-duplicate collapsing: a story reposted by many sites counts once, as one story with N copies.

Each text (normalised as the sentiment bundle was trained) becomes a set of shingles — `shingle` consecutive words, a
Chinese character counting as one word — summarised by a MinHash signature (Broder 1997, "On the resemblance and
containment of documents"); an LSH index over the signatures (datasketch's MinHashLSH: banding, Leskovec, Rajaraman &
Ullman, *Mining of Massive Datasets*, ch. 3) returns the earlier stories whose estimated Jaccard similarity may pass
`threshold`. A text is a copy of the oldest candidate whose estimate does pass *and whose facts agree*; else a new
story. Stories older than `horizon` leave the index, so the same sentence weeks later is news again.

Facts: financial news is full of template sentences that differ only in their figures or their company ("Operating
profit rose to EUR 13.1 mn from EUR 8.7 mn" / "... to EUR 9.4 mn from EUR 11.2 mn"), which word shingles barely tell
apart, so a high MinHash estimate alone would merge different news. A copy must therefore also carry the same set of
numbers (digits as written, thousands separators and decimal commas read as one number, full-width digits folded by
NFKC) and name the same watchlist keys (`keys`, given by the caller) as its story. A repost that adds its own figure (a
time stamp, "updated 14:32") is then a new story: the cost of never merging two different figures. Written here: the
shingling, the facts check and the horizon.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Iterable

from datasketch import MinHash, MinHashLSH

__all__ = ["Deduplicator", "facts", "numbers", "shingles"]

_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W_]+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> frozenset[str]:
    """The figures a text states, each as one string: '13.1', '1,200' -> '1200', '13,1' -> '13.1', '２０' -> '20'."""
    found = set()
    for raw in _NUMBER.findall(unicodedata.normalize("NFKC", text)):
        parts = re.split(r"[.,]", raw)
        if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]) and "," in raw and "." not in raw:
            found.add("".join(parts))  # 1,200 / 12,500,000: thousands separators
        elif len(parts) == 2:
            found.add(f"{parts[0]}.{parts[1]}")  # 13.1 or 13,1: a decimal
        else:
            found.add(raw)
    return frozenset(found)


def facts(text: str, keys: Iterable[str] = ()) -> tuple[frozenset[str], frozenset[str]]:
    """What a copy must share with its story besides its wording: its numbers and its watchlist keys."""
    return numbers(text), frozenset(keys)


def shingles(text: str, size: int) -> set[bytes]:
    words = _TOKEN.findall(text.casefold())
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")} if words else {b""}
    return {" ".join(words[i:i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


class Deduplicator:
    def __init__(self, *, threshold: float = 0.8, num_perm: int = 64, shingle: int = 3, horizon: float = 172800.0) -> None:
        self.threshold, self.num_perm, self.shingle, self.horizon = threshold, num_perm, shingle, horizon
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._hashes: dict[str, MinHash] = {}
        self._order: deque[tuple[float, str]] = deque()  # (time, story id), oldest first
        self._first_seen: dict[str, float] = {}
        self._facts: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        template = MinHash(num_perm=num_perm, seed=1)
        self._permutations, self._scheme = template.permutations, template.scheme  # made once, not per text

    def _minhash(self, text: str) -> MinHash:
        m = MinHash(num_perm=self.num_perm, seed=1, permutations=self._permutations, scheme=self._scheme)
        m.update_batch(list(shingles(text, self.shingle)))
        return m

    def _expire(self, now: float) -> None:
        while self._order and self._order[0][0] < now - self.horizon:
            _, story = self._order.popleft()
            if story in self._hashes:
                self._lsh.remove(story)
                del self._hashes[story]
                del self._first_seen[story]
                del self._facts[story]

    def assign(self, story_id: str, text: str, time: float, keys: Iterable[str] = ()) -> str:
        """The story this text belongs to: an earlier one within the horizon with the same numbers and `keys` (the
        watchlist names it matches), or `story_id` (a new story)."""
        self._expire(time)
        m = self._minhash(text)
        own = facts(text, keys)
        best: tuple[float, str] | None = None
        for candidate in self._lsh.query(m):
            if self._facts[candidate] == own and m.jaccard(self._hashes[candidate]) >= self.threshold:
                first = self._first_seen[candidate]
                if best is None or first < best[0]:
                    best = (first, candidate)
        if best is not None:
            return best[1]
        if story_id not in self._hashes:
            self._add(story_id, m, own, time)
        return story_id

    def _add(self, story_id: str, m: MinHash, own: tuple, time: float) -> None:
        self._lsh.insert(story_id, m)
        self._hashes[story_id] = m
        self._facts[story_id] = own
        self._order.append((time, story_id))
        self._first_seen[story_id] = time

    def remember(self, story_id: str, text: str, time: float, keys: Iterable[str] = ()) -> None:
        """Add a story another worker stored (or one read back at a restart); nothing when it is known."""
        if story_id not in self._hashes and time >= (self._order[-1][0] if self._order else time) - self.horizon:
            self._add(story_id, self._minhash(text), facts(text, keys), time)

    def __len__(self) -> int:
        return len(self._hashes)
