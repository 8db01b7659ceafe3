"""Seeded draws of labelled rows for a labelled-data budget (pure): k rows per group, or rows taken greedily until
every key has k. `domainfit compare` draws each task's budget with these (the task's `Workflow.budget` says which)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = ["sample_covering", "sample_per_bin", "sample_per_class"]


def sample_per_class(frame: pd.DataFrame, k: int | None, seed: int, by: Sequence | None = None) -> pd.DataFrame:
    """Up to k rows of each group (all of a smaller one), shuffled with `seed`; k=None keeps every row.
    Groups: the `label` column, or `by` (one key per row)."""
    if k is None:
        return frame.reset_index(drop=True)
    keys = "label" if by is None else pd.Series(list(by), index=frame.index)
    parts = [g.sample(n=min(k, len(g)), random_state=seed) for _, g in frame.groupby(keys, sort=True)]
    return pd.concat(parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def sample_covering(keys: Sequence[Iterable[str]], k: int, seed: int) -> list[int]:
    """Indices of rows, in a seeded shuffled order, taken greedily while one of a row's keys has fewer than k rows
    taken: every key reaches k (or all of its rows), rows without a key are never taken."""
    order = list(range(len(keys)))
    random.Random(seed).shuffle(order)
    taken: Counter[str] = Counter()
    picked = []
    for i in order:
        row = set(keys[i])
        if any(taken[key] < k for key in row):
            picked.append(i)
            taken.update(row)
    return picked


def sample_per_bin(frame: pd.DataFrame, k: int | None, seed: int, task: Any) -> pd.DataFrame:
    """k rows of each of the task's strata (regression: quantile bins of the target)."""
    if k is None:
        return frame.reset_index(drop=True)
    return sample_per_class(frame, k, seed, by=task.strata(frame["label"]))
