"""Bundles with out-of-scope detectors on the tiny backbone (seconds each), shared by this folder's tests."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import FILLER, make_rows, write_csv


def train_ood_bundle(backbone: Path, out: Path, out_of_scope, *, rows=None, seed: int = 2) -> Path:
    import domainfit

    data = write_csv(out.parent / f"{out.name}-data.csv", rows or make_rows(30, seed=seed))
    domainfit.train({"data": {"train": str(data)}, "model": {"backbone": str(backbone), "max_length": 32},
                     "training": {"epochs": 6, "batch_size": 8, "lr": 5e-3, "seed": seed}, "baselines": [],
                     "task_options": {"out_of_scope": out_of_scope}, "output": str(out)})
    return out


@pytest.fixture(scope="session")
def refuse_bundle(tiny_backbone, tmp_path_factory) -> Path:
    """Mahalanobis on the pooled embeddings, mode refuse, keep 1.0: every validation text stays in scope, whatever the
    tiny model's embeddings look like (read-only: copy it before changing it)."""
    folder = tmp_path_factory.mktemp("ood-refuse")
    return train_ood_bundle(tiny_backbone, folder / "refuse", {"mode": "refuse", "detector": "mahalanobis", "keep": 1.0})


def val_texts(bundle: Path, n: int = 3) -> tuple[list[str], list[str]]:
    """The first `n` validation texts of a bundle and their labels (in scope by construction at keep 1.0)."""
    import pandas as pd

    frame = pd.read_csv(bundle / "data" / "val.csv", dtype=str, keep_default_na=False).head(n)
    return frame["text"].tolist(), frame["label"].tolist()


def oos_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """Messages of no intent: filler words only, labelled out_of_scope."""
    rng = random.Random(seed)
    return [(" ".join(rng.sample(FILLER, rng.randint(3, 6))), "out_of_scope") for _ in range(n)]
