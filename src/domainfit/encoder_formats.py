"""How a bundle stores its encoder: whole (`transformers`), as a PEFT adapter over a base model (`peft`), or as
bottleneck adapters over a base model (`bottleneck`). One small registry; `bundle.py` reads and writes through it.

A format is `save(encoder, folder) -> dict` (its own keys for domainfit.json's `model.encoder`) and
`load(folder, meta) -> nn.Module`, where `meta` is the bundle's `bundle.BundleMeta` (typed `Any` here: bundle.py sits
above this module); a format reads its own keys back as attributes of `meta.model.encoder`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from domainfit.backbones.resolve import resolve_backbone
from domainfit.errors import BundleError
from domainfit.i18n import _
from domainfit.registry import Registry
from domainfit.safe_paths import inside

__all__ = ["encoder_formats", "load_base_encoder"]

# Method modules may register formats of their own (the `adapter` method does): getting a name imports them.
encoder_formats: Registry = Registry("encoder format", "domainfit.methods")


def load_base_encoder(base: Any) -> nn.Module:
    """The backbone an adapter was trained on (`base`: the bundle's `meta.backbone`, name, path and sha256): the recorded
    folder if it is still there, else resolved by name; the weights hash must match, or the adapter would sit on other
    weights."""
    from transformers import AutoModel

    path = Path(base.path) if base.path else None
    resolved = resolve_backbone(str(path) if path and path.is_dir() else base.name)
    if base.sha256 and resolved.sha256 != base.sha256:
        raise BundleError(
            _("the base model found at {path} has other weights (sha256 {found}…) than the one "
              "this adapter was trained on ({expected}…)").format(path=resolved.path, found=resolved.sha256[:12],
                                                                  expected=base.sha256[:12]),
            where="domainfit.json: backbone",
            hint=_("install the same backbone (see versions and backbone in domainfit.json), or retrain; "
                   "or train with method_options.merge: true so the bundle carries all weights"),
        )
    return AutoModel.from_pretrained(resolved.path, use_safetensors=True)


@encoder_formats.register("transformers")
class TransformersFormat:
    """All encoder weights in model/ (safetensors): plain `transformers.AutoModel.from_pretrained` loads them."""

    @staticmethod
    def save(encoder: nn.Module, folder: Path) -> dict:
        for p in encoder.parameters():  # save_pretrained wants contiguous tensors; frozen ones may be views
            p.data = p.data.contiguous()
        encoder.save_pretrained(str(folder), safe_serialization=True)
        return {}

    @staticmethod
    def load(folder: Path, meta: Any) -> nn.Module:
        from transformers import AutoModel

        return AutoModel.from_pretrained(str(folder), use_safetensors=True)  # never a pickled .bin


@encoder_formats.register("peft")
class PeftFormat:
    """A PEFT adapter (megabytes) in model/adapter/ plus the base model reference in domainfit.json."""

    @staticmethod
    def save(encoder: nn.Module, folder: Path) -> dict:
        encoder.save_pretrained(str(folder / "adapter"))
        (folder / "config.json").write_text(json.dumps(encoder.get_base_model().config.to_dict(), indent=2, default=str))
        return {"adapter_dir": "adapter"}

    @staticmethod
    def load(folder: Path, meta: Any) -> nn.Module:
        from peft import PeftModel

        base = load_base_encoder(meta.backbone)
        adapter = inside(folder, getattr(meta.model.encoder, "adapter_dir", ""), key="domainfit.json: model.encoder.adapter_dir")
        if not (adapter / "adapter_model.safetensors").is_file():
            raise BundleError(_("{path} holds no adapter_model.safetensors").format(path=adapter),
                              where="domainfit.json: model.encoder.adapter_dir",
                              hint=_("a bundle's adapter is safetensors only; retrain to write it"))
        return PeftModel.from_pretrained(base, str(adapter))
