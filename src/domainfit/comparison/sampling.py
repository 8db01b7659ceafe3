"""Labelled-data budgets: k training rows per class, label, target bin, answer or entity type, drawn with a seed (pure).

Each task names what its budget counts (`BUDGETS`, keyed by task name): `--shots 8,16,all` means

    classification   8 examples per class
    multilabel       8 examples per label      (greedy over the shuffled rows: a row is taken while one of its labels
                                                has fewer than k; rows carry several labels, so some labels get more)
    regression       8 rows per target bin     (the quantile bins the task stratifies its split by, `Task.strata`:
                                                up to 10, so "per decile" on a pool of 50+ rows)
    retrieval        8 queries per answer      (out-of-scope queries count as one more answer)
    ner              8 sentences per entity type (greedy like multilabel; sentences without an entity are not drawn)

and `all` keeps every row.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["BUDGETS", "Budget", "budget_of", "parse_shots", "sample_covering", "sample_per_bin", "sample_per_class",
           "sample_per_label", "sample_sentences_per_type"]


def parse_shots(text: str | list) -> list[int | None]:
    """"8,16,all" → [8, 16, None] (None = all rows), sorted with "all" last."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[int | None] = []
    for item in items:
        item = str(item).strip().lower()
        if item in ("all", "full", "none"):
            out.append(None)
        elif item.isdigit() and int(item) > 0:
            out.append(int(item))
        else:
            from domainfit.errors import ConfigError

            raise ConfigError([("--shots", f"{item!r} is not a positive number of examples per class (per label, "
                                           f"target bin, answer or entity type for the other tasks) or 'all'")])
    return sorted(set(out), key=lambda k: (k is None, k or 0))


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


def sample_per_label(frame: pd.DataFrame, k: int | None, seed: int) -> pd.DataFrame:
    """Multi-label rows (canonical JSON lists) until every label is on at least k of them (or on all its rows)."""
    from domainfit.tasks.multilabel import label_lists

    if k is None:
        return frame.reset_index(drop=True)
    return frame.iloc[sample_covering(label_lists(frame["label"]), k, seed)].reset_index(drop=True)


def sample_per_bin(frame: pd.DataFrame, k: int | None, seed: int, task: Any) -> pd.DataFrame:
    """k rows of each of the task's strata (regression: quantile bins of the target)."""
    if k is None:
        return frame.reset_index(drop=True)
    return sample_per_class(frame, k, seed, by=task.strata(frame["label"]))


def sample_sentences_per_type(sentences: Sequence, k: int | None, seed: int) -> list:
    """Sentences (with BIO `tags`) until every entity type is in at least k of them (or in all of its sentences)."""
    from domainfit.tasks.ner.tags import spans_from_tags

    if k is None:
        return list(sentences)
    types = [{kind for _, _, kind in spans_from_tags(s.tags)} for s in sentences]
    return [sentences[i] for i in sample_covering(types, k, seed)]


@dataclass(frozen=True)
class Budget:
    """What a task's budget k counts, and how the training (and validation) rows are drawn for it."""

    unit: str  # "examples per class": the x axis of the learning curve
    sample: Callable[[Any, int | None, int, Any], Any]  # (rows, k or None = all, seed, task) -> rows


BUDGETS: dict[str, Budget] = {
    "classification": Budget("examples per class", lambda rows, k, seed, task: sample_per_class(rows, k, seed)),
    "multilabel": Budget("examples per label", lambda rows, k, seed, task: sample_per_label(rows, k, seed)),
    "regression": Budget("rows per target bin", sample_per_bin),
    "retrieval": Budget("queries per answer", lambda rows, k, seed, task: sample_per_class(rows, k, seed)),
    "ner": Budget("sentences per entity type", lambda rows, k, seed, task: sample_sentences_per_type(rows, k, seed)),
}


def budget_of(task: str) -> Budget:
    """The budget of `task`; ConfigError for a task with none (a newly registered task must add itself here)."""
    if task not in BUDGETS:
        from domainfit.errors import ConfigError

        raise ConfigError([("task", f"`domainfit compare` has no labelled-data budget for task {task!r} (it has: "
                                    f"{', '.join(BUDGETS)}); add one to domainfit/comparison/sampling.py BUDGETS")])
    return BUDGETS[task]
