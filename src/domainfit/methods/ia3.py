"""`ia3`: (IA)^3 — learned scaling vectors on keys, values and feed-forward activations, through `peft`."""

from __future__ import annotations

from pydantic import Field

from domainfit.methods._peft import fit_peft
from domainfit.methods.base import LINEAR_HEAD_TASKS, FitContext, FitResult, LoopOptions
from domainfit.registry import methods

__all__ = ["IA3Method", "IA3Options"]


class IA3Options(LoopOptions):
    target_modules: list[str] | None = Field(None, description="default: peft's for the architecture (key, value, output.dense for BERT)")
    feedforward_modules: list[str] | None = Field(None, description="default: peft's for the architecture")
    merge: bool = Field(False, description="merge into the weights at save time")


@methods.register("ia3")
class IA3Method:
    description = "(IA)^3 via peft: rescaling vectors only (the fewest trainable parameters)"
    tasks = LINEAR_HEAD_TASKS
    Options = IA3Options
    default_lr = 3e-3

    def fit(self, ctx: FitContext) -> FitResult:
        from peft import IA3Config

        o = IA3Options.model_validate(ctx.options)
        return fit_peft(
            ctx,
            lambda total: IA3Config(target_modules=o.target_modules, feedforward_modules=o.feedforward_modules),
            merge=o.merge, lp_init=o.lp_init, head_lr_scale=o.head_lr_scale, extra=o.model_dump(),
        )
