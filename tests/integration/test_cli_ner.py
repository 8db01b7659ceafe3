"""The CLI on entity data: data check names each problem's line, train infers the task from .conll, predict prints
entities and adds an `entities` column to a file, evaluate writes its report."""

from __future__ import annotations

import json

import pandas as pd

from tests.conftest import make_ner_sentences, write_conll, write_csv
from tests.integration.test_cli import _invoke


def test_check_train_predict_evaluate_on_conll(tiny_backbone, tmp_path):
    train = write_conll(tmp_path / "shop.conll", make_ner_sentences(40, seed=1))
    test = write_conll(tmp_path / "held.conll", make_ner_sentences(10, seed=2))
    test.write_text(test.read_text() + "\nbroken\nloan\tI-LOAN\n", encoding="utf-8")
    broken = test.read_text().split("\n").index("broken") + 1

    r = _invoke("data", "check", test, "--model", tiny_backbone, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output[r.output.index("{"):])
    issues = {i["code"]: i for i in report["issues"]}
    assert issues["missing_tag"]["where"] == [f"{test}:line {broken}"] and issues["missing_tag"]["severity"] == "error"
    assert issues["i_without_b"]["severity"] == "warning"  # repaired by default

    out = tmp_path / "runs" / "shop"
    r = _invoke("train", train, "--test", test, "-o", out, "--model", tiny_backbone, "--epochs", "4", "--batch-size", "8",
                "--lr", "5e-3", "--max-length", "32")
    assert r.exit_code == 0, r.output
    assert "task ner, method full" in r.output and "baseline: dictionary" in r.output
    meta = json.loads((out / "domainfit.json").read_text())
    assert meta["task"] == "ner" and meta["labels"][0] == "O"
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    assert rejects["_line"].tolist() == [broken] and rejects["kind"].tolist() == ["missing_tag"]

    r = _invoke("predict", out, "--text", "my card was stolen", "--json")
    assert r.exit_code == 0, r.output
    preds = json.loads(r.output[r.output.index("["):])
    assert set(preds[0]) == {"text", "entities"}

    texts = write_csv(tmp_path / "new.csv", [("loan rate please", "x"), ("card stolen today", "y")], header=("body", "id"))
    r = _invoke("predict", out, "--input", texts, "--output", tmp_path / "preds.csv", "--column", "body")
    assert r.exit_code == 0, r.output
    written = pd.read_csv(tmp_path / "preds.csv", encoding="utf-8-sig")
    assert list(written.columns) == ["body", "id", "entities"]
    for text, cell in zip(written["body"], written["entities"]):
        assert all(text[e["start"]:e["end"]] == e["text"] for e in json.loads(cell))

    r = _invoke("evaluate", out, "--data", test)
    assert r.exit_code == 0, r.output
    assert (out / "evaluations" / "held" / "report.html").is_file()
    assert json.loads((out / "evaluations" / "held" / "metrics.json").read_text())["task"]["primary_metric"] == "f1"
