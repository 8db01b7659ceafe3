"""Every registered task x method pair that claims support trains on the tiny model, writes a bundle that reloads and
predicts the same; every pair that does not is refused by the config, before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest

import domainfit
from domainfit.config import load_config
from domainfit.errors import ConfigError
from domainfit.registry import baselines, methods, tasks
from tests.conftest import make_ner_sentences, make_task_rows, write_conll, write_csv

# Tasks whose data is not a text/label table: a tiny file of their own format, and their own checks below.
TINY_FILES = {"ner": lambda folder: write_conll(folder / "d.conll", make_ner_sentences(40, seed=7))}
PAIRS = [(t, m) for m, method in methods.items() for t in tasks.names() if t in method.tasks and t not in TINY_FILES]
FILE_PAIRS = [(t, m) for m, method in methods.items() for t in tasks.names() if t in method.tasks and t in TINY_FILES]
UNSUPPORTED = [(t, m) for m, method in methods.items() for t in tasks.names() if t not in method.tasks]
TEXTS = ["loan rate please", "card stolen", "transfer sent and card blocked"]


@pytest.mark.parametrize(("task", "method"), PAIRS, ids=[f"{t}-{m}" for t, m in PAIRS])
def test_task_method_pair(task, method, tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "d.csv", make_task_rows(task, 12, seed=7))
    model = domainfit.train({
        "task": task, "method": method,
        "data": {"train": str(data)},
        "model": {"backbone": str(tiny_backbone), "max_length": 32},
        "training": {"epochs": 1, "batch_size": 8},
        "baselines": ["majority"],  # answers classification only: skipped with a note for the other tasks
        "output": str(tmp_path / "b"),
    })
    meta = json.loads((tmp_path / "b" / "domainfit.json").read_text())
    assert (meta["task"], meta["method"]) == (task, method)
    assert meta["method_options"] == methods.get(method).Options().model_dump()  # defaults recorded in full
    assert meta["task_options"] == tasks.get(task).Options().model_dump()
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert tasks.get(task).primary_metric in metrics["model"]
    assert ("majority" in metrics["baselines"]) == (task == "classification")
    assert ("majority" in metrics.get("baselines_skipped", {})) == (task != "classification")

    again = domainfit.load(tmp_path / "b")
    scores = again.predict_scores(TEXTS)
    np.testing.assert_allclose(model.predict_scores(TEXTS), scores, atol=1e-6)
    assert _rounded(model.predict(TEXTS)) == _rounded(again.predict(TEXTS))  # labels, thresholds applied, values
    assert scores.shape == (len(TEXTS), len(again.labels)) and np.isfinite(scores).all()
    if task == "classification":
        assert np.allclose(scores.sum(1), 1.0, atol=1e-5)
    if task == "multilabel":
        assert ((scores >= 0) & (scores <= 1)).all()
        assert set(meta["task_state"]["thresholds"]) == set(again.labels)
    if task == "regression":
        assert again.labels == ["score"] and set(meta["task_state"]) == {"mean", "std"}
    if task == "retrieval":  # the head is the index: a row per answer of index/answers.csv; cosines; threshold applied
        bank = (tmp_path / "b" / "index" / "answers.csv").read_text(encoding="utf-8").splitlines()[1:]
        assert again.labels == [line.split(",")[0] for line in bank] and np.abs(scores).max() <= 1 + 1e-5
        threshold = meta["task_state"]["threshold"]
        assert all(p["no_answer"] == (threshold is not None and p["score"] < threshold) for p in again.predict(TEXTS))


@pytest.mark.parametrize(("task", "method"), FILE_PAIRS, ids=[f"{t}-{m}" for t, m in FILE_PAIRS])
def test_task_method_pair_on_the_task_s_own_file(task, method, tiny_backbone, tmp_path):
    """NER: every method that declares it trains on a tiny CoNLL file; the bundle reloads and gives the same entities,
    each with character offsets into the text it was given."""
    model = domainfit.train({
        "task": task, "method": method,
        "data": {"train": str(TINY_FILES[task](tmp_path))},
        "model": {"backbone": str(tiny_backbone), "max_length": 32},
        "training": {"epochs": 1, "batch_size": 8},
        "baselines": ["dictionary", "majority"],  # majority answers classification only: skipped with a note
        "output": str(tmp_path / "b"),
    })
    meta = json.loads((tmp_path / "b" / "domainfit.json").read_text())
    assert (meta["task"], meta["method"]) == (task, method)
    assert meta["method_options"] == methods.get(method).Options().model_dump()
    assert meta["task_options"] == tasks.get(task).Options().model_dump()
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert tasks.get(task).primary_metric in metrics["model"] and "dictionary" in metrics["baselines"]
    assert "majority" in metrics["baselines_skipped"]

    again = domainfit.load(tmp_path / "b")
    predictions = again.predict(TEXTS)
    assert _rounded(model.predict(TEXTS)) == _rounded(predictions)
    for first, second in zip(model.predict_scores(TEXTS), again.predict_scores(TEXTS)):
        np.testing.assert_allclose(first.scores, second.scores, atol=1e-6)
        assert first.scores.shape == (len(first.offsets), len(again.labels)) and np.isfinite(first.scores).all()
    for text, p in zip(TEXTS, predictions):
        for e in p["entities"]:
            assert text[e["start"]:e["end"]] == e["text"] and e["label"] in {"CARD", "LOAN", "TRANSFER"} and 0 <= e["score"] <= 1


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
        assert all(name in baselines.get(b).tasks for b in t.default_baselines), name
        t.Options()
        with pytest.raises(Exception):
            t.Options(definitely_not_an_option=1)


def test_every_baseline_is_constructible_and_described():
    for name, b in baselines.items():
        inst = b()
        assert inst.description and isinstance(inst.needs_encoder, bool), name
        assert inst.tasks and inst.tasks <= set(tasks.names()), name
