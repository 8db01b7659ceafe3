"""The architecture claim "a task's registration is all a new task needs": a toy task defined here, not in domainfit,
registered for this module only, goes through config validation, train, predict, evaluate, compare, the serving app's
schema and one request, monitoring's live statistics and the compression parity gate, with no other change to domainfit.

The toy, "urgency", labels a ticket URGENT or Routine. It borrows the single-label machinery of ClassificationTask
(softmax head, cross-entropy, metrics) and brings what makes it a task of its own: its name, its options (one that
changes how labels are read), its workflow (its budget unit, its live statistics), its example, its baselines and its
response schema.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from typer.testing import CliRunner

import domainfit
from domainfit.bundle import load_bundle
from domainfit.cli.main import app
from domainfit.cli.ui import console
from domainfit.config import load_config
from domainfit.data.sampling import sample_per_class
from domainfit.errors import ConfigError
from domainfit.evaluation.live import single_label_stats
from domainfit.interfaces import Budget, make_task, workflow_for
from domainfit.monitor.log import PredictionLog
from domainfit.monitor.stats import live_stats
from domainfit.registry import tasks
from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore
from domainfit.tasks.classification import ClassificationTask
from domainfit.tasks.table import TableWorkflow
from tests.conftest import make_rows, write_csv

UNIT = "examples per urgency level"
MARKER = "urgent_share"  # the statistic only the toy's live_stats adds
TEXTS = ["my card stolen today", "loan rate please", "card blocked pin"]  # words of the tiny vocabulary


def urgency_rows(n_per_intent: int, seed: int) -> list[tuple[str, str]]:
    """conftest's intents, relabelled: a card problem is URGENT, a loan or a transfer Routine (raw casing, as a
    spreadsheet might have it; the toy's `lowercase_labels` option decides what the labels become)."""
    return [(text, "URGENT" if intent == "card" else "Routine") for text, intent in make_rows(n_per_intent, seed)]


def urgency_stats(rows: pd.DataFrame, reference: dict) -> dict:
    """The single-label statistics, plus the share of logged predictions that were urgent."""
    stats = single_label_stats(rows, reference)
    stats[MARKER] = float((rows["label"].str.lower() == "urgent").mean()) if len(rows) else 0.0
    return stats


class UrgencyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lowercase_labels: bool = True  # "URGENT" and "Routine" in the file become "urgent" and "routine"


class UrgencyTask(ClassificationTask):
    """One urgency level per ticket. Subclasses only to borrow the softmax head, loss and metrics; every attribute the
    registry, the workflow and the serving layer read is its own."""

    name = "urgency"
    description = "how urgent a ticket is (urgent / routine): softmax head, cross-entropy"
    kind = "table"
    targets = "label"  # one label per text: the single-label baselines, methods and data checks fit it
    default_baselines: tuple[str, ...] = ("tfidf",)
    Options = UrgencyOptions
    workflow = TableWorkflow(budget=Budget(UNIT, lambda rows, k, seed, task: sample_per_class(rows, k, seed)),
                             live_stats=urgency_stats)

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None:
        self.options = UrgencyOptions.model_validate(options or {})

    @staticmethod
    def example(folder: Path) -> dict:
        folder.mkdir(parents=True, exist_ok=True)  # as the built-in examples do: the contract test passes a new folder
        return {"data": {"train": str(write_csv(folder / "urgency.csv", urgency_rows(12, seed=7)))}, "texts": TEXTS}

    def parse_target(self, value: str) -> str:
        label = super().parse_target(value)
        return label.lower() if self.options.lowercase_labels else label

    def prediction_model(self, label_set: Sequence[str]) -> type:
        from typing import Literal

        from pydantic import Field, create_model

        level = Literal[tuple(label_set)]
        return create_model("UrgencyPrediction", label=(level, Field(..., description="the urgency level")),
                            score=(float, Field(..., ge=0.0, le=1.0)), top_k=(list[dict], ...))


@pytest.fixture(scope="module")
def urgency():
    """The toy registered for this module only (registries are global: no other test sees it)."""
    assert "urgency" not in tasks
    tasks.register("urgency")(UrgencyTask)
    yield UrgencyTask
    tasks.unregister("urgency")
    assert "urgency" not in tasks


def _config(backbone: Path, train: Path, output: Path, **extra) -> dict:
    return {"task": "urgency", "method": "head", "data": {"train": str(train)},
            "model": {"backbone": str(backbone), "max_length": 32},
            "training": {"epochs": 2, "batch_size": 8, "lr": 5e-3, "seed": 3}, "baselines": [], "output": str(output),
            **extra}


@pytest.fixture(scope="module")
def bundle(urgency, tiny_backbone, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("urgency")
    train = write_csv(folder / "tickets.csv", urgency_rows(40, seed=1))
    domainfit.train(_config(tiny_backbone, train, folder / "urgency-bundle", method="full"))
    return folder / "urgency-bundle"


def test_config_validation_and_the_listing_read_the_toys_registration(urgency, monkeypatch):
    cfg = load_config({"task": "urgency", "task_options": {"lowercase_labels": False}, "data": {"train": "x.csv"}})
    assert cfg.task == "urgency" and cfg.task_options == {"lowercase_labels": False}
    assert load_config({"task": "urgency", "data": {"train": "x.csv"}}).task_options == {"lowercase_labels": True}
    with pytest.raises(ConfigError, match="unknown option of task 'urgency'"):
        load_config({"task": "urgency", "task_options": {"separator": ";"}, "data": {"train": "x.csv"}})
    with pytest.raises(ConfigError, match="task_options.lowercase_labels"):
        load_config({"task": "urgency", "task_options": {"lowercase_labels": "sometimes"}, "data": {"train": "x.csv"}})
    assert workflow_for("urgency") is UrgencyTask.workflow and type(make_task("urgency")) is UrgencyTask
    monkeypatch.setattr(console, "width", 200)  # rich folds a cell at its default 80 columns
    listed = CliRunner().invoke(app, ["ls", "tasks"])
    assert listed.exit_code == 0 and "urgency" in listed.output and "lowercase_labels=True" in listed.output


def test_the_registry_contract_tests_pass_for_the_toy(urgency, tiny_backbone, tmp_path):
    """What tests/contract runs for every registered task, run for the toy (registered after their collection): its
    declarations, and its own `example` trained, reloaded and predicted by every method that serves its kind."""
    from domainfit.interfaces import serves
    from domainfit.registry import methods
    from tests.contract import test_registry_contract as contract

    contract.test_every_task_declares_options_metrics_and_baselines()  # the toy among them
    serving = [n for n, m in methods.items() if serves(m, "urgency")]
    assert {"head", "full", "lora", "fewshot", "zeroshot"} <= set(serving)  # its kind and its targets say which
    for name in serving:
        contract.test_task_method_pair("urgency", name, tiny_backbone, tmp_path / name)


def test_the_option_changes_how_labels_are_read(urgency):
    assert make_task("urgency").parse_target(" URGENT ") == "urgent"
    assert make_task("urgency", {"lowercase_labels": False}).parse_target(" URGENT ") == "URGENT"


def test_train_writes_a_bundle_that_names_the_task_and_its_options(bundle):
    meta = json.loads((bundle / "domainfit.json").read_text(encoding="utf-8"))
    assert meta["task"] == "urgency" and meta["method"] == "full"
    assert meta["task_options"] == {"lowercase_labels": True}
    assert meta["labels"] == ["routine", "urgent"]  # the option at work: the file says URGENT / Routine
    metrics = json.loads((bundle / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["task"]["name"] == "urgency" and metrics["task"]["primary_metric"] == "macro_f1"
    assert metrics["model"]["macro_f1"] >= 0.75 and metrics["model"]["n"] > 0  # two epochs learn the keywords


def test_the_option_off_keeps_the_files_labels(urgency, tiny_backbone, tmp_path):
    train = write_csv(tmp_path / "tickets.csv", urgency_rows(10, seed=2))
    model = domainfit.train(_config(tiny_backbone, train, tmp_path / "b", task_options={"lowercase_labels": False},
                                    training={"epochs": 1, "batch_size": 8, "seed": 3}))
    assert model.labels == ["Routine", "URGENT"] and model.meta["task_options"] == {"lowercase_labels": False}


def test_reload_and_predict_gives_the_toys_labels(bundle):
    model = domainfit.load(bundle)
    assert model.task == "urgency" and model.labels == ["routine", "urgent"]
    preds = model.predict(TEXTS, top_k=2)
    assert len(preds) == 3 and {p["label"] for p in preds} <= {"routine", "urgent"}
    assert all(len(p["top_k"]) == 2 and 0.0 <= p["score"] <= 1.0 for p in preds)
    assert [p["label"] for p in preds] == ["urgent", "routine", "urgent"]  # learned: card words are urgent


def test_evaluate_on_a_fresh_labelled_file(bundle, tmp_path):
    fresh = write_csv(tmp_path / "fresh.csv", urgency_rows(8, seed=9))
    result = domainfit.evaluate(bundle, fresh, out_dir=tmp_path / "eval")
    assert 0.0 <= result["model"]["macro_f1"] <= 1.0 and result["model"]["accuracy"] >= 0.75
    written = json.loads((tmp_path / "eval" / "metrics.json").read_text(encoding="utf-8"))
    assert written["model"]["macro_f1"] == pytest.approx(result["model"]["macro_f1"])


def test_compare_counts_the_toys_budget_unit(urgency, tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "pool.csv", urgency_rows(20, seed=4))
    base = {"task": "urgency", "model": {"backbone": str(tiny_backbone), "max_length": 32},
            "training": {"epochs": 1, "batch_size": 8, "lr": 5e-3}}
    result = domainfit.compare(data, methods=["head", "full"], shots="2,all", seeds=1, output=tmp_path / "cmp",
                               config=base)
    assert result["task"] == "urgency" and result["unit"] == UNIT
    assert not [r for r in result["runs"] if r.get("error")], [r["error"] for r in result["runs"] if r.get("error")]
    assert {(r["method"], r["shots"]) for r in result["runs"]} == {("head", "2"), ("head", "all"), ("full", "2"),
                                                                    ("full", "all")}
    assert [r["train_rows"] for r in result["runs"] if r["shots"] == "2"] == [4, 4]  # 2 per urgency level, 2 levels
    board = result["leaderboard"]
    assert {(r["method"], r["shots"]) for r in board} == {("head", "2"), ("head", "all"), ("full", "2"), ("full", "all")}
    assert all(0.0 <= r[result["metrics"][0]] <= 1.0 for r in board)
    assert UNIT in (tmp_path / "cmp" / "report.html").read_text(encoding="utf-8")


def test_the_serving_schema_and_a_request_use_the_toys_labels(bundle):
    with TestClient(create_app(bundle, ServeSettings(), keys=KeyStore([]))) as client:
        schema = client.get("/openapi.json").json()
        prediction = schema["components"]["schemas"]["UrgencyPrediction"]
        assert prediction["properties"]["label"]["enum"] == ["routine", "urgent"]
        r = client.post("/v1/predict", json={"texts": TEXTS})
        assert r.status_code == 200, r.text
        assert [p["label"] for p in r.json()["predictions"]] == [p["label"] for p in domainfit.load(bundle).predict(TEXTS)]
        assert {p["label"] for p in r.json()["predictions"]} <= {"routine", "urgent"}
        assert client.get("/v1/models").json()["models"][0]["task"] == "urgency"


def test_monitoring_calls_the_toys_live_stats(bundle, tmp_path):
    model = domainfit.load(bundle)
    texts = [text for text, _ in urgency_rows(10, seed=12)]
    with PredictionLog(tmp_path / "log.db") as log:
        log.append([("req-1", "urgency-bundle", "1", texts, model.predict(texts))], ts=1000.0)
        rows = log.predictions()
    reference = json.loads((bundle / "reference_stats.json").read_text(encoding="utf-8"))
    stats = live_stats("urgency", rows, reference)
    urgent = sum(p["label"] == "urgent" for p in model.predict(texts)) / len(texts)
    assert stats[MARKER] == pytest.approx(urgent)
    assert set(stats["label_distribution"]) <= {"routine", "urgent"}


def test_compress_passes_its_parity_gate_on_the_workflows_test_split(bundle, tmp_path):
    fresh = tmp_path / "copy"
    shutil.copytree(bundle, fresh)
    split = workflow_for("urgency").test_split(load_bundle(fresh))
    assert split.texts and set(split.y_true) <= {"routine", "urgent"}
    meta = domainfit.compress(fresh, to="onnx", quantize="none")
    assert meta["name"] == "onnx-fp32" and meta["parity_passed"] and meta["parity"]["agreement"] == 1.0
    onnx = domainfit.load(fresh, variant="onnx-fp32")
    assert onnx.variant == "onnx-fp32"
    assert [p["label"] for p in onnx.predict(TEXTS)] == [p["label"] for p in domainfit.load(fresh).predict(TEXTS)]


# -- what a task gets by declaring its targets (Task.targets): the components made for that kind of target ---

def test_a_single_label_task_gets_the_single_label_baselines_and_methods(urgency):
    from domainfit.comparison.run import default_methods

    assert {"tfidf", "zeroshot", "fewshot"} <= set(default_methods("urgency"))


def test_a_single_label_task_gets_the_single_label_data_checks(urgency, tiny_backbone, tmp_path):
    rows = urgency_rows(10, seed=5) + [("card pin blocked", "Critical"), ("loan rate", "Routine"), ("loan rate", "URGENT")]
    data = write_csv(tmp_path / "odd.csv", rows)
    found = {i.code for i in domainfit.check_data(data, task="urgency", model=str(tiny_backbone)).issues}
    assert {"rare_class", "conflicting_labels"} <= found
