"""`head`: the backbone stays frozen; its embeddings are computed once (and cached) and only a linear head is fit
(by the task: logistic regression for classes, one per label for multi-label, ridge for a number)."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from domainfit.i18n import _
from domainfit.methods.base import FitContext, FitResult
from domainfit.methods.probe import load_probe_into, probe_class_weight, probe_data, select_probe
from domainfit.modeling import TextModel
from domainfit.registry import methods

__all__ = ["HeadMethod"]


class HeadOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    C: list[float] = Field(
        default_factory=lambda: [1.0, 10.0, 100.0],
        description="inverse L2 strength(s) of the head (ridge: alpha = 1/C); several: the best on validation is kept",
    )


@methods.register("head")
class HeadMethod:
    description = "frozen backbone, embeddings computed once and cached, linear head: logistic regression or ridge (seconds, not minutes)"
    tasks = frozenset({"table"})  # one vector per text and a linear head
    Options = HeadOptions

    def fit(self, ctx: FitContext) -> FitResult:
        started = time.perf_counter()
        opts = HeadOptions.model_validate(ctx.options)
        x, y = probe_data(ctx, ctx.train)
        x_val, _unused = probe_data(ctx, ctx.val)
        ctx.reporter.log(_("fitting the head on {n} cached embeddings (C in {grid})").format(n=len(x), grid=opts.C))
        probe, C, history = select_probe(ctx.task, x, y, x_val, ctx.val["label"].tolist(), ctx.labels, grid=opts.C,
                                         balanced=probe_class_weight(ctx), seed=ctx.config.training.seed)
        head = ctx.task.build_head(x.shape[1], ctx.labels)
        load_probe_into(head, probe)
        for p in ctx.encoder.parameters():
            p.requires_grad_(False)
        model = TextModel(ctx.encoder, head, pooling=ctx.pooling, normalize=ctx.normalize, dropout=ctx.config.model.dropout)
        model.eval()
        return FitResult(model=model, seconds=time.perf_counter() - started, history=history, info={"C": C},
                         embeddings={"train": x, "val": x_val})  # the model's own: its encoder is the frozen one
