"""The tiny example of the recommend task (`Task.example`): a catalogue of banking products named by the keywords of
three intents, and users who stay with one intent's products, so the next item is guessable from the history's text.
Also what the tests build their data from."""

from __future__ import annotations

import random
from pathlib import Path

from domainfit.tasks.examples import FILLER, INTENTS
from domainfit.tasks.examples import write_table as write_rows

__all__ = ["THEMES", "catalogue_rows", "interaction_rows", "recommend_example", "write_rows"]

THEMES = INTENTS  # the tiny test model's vocabulary holds these words
TEXTS = ["card blocked pin", "loan rate mortgage", "transfer sent account"]  # stated interests (text queries)


def catalogue_rows(per_theme: int = 8, seed: int = 7) -> list[tuple[str, str, str, str]]:
    """(id, text, category, price) rows: each item's text is three words of its theme."""
    rng = random.Random(seed)
    rows = []
    for theme, words in THEMES.items():
        for i in range(per_theme):
            rows.append((f"{theme}-{i}", " ".join(rng.sample(words, 3) + rng.sample(FILLER, 2)), theme, f"{rng.uniform(1, 50):.2f}"))
    return rows


def interaction_rows(n_users: int = 30, length: int = 6, per_theme: int = 8, seed: int = 7,
                     skip: set[str] | None = None) -> list[tuple[str, str, int]]:
    """(user, item, time) rows: user u stays with theme u mod 3, `length` distinct items in time order."""
    rng = random.Random(seed)
    names = list(THEMES)
    rows = []
    for u in range(n_users):
        theme = names[u % len(names)]
        pool = [f"{theme}-{i}" for i in range(per_theme) if f"{theme}-{i}" not in (skip or set())]
        for t, item in enumerate(rng.sample(pool, min(length, len(pool)))):
            rows.append((f"u{u:03d}", item, 1000 + 10 * t))
    return rows


def recommend_example(folder: Path) -> dict:
    items = write_rows(folder / "items.csv", catalogue_rows(), ("id", "text", "category", "price"))
    inter = write_rows(folder / "interactions.csv", interaction_rows(), ("user", "item", "time"))
    return {"data": {"train": str(inter), "items": str(items)}, "texts": TEXTS}
