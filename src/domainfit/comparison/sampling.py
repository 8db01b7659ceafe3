"""Labelled-data budgets: k examples per class, drawn with a seed (pure)."""

from __future__ import annotations

import pandas as pd

__all__ = ["parse_shots", "sample_per_class"]


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

            raise ConfigError([("--shots", f"{item!r} is not a positive number of examples per class or 'all'")])
    return sorted(set(out), key=lambda k: (k is None, k or 0))


def sample_per_class(frame: pd.DataFrame, k: int | None, seed: int) -> pd.DataFrame:
    """Up to k rows of each label (all of a smaller class), shuffled with `seed`; k=None keeps every row."""
    if k is None:
        return frame.reset_index(drop=True)
    parts = [g.sample(n=min(k, len(g)), random_state=seed) for _, g in frame.groupby("label", sort=True)]
    return pd.concat(parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)
