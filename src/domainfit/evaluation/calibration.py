"""Calibration of predicted probabilities: reliability bins and expected calibration error (ECE).

scikit-learn's `calibration_curve` drops empty bins and returns no counts, and it has no ECE, so these few
lines are written here. Confidence is the top-class probability; a prediction is "correct" when that class
is the true one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ece_from_bins", "expected_calibration_error", "reliability_bins"]


def reliability_bins(confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray,
                     n_bins: int = 10) -> list[dict]:
    """Split [0, 1] into `n_bins` equal-width bins of confidence; per bin, the mean confidence and accuracy.

    Bins are closed on the left and open on the right, except the last, which includes 1.0. Every bin is
    returned, so the list always has `n_bins` entries; an empty bin has `count` 0 and `confidence` and
    `accuracy` None (null in JSON), because 0.0 would read as a real, badly calibrated value.
    """
    conf = np.asarray(confidence, dtype=float).ravel()
    hit = np.asarray(correct, dtype=bool).ravel()
    if conf.shape != hit.shape:
        raise ValueError(f"confidence has {conf.size} values but correct has {hit.size}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # floor(x * n) puts x in bin i when i/n <= x < (i+1)/n; the clip keeps 1.0 (and float noise) in range.
    index = np.clip(np.floor(conf * n_bins).astype(int), 0, n_bins - 1)
    bins = []
    for i in range(n_bins):
        mask = index == i
        count = int(mask.sum())
        bins.append({
            "lower": float(edges[i]),
            "upper": float(edges[i + 1]),
            "confidence": float(conf[mask].mean()) if count else None,
            "accuracy": float(hit[mask].mean()) if count else None,
            "count": count,
        })
    return bins


def expected_calibration_error(confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray,
                               n_bins: int = 10) -> float:
    """ECE: the count-weighted mean gap |accuracy - confidence| over the reliability bins (0 is perfect)."""
    return ece_from_bins(reliability_bins(confidence, correct, n_bins))


def ece_from_bins(bins: Sequence[dict]) -> float:
    """ECE from bins already computed by `reliability_bins` (saves a second pass)."""
    total = sum(b["count"] for b in bins)
    if total == 0:
        return 0.0
    return float(sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"]) / total)
