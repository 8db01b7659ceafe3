"""`fewshot`: the SetFit method — contrastive sentence-pair training of the backbone (through the `setfit` library),
then a logistic-regression head on the tuned embeddings.

Two changes to SetFit's defaults, both measured on Banking77 (see ../shared/REFERENCE.md): the number of pairs is
bounded by `max_steps` (SetFit's default sampling makes ~375k pairs from 616 examples, ~5 hours on 2 cores) — and
never more steps than one pass over the pairs SetFit generates (2 x num_iterations per example: a 24-example
three-class set is 30 steps, not 200 steps of the same pairs again), and
the head's regularisation is chosen on validation from a grid (SetFit's fixed C=1 under-fits many classes: a frozen
probe at C=10 beat SetFit at 8 examples per class).
"""

from __future__ import annotations

import math
import shutil
import time

from pydantic import BaseModel, ConfigDict, Field

from domainfit.backbones.encoder import FrozenEncoder
from domainfit.i18n import _
from domainfit.methods.base import FitContext, FitResult
from domainfit.methods.probe import load_probe_into, probe_class_weight, select_probe
from domainfit.modeling import TextModel
from domainfit.registry import methods

__all__ = ["FewShotMethod", "FewShotOptions", "best_validation", "contrastive_steps"]


class FewShotOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_steps: int = Field(200, ge=1, description="contrastive steps (batches of pairs): bounds the time with many classes")
    num_iterations: int = Field(20, ge=1, description="pairs generated per example (SetFit's sampling), before max_steps caps them")
    batch_size: int = Field(32, ge=2, description="pairs per contrastive step")
    body_lr: float = Field(2e-5, gt=0, description="learning rate of the backbone during contrastive training")
    C: list[float] = Field(default_factory=lambda: [1.0, 10.0, 100.0], description="head regularisation grid (best on validation)")


def contrastive_steps(n_examples: int, options: FewShotOptions) -> int:
    """Steps of contrastive training: one pass over SetFit's pairs (2 x num_iterations per example), at most
    `max_steps`."""
    pairs = 2 * options.num_iterations * n_examples
    return max(1, min(options.max_steps, math.ceil(pairs / options.batch_size)))


@methods.register("fewshot")
class FewShotMethod:
    description = "SetFit: contrastive pair training of the backbone (setfit library, pairs bounded), then a tuned logistic-regression head"
    tasks = frozenset({"label"})  # contrastive pairs need one label per text (Task.targets)
    Options = FewShotOptions

    def fit(self, ctx: FitContext) -> FitResult:
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments

        o = FewShotOptions.model_validate(ctx.options)
        started = time.perf_counter()
        cfg = ctx.config.training
        setfit_model = SetFitModel.from_pretrained(ctx.backbone.path, local_files_only=True)
        steps = contrastive_steps(len(ctx.train), o)
        args = TrainingArguments(output_dir=str(ctx.output / "setfit"), batch_size=o.batch_size, max_steps=steps,
                                 num_iterations=o.num_iterations, body_learning_rate=o.body_lr,
                                 max_length=ctx.config.model.max_length, seed=cfg.seed, show_progress_bar=False,
                                 report_to="none", save_strategy="no")
        train = Dataset.from_dict({"text": ctx.train["text"].tolist(), "label": ctx.train["label"].astype(str).tolist()})
        trainer = Trainer(model=setfit_model, args=args, train_dataset=train)
        ctx.reporter.log(_("contrastive training of the backbone: {steps} steps x {batch} pairs").format(
            steps=steps, batch=o.batch_size))
        trainer.train_embeddings(x_train=train["text"], y_train=train["label"], args=args)
        contrastive_s = time.perf_counter() - started

        encoder = setfit_model.model_body[0].auto_model  # the tuned transformer: a plain transformers model
        tuned = FrozenEncoder(encoder, ctx.tokenizer, name=ctx.backbone.name, weights_sha256=f"fewshot:{id(encoder)}",
                              pooling=ctx.pooling, normalize=ctx.normalize, max_length=ctx.config.model.max_length,
                              cache_dir=ctx.output / "setfit" / "cache", progress=ctx.reporter.progress)
        x, y = tuned.embed(ctx.train["text"].tolist()), ctx.task.encode_targets(ctx.train["label"], ctx.labels).numpy()
        x_val = tuned.embed(ctx.val["text"].tolist()) if len(ctx.val) else x[:0]
        probe, C, history = select_probe(ctx.task, x, y, x_val, ctx.val["label"].tolist(), ctx.labels, grid=o.C,
                                         balanced=probe_class_weight(ctx), seed=cfg.seed)
        head = ctx.task.build_head(x.shape[1], ctx.labels)
        load_probe_into(head, probe)
        for p in encoder.parameters():
            p.requires_grad_(False)
        shutil.rmtree(ctx.output / "setfit", ignore_errors=True)  # scratch space of the contrastive phase
        model = TextModel(encoder, head, pooling=ctx.pooling, normalize=ctx.normalize, dropout=0.0)
        model.eval()
        return FitResult(model=model, seconds=time.perf_counter() - started, history=history,
                         info={"C": C, "contrastive_seconds": round(contrastive_s, 2), "pairs": steps * o.batch_size,
                               "best_val": best_validation(history)})


def best_validation(history: list[dict]) -> float | None:
    """The chosen head's validation score (what `tune` maximises); None without validation rows."""
    scores = [v for h in history for k, v in h.items() if k.startswith("val_") and v is not None and v > -math.inf]
    return max(scores) if scores else None
