"""Friction in the terminal: `compress` prints one line instead of the exporters' warnings, `bench` and `compress` give
one accuracy for one variant, `predict` shows a status while it loads and keeps stdout for the answers, and tables
keep their key columns whole at 80 columns (piped output).

Each test is the reproduction of a finding of the adversarial review (issue 10), kept after the fix.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console
from typer.testing import CliRunner

import domainfit
from domainfit.cli import ui
from domainfit.cli.main import app
from tests.conftest import make_rows, write_csv

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture()
def fresh(tiny_bundle, tmp_path):
    copy = tmp_path / "tickets"
    shutil.copytree(tiny_bundle, copy)
    return copy


def test_compress_prints_one_summary_line_and_keeps_the_warnings_in_build_log(fresh):
    """Before: TracerWarnings, onnxruntime's "unsupported broadcast" and "Please consider to run pre-processing" on
    stderr. A subprocess, so that nothing (pytest's own warning capture) hides what a terminal would show."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}  # 80 columns, as piped
    done = subprocess.run([sys.executable, "-m", "domainfit.cli.main", "compress", str(fresh), "--to", "onnx", "--quantize",
                           "int8", "--tolerance", "100"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    for noise in ("TracerWarning", "UserWarning", "Please consider to run pre-processing", "unsupported broadcast"):
        assert noise not in shown, shown
    log = fresh / "variants" / "onnx-int8" / "build.log"
    (summary,) = [line for line in shown.splitlines() if "library warning" in line]
    assert str(log) in summary and "while building onnx-int8" in summary
    written = log.read_text(encoding="utf-8")
    assert "TracerWarning" in written and "## warnings" in written
    meta = json.loads((fresh / "variants" / "onnx-int8" / "variant.json").read_text())
    assert meta["build_log"]["warnings"] >= 1 and summary.startswith(f"{meta['build_log']['warnings']} library warning")
    assert "onnx-int8: accuracy" in done.stdout  # the result line is still there


class _PerBatchRange:
    """A variant kind for the test: the model's logits quantized on each batch's own range, coarsely (3 levels), as
    dynamic int8 quantization does to activations; so its decisions depend on which texts share a batch."""

    quantizations = ("none",)

    @staticmethod
    def build(bundle, folder, *, quantize="none", reporter=None):
        return {}

    @staticmethod
    def load(bundle, folder, meta, *, threads=None):
        from domainfit.backbones.encoder import collate
        from domainfit.inference import batched_outputs

        model, tokenizer = bundle.load_model()
        pad = tokenizer.pad_token_id or 0

        class Runner:
            name, call_overhead = meta["name"], None

            @torch.inference_mode()
            def _forward(self, batch):
                logits = model(**collate(batch, pad)).float()
                scale = logits.abs().max() / 1.5
                return torch.round(logits / scale) * scale

            def logits(self, ids, *, batch_size, advance=None):
                out = batched_outputs(self._forward, ids, batch_size=batch_size, advance=advance)
                return torch.stack(out)

        return Runner()


def test_bench_and_compress_report_one_accuracy_for_one_variant(tiny_backbone, tmp_path, monkeypatch):
    """Before: compress scored the test split in batches of 64 (the Predictor's default), bench in batches of 32, and a
    variant whose scores depend on its batch (int8: onnx-int8 93.38 % in compress, 93.54 % in bench on Banking77)
    got two accuracies. Now both read `score_split` (batches of 32) and `headline_metrics`."""
    from domainfit.compression.parity import headline_metrics, score_split, test_split
    from domainfit.inference.variants import variant_kinds
    from domainfit.predict import Predictor

    variant_kinds.get("onnx")  # fill the registry before adding to it
    monkeypatch.setitem(variant_kinds._items, "perbatch", _PerBatchRange)
    data = write_csv(tmp_path / "d.csv", make_rows(70, seed=9))  # 42 test rows: one batch of 64, or 32 + 10
    domainfit.train({"data": {"train": str(data)}, "model": {"backbone": str(tiny_backbone), "max_length": 32},
                     "training": {"epochs": 1, "batch_size": 8, "lr": 5e-3}, "baselines": [], "output": str(tmp_path / "b")})
    bundle = tmp_path / "b"
    meta = domainfit.compress(bundle, to="perbatch", quantize="none", tolerance=100)

    predictor = Predictor.from_bundle(bundle, variant="perbatch-fp32")
    split = test_split(predictor.bundle)
    assert len(split.texts) > 32  # one batch at 64, two at 32
    at = {}
    for size in (64, 32, 7):
        predictor.batch_size = size
        at[size] = predictor.predict_scores(split.texts)
    accuracy = {size: headline_metrics(predictor.task, split.y_true, at[size], predictor.labels)["accuracy"] for size in at}
    assert accuracy[64] != accuracy[32]  # the variant's accuracy really depends on its batches (as int8's may)
    for size in (64, 7):  # the one scoring ignores the predictor's own batch size
        predictor.batch_size = size
        np.testing.assert_array_equal(score_split(split, predictor), at[32])

    result = domainfit.bench(bundle)
    (row,) = [r for r in result["variants"] if r["variant"] == "perbatch-fp32"]
    assert row["accuracy"] == meta["parity"]["accuracy"]
    assert result["variants"][0]["accuracy"] == meta["parity"]["accuracy_original"]
    assert row["accuracy_delta_points"] == pytest.approx(meta["parity"]["accuracy_delta_points"], abs=0.006)


def test_predict_shows_a_status_while_loading_and_keeps_stdout_for_the_answers(tiny_bundle, monkeypatch):
    """Before: 12-14 s without a sign of life while the bundle loaded."""
    shown = []
    real = ui.working

    def spy(message, **kwargs):
        shown.append(message)
        return real(message, **kwargs)

    monkeypatch.setattr(ui, "working", spy)
    result = CliRunner().invoke(app, ["predict", str(tiny_bundle), "--text", "my card was stolen", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["label"]  # stdout is the JSON alone: the status went to stderr
    assert shown[0].startswith(f"loading {tiny_bundle}")
    assert "loading" not in result.stderr  # not a terminal: the spinner draws nothing at all

    terminal = io.StringIO()
    with ui.working("loading runs/tickets ...", on=Console(file=terminal, force_terminal=True, width=80)):
        pass
    assert "loading runs/tickets" in terminal.getvalue()


def _render(table, width: int = 80) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=False, color_system=None).print(table)
    return out.getvalue()


BENCH = {"test_rows": 3080, "mean_tokens": 15.05, "threads": 2, "variants": [
    {"variant": "torch", "size_mb": 87.4, "load_s": 2.32, "sentences_per_s_batch1": 82.1, "sentences_per_s_batch32": 359.6,
     "p95_ms_batch1": 14.71, "accuracy": 0.9396, "accuracy_delta_points": 0.0, "bound_sentences_per_s": 531.2,
     "share_of_bound": 0.677, "metric": "accuracy"},
    {"variant": "distilled-3l-onnx-int8", "size_mb": 16.7, "load_s": 0.14, "sentences_per_s_batch1": 551.3,
     "sentences_per_s_batch32": 956.1, "p95_ms_batch1": 2.96, "accuracy": 0.9325, "accuracy_delta_points": -0.71,
     "bound_sentences_per_s": 2072.9, "share_of_bound": 0.461}]}


def test_tables_keep_the_key_columns_whole_at_80_columns():
    """Before: at 80 columns the bench table showed `dist…` and `93.2…`, the comparison `123.40…` and `accura…`."""
    text = _render(ui.bench_table(BENCH))
    assert "distilled-3l-onnx-int8" in text and "93.25%" in text and "956.1" in text and "-0.71" in text
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "left out to fit 80 columns: load s, same alone, bound/s, of bound" in text
    wide = _render(ui.bench_table(BENCH), width=160)
    assert "left out" not in wide and "2072.9" in wide and "0.461" in wide

    rows = [{"name": "model (lora)", "accuracy": 0.9396, "macro_f1": 0.9397, "micro_f1": 0.94, "weighted_f1": 0.9397,
             "train_seconds": 123.4},
            {"name": "baseline: tfidf+logistic-regression", "accuracy": 0.88, "macro_f1": 0.87, "micro_f1": 0.88,
             "weighted_f1": 0.87, "train_seconds": 1.2}]
    text = _render(ui.comparison_table(rows, keys=("accuracy", "macro_f1", "micro_f1", "weighted_f1")))
    assert "baseline: tfidf+logistic-regression" in text and "macro-F1" in text and "0.9397" in text and "…" not in text

    preds = [{"label": "card_stolen_or_lost", "score": 0.91,
              "top_k": [{"label": "card_stolen_or_lost", "score": 0.91}, {"label": "card_arrival_delayed", "score": 0.05}]}]
    text = _render(ui.predictions_table(["my card was stolen yesterday and I need a new one, urgently, please " * 2], preds))
    assert "card_stolen_or_lost" in text and "card_arrival_delayed" in text and "…" not in text


def test_piped_cli_output_keeps_the_label_whole(tiny_bundle):
    result = CliRunner().invoke(app, ["predict", str(tiny_bundle), "--text", "my card was stolen and blocked " * 6])
    assert result.exit_code == 0, result.output
    label = domainfit.load(tiny_bundle).predict(["my card was stolen and blocked " * 6])[0]["label"]
    assert f" {label} " in result.stdout and "…" not in result.stdout
