"""The multilabel task: reading label lists, rejecting empty ones, thresholds tuned, stored and applied, metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import domainfit
from domainfit.bundle import seal_bundle
from domainfit.config.schema import DataConfig
from domainfit.data import prepare_data, write_rejects
from domainfit.evaluation.metrics import multilabel_metrics
from domainfit.tasks import make_task
from domainfit.tasks.multilabel import best_f1_threshold
from tests.conftest import make_task_rows, write_csv


def test_parse_separator_json_list_and_custom_separator():
    task = make_task("multilabel")
    assert task.parse_target("refund; billing;;refund ") == '["billing", "refund"]'
    assert task.parse_target('["refund", "billing"]') == '["billing", "refund"]'
    assert task.parse_target("a|b") == '["a|b"]'
    assert make_task("multilabel", {"separator": "|"}).parse_target("a|b") == '["a", "b"]'
    for bad, code in (("[]", "empty_label_list"), (" ; ", "empty_label_list"), ('["a", ', "bad_label_list"),
                      ('[["a"]]', "bad_label_list")):
        with pytest.raises(ValueError, match=code):
            task.parse_target(bad)


def test_prepare_reads_lists_and_rejects_empty_lists_with_their_row(tmp_path):
    rows = make_task_rows("multilabel", 10, seed=1) + [("card pin today", "[]"), ("loan rate help", ";")]
    path = write_csv(tmp_path / "t.csv", rows)
    data = prepare_data(DataConfig(train=path), task=make_task("multilabel"))
    assert data.labels == ["card", "loan", "transfer"]
    assert all(json.loads(y) for y in data.train["label"])  # canonical JSON lists, none empty
    write_rejects(data.rejects, tmp_path / "rejects.csv")
    rejects = pd.read_csv(tmp_path / "rejects.csv", encoding="utf-8-sig", dtype=str)
    assert rejects["_row"].tolist() == ["32", "33"] and rejects["label"].tolist() == ["[]", ";"]
    assert rejects["reason"].str.startswith("empty_label_list").all()
    assert data.report.counts["per_label"]["train"].keys() == {"card", "loan", "transfer"}
    assert data.report.counts["rows_rejected"] == 2 and data.report.errors[0].code == "empty_label_list"


def test_rare_labels_are_kept_and_warned(tmp_path):
    rows = make_task_rows("multilabel", 10, seed=1) + [("card pin vip", "card;vip")]
    data = prepare_data(DataConfig(train=write_csv(tmp_path / "t.csv", rows)), task=make_task("multilabel"))
    rare = [i for i in data.report.warnings if i.code == "rare_label"]
    assert len(rare) == 1 and "'vip' (1)" in rare[0].message and len(data.rejects) == 0


def test_jsonl_lists_are_read(tmp_path):
    path = tmp_path / "t.jsonl"
    lines = [{"text": t, "labels": y.split(";")} for t, y in make_task_rows("multilabel", 10, seed=2)]
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    data = prepare_data(DataConfig(train=path, label_column="labels"), task=make_task("multilabel"))
    assert data.labels == ["card", "loan", "transfer"] and len(data.rejects) == 0


def test_best_f1_threshold_by_hand():
    p, y = np.array([0.9, 0.8, 0.6, 0.3, 0.2]), np.array([1, 0, 1, 1, 0])
    # F1 when the top k are called positive: 2/4, 2/5, 4/6, 6/7, 6/8 -> k = 4, threshold between 0.3 and 0.2
    assert best_f1_threshold(p, y, 0.5) == pytest.approx(0.25)
    assert best_f1_threshold(p, np.zeros(5), 0.5) == 0.5  # no positive: nothing to tune


def test_metrics_by_hand():
    labels = ["a", "b", "c"]
    truth = [["a"], ["a", "b"], ["c"], ["b"]]
    proba = np.array([[0.9, 0.1, 0.1], [0.8, 0.2, 0.1], [0.1, 0.1, 0.7], [0.6, 0.7, 0.1]])
    m = multilabel_metrics(truth, proba, labels, np.full(3, 0.5))
    # predicted {a}, {a}, {c}, {a, b}: a tp 2 fp 1; b tp 1 fn 1; c tp 1 -> micro 4 tp, 1 fp, 1 fn
    assert m["micro_f1"] == pytest.approx(0.8)
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3 + 1.0) / 3)
    assert m["subset_accuracy"] == pytest.approx(0.5) and m["hamming_loss"] == pytest.approx(2 / 12)
    per = {r["label"]: r for r in m["per_label"]}
    assert (per["a"]["precision"], per["a"]["recall"], per["b"]["recall"], per["b"]["support"]) == pytest.approx((2 / 3, 1.0, 0.5, 2))
    lower_b = multilabel_metrics(truth, proba, labels, np.array([0.5, 0.15, 0.5]))  # row 2 now gets b too
    assert lower_b["subset_accuracy"] == pytest.approx(0.75) and lower_b["per_label"][1]["threshold"] == 0.15


@pytest.fixture(scope="module")
def bundle(tiny_backbone, tmp_path_factory):
    folder = tmp_path_factory.mktemp("multilabel")
    data = write_csv(folder / "d.csv", make_task_rows("multilabel", 20, seed=4))
    domainfit.train({"task": "multilabel", "method": "head", "data": {"train": str(data)},
                     "model": {"backbone": str(tiny_backbone), "max_length": 32}, "output": str(folder / "b")})
    return folder / "b"


def test_thresholds_are_tuned_stored_and_applied_after_reload(bundle):
    meta = json.loads((bundle / "domainfit.json").read_text())
    thresholds = meta["task_state"]["thresholds"]
    assert set(thresholds) == {"card", "loan", "transfer"} and any(t != 0.5 for t in thresholds.values())
    model = domainfit.load(bundle)
    texts = ["card stolen pin", "loan rate transfer sent", "please help"]
    scores, preds = model.predict_scores(texts), model.predict(texts)
    for row, pred in zip(scores, preds):
        assert set(pred["labels"]) == {lab for j, lab in enumerate(model.labels) if row[j] >= thresholds[lab]}
        assert pred["label"] == model.labels[int(row.argmax())] and set(pred["scores"]) == set(model.labels)
    meta["task_state"]["thresholds"] = {lab: 0.999999 for lab in thresholds}  # nothing reaches these
    (bundle / "domainfit.json").write_text(json.dumps(meta))
    seal_bundle(bundle)  # a hand-edited bundle is re-sealed, or loading refuses it
    assert all(p["labels"] == [] for p in domainfit.load(bundle).predict(texts))
    meta["task_state"]["thresholds"] = thresholds
    (bundle / "domainfit.json").write_text(json.dumps(meta))
    seal_bundle(bundle)  # a hand-edited bundle is re-sealed, or loading refuses it


def test_metrics_report_and_prediction_file(bundle, tmp_path):
    from domainfit.cli.predict_io import predict_file
    from domainfit.predict import Predictor

    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["task"]["primary_metric"] == "micro_f1" and "tfidf_multilabel" in metrics["baselines"]
    assert {"micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "per_label"} <= set(metrics["model"])
    assert '<section id="per-label">' in (bundle / "report.html").read_text()
    src = write_csv(tmp_path / "in.csv", [("card stolen",), ("loan rate",)], header=("text",))
    out = pd.read_csv(predict_file(Predictor.from_bundle(bundle), src, tmp_path / "out.csv"), encoding="utf-8-sig")
    assert list(out.columns) == ["text", "predicted_labels", "scores"]
    assert set(json.loads(out["scores"][0])) == {"card", "loan", "transfer"}
