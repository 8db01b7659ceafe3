"""`full`: fine-tune every parameter with the shared loop; the head starts from a linear probe (LP-FT)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
from pydantic import Field

from domainfit.backbones.encoder import tokenize
from domainfit.config.schema import TrainingConfig
from domainfit.i18n import _
from domainfit.inference import run_model
from domainfit.inference.runners import WithEmbedding
from domainfit.methods.base import Adaptation, FitContext, FitResult, LoopOptions
from domainfit.methods.probe import fit_probe, load_probe_into, probe_class_weight, probe_data
from domainfit.modeling import TextModel
from domainfit.registry import methods
from domainfit.training.loop import LoopState, count_steps, train_loop

__all__ = ["FullMethod", "finish_adaptation", "fit_adapted", "fit_with_loop", "head_and_body_lr", "probe_initialised_head"]


class FullOptions(LoopOptions):
    probe_C: float = Field(10.0, gt=0, description="inverse L2 strength of that probe")
    head_lr_scale: float = Field(5.0, gt=0, description="head learning rate = training.lr x this, unless training.head_lr is set")


@methods.register("full")
class FullMethod:
    description = "fine-tune all parameters; head initialised from a linear probe (LP-FT), its own learning rate"
    tasks = frozenset({"table", "token", "pair"})  # task kinds (Task.kind): one vector per text, per token, pairs
    Options = FullOptions

    def adapt(self, encoder: torch.nn.Module, options: dict, *, training: TrainingConfig, total_steps: int) -> Adaptation:
        return Adaptation(encoder, head_and_body_lr(training, FullOptions.model_validate(options).head_lr_scale))

    def fit(self, ctx: FitContext) -> FitResult:
        return fit_adapted(ctx, self)


def fit_adapted(ctx: FitContext, method) -> FitResult:
    """`fit` of every method that adapts the encoder (`method.adapt`), for the tasks with one vector per text: the
    task head (probe-initialised unless `lp_init: false`), the adapted encoder under it, the shared loop, and the
    encoder made ready to save."""
    opts = method.Options.model_validate(ctx.options)
    started = time.perf_counter()
    head = probe_initialised_head(ctx, enabled=opts.lp_init, C=getattr(opts, "probe_C", 10.0))
    adapted = method.adapt(ctx.encoder, ctx.options, training=ctx.config.training,
                           total_steps=count_steps(len(ctx.train), ctx.config.training))
    model = TextModel(adapted.encoder, head, pooling=ctx.pooling, normalize=ctx.normalize, dropout=ctx.config.model.dropout)
    result = fit_with_loop(ctx, model, param_lr=adapted.param_lr, extra=opts.model_dump(), on_step=adapted.on_step)
    finish_adaptation(model, adapted, result)
    result.seconds = time.perf_counter() - started
    return result


def finish_adaptation(model: TextModel, adapted: Adaptation, result: FitResult) -> None:
    """After training: the encoder as it will be saved (a peft merge), how it is stored, what was trained."""
    result.info["trainable_parameters"] = model.trainable_parameters()
    if adapted.finish is not None:
        model.encoder = adapted.finish(model.encoder)
    result.encoder_format, result.format_options = adapted.encoder_format, dict(adapted.format_options)


def head_and_body_lr(training: TrainingConfig, head_lr_scale: float) -> Callable[[str], float]:
    """Learning rate per parameter: the head's own (training.head_lr, else lr x scale), training.lr for the rest."""
    lr = training.lr
    head_lr = training.head_lr or lr * head_lr_scale
    return lambda name: head_lr if name.startswith("head.") else lr


def probe_initialised_head(ctx: FitContext, *, enabled: bool, C: float = 10.0) -> torch.nn.Module:
    """The task head, initialised from a linear probe on frozen embeddings when `enabled` (LP-FT, Kumar et al. 2022):
    fine-tuning then starts from a good head instead of distorting the features to fit a random one.
    Skipped on resume (the checkpoint holds the weights)."""
    head = ctx.task.build_head(ctx.encoder.config.hidden_size, ctx.labels)
    if enabled and not ctx.resume:
        ctx.reporter.log(_("linear probe on frozen embeddings to initialise the head (LP-FT)"))
        x, y = probe_data(ctx, ctx.train)
        load_probe_into(head, fit_probe(ctx.task, x, y, C=C, balanced=probe_class_weight(ctx), seed=ctx.config.training.seed))
    return head


def fit_with_loop(ctx: FitContext, model: TextModel, *, param_lr: Callable[[str], float], extra: dict | None = None,
                  on_step: Callable[[torch.nn.Module, int], None] | None = None) -> FitResult:
    """Train `model` with the shared loop on ctx's data; validation on ctx.val with the task's primary metric.

    Shared by every method whose training is gradient descent on (part of) the model. `param_lr(name)` gives each
    trainable parameter's learning rate (names as in `model.named_parameters()`: "encoder....", "head....").
    """
    cfg = ctx.config.training
    tok, max_len = ctx.tokenizer, ctx.config.model.max_length
    ids = tokenize(tok, ctx.train["text"].tolist(), max_len)
    targets = ctx.task.encode_targets(ctx.train["label"], ctx.labels)
    val_ids = tokenize(tok, ctx.val["text"].tolist(), max_len) if len(ctx.val) else []
    val_labels = ctx.val["label"].tolist()
    weights = ctx.task.class_weights(ctx.train["label"].tolist(), ctx.labels, cfg.class_weights)
    pad = tok.pad_token_id or 0

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        w = weights.to(logits.device) if weights is not None else None
        return ctx.task.loss(logits, y, class_weights=w, label_smoothing=cfg.label_smoothing)

    state = LoopState()
    val_embeddings: dict[int, np.ndarray] = {}  # step -> the pooled validation embeddings evaluated there

    def evaluate(m: torch.nn.Module) -> dict:
        """The task's headline metrics on the validation split (the loop stops early on the primary one); the pooled
        embeddings of the same pass are kept, so that the best step's serve the out-of-scope detector."""
        device = next(m.parameters()).device
        joined = run_model(WithEmbedding(m), val_ids, pad_id=pad, batch_size=128, device=device)
        logits, embeddings = WithEmbedding.split(joined, joined.shape[1] - ctx.encoder.config.hidden_size)
        for step in [s for s in val_embeddings if s != state.best_step]:  # keep the best so far and this one
            del val_embeddings[step]
        val_embeddings[state.step] = embeddings
        scores = ctx.task.decode(logits)
        metrics = ctx.task.metrics(val_labels, scores, ctx.labels)
        return {k: metrics[k] for k in ctx.task.summary_metrics if metrics.get(k) is not None}

    loop = train_loop(
        model,
        input_ids=ids,
        targets=targets,
        loss_fn=loss_fn,
        evaluate=evaluate if val_ids else None,
        primary_metric=ctx.task.primary_metric,
        cfg=cfg,
        param_lr=param_lr,
        pad_id=pad,
        on_step=on_step,
        checkpoint_dir=ctx.output / "checkpoints",
        resume=ctx.resume,
        fingerprint_extra={"method": ctx.config.method, "labels": ctx.labels, "backbone": ctx.backbone.sha256, **(extra or {})},
        state=state,
    )
    for event in loop:
        ctx.reporter.event(event)
    return FitResult(
        model=model,
        seconds=state.seconds,
        history=state.history,
        info={"best_step": state.best_step, "best_val": state.best_score, "steps": state.step,
              "stopped_early": state.stopped_early, "head_lr": param_lr("head.weight"),
              "eval_seconds": round(state.eval_seconds, 2), "train_examples_per_s": examples_per_second(state, len(ids), cfg)},
        # the best step's weights are the ones restored, so its evaluation's embeddings are the final model's
        embeddings={"val": val_embeddings[state.best_step]} if state.best_step in val_embeddings else {},
    )


def examples_per_second(state: LoopState, n: int, cfg) -> float:
    """Training examples per second of pure training (validation time excluded)."""
    steps_per_epoch = math.ceil(math.ceil(n / cfg.batch_size) / cfg.grad_accum)
    seen = state.step / steps_per_epoch * n
    busy = state.seconds - state.eval_seconds
    return round(seen / busy, 2) if busy > 0 else 0.0
