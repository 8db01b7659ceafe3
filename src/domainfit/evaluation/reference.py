"""Reference statistics of the test-set predictions, saved in the bundle for drift monitoring to compare against.

The bin edges are fixed constants, not fitted to the data, so live traffic can be binned exactly the same way
with `confidence_histogram` and `length_histogram` and compared count for count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from domainfit.evaluation.metrics import check_proba

__all__ = ["CONFIDENCE_EDGES", "LENGTH_EDGES", "confidence_histogram", "length_histogram", "multilabel_reference_stats",
           "reference_stats", "regression_reference_stats"]

#: 20 equal-width bins on [0, 1]; the last bin includes 1.0.
CONFIDENCE_EDGES: list[float] = [round(i / 20, 2) for i in range(21)]
#: Text length in characters. Roughly doubling widths cover a one-word query up to a long document; the last bin
#: is open-ended (it counts every text of 4096 characters or more).
LENGTH_EDGES: list[int] = [0, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048, 4096]


def _histogram(values: np.ndarray, edges: Sequence[float]) -> list[int]:
    # Bin i holds edges[i] <= x < edges[i+1]; values past the last edge go to the last bin, below the first to bin 0.
    index = np.clip(np.searchsorted(np.asarray(edges), values, side="right") - 1, 0, len(edges) - 2)
    return np.bincount(index, minlength=len(edges) - 1).astype(int).tolist()


def confidence_histogram(confidence: Sequence[float] | np.ndarray) -> dict:
    """{"edges", "counts"}: top-class probabilities counted in the 20 fixed bins of `CONFIDENCE_EDGES`."""
    conf = np.asarray(confidence, dtype=np.float64).ravel()
    # floor(x * 20) rather than searchsorted: 0.15 lands in [0.15, 0.2) despite float rounding of the edges.
    index = np.clip(np.floor(conf * 20).astype(int), 0, 19)
    return {"edges": list(CONFIDENCE_EDGES), "counts": np.bincount(index, minlength=20).astype(int).tolist()}


def length_histogram(texts: Sequence[str]) -> dict:
    """{"edges", "counts"}: text lengths in characters counted in the fixed bins of `LENGTH_EDGES`."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    return {"edges": list(LENGTH_EDGES), "counts": _histogram(lengths, LENGTH_EDGES)}


def text_stats(texts: Sequence[str]) -> dict:
    """The part every task shares: the number of texts and their lengths."""
    if len(texts) == 0:
        raise ValueError("reference statistics need at least one text")
    return {"n": len(texts), "length_histogram": length_histogram(texts), "mean_length": float(np.mean([len(t) for t in texts]))}


def _confidence(proba: np.ndarray) -> dict:
    confidence = proba.max(axis=1)
    return {"confidence_histogram": confidence_histogram(confidence), "mean_confidence": float(confidence.mean())}


def reference_stats(texts: Sequence[str], proba: np.ndarray, labels: Sequence[str]) -> dict:
    """Label shares of the predictions, confidence and length histograms, and their means (JSON-ready)."""
    common = text_stats(texts)
    labels = [str(label) for label in labels]
    proba = check_proba(proba, common["n"], labels)
    shares = np.bincount(proba.argmax(axis=1), minlength=len(labels)) / common["n"]
    return {**common, "label_distribution": {label: float(shares[i]) for i, label in enumerate(labels)}, **_confidence(proba)}


def multilabel_reference_stats(texts: Sequence[str], proba: np.ndarray, labels: Sequence[str], thresholds: np.ndarray) -> dict:
    """Share of texts given each label, labels per text, the top probability's histogram, lengths (JSON-ready)."""
    common = text_stats(texts)
    labels = [str(label) for label in labels]
    proba = check_proba(proba, common["n"], labels)
    chosen = proba >= np.asarray(thresholds, dtype=np.float64)[None, :]
    return {**common, "label_distribution": {label: float(chosen[:, i].mean()) for i, label in enumerate(labels)},
            "mean_labels_per_text": float(chosen.sum(1).mean()), **_confidence(proba)}


def regression_reference_stats(texts: Sequence[str], values: np.ndarray) -> dict:
    """Mean, std and a 20-bin histogram of the predicted values (edges from their range, saved with the counts so
    live predictions can be binned the same way), and the length histogram."""
    common = text_stats(texts)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    low, high = float(values.min()), float(values.max())
    edges = np.linspace(low, high if high > low else low + 1.0, 21).tolist()
    return {**common, "value_histogram": {"edges": edges, "counts": _histogram(values, edges)},
            "mean_value": float(values.mean()), "std_value": float(values.std())}
