"""`ia3`: (IA)^3 — learned scaling vectors on keys, values and feed-forward activations, through `peft`."""

from __future__ import annotations

from pydantic import Field
from torch import nn

from domainfit.config.schema import TrainingConfig
from domainfit.methods._peft import peft_adaptation
from domainfit.methods.base import Adaptation, FitContext, FitResult, LoopOptions
from domainfit.methods.full import fit_adapted
from domainfit.registry import methods

__all__ = ["IA3Method", "IA3Options"]


class IA3Options(LoopOptions):
    target_modules: list[str] | None = Field(None, description="default: peft's for the architecture (key, value, output.dense for BERT)")
    feedforward_modules: list[str] | None = Field(None, description="default: peft's for the architecture")
    merge: bool = Field(False, description="merge into the weights at save time")


@methods.register("ia3")
class IA3Method:
    description = "(IA)^3 via peft: rescaling vectors only (the fewest trainable parameters)"
    tasks = frozenset({"table", "token", "pair"})  # task kinds (Task.kind): one vector per text, per token, pairs
    Options = IA3Options
    default_lr = 3e-3

    def adapt(self, encoder: nn.Module, options: dict, *, training: TrainingConfig, total_steps: int) -> Adaptation:
        from peft import IA3Config

        o = IA3Options.model_validate(options)
        config = IA3Config(target_modules=o.target_modules, feedforward_modules=o.feedforward_modules)
        return peft_adaptation(encoder, config, training=training, head_lr_scale=o.head_lr_scale, merge=o.merge)

    def fit(self, ctx: FitContext) -> FitResult:
        return fit_adapted(ctx, self)
