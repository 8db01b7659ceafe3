"""The regression task: numbers parsed (non-numbers rejected with file:row), standardisation round trip, metrics,
the TF-IDF + ridge baseline beside the model, and the prediction file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import domainfit
from domainfit.config import load_config
from domainfit.errors import ConfigError
from domainfit.evaluation.metrics import regression_metrics
from domainfit.tasks import make_task
from tests.conftest import make_task_rows, write_csv


def test_parse_numbers():
    task = make_task("regression")
    assert task.parse_target(" 3.5 ") == "3.5" and task.parse_target("2") == "2.0" and task.parse_target("-1e2") == "-100.0"
    for bad in ("high", "nan", "inf", "3,5"):
        with pytest.raises(ValueError, match="not_a_number"):
            task.parse_target(bad)


def test_standardisation_round_trip():
    task = make_task("regression")
    values = ["1", "2", "3", "6"]
    task.fit_targets(values, ["score"])
    assert (task.mean, task.std) == pytest.approx((3.0, np.sqrt(3.5)))
    encoded = task.encode_targets(values, ["score"])
    assert float(encoded.mean()) == pytest.approx(0.0, abs=1e-6) and float(encoded.std(unbiased=False)) == pytest.approx(1.0)
    restored = make_task("regression", state=task.state())  # as the Predictor rebuilds it from domainfit.json
    np.testing.assert_allclose(restored.decode(encoded[:, None]), [[1.0], [2.0], [3.0], [6.0]], rtol=1e-6)
    plain = make_task("regression", {"standardize": False})
    plain.fit_targets(values, ["score"])
    assert plain.state() == {"mean": 0.0, "std": 1.0}


def test_huber_loss_and_options_are_validated():
    task = make_task("regression", {"loss": "huber", "huber_delta": 0.5})
    loss = task.loss(torch.tensor([[3.0]]), torch.tensor([0.0]))
    assert float(loss) == pytest.approx(0.5 * (3.0 - 0.25))  # linear past delta: delta * (|x| - delta / 2)
    with pytest.raises(ConfigError, match="task_options.loss"):
        load_config({"task": "regression", "task_options": {"loss": "l1"}, "data": {"train": "x.csv"}})
    with pytest.raises(ConfigError, match="unknown option of task 'regression'"):
        load_config({"task": "regression", "task_options": {"separator": ";"}, "data": {"train": "x.csv"}})


def test_metrics_by_hand():
    m = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.5, 5.0]), texts=list("wxyz"))
    assert m["mae"] == pytest.approx(0.5) and m["rmse"] == pytest.approx(np.sqrt(0.375))
    assert m["r2"] == pytest.approx(1 - 1.5 / 5.0) and m["spearman"] == pytest.approx(1.0)
    assert m["pearson"] == pytest.approx(5.5 / np.sqrt(5.0 * 7.25))
    assert m["worst_errors"][0] == {"text": "z", "true": 4.0, "pred": 5.0, "error": 1.0}
    assert regression_metrics(np.array([1.0, 2.0]), np.array([3.0, 3.0]))["spearman"] is None  # constant predictions


@pytest.fixture(scope="module")
def bundle(tiny_backbone, tmp_path_factory):
    folder = tmp_path_factory.mktemp("regression")
    rows = make_task_rows("regression", 20, seed=5) + [("card stolen today", "lots")]
    data = write_csv(folder / "scores.csv", rows)
    domainfit.train({"task": "regression", "method": "head", "data": {"train": str(data)},
                     "model": {"backbone": str(tiny_backbone), "max_length": 32}, "output": str(folder / "b")})
    return folder / "b"


def test_non_numeric_row_is_rejected_with_file_row_and_reason(bundle):
    rejects = pd.read_csv(bundle / "rejects.csv", encoding="utf-8-sig", dtype=str)
    assert len(rejects) == 1
    row = rejects.iloc[0]
    assert row["_file"].endswith("scores.csv") and row["_row"] == "62" and row["label"] == "lots"
    assert row["reason"] == "not_a_number: 'lots' is not a number"
    issues = json.loads((bundle / "data_report.json").read_text())["issues"]
    assert any(i["code"] == "not_a_number" and i["where"] == [f"{row['_file']}:row 62"] for i in issues)


def test_bundle_stores_the_scale_and_the_ridge_baseline_is_compared(bundle):
    meta = json.loads((bundle / "domainfit.json").read_text())
    train = pd.read_csv(bundle / "data" / "train.csv")["label"].astype(float)
    assert meta["labels"] == ["score"] and meta["task_state"] == pytest.approx({"mean": train.mean(), "std": train.std(ddof=0)})
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["baselines"]["tfidf_ridge"].keys() == {"r2", "spearman", "pearson", "mae", "rmse"}
    assert [r["name"] for r in metrics["comparison"]] == ["domainfit (head)", "baseline: tfidf_ridge"]
    assert {"mae", "rmse", "r2", "spearman", "pearson", "scatter"} <= set(metrics["model"])
    html = (bundle / "report.html").read_text()
    assert '<section id="scatter">' in html and '<section id="confusion">' not in html
    values = domainfit.load(bundle).predict_scores(["card stolen", "loan rate transfer sent"])
    assert values.shape == (2, 1) and train.min() - 3 < values.min() and values.max() < train.max() + 3  # target units


def test_prediction_file_and_evaluate(bundle, tmp_path):
    from domainfit.cli.predict_io import predict_file
    from domainfit.predict import Predictor

    src = write_csv(tmp_path / "in.csv", [("card stolen", "1.0"), ("loan rate", "2.0"), ("pin", "x")], header=("text", "score"))
    out = pd.read_csv(predict_file(Predictor.from_bundle(bundle), src, tmp_path / "out.csv"), encoding="utf-8-sig")
    assert list(out.columns) == ["text", "score", "predicted_score"] and out["predicted_score"].notna().all()
    result = domainfit.evaluate(bundle, src, out_dir=tmp_path / "eval", label_column="score")
    assert result["n"] == 2 and "tfidf_ridge" in result["baselines"]
    rejects = pd.read_csv(tmp_path / "eval" / "rejects.csv", encoding="utf-8-sig", dtype=str)
    assert rejects["reason"].tolist() == ["not_a_number: 'x' is not a number"]
