"""A retrieval bundle end to end on the tiny model: train with an answer bank, reload (the index comes back), the
no-answer threshold applied, evaluate, predict a file, data check, serve."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

import domainfit
from domainfit.bundle import seal_bundle
from domainfit.bundle import load_bundle
from domainfit.cli.main import app
from domainfit.tasks.retrieval.metrics import calibrate_threshold, true_ranks
from domainfit.tasks.retrieval.train import embed_texts
from tests.conftest import make_pairs, write_csv

QUERIES = ["loan rate please", "card stolen today", "why can you help"]
OUT_OF_SCOPE = ["why can you help", "my is the today", "please help me i need", "can you i not", "help with today please",
                "why is my need", "the need i can", "you help not today"]


def _bank_and_pairs(folder, n: int, seed: int):
    """bank.csv (id, answer) and pairs.csv (query, faq_id): the conftest pairs with their answers named by id, plus
    queries of filler words only, which no answer fits (NO_ANSWER)."""
    rows = make_pairs(n, seed)
    answers = sorted({a for _, a in rows})
    ids = {a: a.split()[-1] for a in answers}  # "help with card lost" -> "lost"
    write_csv(folder / "bank.csv", [(ids[a], a) for a in answers], header=("id", "answer"))
    pairs = [(q, ids[a]) for q, a in rows] + [(q, "NO_ANSWER") for q in OUT_OF_SCOPE]
    return write_csv(folder / "pairs.csv", pairs, header=("query", "faq_id")), folder / "bank.csv"


@pytest.fixture(scope="module")
def bundle(tiny_backbone, tmp_path_factory):
    folder = tmp_path_factory.mktemp("retrieval")
    pairs, bank = _bank_and_pairs(folder, 14, seed=3)
    domainfit.train({"task": "retrieval", "method": "full", "data": {"train": str(pairs), "answers": str(bank)},
                     "model": {"backbone": str(tiny_backbone), "max_length": 32},
                     "training": {"epochs": 3, "batch_size": 8, "lr": 5e-3, "seed": 1}, "output": str(folder / "faq")})
    return folder / "faq"


def test_bundle_layout_and_metrics(bundle):
    meta = json.loads((bundle / "domainfit.json").read_text())
    bank = pd.read_csv(bundle / "index" / "answers.csv", dtype=str)
    assert meta["labels"] == bank["id"].tolist() == ["lost", "stolen", "mortgage", "rate", "payment", "sent"]
    metrics = json.loads((bundle / "metrics.json").read_text())
    for key in ("recall_at_1", "recall_at_5", "recall_at_10", "mrr_at_10", "no_answer_accuracy"):
        assert 0 <= metrics["model"][key] <= 1, key
        assert all(key in metrics["baselines"][b] for b in ("bm25", "backbone")), key
    assert {r["name"] for r in metrics["comparison"]} == {"domainfit (full)", "baseline: bm25", "baseline: backbone"}
    html = (bundle / "report.html").read_text(encoding="utf-8")
    assert "Recall at k" in html and "The no-answer decision" in html and "recall@1" in html


def test_reload_keeps_the_index(bundle):
    model = domainfit.load(bundle)
    loaded, tokenizer = load_bundle(bundle).load_model()
    answers = pd.read_csv(bundle / "index" / "answers.csv", dtype=str)["answer"].tolist()
    index = load_file(str(bundle / "model" / "head.safetensors"))["weight"].numpy()
    again = embed_texts(loaded.encoder, tokenizer, answers, pooling=loaded.pooling, max_length=32)
    np.testing.assert_allclose(index, again, atol=1e-5)  # the head is the answers embedded by the saved encoder
    np.testing.assert_allclose(np.linalg.norm(index, axis=1), 1.0, atol=1e-5)
    first = model.predict(QUERIES, top_k=3)
    assert first == domainfit.load(bundle).predict(QUERIES, top_k=3)
    bank = dict(zip(model.labels, answers))
    for p in first:
        assert [a["answer"] for a in p["answers"]] == [bank[a["id"]] for a in p["answers"]]
        assert p["answers"][0]["score"] >= p["answers"][1]["score"] >= p["answers"][2]["score"]


def test_the_no_answer_threshold_is_calibrated_and_applied(bundle, tmp_path):
    meta = json.loads((bundle / "domainfit.json").read_text())
    state = meta["task_state"]
    val = pd.read_csv(bundle / "data" / "val.csv", dtype=str, keep_default_na=False)
    model = domainfit.load(bundle)
    scores = model.predict_scores(val["text"].tolist())
    truth = np.array([model.labels.index(y) if y in model.labels else -1 for y in val["label"]])
    expected, _ = calibrate_threshold(scores.max(1), (truth >= 0) & (true_ranks(scores, truth) == 1))
    assert state["threshold"] == pytest.approx(expected) and state["calibration"]["validation_rows"] == len(val)
    for p, s in zip(model.predict(QUERIES), model.predict_scores(QUERIES).max(1)):
        assert p["no_answer"] == (s < state["threshold"])

    copy = shutil.copytree(bundle, tmp_path / "strict")
    meta["task_state"]["threshold"] = 1.01  # above any cosine: nothing is good enough
    (copy / "domainfit.json").write_text(json.dumps(meta))
    seal_bundle(copy)  # a hand-edited bundle is re-sealed, or loading refuses it
    refused = domainfit.load(copy).predict(QUERIES, top_k=2)
    assert all(p["no_answer"] and p["label"] is None and p["answer"] is None and len(p["answers"]) == 2 for p in refused)


def test_evaluate_a_file_of_ids_and_texts_with_rejects(bundle, tmp_path):
    bank = pd.read_csv(bundle / "index" / "answers.csv", dtype=str)
    rows = [("loan rate please", "rate"), ("card lost my", bank.loc[bank["id"] == "lost", "answer"].item()),
            ("transfer sent", "sent"), ("why you help", "NO_ANSWER"), ("pin blocked", "pin"), ("", "rate")]
    data = write_csv(tmp_path / "new.csv", rows, header=("question", "answer"))
    result = CliRunner().invoke(app, ["evaluate", str(bundle), "--data", str(data), "-o", str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    assert "MRR@10" in result.output and "baseline: bm25" in result.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["n"] == 4 and metrics["model"]["n_out_of_scope"] == 1 and {"bm25", "backbone"} <= set(metrics["baselines"])
    rejects = pd.read_csv(tmp_path / "ev" / "rejects.csv", dtype=str, keep_default_na=False)
    assert rejects["_row"].tolist() == ["6", "7"] and rejects["_file"].tolist() == [str(data)] * 2
    assert rejects["reason"].tolist()[0].startswith("unknown_answer") and rejects["reason"].tolist()[1] == "empty_text"


def test_predict_file_adds_answer_columns(bundle, tmp_path):
    data = write_csv(tmp_path / "q.csv", [(q,) for q in QUERIES], header=("query",))
    result = CliRunner().invoke(app, ["predict", str(bundle), "--input", str(data), "--top-k", "2"])
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "q.predictions.csv", dtype=str, keep_default_na=False)
    assert list(out.columns) == ["query", "answer_id", "answer", "score", "no_answer", "top_k"]
    expected = domainfit.load(bundle).predict(QUERIES, top_k=2)
    assert out["answer_id"].tolist() == [p["label"] or "" for p in expected]
    assert [len(json.loads(t)) for t in out["top_k"]] == [2, 2, 2]


def test_serve_a_retrieval_bundle(bundle):
    from fastapi.testclient import TestClient

    from domainfit.serving import ServeSettings, create_app
    from domainfit.serving.auth import KeyStore

    with TestClient(create_app(bundle, ServeSettings(), keys=KeyStore([]))) as client:
        r = client.post("/v1/predict", json={"texts": QUERIES, "top_k": 2})
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == json.loads(json.dumps(domainfit.load(bundle).predict(QUERIES, top_k=2)))
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert {"label", "answer", "score", "no_answer", "answers"} <= set(schema["RetrievalPrediction"]["properties"])
        assert "domainfit_predictions_total" in client.get("/metrics").text
