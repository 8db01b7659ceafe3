"""`adalora`: LoRA whose rank budget is re-allocated during training (peft's AdaLoRA; its budget update is called
every step by the loop's `on_step` hook — it is not automatic)."""

from __future__ import annotations

from pydantic import Field

from domainfit.methods._peft import fit_peft
from domainfit.methods.base import LINEAR_HEAD_TASKS, FitContext, FitResult, LoopOptions
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
    tasks = LINEAR_HEAD_TASKS
    Options = AdaLoraOptions
    default_lr = 1e-3

    def fit(self, ctx: FitContext) -> FitResult:
        from peft import AdaLoraConfig

        o = AdaLoraOptions.model_validate(ctx.options)

        def config(total: int):
            return AdaLoraConfig(init_r=o.init_r, target_r=o.target_r, lora_alpha=o.alpha, lora_dropout=o.dropout,
                                 target_modules=o.target_modules, total_step=total, tinit=int(o.tinit * total),
                                 tfinal=int(o.tfinal * total), deltaT=max(1, total // 20))

        def on_step(model, step: int) -> None:
            model.encoder.base_model.update_and_allocate(step)

        return fit_peft(ctx, config, merge=o.merge, lp_init=o.lp_init, head_lr_scale=o.head_lr_scale, extra=o.model_dump(),
                        on_step=on_step)
