"""out_of_scope through a trained bundle: training-time fitting, predict (and --output), serve's schema, evaluate,
the prediction log, drift, compressed variants and the parity gate; old bundles and `off` carry no fields."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import domainfit
from domainfit.bundle import load_bundle, read_meta, seal_bundle, write_meta
from domainfit.predict import Predictor
from tests.conftest import make_rows, write_csv
from tests.unit.ood.conftest import oos_rows, train_ood_bundle, val_texts

IN_SCOPE = ["my card lost stolen", "loan rate please borrow", "the transfer payment not arrived"]  # training-like
FAR = ["zq xv wk", "qqq zzz jjj"]  # letters the tokenizer splits to pieces never seen in training
FIELDS = {"out_of_scope", "ood_score", "ood_threshold"}


def test_the_default_bundle_flags_without_changing_labels(tiny_bundle):
    meta = read_meta(tiny_bundle)
    state = meta.task_state["out_of_scope"]
    assert meta.task_options["out_of_scope"]["mode"] == "flag" and state["detector"] == "msp"  # three classes: msp
    preds = domainfit.load(tiny_bundle).predict(IN_SCOPE + FAR)
    assert all(FIELDS <= set(p) for p in preds)
    assert all(p["label"] == p["top_k"][0]["label"] for p in preds)  # flag leaves the label alone
    assert all(p["out_of_scope"] == (p["ood_score"] > p["ood_threshold"]) for p in preds)
    metrics = json.loads((tiny_bundle / "metrics.json").read_text())["model"]
    assert metrics["out_of_scope"]["in_scope_accuracy"] <= metrics["accuracy"]


def test_refuse_replaces_the_label_and_the_detector_file_is_sealed_safetensors(refuse_bundle):
    bundle = load_bundle(refuse_bundle)
    state = bundle.meta.task_state["out_of_scope"]
    assert state["detector"] == "mahalanobis" and state["file"] == "ood/detector.safetensors"
    assert "ood/detector.safetensors" in bundle.manifest["files"]
    assert not list(refuse_bundle.rglob("*.pkl")) and not list(refuse_bundle.rglob("*.joblib"))
    texts, _ = val_texts(refuse_bundle)
    preds = domainfit.load(refuse_bundle).predict(texts + FAR)
    far = preds[len(texts):]
    assert all(p["out_of_scope"] and p["label"] == "out_of_scope" for p in far)
    assert min(p["ood_score"] for p in far) > max(p["ood_score"] for p in preds[:len(texts)])
    assert not any(p["out_of_scope"] for p in preds[:len(texts)])  # keep 1.0: no validation text is refused
    assert [p["label"] for p in preds[:len(texts)]] == [p["top_k"][0]["label"] for p in preds[:len(texts)]]


def test_an_old_bundle_without_a_detector_and_off_carry_no_fields(tiny_bundle, tiny_backbone, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_bundle, old)
    meta = read_meta(old)
    meta.task_state = {}
    meta.task_options = {}
    write_meta(old, meta)
    seal_bundle(old)
    assert not FIELDS & set(domainfit.load(old).predict(IN_SCOPE)[0])
    off = train_ood_bundle(tiny_backbone, tmp_path / "off", "off")
    assert read_meta(off).task_state == {} and not (off / "ood").exists()
    assert not FIELDS & set(domainfit.load(off).predict(IN_SCOPE)[0])


def test_predict_output_writes_out_of_scope_and_ood_score_beside_the_label(refuse_bundle, tmp_path):
    from domainfit.cli.predict_io import predict_file

    src = write_csv(tmp_path / "in.csv", [(t,) for t in IN_SCOPE + FAR], header=("text",))
    out = predict_file(Predictor.from_bundle(refuse_bundle), src, tmp_path / "out.csv")
    frame = pd.read_csv(out)
    cols = list(frame.columns)
    assert cols[cols.index("predicted_label"):cols.index("predicted_label") + 4] == ["predicted_label", "score", "out_of_scope",
                                                                                      "ood_score"]
    assert frame["out_of_scope"].tolist()[-2:] == [True, True] and frame["predicted_label"].iloc[-1] == "out_of_scope"


def test_serve_answers_with_the_exact_schema_and_logs_the_decision(refuse_bundle, tmp_path):
    from domainfit.monitor.log import PredictionLog
    from domainfit.serving import ServeSettings, create_app

    settings = ServeSettings(prediction_log=tmp_path / "log.db")
    with TestClient(create_app(refuse_bundle, settings)) as client:
        body = client.post("/v1/predict", json={"texts": IN_SCOPE + FAR}).json()
        schema = client.get("/openapi.json").json()["components"]["schemas"]
    preds = body["predictions"]
    expected = domainfit.load(refuse_bundle).predict(IN_SCOPE + FAR)
    assert [(p["label"], p["out_of_scope"]) for p in preds] == [(p["label"], p["out_of_scope"]) for p in expected]
    assert preds[0]["ood_score"] == pytest.approx(expected[0]["ood_score"], rel=1e-4)
    model = schema["ClassificationPrediction"]
    assert FIELDS <= set(model["required"])
    assert model["properties"]["out_of_scope"]["type"] == "boolean"
    assert "out_of_scope" in model["properties"]["label"]["enum"]  # refuse adds the refusal label to the enum
    with PredictionLog(tmp_path / "log.db") as log:
        logged = log.predictions()
    outputs = [json.loads(o) if isinstance(o, str) else o for o in logged["output"]]
    assert [o["out_of_scope"] for o in outputs] == [p["out_of_scope"] for p in preds]


def test_a_hot_swap_to_other_out_of_scope_fields_is_refused(tiny_bundle, refuse_bundle, tmp_path):
    from domainfit.serving.contract import Contract, breach

    flag, refuse = Contract.of(load_bundle(tiny_bundle)), Contract.of(load_bundle(refuse_bundle))
    assert flag.out_of_scope == "flag" and refuse.out_of_scope == "refuse:out_of_scope"
    refusal = breach(flag, "1", refuse, "2")
    assert refusal.reason == "out_of_scope_differs" and "refusals" in refusal.message


def test_evaluate_counts_refusals_as_errors_and_measures_oos_rows(refuse_bundle, tmp_path):
    rows = make_rows(6, seed=9) + oos_rows(12, seed=4) + [(t, "out_of_scope") for t in FAR]
    data = write_csv(tmp_path / "eval.csv", rows)
    result = domainfit.evaluate(refuse_bundle, data, out_dir=tmp_path / "eval", baselines=["tfidf"])
    m = result["model"]
    ood = m["out_of_scope"]
    assert ood["oos_n"] == 14 and ood["in_scope_n"] == 18 and m["n"] == 18  # classification metrics: in-scope rows
    assert ood["auroc"] is not None and ood["fpr_at_95"] is not None and ood["oos_recall"] >= 2 / 14
    assert ood["in_scope_accuracy"] <= ood["in_scope_accuracy_plain"] == pytest.approx(m["accuracy"])
    assert ood["curve"] and "baseline: tfidf" in [r["name"] for r in result["comparison"]]
    html = (tmp_path / "eval" / "report.html").read_text(encoding="utf-8")
    assert "Out-of-scope detection" in html and "out-of-scope trade-off curve" in html


def test_drift_reads_a_rising_share_of_out_of_scope_traffic(refuse_bundle):
    from domainfit.evaluation.live import single_label_stats
    from domainfit.monitor.drift import compare_stats

    reference = json.loads((refuse_bundle / "reference_stats.json").read_text())
    assert reference["out_of_scope_rate"] is not None
    texts, _ = val_texts(refuse_bundle)
    preds = domainfit.load(refuse_bundle).predict((texts + FAR * 4) * 40)
    rows = pd.DataFrame({"label": [p["label"] for p in preds], "score": [p["score"] for p in preds],
                         "length": [10] * len(preds), "output": preds})
    live = single_label_stats(rows, reference)
    assert live["out_of_scope_rate"] == pytest.approx(8 / 11)  # the validation texts are kept, the far ones flagged
    check = next(c for c in compare_stats(reference, live) if c.name == "out_of_scope")
    assert check.status == "alert" and check.detail["rate"]["live"] == pytest.approx(8 / 11)


@pytest.mark.parametrize("to, quantize", [("onnx", "none"), ("onnx", "int8"), ("torch", "int8")])
def test_compressed_variants_feed_the_detector_and_the_gate_compares_its_decisions(refuse_bundle, tmp_path, to, quantize):
    from domainfit.compression.parity import decision

    bundle = tmp_path / "b"
    shutil.copytree(refuse_bundle, bundle)
    meta = domainfit.compress(bundle, to=to, quantize=quantize, force=True)
    if to == "onnx":
        assert meta["outputs"] == ["logits", "embedding"]
    assert "agreement" in meta["parity"]
    torch_preds = Predictor.from_bundle(bundle, variant="torch").predict(IN_SCOPE + FAR)
    variant = Predictor.from_bundle(bundle, variant=meta["name"])
    preds = variant.predict(IN_SCOPE + FAR)
    clear = [i for i, p in enumerate(torch_preds) if abs(p["ood_score"] - p["ood_threshold"]) > 0.1 * p["ood_threshold"]]
    assert [preds[i]["out_of_scope"] for i in clear] == [torch_preds[i]["out_of_scope"] for i in clear]
    assert all(p["out_of_scope"] for p in preds[len(IN_SCOPE):])
    np.testing.assert_allclose([p["ood_score"] for p in preds], [p["ood_score"] for p in torch_preds], rtol=0.1, atol=0.05)
    assert decision(preds[-1]) == {"label": "out_of_scope", "top_k": [{"label": preds[-1]["top_k"][0]["label"]}],
                                   "out_of_scope": True}


def test_the_gate_sees_a_changed_out_of_scope_decision():
    from domainfit.compression.parity import parity
    from domainfit.interfaces import make_task
    from domainfit.ood import OodScores

    state = {"out_of_scope": {"detector": "msp", "threshold": 0.5, "file": None, "oos_label": None}}
    task = make_task("classification", {"out_of_scope": "flag"}, state)
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    result = parity(OodScores(probs, [0.1, 0.2]), OodScores(probs, [0.1, 0.7]), ["a", "b"], ["a", "b"], task)
    assert result["agreement"] == 0.5 and result["accuracy_delta_points"] == 0.0


def test_a_distilled_student_brings_its_own_refitted_detector(refuse_bundle, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(refuse_bundle, bundle)
    meta = domainfit.compress(bundle, distill_layers=1, epochs=1, force=True)
    own = meta["ood"]
    assert own["detector"] == "mahalanobis" and (bundle / "variants" / meta["name"] / own["file"]).is_file()
    predictor = Predictor.from_bundle(bundle, variant=meta["name"])
    assert predictor.task.out_of_scope["threshold"] == own["threshold"] != read_meta(bundle).task_state["out_of_scope"]["threshold"]
    assert FIELDS <= set(predictor.predict(FAR)[0])
