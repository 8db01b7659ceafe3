"""Train a token-classification model with the shared loop (domainfit.training.loop): sentences become labelled
windows of word pieces, the method adapts the encoder (`Method.adapt`: full, freeze, LoRA and its family,
adapters), a linear head scores every token, and validation runs on entity-level F1, so early stopping, the best
weights, checkpoints and `--resume` work as in every domainfit run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

from domainfit.config.schema import TrainConfig
from domainfit.inference.runners import TorchRunner
from domainfit.methods.base import FitResult, Reporter
from domainfit.methods.full import finish_adaptation
from domainfit.modeling import TextModel
from domainfit.tasks.ner.align import IGNORE_INDEX, encode_words
from domainfit.tasks.ner.inference import model_words, score_words
from domainfit.tasks.ner.io import Sentence
from domainfit.tasks.ner.metrics import entity_metrics, predicted_tags
from domainfit.training.loop import LoopState, count_steps, train_loop

__all__ = ["fit_tokens", "training_windows"]


def training_windows(sentences: Sequence[Sentence], task, tokenizer, labels: Sequence[str], *, max_length: int,
                     normalize: bool) -> tuple[list[list[int]], torch.Tensor]:
    """(piece ids of every window, their labels padded with IGNORE_INDEX to the longest window)."""
    index = {label: i for i, label in enumerate(labels)}
    stride = task.stride(max_length)
    windows = [w for s in sentences
               for w in encode_words(tokenizer, model_words(s.tokens, normalize), task.training_tags(s.tags), index, max_length, stride)]
    ids = [w.input_ids for w in windows]
    targets = torch.full((len(ids), max((len(x) for x in ids), default=0)), IGNORE_INDEX, dtype=torch.long)
    for k, w in enumerate(windows):
        targets[k, : len(w.labels)] = torch.tensor(w.labels, dtype=torch.long)
    return ids, targets


def fit_tokens(cfg: TrainConfig, *, method, task, encoder: torch.nn.Module, tokenizer, labels: list[str],
               train: Sequence[Sentence], val: Sequence[Sentence], backbone_sha256: str, output: Path, resume: bool,
               reporter: Reporter) -> FitResult:
    """Train and return the model (pooling "tokens": a TextModel whose head scores every token)."""
    training, max_length, normalize = cfg.training, cfg.model.max_length, cfg.data.normalize
    ids, targets = training_windows(train, task, tokenizer, labels, max_length=max_length, normalize=normalize)
    head = task.build_head(encoder.config.hidden_size, labels)
    adapted = method.adapt(encoder, cfg.method_options, training=training, total_steps=count_steps(len(ids), training))
    model = TextModel(adapted.encoder, head, pooling="tokens", normalize=False, dropout=cfg.model.dropout)
    val_words = [model_words(s.tokens, normalize) for s in val]
    val_tags = [s.tags for s in val]

    def evaluate(m: torch.nn.Module) -> dict:
        """Entity-level scores on the validation sentences (the loop stops early on F1)."""
        runner = TorchRunner(m, tokenizer.pad_token_id or 0, device=next(m.parameters()).device)
        scores = score_words(runner, tokenizer, val_words, n_labels=len(labels), max_length=max_length,
                             stride=task.stride(max_length))
        metrics = entity_metrics(val_tags, [predicted_tags(s, labels) for s in scores])
        return {k: metrics[k] for k in task.summary_metrics}

    state = LoopState()
    loop = train_loop(
        model,
        input_ids=ids,
        targets=targets,
        loss_fn=lambda logits, y: task.loss(logits, y, label_smoothing=training.label_smoothing),
        evaluate=evaluate if val_words else None,
        primary_metric=task.primary_metric,
        cfg=training,
        param_lr=adapted.param_lr,
        pad_id=tokenizer.pad_token_id or 0,
        on_step=adapted.on_step,
        checkpoint_dir=output / "checkpoints",
        resume=resume,
        fingerprint_extra={"task": task.name, "task_options": cfg.task_options, "method": cfg.method,
                           "method_options": cfg.method_options, "labels": labels, "backbone": backbone_sha256},
        state=state,
    )
    for event in loop:
        reporter.event(event)
    result = FitResult(model=model, seconds=state.seconds, history=state.history,
                       info={"best_step": state.best_step, "best_val": state.best_score, "steps": state.step,
                             "stopped_early": state.stopped_early, "head_lr": adapted.param_lr("head.weight"),
                             "eval_seconds": round(state.eval_seconds, 2), "train_windows": len(ids),
                             **_throughput(state, ids, training)})
    finish_adaptation(model, adapted, result)
    return result


def _throughput(state: LoopState, ids: Sequence[Sequence[int]], training) -> dict:
    """Windows and word pieces trained on per second of pure training (validation time excluded)."""
    steps_per_epoch = math.ceil(math.ceil(len(ids) / training.batch_size) / training.grad_accum)
    epochs = state.step / steps_per_epoch
    busy = state.seconds - state.eval_seconds
    if busy <= 0:
        return {"train_examples_per_s": 0.0, "train_tokens_per_s": 0.0}
    return {"train_examples_per_s": round(epochs * len(ids) / busy, 2),
            "train_tokens_per_s": round(epochs * sum(len(x) for x in ids) / busy, 1)}
