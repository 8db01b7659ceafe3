"""Retraining: the replay sample, the gate's decision, and `domainfit retrain` end to end on a real bundle with a real
MLflow registry (promoted only when the challenger wins)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from domainfit.cli.main import app
from domainfit.errors import DataError
from domainfit.model_registry import ModelRegistry
from domainfit.retraining.gate import Gate, decide, label_scores
from domainfit.retraining.run import _parse_replay, replay_rows, retrain
from tests.conftest import make_rows, write_csv


def test_replay_keeps_every_label_in_proportion():
    old = pd.DataFrame({"text": [f"t{i}" for i in range(100)], "label": ["a"] * 80 + ["b"] * 18 + ["c"] * 2})
    assert replay_rows(old, "all") is old and replay_rows(old, 0).empty
    half = replay_rows(old, 0.5)
    assert half["label"].value_counts().to_dict() == {"a": 40, "b": 9, "c": 1}
    assert replay_rows(old, 20)["label"].value_counts().to_dict() == {"a": 16, "b": 4, "c": 1}  # every label kept
    assert _parse_replay("all") == "all" and _parse_replay("0.25") == 0.25 and _parse_replay("2000") == 2000
    with pytest.raises(DataError, match="--replay"):
        _parse_replay("most")


def test_scores_count_unknown_labels_as_errors():
    s = label_scores(["a", "b", "new", "new"], ["a", "b", "a", None])
    assert s["n"] == 4 and s["accuracy"] == 0.5 and s["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert label_scores([], [])["accuracy"] is None


def test_the_gate_wants_a_gain_on_new_rows_and_no_loss_on_old_ones():
    champion = {"old": {"macro_f1": 0.90}, "new": {"macro_f1": 0.40}}
    assert decide(champion, {"old": {"macro_f1": 0.895}, "new": {"macro_f1": 0.80}}, Gate())["promote"]
    lost = decide(champion, {"old": {"macro_f1": 0.85}, "new": {"macro_f1": 0.80}}, Gate())
    assert not lost["promote"] and "loses 5.0 points" in lost["reasons"][0]
    flat = decide(champion, {"old": {"macro_f1": 0.90}, "new": {"macro_f1": 0.41}}, Gate(min_gain=0.05))
    assert not flat["promote"] and "gains +1.0 points" in flat["reasons"][0]
    blind = decide({"old": {"macro_f1": 0.9}, "new": {"macro_f1": None}}, {"old": {"macro_f1": 0.9}, "new": {"macro_f1": None}}, Gate())
    assert not blind["promote"] and "no new test rows" in blind["reasons"][0]


def test_retrain_end_to_end_promotes_only_a_winner(tiny_bundle, tmp_path):
    new = write_csv(tmp_path / "corrections.csv", [(t, y, "x") for t, y in make_rows(10, seed=9)], header=("text", "label", "predicted"))
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    settings = ["training.epochs=3", "baselines=[]"]
    report = retrain(tiny_bundle, new, output=tmp_path / "v2", replay=0.5, gate=Gate(min_gain=-1.0, max_drop=1.0),
                     overrides=settings, promote="tickets", registry=uri)
    rows = report["rows"]
    assert rows["new_train"] + rows["new_val"] + rows["new_test"] == 30 and 0 < rows["replayed"] < rows["old_train"]
    assert report["decision"]["promote"] and report["registry"]["promoted"]["version"] == 1
    assert ModelRegistry(uri).versions("tickets")[0]["aliases"] == ["champion"]
    saved = json.loads((tmp_path / "v2" / "retrain.json").read_text())
    assert saved["scores"]["challenger"]["old"]["n"] == rows["old_test"] and (tmp_path / "v2" / "report.html").is_file()
    train = pd.read_csv(tmp_path / "v2-data" / "train.csv")
    assert len(train) == rows["replayed"] + rows["new_train"]

    result = CliRunner().invoke(app, ["retrain", str(tiny_bundle), "--new", str(new), "-o", str(tmp_path / "v3"),
                                      "--min-gain", "1.0", "--promote", "tickets", "--registry", uri, "--strict",
                                      "--set", "training.epochs=1", "--set", "baselines=[]"])
    assert result.exit_code == 3, result.output
    assert "the champion stays" in result.output and "required" in result.output
    assert len(ModelRegistry(uri).versions("tickets")) == 1  # nothing pushed
