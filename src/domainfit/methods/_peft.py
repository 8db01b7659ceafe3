"""Shared by the PEFT-family methods (lora, adalora, ia3): wrap the encoder with a peft config, train it with the
shared loop (the task head is ours, so it is always trainable and always saved), optionally merge at save time."""

from __future__ import annotations

import time
from collections.abc import Callable

from torch import nn

from domainfit.methods.base import FitContext, FitResult
from domainfit.methods.full import fit_with_loop, head_and_body_lr, probe_initialised_head
from domainfit.modeling import TextModel

__all__ = ["fit_peft"]


def fit_peft(ctx: FitContext, make_config: Callable[[int], object], *, merge: bool, lp_init: bool, head_lr_scale: float,
             extra: dict, on_step: Callable[[nn.Module, int], None] | None = None) -> FitResult:
    """`make_config(total_steps)` builds the peft config (AdaLoRA needs the step count)."""
    from peft import get_peft_model

    from domainfit.training.loop import count_steps

    started = time.perf_counter()
    head = probe_initialised_head(ctx, enabled=lp_init)
    total = count_steps(len(ctx.train), ctx.config.training)
    encoder = get_peft_model(ctx.encoder, make_config(total))
    model = TextModel(encoder, head, pooling=ctx.pooling, normalize=ctx.normalize, dropout=ctx.config.model.dropout)
    result = fit_with_loop(ctx, model, param_lr=head_and_body_lr(ctx, head_lr_scale), extra=extra, on_step=on_step)
    result.info["trainable_parameters"] = model.trainable_parameters()
    if merge:
        model.encoder = model.encoder.merge_and_unload()
        result.encoder_format = "transformers"
    else:
        result.encoder_format = "peft"
    result.seconds = time.perf_counter() - started
    return result
