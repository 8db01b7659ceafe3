"""Near-duplicate collapsing: a story reposted by many sites counts once, as one story with N copies.

Each text (normalised as the sentiment bundle was trained) becomes a set of shingles — `shingle` consecutive words, a
Chinese character counting as one word — summarised by a MinHash signature (Broder 1997, "On the resemblance and
containment of documents"); an LSH index over the signatures (datasketch's MinHashLSH: banding, Leskovec, Rajaraman &
Ullman, *Mining of Massive Datasets*, ch. 3) returns the earlier stories whose estimated Jaccard similarity may pass
`threshold`. A text is a copy of the oldest candidate whose estimate does pass; else a new story. Stories older than
`horizon` leave the index, so the same sentence weeks later is news again. Written here: the shingling and the horizon.
"""

from __future__ import annotations

import re
from collections import deque

from datasketch import MinHash, MinHashLSH

__all__ = ["Deduplicator", "shingles"]

_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W_]+", re.UNICODE)


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

    def assign(self, story_id: str, text: str, time: float) -> str:
        """The story this text belongs to: an earlier one within the horizon, or `story_id` (a new story)."""
        self._expire(time)
        m = self._minhash(text)
        best: tuple[float, str] | None = None
        for candidate in self._lsh.query(m):
            if m.jaccard(self._hashes[candidate]) >= self.threshold:
                first = self._first_seen[candidate]
                if best is None or first < best[0]:
                    best = (first, candidate)
        if best is not None:
            return best[1]
        if story_id not in self._hashes:
            self._lsh.insert(story_id, m)
            self._hashes[story_id] = m
            self._order.append((time, story_id))
            self._first_seen[story_id] = time
        return story_id

    def remember(self, story_id: str, text: str, time: float) -> None:
        """Add a story another worker stored (or one read back at a restart); nothing when it is known."""
        if story_id not in self._hashes and time >= (self._order[-1][0] if self._order else time) - self.horizon:
            m = self._minhash(text)
            self._lsh.insert(story_id, m)
            self._hashes[story_id] = m
            self._order.append((time, story_id))
            self._first_seen[story_id] = time

    def __len__(self) -> int:
        return len(self._hashes)
