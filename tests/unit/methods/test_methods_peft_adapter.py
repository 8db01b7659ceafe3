"""Adapter-style methods: what trains, what the bundle stores, and that stored adapters reload to the same model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import AutoModel

import domainfit
from domainfit.errors import ConfigError
from domainfit.methods.freeze import layer_depth
from tests.conftest import make_rows, write_csv

TEXTS = ["loan rate please", "card stolen today", "transfer not arrived"]


def _train(tmp_path, backbone, method, options=None, **training):
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = write_csv(tmp_path / "d.csv", make_rows(12, seed=7))
    out = tmp_path / method
    model = domainfit.train({
        "method": method, "method_options": options or {},
        "data": {"train": str(data)},
        "model": {"backbone": str(backbone), "max_length": 32},
        "training": {"epochs": 2, "batch_size": 8, **training},
        "baselines": [],
        "output": str(out),
    })
    return model, out, json.loads((out / "domainfit.json").read_text())


def test_lora_stores_only_the_adapter_and_reloads_with_its_head(tiny_backbone, tmp_path):
    model, out, meta = _train(tmp_path, tiny_backbone, "lora", {"r": 4})
    assert meta["model"]["encoder"]["format"] == "peft"
    assert (out / "model" / "adapter" / "adapter_config.json").is_file()
    assert not (out / "model" / "model.safetensors").exists()  # no copy of the base weights
    assert meta["config"]["training"]["lr"] == 1e-3  # lora's default, resolved and recorded
    # the defaults chosen by bench/lora_defaults.py (were alpha 16, head_lr_scale 1): recorded in the bundle
    assert meta["config"]["method_options"]["alpha"] == 64 and meta["config"]["method_options"]["head_lr_scale"] == 20.0
    assert meta["model"]["trainable_parameters"] < meta["model"]["total_parameters"] * 0.5
    again = domainfit.load(out)
    np.testing.assert_allclose(model.predict_scores(TEXTS), again.predict_scores(TEXTS), atol=1e-6)


def test_lora_merge_equals_the_unmerged_adapter(tiny_backbone, tmp_path):
    model, out, meta = _train(tmp_path, tiny_backbone, "lora", {"r": 4})
    inner = domainfit.load(out)._predictor.model
    ids = domainfit.load(out)._predictor.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        unmerged = inner(ids["input_ids"], ids["attention_mask"])
        inner.encoder = inner.encoder.merge_and_unload()
        merged = inner(ids["input_ids"], ids["attention_mask"])
    torch.testing.assert_close(unmerged, merged, atol=1e-5, rtol=1e-5)

    # merge: true at save time → an ordinary transformers encoder in the bundle, same predictions
    model_m, out_m, meta_m = _train(tmp_path / "m", tiny_backbone, "lora", {"r": 4, "merge": True})
    assert meta_m["model"]["encoder"]["format"] == "transformers"
    AutoModel.from_pretrained(str(out_m / "model"))  # loads with plain transformers
    np.testing.assert_allclose(model.predict_scores(TEXTS), model_m.predict_scores(TEXTS), atol=1e-5)


def test_adapter_freezes_the_backbone_and_stores_adapters_only(tiny_backbone, tmp_path):
    model, out, meta = _train(tmp_path, tiny_backbone, "adapter", {"size": 4})
    assert meta["model"]["encoder"]["format"] == "bottleneck" and meta["model"]["encoder"]["wrapped"] == 4  # 2 layers x 2
    assert (out / "model" / "bottleneck.safetensors").is_file()
    base = AutoModel.from_pretrained(str(tiny_backbone))
    trained = domainfit.load(out)._predictor.model.encoder
    # frozen backbone weights are unchanged; the adapters moved away from their identity start
    assert torch.equal(base.embeddings.word_embeddings.weight, trained.embeddings.word_embeddings.weight)
    ups = [m.adapter.up.weight for m in trained.modules() if hasattr(m, "adapter")]
    assert ups and any(float(w.abs().sum()) > 0 for w in ups)


def test_freeze_trains_only_the_top_layers(tiny_backbone, tmp_path):
    model, out, meta = _train(tmp_path, tiny_backbone, "freeze", {"layers": 1, "lr_decay": 0.5})
    base = AutoModel.from_pretrained(str(tiny_backbone))
    trained = AutoModel.from_pretrained(str(out / "model"))
    assert torch.equal(base.encoder.layer[0].attention.self.query.weight, trained.encoder.layer[0].attention.self.query.weight)
    assert not torch.equal(base.encoder.layer[1].attention.self.query.weight, trained.encoder.layer[1].attention.self.query.weight)
    assert layer_depth("encoder.embeddings.word_embeddings.weight", 6) == 0
    assert layer_depth("encoder.encoder.layer.5.output.dense.weight", 6) == 6
    assert layer_depth("head.weight", 6) == 7


def test_ia3_and_adalora_record_their_options(tiny_backbone, tmp_path):
    _, _, meta = _train(tmp_path, tiny_backbone, "ia3")
    assert meta["method"] == "ia3" and meta["config"]["training"]["lr"] == 3e-3
    _, _, meta = _train(tmp_path / "a", tiny_backbone, "adalora", {"init_r": 6, "target_r": 2})
    assert meta["method_options"]["init_r"] == 6 and meta["model"]["encoder"]["format"] == "peft"


def test_bad_options_fail_before_any_work(tmp_path):
    with pytest.raises(ConfigError) as exc:
        domainfit.train({"method": "lroa", "data": {"train": "missing.csv"}})
    assert "did you mean 'lora'" in str(exc.value).lower()
    with pytest.raises(ConfigError) as exc:
        domainfit.train({"method": "lora", "method_options": {"r": -1}, "data": {"train": "missing.csv"}})
    assert "method_options" in str(exc.value) and "r" in str(exc.value)


def test_a_method_that_does_not_support_the_task_is_refused(monkeypatch):
    from domainfit.registry import methods, tasks

    class OtherTask:
        description = "a task no method supports yet (test double)"

    monkeypatch.setitem(tasks._items, "other-task", OtherTask)
    with pytest.raises(ConfigError) as exc:
        domainfit.train({"task": "other-task", "method": "lora", "data": {"train": "missing.csv"}})
    assert "does not support task 'other-task'" in str(exc.value)
    assert "lora" in methods.names()
