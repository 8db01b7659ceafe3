"""Error analysis: the most-confused (true, predicted) label pairs and the most confident wrong predictions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["most_confused", "worst_errors"]


def most_confused(matrix: np.ndarray | Sequence[Sequence[int]], labels: Sequence[str], k: int = 10) -> list[dict]:
    """The `k` largest off-diagonal cells of a confusion matrix (rows = true, columns = predicted).

    Ties keep the matrix order (row, then column), so the result is deterministic; zero cells are never listed.
    """
    cm = np.asarray(matrix, dtype=np.int64)
    if cm.shape != (len(labels), len(labels)):
        raise ValueError(f"confusion matrix has shape {cm.shape} but there are {len(labels)} labels")
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = off.ravel()
    order = np.argsort(-flat, kind="stable")[:k]
    n = len(labels)
    return [
        {"true": str(labels[i // n]), "pred": str(labels[i % n]), "count": int(flat[i])}
        for i in order
        if flat[i] > 0
    ]


def worst_errors(texts: Sequence[str], true_idx: np.ndarray, pred_idx: np.ndarray, confidence: np.ndarray,
                 labels: Sequence[str], k: int = 20) -> list[dict]:
    """The `k` wrong predictions made with the highest confidence: where the model is sure and wrong.

    These are the rows worth reading first: often a mislabelled example, sometimes a real gap in the model.
    Ties keep the input order.
    """
    true_idx = np.asarray(true_idx)
    pred_idx = np.asarray(pred_idx)
    confidence = np.asarray(confidence, dtype=float)
    if not (len(texts) == len(true_idx) == len(pred_idx) == len(confidence)):
        raise ValueError(
            f"lengths differ: {len(texts)} texts, {len(true_idx)} true labels, {len(pred_idx)} predictions, "
            f"{len(confidence)} confidences"
        )
    wrong = np.flatnonzero(true_idx != pred_idx)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:k]
    return [
        {
            "text": str(texts[i]),
            "true": str(labels[true_idx[i]]),
            "pred": str(labels[pred_idx[i]]),
            "confidence": float(confidence[i]),
        }
        for i in wrong
    ]
