"""Compression with the parity gate on Recall@10, and `compare` with its budget counted in users."""

from __future__ import annotations

import shutil

import numpy as np

import domainfit
from domainfit.bundle import load_bundle
from domainfit.interfaces import workflow_for
from domainfit.tasks.recommend.predictor import RecommendPredictor
from tests.unit.recommend.conftest import write_example


def test_compress_passes_the_parity_gate_on_recall_at_10(rec_bundle, tmp_path):
    fresh = tmp_path / "copy"
    shutil.copytree(rec_bundle, fresh)
    split = workflow_for("recommend").test_split(load_bundle(fresh))
    assert split.texts and len(split.y_true) == 45  # one test case per user
    meta = domainfit.compress(fresh, to="onnx", quantize="none")
    assert meta["parity_passed"] and meta["parity"]["metrics"][0] == "recall_at_10"
    assert abs(meta["parity"]["recall_at_10_delta_points"]) <= 1.0
    assert 0 <= meta["parity"]["max_probability_difference"] < 1e-3  # finite: seen items sit at -2, not -inf
    onnx = RecommendPredictor(load_bundle(fresh), variant=meta["name"])
    torch_ = RecommendPredictor(load_bundle(fresh), variant="torch")
    assert onnx.variant == meta["name"]
    a = onnx.history_scores([["card text pin blocked"]], rerank=False)
    b = torch_.history_scores([["card text pin blocked"]], rerank=False)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_compare_counts_its_budget_in_users(tiny_backbone, tmp_path):
    data = write_example(tmp_path / "d", n_users=24)
    base = {"task": "recommend", "data": {"items": data["items"]}, "model": {"backbone": str(tiny_backbone), "max_length": 16},
            "training": {"epochs": 1, "batch_size": 8, "lr": 5e-3}}
    result = domainfit.compare(data["train"], methods=["full", "popular", "itemknn"], shots="6,all", seeds=1,
                               output=tmp_path / "cmp", config=base)
    assert result["unit"] == "users" and result["metrics"] == ["recall_at_10", "ndcg_at_10"]
    assert not [r for r in result["runs"] if r.get("error")], [r.get("error") for r in result["runs"]]
    rows = {(r["method"], r["shots"]): r for r in result["runs"]}
    assert set(rows) == {(m, s) for m in ("full", "popular", "itemknn") for s in ("6", "all")}
    assert rows[("full", "6")]["train_rows"] < rows[("full", "all")]["train_rows"]  # 6 users' interactions
    assert all(0 <= r["recall_at_10"] <= 1 for r in result["runs"])
