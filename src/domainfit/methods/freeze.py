"""`freeze`: train only the top k encoder layers and the head, optionally with layer-wise learning-rate decay."""

from __future__ import annotations

import re

from pydantic import Field
from torch import nn

from domainfit.config.schema import TrainingConfig
from domainfit.methods.base import Adaptation, FitContext, FitResult, LoopOptions
from domainfit.methods.full import fit_adapted
from domainfit.registry import methods

__all__ = ["FreezeMethod", "layer_depth"]

_LAYER = re.compile(r"\.(?:layer|layers|h|block|blocks)\.(\d+)\.")


def layer_depth(name: str, n_layers: int) -> int:
    """0 for embeddings, i + 1 for transformer layer i, n_layers + 1 for anything above (pooler, head)."""
    if name.startswith("head."):
        return n_layers + 1
    m = _LAYER.search(name)
    if m:
        return int(m.group(1)) + 1
    return 0 if "embed" in name else n_layers + 1


class FreezeOptions(LoopOptions):
    layers: int = Field(2, ge=0, description="top encoder layers left trainable (0: only the head, by gradient descent)")
    lr_decay: float | None = Field(None, gt=0, le=1, description="layer-wise learning-rate decay: layer below gets lr x decay")
    head_lr_scale: float = Field(5.0, gt=0, description="head learning rate = training.lr x this, unless training.head_lr is set")


@methods.register("freeze")
class FreezeMethod:
    description = "train only the top k encoder layers plus the head (layers: 2), optional layer-wise lr decay"
    tasks = frozenset({"table", "token", "pair"})  # task kinds (Task.kind): one vector per text, per token, pairs
    Options = FreezeOptions

    def adapt(self, encoder: nn.Module, options: dict, *, training: TrainingConfig, total_steps: int) -> Adaptation:
        opts = FreezeOptions.model_validate(options)
        n_layers = int(encoder.config.num_hidden_layers)
        lowest = n_layers - opts.layers + 1  # depth of the lowest trainable layer
        for name, p in encoder.named_parameters():
            depth = layer_depth("encoder." + name, n_layers)
            p.requires_grad_(lowest <= depth <= n_layers)
        lr = training.lr
        head_lr = training.head_lr or lr * opts.head_lr_scale

        def param_lr(name: str) -> float:
            depth = layer_depth(name, n_layers)
            if depth > n_layers:
                return head_lr
            return lr * (opts.lr_decay ** (n_layers - depth) if opts.lr_decay else 1.0)

        return Adaptation(encoder, param_lr)

    def fit(self, ctx: FitContext) -> FitResult:
        return fit_adapted(ctx, self)
