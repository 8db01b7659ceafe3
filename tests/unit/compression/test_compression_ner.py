"""Compression of the tasks with their own workflows: an entity bundle exported to ONNX (per-token logits, dynamic batch
and sequence axes) and quantized, checked by the parity gate on entity F1, picked by `domainfit.load`; a broken
variant refused; a retrieval bundle (its head is the answer index) exported like any sequence model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import domainfit
from domainfit.inference.variants import variant_kinds
from domainfit.errors import CompressionError, ConfigError
from tests.conftest import make_pairs, write_csv

TEXTS = ["my card lost today", "loan rate please and transfer not arrived", "",
         " ".join(["why card stolen and loan repay"] * 8)]  # about 50 pieces: several windows of max_length 32


@pytest.fixture()
def fresh(tiny_ner_bundle, tmp_path):
    copy = tmp_path / "entities"
    shutil.copytree(tiny_ner_bundle, copy, ignore=shutil.ignore_patterns("variants"))
    return copy


def _entities(model) -> list[list[tuple]]:
    return [[(e["start"], e["end"], e["label"], e["text"]) for e in p["entities"]] for p in model.predict(TEXTS)]


def test_ner_onnx_fp32_matches_pytorch(fresh):
    meta = domainfit.compress(fresh, to="onnx", quantize="none")
    p = meta["parity"]
    assert meta["name"] == "onnx-fp32" and meta["parity_passed"]
    assert p["metrics"] == ["f1", "precision"] and p["agreement"] == 1.0 and p["max_probability_difference"] < 1e-4
    assert p["f1_delta_points"] == 0 and p["n"] == len((fresh / "data" / "test.jsonl").read_text().splitlines())
    original = domainfit.load(fresh, variant="torch")
    onnx = domainfit.load(fresh, variant="onnx-fp32")
    assert onnx.variant == "onnx-fp32" and original.variant == "torch"
    assert _entities(onnx) == _entities(original) and any(_entities(original))
    for a, b in zip(onnx.predict_scores(TEXTS), original.predict_scores(TEXTS)):
        assert a.offsets == b.offsets
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)
    for a, b in zip(onnx.predict(TEXTS), original.predict(TEXTS)):  # the same format, the same scores
        assert [e.keys() for e in a["entities"]] == [e.keys() for e in b["entities"]]
        np.testing.assert_allclose([e["score"] for e in a["entities"]], [e["score"] for e in b["entities"]], atol=1e-4)


def test_ner_int8_passes_the_gate_and_auto_picks_it(fresh):
    meta = domainfit.compress(fresh, to="onnx", quantize="int8", tolerance=50)
    torch8 = domainfit.compress(fresh, to="torch", quantize="int8", tolerance=50)
    saved = json.loads((fresh / "variants" / "onnx-int8" / "variant.json").read_text())
    assert saved["parity_passed"] and saved == meta
    for m in (saved, torch8):
        assert {"f1", "f1_original", "f1_delta_points", "precision", "precision_delta_points", "agreement",
                "max_probability_difference"} <= set(m["parity"])
    auto = domainfit.load(fresh)
    assert auto.variant == "onnx-int8"  # no measurements yet: the preference order
    assert [set(p) for p in auto.predict(TEXTS)] == [{"entities"}] * len(TEXTS)
    result = domainfit.bench(fresh)
    rows = {r["variant"]: r for r in result["variants"]}
    assert set(rows) == {"torch", "onnx-int8", "torch-int8"} and rows["torch"]["metric"] == "f1"
    assert all(r["sentences_per_s_batch32"] > 0 and r["p95_ms_batch1"] > 0 for r in rows.values())
    fastest = max(result["variants"][1:], key=lambda r: r["sentences_per_s_batch32"])["variant"]
    assert domainfit.load(fresh).variant == fastest  # now by the measured speed


def test_the_gate_refuses_a_broken_ner_variant(fresh, monkeypatch):
    onnx_kind = variant_kinds.get("onnx")
    real_build = onnx_kind.build
    n_labels = len(json.loads((fresh / "domainfit.json").read_text())["labels"])

    def broken_build(bundle, folder, *, quantize="none", reporter=None):
        out = real_build(bundle, folder, quantize=quantize)
        import onnx
        from onnx import numpy_helper

        path = folder / out["file"]
        model = onnx.load(str(path))
        for init in model.graph.initializer:  # scramble the token head: a deliberately broken export
            if n_labels in init.dims:
                arr = numpy_helper.to_array(init)
                noise = np.random.default_rng(0).normal(size=arr.shape).astype(arr.dtype) * 50
                init.CopyFrom(numpy_helper.from_array(noise, init.name))
        onnx.save(model, str(path))
        return out

    monkeypatch.setattr(onnx_kind, "build", staticmethod(broken_build))
    with pytest.raises(CompressionError, match="more than the tolerance of 1") as exc:
        domainfit.compress(fresh, to="onnx", quantize="none")
    assert "f1" in str(exc.value)
    assert not (fresh / "variants" / "onnx-fp32").exists()  # nothing written
    assert domainfit.load(fresh).variant == "torch"
    with pytest.raises(ConfigError, match="classification bundles only"):
        domainfit.compress(fresh, distill_layers=1)


def test_retrieval_bundle_exports_its_index_head(tiny_backbone, tmp_path):
    rows = make_pairs(8, seed=3)
    answers = sorted({a for _, a in rows})
    ids = {a: a.split()[-1] for a in answers}
    bank = write_csv(tmp_path / "bank.csv", [(ids[a], a) for a in answers], header=("id", "answer"))
    pairs = write_csv(tmp_path / "pairs.csv", [(q, ids[a]) for q, a in rows], header=("query", "faq_id"))
    model = domainfit.train({"task": "retrieval", "method": "full", "data": {"train": str(pairs), "answers": str(bank)},
                             "model": {"backbone": str(tiny_backbone), "max_length": 32}, "baselines": [],
                             "training": {"epochs": 2, "batch_size": 8, "lr": 5e-3, "seed": 1}, "output": str(tmp_path / "faq")})
    meta = domainfit.compress(tmp_path / "faq", to="onnx", quantize="none")
    p = meta["parity"]
    assert p["metrics"] == ["recall_at_1", "mrr_at_10"] and meta["parity_passed"]
    assert p["agreement"] == 1.0 and p["max_probability_difference"] < 1e-4
    onnx = domainfit.load(tmp_path / "faq")
    assert onnx.variant == "onnx-fp32"
    queries = ["loan rate please", "card stolen today"]
    np.testing.assert_allclose(onnx.predict_scores(queries), model.predict_scores(queries), atol=1e-4)
    got, want = onnx.predict(queries), model.predict(queries)
    assert [(g["label"], g["answer"], g["no_answer"]) for g in got] == [(w["label"], w["answer"], w["no_answer"]) for w in want]
    static = domainfit.compress(tmp_path / "faq", to="onnx", quantize="int8-static", tolerance=100)
    assert static["calibration"]["texts"] > 0 and static["parity"]["batch_agreement"] == 1.0  # calibrated on the queries


def test_ner_static_int8_is_refused_with_the_reason(fresh):
    """int8-static calibrates on the bundle's training texts (data/train.csv, column text), which an NER bundle keeps
    as tagged sentences: refused before anything is written, with the way out."""
    with pytest.raises(ConfigError, match="int8-static calibrates on the bundle's training texts.*use --quantize int8"):
        domainfit.compress(fresh, to="onnx", quantize="int8-static", tolerance=50)
    assert not (fresh / "variants" / "onnx-int8-static").exists()
