"""model.max_length and the backbone's position table: the default is lowered to fit, a set value above it is refused."""

from __future__ import annotations

import pytest

import domainfit
from domainfit.bundle import load_bundle
from domainfit.errors import ConfigError


def _config(tiny_backbone, data, out, **model):
    return {"data": {"train": str(data)}, "model": {"backbone": str(tiny_backbone), **model},
            "training": {"epochs": 1, "batch_size": 8}, "output": str(out)}


def test_default_max_length_is_lowered_to_the_backbone(tiny_backbone, tiny_data, tmp_path):
    from transformers import AutoConfig

    positions = AutoConfig.from_pretrained(tiny_backbone).max_position_embeddings
    assert positions < 128  # the tiny test backbone reads fewer tokens than the default
    domainfit.train(_config(tiny_backbone, tiny_data, tmp_path / "b"))
    assert load_bundle(tmp_path / "b").meta.model.max_length == positions


def test_a_set_max_length_above_the_backbone_names_the_key(tiny_backbone, tiny_data, tmp_path):
    with pytest.raises(ConfigError, match="model.max_length") as info:
        domainfit.train(_config(tiny_backbone, tiny_data, tmp_path / "b", max_length=4096))
    assert not (tmp_path / "b").exists()
    assert "at most" in str(info.value)
