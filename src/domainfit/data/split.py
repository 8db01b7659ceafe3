"""Stratified train/validation/test split, deterministic for a seed; rows keep `_file`/`_row` to be traced back.

Written by hand rather than with sklearn's `train_test_split(stratify=...)`: that raises when the held-out part
has fewer rows than there are classes (30 rows of 10 classes, test_size=0.2), and may leave a small class out
of validation or test. Here every class is split on its own: a class with n >= 2 rows gives
round(n * size) rows (at least 1, at most n - 1) to the held-out part, so with `data.min_per_class` >= 3 every
class reaches train, validation and test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["split_data", "stratified_split"]


def _held_out_count(n: int, size: float) -> int:
    if n < 2:
        return 0
    return min(max(int(np.floor(n * size + 0.5)), 1), n - 1)


def stratified_split(frame: pd.DataFrame, size: float, seed: int, *, label: str = "label", salt: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split (rest, held_out): about `size` of every class held out. Both keep the input's row order."""
    rng = np.random.default_rng([seed, salt])
    held: list[int] = []
    for _, idx in sorted(frame.groupby(label, sort=False).indices.items()):  # positions, labels sorted
        k = _held_out_count(len(idx), size)
        if k:
            held.extend(rng.permutation(idx)[:k].tolist())
    mask = np.zeros(len(frame), dtype=bool)
    mask[held] = True
    return frame[~mask], frame[mask]


def split_data(
    pool: pd.DataFrame,
    *,
    test_size: float,
    val_size: float,
    seed: int,
    val: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
    label: str = "label",
) -> dict[str, pd.DataFrame]:
    """{"train", "val", "test"}: the user's own val/test where given, the rest carved from `pool`, stratified.

    `val_size` and `test_size` are shares of the whole pool (val_size=0.1, test_size=0.2 -> 70/10/20).
    """
    if val is not None and test is not None:
        return {"train": pool, "val": val, "test": test}
    if test is not None:
        train, val = stratified_split(pool, val_size, seed, label=label, salt=1)
        return {"train": train, "val": val, "test": test}
    if val is not None:
        train, test = stratified_split(pool, test_size, seed, label=label, salt=2)
        return {"train": train, "val": val, "test": test}
    rest, test = stratified_split(pool, test_size, seed, label=label, salt=2)
    train, val = stratified_split(rest, val_size / (1 - test_size), seed, label=label, salt=1)
    return {"train": train, "val": val, "test": test}
