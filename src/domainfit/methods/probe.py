"""A linear probe on frozen embeddings, fit in closed form by the task (scikit-learn: logistic regression for
classes and labels, ridge for a number), copied into a torch head.

Used by `head` (the whole method) and by `full` and the methods built on it (LP-FT: a probe-initialised head
distorts the pretrained features less during fine-tuning; Kumar et al. 2022).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["Probe", "fit_probe", "load_probe_into", "probe_data", "select_probe"]

Probe = tuple[np.ndarray, np.ndarray]  # (weight (outputs, d), bias (outputs,))


def probe_data(ctx, frame) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings from the frozen backbone, encoded targets) of a split of a FitContext; embeddings cached on disk."""
    if not len(frame):
        return np.zeros((0, ctx.encoder.config.hidden_size), np.float32), np.zeros(0, np.int64)
    return ctx.frozen.embed(frame["text"].tolist()), ctx.task.encode_targets(frame["label"], ctx.labels).numpy()


def probe_class_weight(ctx) -> bool:
    """Whether the probe weighs classes against imbalance (any training.class_weights but none)."""
    return ctx.config.training.class_weights != "none"


def fit_probe(task, x: np.ndarray, y: np.ndarray, *, C: float, balanced: bool, seed: int) -> Probe:
    return task.linear_probe(x, y, C=C, balanced=balanced, seed=seed)


def select_probe(task, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, val_labels: Sequence[str], labels: Sequence[str], *,
                 grid: Sequence[float], balanced: bool, seed: int) -> tuple[Probe, float, list[dict]]:
    """Fit one probe per C and keep the best on the validation split by the task's primary metric (ties: the
    smaller C); without validation rows, the first C. Returns (probe, its C, history)."""
    key = task.primary_metric
    best, best_C, best_score, history = None, grid[0], -np.inf, []
    for C in grid:
        probe = fit_probe(task, x, y, C=C, balanced=balanced, seed=seed)
        score = 0.0
        if len(val_labels):
            logits = torch.as_tensor(x_val @ probe[0].T + probe[1], dtype=torch.float32)
            score = task.metrics(list(val_labels), task.decode(logits), labels)[key]
            score = -np.inf if score is None else float(score)
        history.append({"C": C, f"val_{key}": score})
        if best is None or score > best_score:
            best, best_C, best_score = probe, C, score
    return best, float(best_C), history  # type: ignore[return-value]


def load_probe_into(head: nn.Linear, probe: Probe) -> None:
    weight, bias = probe
    if tuple(weight.shape) != tuple(head.weight.shape):
        # the data checks keep every class in train; guard anyway because the copy assumes every output
        raise ValueError(f"the probe has {weight.shape[0]} outputs but the head {head.weight.shape[0]}: "
                         "some labels have no training rows")
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(weight, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))
