"""`adalora`: LoRA whose rank budget is re-allocated during training (peft's AdaLoRA; its budget update is called
every step by the loop's `on_step` hook — it is not automatic)."""

from __future__ import annotations

from pydantic import Field
from torch import nn

from domainfit.config.schema import TrainingConfig
from domainfit.methods._peft import peft_adaptation
from domainfit.methods.base import Adaptation, FitContext, FitResult, LoopOptions
from domainfit.methods.full import fit_adapted
from domainfit.registry import methods

__all__ = ["AdaLoraMethod", "AdaLoraOptions"]


class AdaLoraOptions(LoopOptions):
    init_r: int = Field(12, ge=1, description="starting rank of every adapted matrix")
    target_r: int = Field(8, ge=1, description="average rank after budget re-allocation")
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | None = Field(None, description="default: peft's for the architecture")
    tinit: float = Field(0.1, ge=0, lt=1, description="share of steps before pruning starts")
    tfinal: float = Field(0.2, ge=0, lt=1, description="share of final steps at the target budget")
    merge: bool = Field(False, description="merge into the weights at save time")


@methods.register("adalora")
class AdaLoraMethod:
    description = "AdaLoRA via peft: LoRA with an adaptive rank budget (updated every step)"
    tasks = frozenset({"table", "token", "pair"})  # task kinds (Task.kind): one vector per text, per token, pairs
    Options = AdaLoraOptions
    default_lr = 1e-3

    def adapt(self, encoder: nn.Module, options: dict, *, training: TrainingConfig, total_steps: int) -> Adaptation:
        from peft import AdaLoraConfig

        o = AdaLoraOptions.model_validate(options)
        total = total_steps
        config = AdaLoraConfig(init_r=o.init_r, target_r=o.target_r, lora_alpha=o.alpha, lora_dropout=o.dropout,
                               target_modules=o.target_modules, total_step=total, tinit=int(o.tinit * total),
                               tfinal=int(o.tfinal * total), deltaT=max(1, total // 20))

        def on_step(model: nn.Module, step: int) -> None:
            model.encoder.base_model.update_and_allocate(step)

        return peft_adaptation(encoder, config, training=training, head_lr_scale=o.head_lr_scale, merge=o.merge, on_step=on_step)

    def fit(self, ctx: FitContext) -> FitResult:
        return fit_adapted(ctx, self)
