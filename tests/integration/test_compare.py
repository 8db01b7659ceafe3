"""`domainfit compare` on the tiny model: every method x budget on one test split, leaderboard, curve, advice."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from domainfit.cli.main import app
from domainfit.comparison import aggregate, parse_shots, recommend, sample_per_class
from domainfit.errors import ConfigError
from tests.conftest import make_rows, write_csv


def test_sampling_and_shots():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(30)], "label": ["a"] * 20 + ["b"] * 10})
    s = sample_per_class(frame, 4, seed=1)
    assert s["label"].value_counts().to_dict() == {"a": 4, "b": 4}
    assert s.equals(sample_per_class(frame, 4, seed=1)) and not s.equals(sample_per_class(frame, 4, seed=2))
    assert len(sample_per_class(frame, 15, seed=0)) == 25  # the smaller class gives what it has
    assert parse_shots("16, all,8") == [8, 16, None]
    with pytest.raises(ConfigError, match="--shots"):
        parse_shots("8,lots")


def test_aggregate_and_recommend_prefers_a_cheaper_method_within_a_point():
    runs = [
        {"method": "full", "shots": "8", "seed": 0, "accuracy": 0.70, "macro_f1": 0.7, "train_seconds": 50},
        {"method": "full", "shots": "8", "seed": 1, "accuracy": 0.80, "macro_f1": 0.8, "train_seconds": 50},
        {"method": "head", "shots": "8", "seed": 0, "accuracy": 0.60, "macro_f1": 0.6, "train_seconds": 2},
        {"method": "full", "shots": "all", "seed": 0, "accuracy": 0.930, "macro_f1": 0.93, "train_seconds": 300},
        {"method": "head", "shots": "all", "seed": 0, "accuracy": 0.925, "macro_f1": 0.92, "train_seconds": 30},
        {"method": "lora", "shots": "all", "seed": 0, "error": "boom"},
    ]
    board = aggregate(runs)
    full8 = next(r for r in board if r["method"] == "full" and r["shots"] == "8")
    assert full8["accuracy"] == pytest.approx(0.75) and full8["accuracy_std"] == pytest.approx(0.05) and full8["seeds"] == 2
    rec = recommend(board)
    assert rec["method"] == "head" and "within 1 point" in rec["why"] and "10x faster" in rec["why"]


def test_compare_cli_end_to_end(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "d.csv", make_rows(20, seed=3))
    out = tmp_path / "cmp"
    r = CliRunner().invoke(app, ["compare", str(data), "--methods", "tfidf,head,zeroshot,full", "--shots", "4,all",
                                 "--seeds", "2", "-o", str(out), "--model", str(tiny_backbone),
                                 "--set", "training.epochs=1", "--set", "model.max_length=32"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    result = json.loads((out / "leaderboard.json").read_text())
    runs = result["runs"]
    assert len(runs) == 4 * (2 + 1) and not [x for x in runs if "error" in x]  # 4 methods x (2 seeds at 4 + 1 at all)
    assert {x["train_rows"] for x in runs if x["shots"] == "4"} == {12}  # 4 per class x 3 classes
    board = {(x["method"], x["shots"]): x for x in result["leaderboard"]}
    assert board[("full", "4")]["seeds"] == 2 and board[("full", "all")]["bundle_mb"] > 0
    assert board[("tfidf", "all")]["trainable_parameters"] is None
    assert result["recommendation"]["method"] in {"tfidf", "head", "zeroshot", "full"}
    html = (out / "report.html").read_text()
    assert "Learning curve" in html and "<svg" in html and "http://" not in html.replace("http://www.w3.org", "")
    assert (out / "leaderboard.csv").is_file() and not (out / "runs").exists() or not any((out / "runs").iterdir())
    assert "recommended" in r.output

    # --resume reuses every finished run: nothing is trained again (a training call would fail here)
    import domainfit.comparison.run as compare_run

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    original = compare_run._train_method
    compare_run._train_method = no_training
    try:
        again = CliRunner().invoke(app, ["compare", str(data), "--methods", "tfidf,head,zeroshot,full", "--shots", "4,all",
                                         "--seeds", "2", "-o", str(out), "--model", str(tiny_backbone), "--resume",
                                         "--set", "training.epochs=1", "--set", "model.max_length=32"])
    finally:
        compare_run._train_method = original
    assert again.exit_code == 0, again.output
    resumed = json.loads((out / "leaderboard.json").read_text())["runs"]
    assert [(x["method"], x["accuracy"]) for x in resumed] == [(x["method"], x["accuracy"]) for x in runs]
