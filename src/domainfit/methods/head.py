"""`head`: the backbone stays frozen; its embeddings are computed once (and cached) and only a linear head is fit."""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from domainfit.methods.base import FitContext, FitResult
from domainfit.methods.probe import load_probe_into, select_probe
from domainfit.modeling import TextModel
from domainfit.registry import methods

__all__ = ["HeadMethod"]


class HeadOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    C: list[float] = Field(
        default_factory=lambda: [1.0, 10.0, 100.0],
        description="inverse L2 strength(s) of the logistic-regression head; several: the best on validation is kept",
    )


@methods.register("head")
class HeadMethod:
    description = "frozen backbone, embeddings computed once and cached, logistic-regression head (seconds, not minutes)"
    tasks = frozenset({"classification"})
    Options = HeadOptions

    def fit(self, ctx: FitContext) -> FitResult:
        started = time.perf_counter()
        opts = HeadOptions.model_validate(ctx.options)
        x = ctx.frozen.embed(ctx.train["text"].tolist())
        x_val = ctx.frozen.embed(ctx.val["text"].tolist()) if len(ctx.val) else np.zeros((0, x.shape[1]), np.float32)
        y = ctx.task.encode_targets(ctx.train["label"], ctx.labels).numpy()
        y_val = ctx.task.encode_targets(ctx.val["label"], ctx.labels).numpy()
        weight = "balanced" if ctx.config.training.class_weights != "none" else None
        ctx.reporter.log(f"fitting the head on {len(x)} cached embeddings (C in {opts.C})")
        clf, history = select_probe(x, y, x_val, y_val, len(ctx.labels), grid=opts.C, class_weight=weight, seed=ctx.config.training.seed)
        head = ctx.task.build_head(x.shape[1], ctx.labels)
        load_probe_into(head, clf)
        for p in ctx.encoder.parameters():
            p.requires_grad_(False)
        model = TextModel(ctx.encoder, head, pooling=ctx.pooling, normalize=ctx.normalize, dropout=ctx.config.model.dropout)
        model.eval()
        return FitResult(model=model, seconds=time.perf_counter() - started, history=history, info={"C": float(clf.C)})
