"""`lora`: low-rank adapters on the attention projections through `peft` (DoRA with `dora: true`)."""

from __future__ import annotations

from pydantic import Field

from domainfit.methods._peft import fit_peft
from domainfit.methods.base import LINEAR_HEAD_TASKS, FitContext, FitResult, LoopOptions
from domainfit.registry import methods

__all__ = ["LoraMethod", "LoraOptions"]


class LoraOptions(LoopOptions):
    r: int = Field(8, ge=1, description="rank of the update matrices")
    alpha: int = Field(16, ge=1, description="scaling (alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA path")
    target_modules: list[str] | None = Field(None, description="module names to adapt (default: peft's for the architecture, query+value for BERT)")
    dora: bool = Field(False, description="weight-decomposed LoRA (DoRA)")
    merge: bool = Field(False, description="merge the adapter into the weights at save time (bundle loads with plain transformers); else store the adapter and a base-model reference")


@methods.register("lora")
class LoraMethod:
    description = "LoRA adapters via peft (r=8 on query/value; DoRA optional); a few MB per task, merge optional"
    tasks = LINEAR_HEAD_TASKS
    Options = LoraOptions
    default_lr = 1e-3  # adapters learn at a far higher rate than full fine-tuning

    def fit(self, ctx: FitContext) -> FitResult:
        from peft import LoraConfig

        o = LoraOptions.model_validate(ctx.options)
        return fit_peft(
            ctx,
            lambda total: LoraConfig(r=o.r, lora_alpha=o.alpha, lora_dropout=o.dropout, target_modules=o.target_modules,
                                     use_dora=o.dora),
            merge=o.merge, lp_init=o.lp_init, head_lr_scale=o.head_lr_scale, extra=o.model_dump(),
        )
