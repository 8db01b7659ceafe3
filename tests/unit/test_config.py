"""The typed config: unknown keys rejected, every problem reported at once, overrides, method options."""

from __future__ import annotations

import pytest

from domainfit.config import load_config, parse_override
from domainfit.errors import ConfigError


def test_minimal_config_fills_defaults(tmp_path):
    cfg = load_config({"data": {"train": "x.csv"}})
    assert cfg.method == "full" and cfg.task == "classification" and cfg.training.lr == 1e-4
    assert cfg.method_options == {"lp_init": True, "probe_C": 10.0, "head_lr_scale": 5.0}


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as exc:
        load_config({"data": {"train": "x.csv", "val_size": 2}, "training": {"epocs": 3, "lr": -1}, "method": "lora-ish"})
    keys = [k for k, _ in exc.value.problems]
    assert set(keys) == {"data.val_size", "training.epocs", "training.lr", "method"}
    text = str(exc.value)
    assert "did you mean 'epochs'" in text and "4 problem(s)" in text


def test_missing_train_file_key():
    with pytest.raises(ConfigError) as exc:
        load_config({})
    assert exc.value.problems[0][0] == "data"


def test_overrides_are_yaml_typed():
    assert parse_override("training.epochs=3") == ("training.epochs", 3)
    assert parse_override("training.patience=null") == ("training.patience", None)
    assert parse_override("baselines=[tfidf]") == ("baselines", ["tfidf"])
    cfg = load_config({"data": {"train": "x.csv"}}, overrides=["training.lr=3e-4", "method=head", "method_options.C=[5]"])
    assert cfg.training.lr == 3e-4 and cfg.method == "head" and cfg.method_options == {"C": [5.0]}
    with pytest.raises(ConfigError, match="key.subkey=value"):
        parse_override("training.lr")


def test_method_options_are_validated_against_the_method():
    with pytest.raises(ConfigError) as exc:
        load_config({"data": {"train": "x.csv"}, "method": "head", "method_options": {"c": 3}})
    assert exc.value.problems[0][0] == "method_options" or "method_options" in str(exc.value)


def test_yaml_file_errors_name_the_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("data:\n  train: x.csv\n  test: [unclosed\n")
    with pytest.raises(ConfigError, match="line"):
        load_config(p)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.yaml")


def test_unknown_baseline_and_task():
    with pytest.raises(ConfigError) as exc:
        load_config({"data": {"train": "x.csv"}, "baselines": ["tfidff"], "task": "clasification"})
    text = str(exc.value)
    assert "did you mean 'tfidf'" in text.lower() and "did you mean 'classification'" in text.lower()
