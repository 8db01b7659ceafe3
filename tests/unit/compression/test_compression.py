"""Compression: export and quantize to variants that predict like the original, a parity gate that refuses a broken
variant, the Predictor's choice of variant, distillation, the bench table, and clear errors for bad requests."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

import domainfit
from domainfit.inference.variants import variant_kinds
from domainfit.errors import BundleError, CompressionError, ConfigError
from tests.conftest import make_rows, write_csv

TEXTS = ["loan rate please", "card stolen today", "transfer not arrived", "my pin is blocked"]


@pytest.fixture(scope="module")
def bundle(tiny_backbone, tmp_path_factory):
    root = tmp_path_factory.mktemp("compress")
    data = write_csv(root / "d.csv", make_rows(30, seed=2))
    domainfit.train({"data": {"train": str(data)}, "model": {"backbone": str(tiny_backbone), "max_length": 32},
                     "training": {"epochs": 6, "batch_size": 8, "lr": 5e-3}, "baselines": [], "output": str(root / "b")})
    return root / "b"


@pytest.fixture()
def fresh(bundle, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    return copy


def test_onnx_fp32_matches_pytorch(fresh):
    meta = domainfit.compress(fresh, to="onnx", quantize="none")
    assert meta["name"] == "onnx-fp32" and meta["parity_passed"] and meta["parity"]["agreement"] == 1.0
    assert meta["parity"]["max_probability_difference"] < 1e-4
    torch_scores = domainfit.load(fresh, variant="torch").predict_scores(TEXTS)
    onnx_model = domainfit.load(fresh, variant="onnx-fp32")
    assert onnx_model.variant == "onnx-fp32"
    np.testing.assert_allclose(onnx_model.predict_scores(TEXTS), torch_scores, atol=1e-4)
    assert onnx_model.predict(TEXTS)[0].keys() == domainfit.load(fresh, variant="torch").predict(TEXTS)[0].keys()


def test_int8_variants_pass_the_gate_and_auto_picks_them(fresh):
    onnx8 = domainfit.compress(fresh, to="onnx", quantize="int8", tolerance=100)
    torch8 = domainfit.compress(fresh, to="torch", quantize="int8", tolerance=100)
    assert (fresh / "variants" / "onnx-int8" / "model.int8.onnx").is_file()
    assert torch8["recipe"] and not list((fresh / "variants" / "torch-int8").glob("*.pt"))  # rebuilt, never unpickled
    for meta in (onnx8, torch8):
        assert set(meta["parity"]) >= {"accuracy", "accuracy_delta_points", "agreement", "max_probability_difference",
                                       "batch_agreement"}
        assert 0.0 <= meta["parity"]["batch_agreement"] <= 1.0
    assert domainfit.load(fresh).variant == "onnx-int8"  # no measurements yet: the preference order
    result = domainfit.bench(fresh)
    names = [r["variant"] for r in result["variants"]]
    assert names[0] == "torch" and {"onnx-int8", "torch-int8"} <= set(names)
    for r in result["variants"]:
        assert r["sentences_per_s_batch32"] > 0 and r["p95_ms_batch1"] > 0 and 0 < r["share_of_bound"]
    assert (fresh / "variants" / "bench.md").is_file()
    fastest = max(result["variants"][1:], key=lambda r: r["sentences_per_s_batch32"])["variant"]
    assert domainfit.load(fresh).variant == fastest  # now by the measured speed


def test_static_int8_gives_each_text_the_same_scores_whatever_its_batch(fresh):
    meta = domainfit.compress(fresh, to="onnx", quantize="int8-static", tolerance=100)
    folder = fresh / "variants" / "onnx-int8-static"
    assert meta["name"] == "onnx-int8-static" and meta["parity_passed"] and (folder / "model.int8-static.onnx").is_file()
    assert meta["calibration"]["texts"] > 0 and meta["calibration"]["method"] == "minmax"
    assert meta["parity"]["batch_agreement"] == 1.0  # the gate scored the test split alone too
    assert sorted(p.name for p in folder.iterdir()) == ["build.log", "model.int8-static.onnx", "variant.json"]
    model = domainfit.load(fresh, variant="onnx-int8-static")
    texts = [*TEXTS, "the transfer I sent to my landlord last week has still not arrived and the rent is due"]
    together = model.predict_scores(texts)  # one batch, padded to the longest text
    alone = np.concatenate([model.predict_scores([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    reference = domainfit.load(fresh, variant="torch").predict_scores(texts)
    assert np.abs(together - reference).max() < 0.2  # quantized, yet the same model


def test_the_gate_refuses_a_broken_variant(fresh, monkeypatch):
    onnx_kind = variant_kinds.get("onnx")
    real_build = onnx_kind.build

    def broken_build(bundle, folder, *, quantize="none", reporter=None):
        out = real_build(bundle, folder, quantize=quantize)
        import onnx
        from onnx import numpy_helper

        path = folder / out["file"]
        model = onnx.load(str(path))
        for init in model.graph.initializer:  # scramble the head: a deliberately broken export
            if init.dims and init.dims[0] == 3:
                arr = numpy_helper.to_array(init)
                init.CopyFrom(numpy_helper.from_array(np.random.default_rng(0).normal(size=arr.shape).astype(arr.dtype) * 50, init.name))
        onnx.save(model, str(path))
        return out

    monkeypatch.setattr(onnx_kind, "build", staticmethod(broken_build))
    with pytest.raises(CompressionError) as exc:
        domainfit.compress(fresh, to="onnx", quantize="none")
    assert "more than the tolerance of 1" in str(exc.value) and "loses" in str(exc.value)
    assert not (fresh / "variants" / "onnx-fp32").exists()  # nothing written
    meta = domainfit.compress(fresh, to="onnx", quantize="none", force=True)
    assert meta["parity_passed"] is False and meta["forced"] is True
    assert domainfit.load(fresh).variant == "torch"  # a forced variant is never picked automatically


def test_distilled_student(fresh):
    meta = domainfit.compress(fresh, distill_layers=1, tolerance=100, epochs=2)
    assert meta["name"] == "distilled-1l" and meta["teacher_layers"] == [1]
    student = domainfit.load(fresh, variant="distilled-1l")
    inner = student._predictor.model
    assert len(inner.encoder.encoder.layer) == 1
    assert student.predict_scores(TEXTS).shape == (4, 3)


def test_stacked_distilled_then_onnx_int8(fresh):
    domainfit.compress(fresh, distill_layers=1, tolerance=100, epochs=2)
    student = domainfit.load(fresh, variant="distilled-1l").predict_scores(TEXTS)
    meta = domainfit.compress(fresh, base="distilled-1l", to="onnx", quantize="int8", tolerance=100)
    assert meta["name"] == "distilled-1l-onnx-int8" and meta["base"] == "distilled-1l"
    assert meta["parity"]["accuracy_original"] is not None  # the gate compares against the original model
    stacked = domainfit.load(fresh, variant="distilled-1l-onnx-int8")
    assert stacked.variant == "distilled-1l-onnx-int8"
    assert np.abs(stacked.predict_scores(TEXTS) - student).max() < 0.1  # int8 of the student, not of the teacher
    with pytest.raises(BundleError, match="no variant 'distilled-9l'"):
        domainfit.compress(fresh, base="distilled-9l", to="onnx", quantize="int8")
    domainfit.compress(fresh, to="torch", quantize="int8", tolerance=100)
    with pytest.raises(BundleError, match="not an fp32 PyTorch model"):
        domainfit.compress(fresh, base="torch-int8", to="onnx", quantize="none")


def test_distillation_uses_unlabelled_texts(fresh, tmp_path):
    extra = write_csv(tmp_path / "u.csv", [(t,) for t, _ in make_rows(5, seed=11)], header=("comment",))
    meta = domainfit.compress(fresh, distill_layers=1, tolerance=100, epochs=1, unlabelled=str(extra))
    assert meta["unlabelled_texts"] == 15


def test_bad_requests(fresh, tmp_path):
    with pytest.raises(ConfigError, match="int4"):
        domainfit.compress(fresh, to="onnx", quantize="int4")
    with pytest.raises(ConfigError, match="--to"):
        domainfit.compress(fresh, to="tflite")
    with pytest.raises(BundleError, match="no bundle folder"):
        domainfit.compress(tmp_path / "nowhere")
    (fresh / "data" / "test.csv").unlink()
    with pytest.raises(BundleError, match="data/test.csv is missing"):  # the manifest notices
        domainfit.compress(fresh)
    from domainfit.bundle import seal_bundle

    seal_bundle(fresh)  # as if it had been written without a test split
    with pytest.raises(BundleError, match="no test split"):
        domainfit.compress(fresh)
    with pytest.raises(BundleError, match="no variant 'onnx-int4'"):
        domainfit.load(fresh, variant="onnx-int4")
    assert torch.get_num_threads() >= 1


@pytest.mark.parametrize(("task", "metrics"), [("multilabel", ["micro_f1", "macro_f1"]), ("regression", ["r2", "spearman"])])
def test_multilabel_and_regression_bundles_export_and_quantize(task, metrics, tiny_backbone, tmp_path):
    from tests.conftest import make_task_rows

    data = write_csv(tmp_path / "d.csv", make_task_rows(task, 20, seed=3))
    model = domainfit.train({"task": task, "data": {"train": str(data)}, "model": {"backbone": str(tiny_backbone), "max_length": 32},
                             "training": {"epochs": 4, "batch_size": 8, "lr": 5e-3}, "baselines": [], "output": str(tmp_path / "b")})
    meta = domainfit.compress(tmp_path / "b", to="onnx", quantize="none")
    assert meta["parity"]["metrics"] == metrics and meta["parity_passed"]
    assert meta["parity"]["max_probability_difference"] < 1e-4
    assert ("agreement" in meta["parity"]) == (task == "multilabel")  # a regression has no decision to agree on
    onnx = domainfit.load(tmp_path / "b", variant="onnx-fp32")
    np.testing.assert_allclose(onnx.predict_scores(TEXTS), model.predict_scores(TEXTS), atol=1e-4)
    assert [p.keys() for p in onnx.predict(TEXTS)] == [p.keys() for p in model.predict(TEXTS)]  # the task's own format
    int8 = domainfit.compress(tmp_path / "b", to="onnx", quantize="int8", tolerance=100)
    assert int8["name"] == "onnx-int8" and set(metrics) <= set(int8["parity"])
    static = domainfit.compress(tmp_path / "b", to="onnx", quantize="int8-static", tolerance=100)
    assert static["name"] == "onnx-int8-static" and static["parity"].get("batch_agreement", 1.0) == 1.0
    scored = domainfit.load(tmp_path / "b", variant="onnx-int8-static")
    np.testing.assert_allclose(scored.predict_scores(TEXTS), np.concatenate([scored.predict_scores([t]) for t in TEXTS]),
                               atol=1e-5)
    with pytest.raises(ConfigError, match="classification bundles only"):
        domainfit.compress(tmp_path / "b", distill_layers=1)
