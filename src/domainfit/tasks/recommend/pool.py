"""Recommend in `domainfit compare`: the budget counts users. The pool splits the interactions once (leave-last-out
or time cut); every run trains on the training interactions of k sampled users and is scored on the same test users
(the test file holds each test user's whole sequence up to the test item: the history is input, never trained on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from domainfit.config.schema import TrainConfig
from domainfit.interfaces import Budget
from domainfit.tasks.recommend.data import prepare_recommend

__all__ = ["BUDGET", "UsersPool", "sample_users"]

COLUMNS = ["user", "item", "time"]


def sample_users(rows: pd.DataFrame, k: int | None, seed: int, task=None) -> pd.DataFrame:
    """Every interaction of k users drawn at random (seeded); all rows when k is None."""
    if k is None:
        return rows
    users = np.array(sorted(rows["user"].unique()), dtype=object)
    chosen = set(np.random.default_rng(seed).choice(users, size=min(k, len(users)), replace=False).tolist())
    return rows[rows["user"].isin(chosen)]


BUDGET = Budget("users", sample_users)


def _sequences(inter: pd.DataFrame, cases) -> pd.DataFrame:
    """The interactions of each case's user up to and including its target (the case's file)."""
    keep = []
    for c in cases:
        seq = inter[inter["user"] == c.user]
        n = len(c.history) + 1
        keep.append(seq.iloc[:n])
    return pd.concat(keep, ignore_index=True)[COLUMNS] if keep else pd.DataFrame(columns=COLUMNS)


class UsersPool:
    suffix = ".csv"

    def __init__(self, cfg: TrainConfig, task, *, folder: Path) -> None:
        self.task = task
        data = prepare_recommend(cfg.data, task=task)
        self.train = data.train[COLUMNS]
        self.val = _sequences(data.interactions, data.val)
        self.test = _sequences(data.interactions, data.test)
        items = folder / "items.csv"
        data.items[[c for c in data.items.columns if not c.startswith("_")]].to_csv(items, index=False)
        self.inputs = [items]
        self.run_values = {"data.items": str(items), "task_options.item_id_column": "id", "task_options.item_text_column": "text"}
        self.summary = {"train": len(self.train), "val": len(data.val), "test": len(data.test), "labels": len(data.items)}
        self._data = data

    def write(self, rows: pd.DataFrame, path: Path) -> None:
        rows[COLUMNS].to_csv(path, index=False)

    def score_baseline(self, name: str, train: pd.DataFrame, val: pd.DataFrame, seed: int) -> dict[str, float]:
        from domainfit.registry import baselines
        from domainfit.tasks.recommend.baselines import RecSplit
        from domainfit.tasks.recommend.metrics import exclude, ranking_metrics

        data, opts = self._data, self.task.options
        row = {item: i for i, item in enumerate(data.labels)}
        hist = [[row[i] for i in c.history if i in row] for c in data.test]
        split = RecSplit(ids=data.labels, texts=data.items["text"].tolist(), train=train, histories=hist,
                         history_length=opts.history_length, decay=opts.recency_decay)
        scores = baselines.get(name)().score(split, encoder=None, seed=seed)
        truth = [row[c.target] for c in data.test]
        if opts.exclude_seen:
            scores = exclude(scores, hist, keep=truth)
        return ranking_metrics(scores, truth)
