"""Shared by the PEFT-family methods (lora, adalora, ia3): wrap the encoder with a peft config (the task head is
ours, so it is always trainable and always saved), optionally merged at save time."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from domainfit.config.schema import TrainingConfig
from domainfit.methods.base import Adaptation
from domainfit.methods.full import head_and_body_lr

__all__ = ["peft_adaptation"]


def peft_adaptation(encoder: nn.Module, peft_config: object, *, training: TrainingConfig, head_lr_scale: float, merge: bool,
                    on_step: Callable[[nn.Module, int], None] | None = None) -> Adaptation:
    """The encoder wrapped by `peft_config`; stored as an adapter over the base model, or merged into it (`merge`)."""
    from peft import get_peft_model

    return Adaptation(get_peft_model(encoder, peft_config), head_and_body_lr(training, head_lr_scale), on_step=on_step,
                      encoder_format="transformers" if merge else "peft",
                      finish=(lambda wrapped: wrapped.merge_and_unload()) if merge else None)
