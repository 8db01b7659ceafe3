"""Fixtures of the recommend tests: the tiny catalogue and interactions (`domainfit.tasks.recommend.examples`), and one
bundle trained on them with the tiny model, shared by the module tests that only read it."""

from __future__ import annotations

from pathlib import Path

import pytest

import domainfit
from domainfit.tasks.recommend.examples import catalogue_rows, interaction_rows, write_rows


def write_example(folder: Path, *, n_users: int = 30, per_theme: int = 8, skip: set[str] | None = None) -> dict:
    items = write_rows(folder / "items.csv", catalogue_rows(per_theme), ("id", "text", "category", "price"))
    inter = write_rows(folder / "interactions.csv", interaction_rows(n_users, per_theme=per_theme, skip=skip),
                       ("user", "item", "time"))
    return {"train": str(inter), "items": str(items)}


def recommend_config(backbone: Path, data: dict, output: Path, **extra) -> dict:
    cfg = {"task": "recommend", "method": "full", "data": data, "model": {"backbone": str(backbone), "max_length": 16},
           "training": {"epochs": 4, "batch_size": 8, "lr": 5e-3, "seed": 3, "threads": 1},
           "baselines": ["popular", "itemknn", "als", "backbone_text", "bm25_history"], "output": str(output)}
    for key, value in extra.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


@pytest.fixture(scope="session")
def rec_bundle(tiny_backbone, tmp_path_factory) -> Path:
    """A bundle with 10% cold items (held out of training) and the re-ranker on auto."""
    folder = tmp_path_factory.mktemp("recommend")
    data = write_example(folder, n_users=45)
    domainfit.train(recommend_config(tiny_backbone, data, folder / "bundle", task_options={"cold_items": 0.125}))
    return folder / "bundle"
