"""`lora`: low-rank adapters on the attention projections through `peft` (DoRA with `dora: true`).

Defaults from a short Optuna study (bench/results/lora_defaults.md): alpha 64 at rank 8 (a LoRA scaling of 8, the
adapter's updates four times larger than at alpha 16) and a head learning rate 20 x the adapters' 1e-3; checked on
held-out Financial PhraseBank sentences against the old defaults (alpha 16, head_lr_scale 1)."""

from __future__ import annotations

from pydantic import Field
from torch import nn

from domainfit.config.schema import TrainingConfig
from domainfit.methods._peft import peft_adaptation
from domainfit.methods.base import Adaptation, FitContext, FitResult, LoopOptions
from domainfit.methods.full import fit_adapted
from domainfit.registry import methods

__all__ = ["LoraMethod", "LoraOptions"]


class LoraOptions(LoopOptions):
    r: int = Field(8, ge=1, description="rank of the update matrices")
    head_lr_scale: float = Field(20.0, gt=0, description="head learning rate = training.lr x this, unless training.head_lr is set")
    alpha: int = Field(64, ge=1, description="scaling (alpha / r)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA path")
    target_modules: list[str] | None = Field(None, description="module names to adapt (default: peft's for the architecture, query+value for BERT)")
    dora: bool = Field(False, description="weight-decomposed LoRA (DoRA)")
    merge: bool = Field(False, description="merge the adapter into the weights at save time (bundle loads with plain transformers); else store the adapter and a base-model reference")


@methods.register("lora")
class LoraMethod:
    description = "LoRA adapters via peft (r=8, alpha=64 on query/value; DoRA optional); a few MB per task, merge optional"
    tasks = frozenset({"table", "token", "pair"})  # task kinds (Task.kind): one vector per text, per token, pairs
    Options = LoraOptions
    default_lr = 1e-3  # adapters learn at a far higher rate than full fine-tuning

    def adapt(self, encoder: nn.Module, options: dict, *, training: TrainingConfig, total_steps: int) -> Adaptation:
        from peft import LoraConfig

        o = LoraOptions.model_validate(options)
        config = LoraConfig(r=o.r, lora_alpha=o.alpha, lora_dropout=o.dropout, target_modules=o.target_modules, use_dora=o.dora)
        return peft_adaptation(encoder, config, training=training, head_lr_scale=o.head_lr_scale, merge=o.merge)

    def fit(self, ctx: FitContext) -> FitResult:
        return fit_adapted(ctx, self)
