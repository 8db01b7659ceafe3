"""Every registered task x method pair trains on the tiny model, writes a bundle that reloads and predicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

import domainfit
from domainfit.registry import baselines, methods, tasks
from tests.conftest import make_rows, write_csv

PAIRS = [(t, m) for m, method in methods.items() for t in sorted(method.tasks) if t in tasks]


@pytest.mark.parametrize(("task", "method"), PAIRS, ids=[f"{t}-{m}" for t, m in PAIRS])
def test_task_method_pair(task, method, tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "d.csv", make_rows(12, seed=7))
    model = domainfit.train({
        "task": task, "method": method,
        "data": {"train": str(data)},
        "model": {"backbone": str(tiny_backbone), "max_length": 32},
        "training": {"epochs": 1, "batch_size": 8},
        "baselines": ["majority"],
        "output": str(tmp_path / "b"),
    })
    meta = json.loads((tmp_path / "b" / "domainfit.json").read_text())
    assert (meta["task"], meta["method"]) == (task, method)
    assert meta["method_options"] == methods.get(method).Options().model_dump()  # defaults recorded in full
    again = domainfit.load(tmp_path / "b")
    texts = ["loan rate please", "card stolen"]
    np.testing.assert_allclose(model.predict_scores(texts), again.predict_scores(texts), atol=1e-6)
    assert np.allclose(again.predict_scores(texts).sum(1), 1.0, atol=1e-5)


def test_every_method_declares_options_and_tasks():
    for name, m in methods.items():
        assert m.description and m.tasks, name
        m.Options()  # every option has a default
        with pytest.raises(Exception):
            m.Options(definitely_not_an_option=1)  # extra keys are rejected


def test_every_baseline_is_constructible_and_described():
    for name, b in baselines.items():
        inst = b()
        assert inst.description and isinstance(inst.needs_encoder, bool), name
