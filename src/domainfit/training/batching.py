"""Length-grouped training batches: random order, but each batch holds texts of similar length (little padding)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["length_grouped_batches"]


def length_grouped_batches(lengths: Sequence[int], batch_size: int, *, seed: int, mega: int = 32) -> list[list[int]]:
    """Shuffle, cut into mega-batches of `mega` batches, sort each by length, split, shuffle the batches.

    Deterministic for a seed (the loop passes seed + epoch), which is what makes `--resume` repeatable.
    The randomness of plain shuffling is kept across mega-batches; padding waste drops to a few percent.
    """
    rng = np.random.default_rng(seed)
    lengths = np.asarray(lengths)
    order = rng.permutation(len(lengths))
    size = batch_size * mega
    batches: list[list[int]] = []
    for start in range(0, len(order), size):
        chunk = order[start : start + size]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]
