"""`compare --tune` on the tiny backbone: each method (full, lora) gets a 2-trial Optuna study on its run's own
training and validation files, trial 0 being the defaults; the leaderboard measures the best trial's bundle and the
report shows tuned against defaults per method."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from domainfit.cli.main import app
from domainfit.errors import ConfigError
from domainfit.tuning import compare_tuner
from tests.conftest import make_rows, write_csv


def test_compare_tune_tunes_each_method_on_its_own_validation_and_reports_tuned_against_defaults(tiny_backbone, tmp_path):
    data = write_csv(tmp_path / "d.csv", make_rows(20, seed=3))
    out = tmp_path / "cmp"
    r = CliRunner().invoke(app, ["compare", str(data), "--methods", "full,lora,tfidf", "--shots", "all", "--seeds", "1",
                                 "-o", str(out), "--model", str(tiny_backbone), "--tune", "--trials", "2",
                                 "--set", "training.epochs=1", "--set", "model.max_length=32", "--set", "training.threads=1"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    result = json.loads((out / "leaderboard.json").read_text())
    assert result["tune"] == {"trials": 2, "timeout": None}
    runs = {x["method"]: x for x in result["runs"]}
    assert not [x for x in runs.values() if "error" in x] and "tuning" not in runs["tfidf"]  # a baseline is fit as is
    for method in ("full", "lora"):
        t = runs[method]["tuning"]
        assert t["trials"]["COMPLETE"] + t["trials"]["PRUNED"] == 2
        assert t["val_tuned"] >= t["val_default"]  # the defaults are trial 0: never worse on validation
        assert set(t["test_default"]) == set(t["test_tuned"]) == {"accuracy", "macro_f1"}
        if t["best_trial"] == 0:  # the defaults won: the bundle measured is trial 0's
            assert runs[method]["accuracy"] == pytest.approx(t["test_default"]["accuracy"])
        assert runs[method]["accuracy"] == pytest.approx(t["test_tuned"]["accuracy"])
        study = out / "runs" / f"{method}-all-s0-tuning"
        summary = json.loads((study / "tune.json").read_text())
        assert summary["trials"][0]["defaults"] and summary["method"] == method
        assert not list(study.glob("trial-*"))  # the best trial became the run's bundle, and that is measured then deleted
    lora_space = set(json.loads((out / "runs" / "lora-all-s0-tuning" / "tune.json").read_text())["space"])
    assert {"method_options.r", "method_options.alpha", "training.lr"} <= lora_space
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Tuned against defaults" in html and "validation: defaults" in html


def test_compare_tuner_refuses_zero_trials_and_leaves_methods_without_a_space_alone():
    with pytest.raises(ConfigError, match="--trials"):
        compare_tuner(0)
    from domainfit.config.load import load_config

    cfg = load_config({"method": "head", "data": {"train": "unused.csv"}})
    assert compare_tuner(1)(cfg) is None  # head chooses its C on validation itself: trained as is


def test_lora_defaults_are_the_studied_ones_and_lie_inside_its_search_space():
    from domainfit.config.load import load_config
    from domainfit.tuning.space import default_space, default_values

    cfg = load_config({"method": "lora", "data": {"train": "unused.csv"}})
    values = default_values(default_space("lora"), cfg)  # trial 0 of a lora study
    assert values["training.lr"] == 1e-3 and values["method_options.alpha"] == 64 and values["method_options.r"] == 8
    assert values["method_options.head_lr_scale"] == 20.0  # bench/results/lora_defaults.md (was 1)
    space = default_space("lora")
    assert space["method_options.head_lr_scale"].low <= 20.0 <= space["method_options.head_lr_scale"].high
    assert 64 in space["method_options.alpha"].choices
