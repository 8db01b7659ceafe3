"""A linear probe on frozen embeddings (scikit-learn logistic regression), copied into a torch head.

Used by `head` (the whole method) and by `full` (LP-FT: a probe-initialised head distorts the pretrained
features less during fine-tuning; Kumar et al. 2022).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from torch import nn

__all__ = ["fit_probe", "load_probe_into", "probe_data", "select_probe"]


def probe_data(ctx, frame) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings from the frozen backbone, label indices) of a split of a FitContext; cached on disk by the encoder."""
    if not len(frame):
        return np.zeros((0, ctx.encoder.config.hidden_size), np.float32), np.zeros(0, np.int64)
    return ctx.frozen.embed(frame["text"].tolist()), ctx.task.encode_targets(frame["label"], ctx.labels).numpy()


def probe_class_weight(ctx) -> str | None:
    return "balanced" if ctx.config.training.class_weights != "none" else None


def fit_probe(x: np.ndarray, y: np.ndarray, n_labels: int, *, C: float, class_weight: str | None, seed: int) -> LogisticRegression:
    clf = LogisticRegression(C=C, max_iter=3000, class_weight=class_weight, random_state=seed)
    clf.fit(x, y)
    missing = sorted(set(range(n_labels)) - set(clf.classes_.tolist()))
    if missing:  # the data checks prevent it; guard anyway because the copy below assumes every class
        raise ValueError(f"label indices {missing} have no training rows")
    return clf


def select_probe(
    x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, n_labels: int, *,
    grid: Sequence[float], class_weight: str | None, seed: int,
) -> tuple[LogisticRegression, list[dict]]:
    """Fit one probe per C and keep the best on validation macro-F1 (ties: the smaller C)."""
    best, best_score, history = None, -1.0, []
    for C in grid:
        clf = fit_probe(x, y, n_labels, C=C, class_weight=class_weight, seed=seed)
        score = float(f1_score(y_val, clf.predict(x_val), average="macro")) if len(y_val) else 0.0
        history.append({"C": C, "val_macro_f1": score})
        if score > best_score:
            best, best_score = clf, score
    return best, history  # type: ignore[return-value]


def load_probe_into(head: nn.Linear, clf: LogisticRegression) -> None:
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:  # binary: scikit-learn keeps one row (the positive class); softmax needs two
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(coef, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(intercept, dtype=head.bias.dtype))
