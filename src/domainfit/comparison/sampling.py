"""Labelled-data budgets of `domainfit compare`: `--shots 8,16,all` read, and each task's budget (`Workflow.budget`).

What k counts is the task's own (its workflow's `budget.unit`):

    classification   8 examples per class
    multilabel       8 examples per label      (greedy over the shuffled rows: a row is taken while one of its labels
                                                has fewer than k; rows carry several labels, so some labels get more)
    regression       8 rows per target bin     (the quantile bins the task stratifies its split by, `Task.strata`:
                                                up to 10, so "per decile" on a pool of 50+ rows)
    retrieval        8 queries per answer      (out-of-scope queries count as one more answer)
    ner              8 sentences per entity type (greedy like multilabel; sentences without an entity are not drawn)

and `all` keeps every row. The draws themselves are pure functions of the data layer and the tasks.
"""

from __future__ import annotations

from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.interfaces import Budget, workflow_for

__all__ = ["budget_of", "parse_shots"]


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
            raise ConfigError([("--shots", _("{item} is not a positive number of examples per class (per label, "
                                             "target bin, answer or entity type for the other tasks) or 'all'").format(
                                                 item=repr(item)))])
    return sorted(set(out), key=lambda k: (k is None, k or 0))


def budget_of(task: str) -> Budget:
    """The labelled-data budget of `task` (its workflow's)."""
    return workflow_for(task).budget
