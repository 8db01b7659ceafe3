"""`adapter`: bottleneck adapters (Houlsby et al. 2019) after each attention and feed-forward output projection.

Written here rather than taken from the `adapters` library, which pins older transformers releases than ours: a
bottleneck adapter is a few lines (down-projection, non-linearity, up-projection initialised to zero, residual), so
the model starts exactly as the backbone. The backbone stays frozen; adapters, layer norms and the head train.
The bundle stores only the adapter weights (`bottleneck.safetensors`) and the base-model reference.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from pydantic import BaseModel, Field
from safetensors.torch import load_file, save_file
from torch import nn

from domainfit.bundle import BundleMeta, inside
from domainfit.config.schema import TrainingConfig
from domainfit.encoder_formats import encoder_formats, load_base_encoder
from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.methods.base import Adaptation, FitContext, FitResult, LoopOptions
from domainfit.methods.full import fit_adapted, head_and_body_lr
from domainfit.registry import methods

__all__ = ["AdapterMethod", "Bottleneck", "inject_adapters"]

# BERT-style names of the two sub-layer output projections (attention output, feed-forward output).
DEFAULT_TARGETS = r"(attention\.output\.dense|\.output\.dense)$"


class Bottleneck(nn.Module):
    """x → x + up(act(down(x))); `up` starts at zero, so an injected adapter is the identity."""

    def __init__(self, hidden: int, size: int) -> None:
        super().__init__()
        self.down = nn.Linear(hidden, size)
        self.up = nn.Linear(size, hidden)
        self.act = nn.GELU()
        nn.init.normal_(self.down.weight, std=1e-3)
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(self.act(self.down(x)))


class WithAdapter(nn.Module):
    """A linear layer followed by its adapter; keeps the wrapped layer's weights under `base.`."""

    def __init__(self, base: nn.Linear, size: int) -> None:
        super().__init__()
        self.base = base
        self.adapter = Bottleneck(base.out_features, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.adapter(self.base(x))


def inject_adapters(encoder: nn.Module, size: int, pattern: str = DEFAULT_TARGETS) -> list[str]:
    """Wrap every nn.Linear whose qualified name matches `pattern`; returns the wrapped names."""
    regex = re.compile(pattern)
    targets = [(n, m) for n, m in encoder.named_modules() if isinstance(m, nn.Linear) and regex.search(n)]
    for name, module in targets:
        parent_name, _sep, child = name.rpartition(".")
        parent = encoder.get_submodule(parent_name) if parent_name else encoder
        setattr(parent, child, WithAdapter(module, size))
    return [n for n, _module in targets]


def adapter_state(encoder: nn.Module) -> dict[str, torch.Tensor]:
    """What an adapter bundle stores: adapter weights and the (trained) layer norms."""
    return {k: v.detach().contiguous().cpu() for k, v in encoder.state_dict().items() if ".adapter." in k or "LayerNorm" in k}


class AdapterOptions(LoopOptions):
    size: int = Field(64, ge=1, description="bottleneck width")
    targets: str = Field(DEFAULT_TARGETS, description="regex of the linear layers followed by an adapter")
    train_layer_norms: bool = Field(True, description="also train the layer norms (as Houlsby et al.)")


@methods.register("adapter")
class AdapterMethod:
    description = "bottleneck adapters (Houlsby 2019) after attention and feed-forward outputs; backbone frozen"
    tasks = frozenset({"table", "token", "pair"})  # task kinds (Task.kind): one vector per text, per token, pairs
    Options = AdapterOptions
    default_lr = 1e-3

    def adapt(self, encoder: nn.Module, options: dict, *, training: TrainingConfig, total_steps: int) -> Adaptation:
        o = AdapterOptions.model_validate(options)
        for p in encoder.parameters():
            p.requires_grad_(False)
        wrapped = inject_adapters(encoder, o.size, o.targets)
        if not wrapped:
            raise ConfigError([("method_options.targets",
                                _("no linear layer of the backbone matches {pattern}").format(pattern=repr(o.targets)))])
        for name, p in encoder.named_parameters():
            if ".adapter." in name or (o.train_layer_norms and "LayerNorm" in name):
                p.requires_grad_(True)
        return Adaptation(encoder, head_and_body_lr(training, o.head_lr_scale), encoder_format="bottleneck",
                          format_options={"size": o.size, "targets": o.targets, "wrapped": len(wrapped)})

    def fit(self, ctx: FitContext) -> FitResult:
        return fit_adapted(ctx, self)


class BottleneckEncoder(BaseModel):
    """domainfit.json's `model.encoder` of a bottleneck bundle: the method's format options and the weights file."""

    format: str
    size: int
    targets: str
    wrapped: int | None = None
    file: str


@encoder_formats.register("bottleneck")
class BottleneckFormat:
    """Adapter weights (and trained layer norms) in model/bottleneck.safetensors; the base model by reference."""

    @staticmethod
    def save(encoder: nn.Module, folder: Path) -> dict:
        save_file(adapter_state(encoder), str(folder / "bottleneck.safetensors"))
        encoder.config.to_json_file(str(folder / "config.json"))
        return {"file": "bottleneck.safetensors"}

    @staticmethod
    def load(folder: Path, meta: BundleMeta) -> nn.Module:
        enc = BottleneckEncoder.model_validate(meta.model.encoder.model_dump())  # a ValueError: "cannot be loaded"
        encoder = load_base_encoder(meta.backbone)
        inject_adapters(encoder, enc.size, enc.targets)
        weights = inside(folder, enc.file, key="domainfit.json: model.encoder.file")
        missing = encoder.load_state_dict(load_file(str(weights)), strict=False)
        if missing.unexpected_keys:
            raise RuntimeError(f"adapter weights do not fit the base model: {missing.unexpected_keys[:3]}")
        return encoder
