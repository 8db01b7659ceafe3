"""The CLI end to end on the tiny model: data check → train → evaluate → predict, and errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from domainfit.cli.main import app
from tests.conftest import make_rows, write_csv

runner = CliRunner()
FAST = ["--set", "training.checkpoint_every=5", "--epochs", "2", "--batch-size", "8", "--max-length", "32"]


def _invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_train_evaluate_predict(tiny_backbone, tmp_path):
    train = write_csv(tmp_path / "tickets.csv", make_rows(20, seed=1), header=("body", "queue"))
    new = write_csv(tmp_path / "new.csv", make_rows(6, seed=9), header=("body", "queue"))
    out = tmp_path / "runs" / "tickets"

    r = _invoke("train", train, "--text", "body", "--label", "queue", "-o", out, "--model", tiny_backbone, *FAST)
    assert r.exit_code == 0, r.output
    assert "baseline: tfidf" in r.output and "baseline: zeroshot" in r.output
    for f in ("domainfit.json", "model/config.json", "model/head.safetensors", "metrics.json", "report.html",
              "reference_stats.json", "data_report.json", "rejects.csv", "data/test.csv"):
        assert (out / f).is_file(), f
    assert not (out / "checkpoints").exists()  # removed once training finished
    meta = json.loads((out / "domainfit.json").read_text())
    assert meta["labels"] == ["card", "loan", "transfer"] and meta["method"] == "full"
    assert meta["data"]["columns"] == {"text": "body", "label": "queue"}

    r = _invoke("evaluate", out, "--data", new)
    assert r.exit_code == 0, r.output
    metrics = json.loads((out / "evaluations" / "new" / "metrics.json").read_text())
    assert metrics["n"] == 18 and {"tfidf", "zeroshot"} <= set(metrics["baselines"])
    assert (out / "evaluations" / "new" / "report.html").is_file()

    r = _invoke("predict", out, "--text", "my card was stolen", "--json", "--top-k", "2")
    assert r.exit_code == 0, r.output
    preds = json.loads(r.output[r.output.index("["):])
    assert preds[0]["label"] in {"card", "loan", "transfer"} and len(preds[0]["top_k"]) == 2

    r = _invoke("predict", out, "--input", new, "--output", tmp_path / "preds.csv", "--column", "body")
    assert r.exit_code == 0, r.output
    preds = pd.read_csv(tmp_path / "preds.csv", encoding="utf-8-sig")
    assert len(preds) == 18 and {"body", "queue", "predicted_label", "score", "top_k"} <= set(preds.columns)


def test_user_splits_and_head_method(tiny_backbone, tmp_path):
    train = write_csv(tmp_path / "train.csv", make_rows(15, seed=1))
    val = write_csv(tmp_path / "val.csv", make_rows(4, seed=2))
    test = write_csv(tmp_path / "test.csv", make_rows(5, seed=3))
    out = tmp_path / "x"
    r = _invoke("train", train, "--val", val, "--test", test, "--method", "head", "-o", out, "--model", tiny_backbone)
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "domainfit.json").read_text())
    counts = meta["data"]["counts"]
    assert meta["method"] == "head" and meta["model"]["trainable_parameters"] == 16 * 3 + 3  # only the head
    assert meta["model"]["total_parameters"] > 1000
    assert counts["test"] == len(pd.read_csv(out / "data" / "test.csv"))
    assert counts["rows_in"] == counts["rows_kept"] + counts["rows_rejected"]


def test_ls_and_help():
    r = _invoke("ls", "methods")
    assert r.exit_code == 0 and "full" in r.output and "head" in r.output
    r = _invoke("train", "--help")
    assert r.exit_code == 0 and "--resume" in r.output


def _cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run([sys.executable, "-m", "domainfit.cli.main", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_user_mistakes_print_a_clear_error_without_traceback(tiny_backbone, tmp_path):
    train = write_csv(tmp_path / "t.csv", make_rows(5, seed=1))
    r = _cli("train", train, "--text", "message", "-o", tmp_path / "o", "--model", tiny_backbone)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "message" in r.stderr and "text" in r.stderr  # names the missing column and the ones the file has

    r = _cli("train", train, "--method", "ful", "-o", tmp_path / "o")
    assert r.returncode == 2 and "did you mean 'full'" in r.stderr.lower() and "Traceback" not in r.stderr

    r = _cli("train", train, "--set", "training.learning_rate=1", "-o", tmp_path / "o")
    assert r.returncode == 2 and "training.learning_rate" in r.stderr and "unknown key" in r.stderr

    r = _cli("train", train, "--model", tmp_path / "nowhere", "-o", tmp_path / "o")
    assert r.returncode == 2 and "Tried" in r.stderr and "how to fix" in r.stderr

    r = _cli("--debug", "train", train, "--method", "ful")
    assert r.returncode != 0 and "Traceback" in r.stderr
