"""Every registered task x method pair that claims support trains on the tiny model with the task's own example
(`Task.example`), writes a bundle that reloads and predicts the same; every pair that does not is refused by the
config, before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest

import domainfit
from domainfit.bundle import read_meta
from domainfit.config import load_config
from domainfit.errors import ConfigError
from domainfit.interfaces import serves
from domainfit.registry import baselines, methods, tasks

PAIRS = [(t, m) for m, method in methods.items() for t in tasks.names() if serves(method, t)]
UNSUPPORTED = [(t, m) for m, method in methods.items() for t in tasks.names() if not serves(method, t)]


def _check_classification(bundle, model, meta, scores, texts):
    assert np.allclose(scores.sum(1), 1.0, atol=1e-5)


def _check_multilabel(bundle, model, meta, scores, texts):
    assert ((scores >= 0) & (scores <= 1)).all()
    assert set(meta["task_state"]["thresholds"]) == set(model.labels)


def _check_regression(bundle, model, meta, scores, texts):
    assert model.labels == ["score"] and set(meta["task_state"]) == {"mean", "std"}


def _check_retrieval(bundle, model, meta, scores, texts):
    """The head is the index: a row per answer of index/answers.csv; cosines; the threshold applied."""
    bank = (bundle / "index" / "answers.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert model.labels == [line.split(",")[0] for line in bank] and np.abs(scores).max() <= 1 + 1e-5
    threshold = meta["task_state"]["threshold"]
    assert all(p["no_answer"] == (threshold is not None and p["score"] < threshold) for p in model.predict(texts))


def _check_ner(bundle, model, meta, scores, texts):
    """Entities carry character offsets into the text they were found in."""
    for text, p in zip(texts, model.predict(texts)):
        for e in p["entities"]:
            assert text[e["start"]:e["end"]] == e["text"] and e["label"] in {"CARD", "LOAN", "TRANSFER"} and 0 <= e["score"] <= 1


# What the built-in tasks add to the checks every task gets (a new task needs no entry here).
EXTRA_CHECKS = {"classification": _check_classification, "multilabel": _check_multilabel, "regression": _check_regression,
                "retrieval": _check_retrieval, "ner": _check_ner}


@pytest.mark.parametrize(("task", "method"), PAIRS, ids=[f"{t}-{m}" for t, m in PAIRS])
def test_task_method_pair(task, method, tiny_backbone, tmp_path):
    """Every pair a method claims trains on the task's own tiny example; the bundle reloads and predicts the same."""
    example = tasks.get(task).example(tmp_path / "data")
    model = domainfit.train({
        "task": task, "method": method, "data": example["data"],
        "model": {"backbone": str(tiny_backbone), "max_length": 32},
        "training": {"epochs": 1, "batch_size": 8},
        "baselines": ["majority"],  # answers classification only: skipped with a note for the other tasks
        "output": str(tmp_path / "b"),
    })
    texts = example["texts"]
    meta = json.loads((tmp_path / "b" / "domainfit.json").read_text())
    assert read_meta(tmp_path / "b").to_dict() == meta  # every key typed by BundleMeta: nothing refused, lost or added
    assert (meta["task"], meta["method"]) == (task, method)
    assert meta["method_options"] == methods.get(method).Options().model_dump()  # defaults recorded in full
    assert meta["task_options"] == tasks.get(task).Options().model_dump()
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert tasks.get(task).primary_metric in metrics["model"]
    single = tasks.get(task).targets == "label"  # majority answers one-label-per-text tasks only
    assert ("majority" in metrics["baselines"]) == single
    assert ("majority" in metrics.get("baselines_skipped", {})) == (not single)

    again = domainfit.load(tmp_path / "b")
    assert _rounded(model.predict(texts)) == _rounded(again.predict(texts))  # labels, thresholds applied, values
    first, second = model.predict_scores(texts), again.predict_scores(texts)
    if isinstance(second, np.ndarray):
        np.testing.assert_allclose(first, second, atol=1e-6)
        assert second.shape == (len(texts), len(again.labels)) and np.isfinite(second).all()
    else:  # per-token scores (entity recognition): one array per text
        for a, b in zip(first, second):
            np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)
            assert b.scores.shape[1] == len(again.labels) and np.isfinite(b.scores).all()
    EXTRA_CHECKS.get(task, lambda *a: None)(tmp_path / "b", again, meta, second, texts)


def _rounded(predictions: list[dict]) -> list[dict]:
    """Predictions with every float rounded to 5 places (the same model gives the same output but for float noise)."""
    return json.loads(json.dumps(predictions), parse_float=lambda x: round(float(x), 5))


@pytest.mark.parametrize(("task", "method"), UNSUPPORTED, ids=[f"{t}-{m}" for t, m in UNSUPPORTED])
def test_unsupported_pair_is_refused_before_any_work(task, method):
    with pytest.raises(ConfigError) as exc:
        load_config({"task": task, "method": method, "data": {"train": "does-not-exist.csv"}})
    assert f"does not support task {task!r}" in str(exc.value)


def test_every_method_declares_options_and_tasks():
    for name, m in methods.items():
        assert m.description and m.tasks, name
        m.Options()  # every option has a default
        with pytest.raises(Exception):
            m.Options(definitely_not_an_option=1)  # extra keys are rejected


def test_every_task_declares_options_metrics_and_baselines():
    for name, t in tasks.items():
        assert t.name == name and t.description and t.primary_metric in t.summary_metrics, name
        assert all(serves(baselines.get(b), name) for b in t.default_baselines), name
        assert t.kind in {"table", "token", "pair"} and isinstance(t.targets, str) and callable(t.example), name
        t.Options()
        with pytest.raises(Exception):
            t.Options(definitely_not_an_option=1)


def test_every_baseline_is_constructible_and_described():
    for name, b in baselines.items():
        inst = b()
        assert inst.description and isinstance(inst.needs_encoder, bool), name
        known = set(tasks.names()) | {t.kind for _, t in tasks.items()} | {t.targets for _, t in tasks.items()}
        assert inst.tasks and inst.tasks <= known, name
