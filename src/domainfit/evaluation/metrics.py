"""Metrics per task, each one JSON-ready dict with everything the report shows: classification (from probabilities),
multi-label (probabilities and per-label thresholds) and regression (predicted values).

The arithmetic is scikit-learn's and scipy's (`precision_recall_fscore_support`, `confusion_matrix`, `r2_score`,
`spearmanr`); this module checks the inputs, maps label names to columns, and gathers calibration and error
analysis into one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from domainfit.evaluation.analysis import most_confused, worst_errors
from domainfit.evaluation.calibration import ece_from_bins, reliability_bins

__all__ = ["check_proba", "classification_metrics", "label_indices", "multilabel_metrics", "regression_metrics"]


def label_indices(values: Sequence, labels: Sequence[str], *, what: str = "true label") -> np.ndarray:
    """Map label values to column indices in `labels`, raising ValueError that names every unknown value.

    Values are compared as strings, so a label column read as integers (0/1) still matches labels "0"/"1".
    """
    index = {str(label): i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        dupes = sorted(name for name, count in Counter(str(x) for x in labels).items() if count > 1)
        raise ValueError(f"labels must be unique; repeated: {dupes}")
    out = np.empty(len(values), dtype=np.int64)
    unknown: dict[str, int] = {}
    for row, value in enumerate(values):
        i = index.get(str(value))
        if i is None:
            unknown[str(value)] = unknown.get(str(value), 0) + 1
            i = -1
        out[row] = i
    if unknown:
        shown = ", ".join(f"{name!r} ({count} rows)" for name, count in list(unknown.items())[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        known = ", ".join(repr(str(x)) for x in list(labels)[:20]) + (" ..." if len(labels) > 20 else "")
        raise ValueError(f"{what}(s) not in labels: {shown}{more}. Known labels: {known}")
    return out


def check_proba(proba: np.ndarray, n: int, labels: Sequence[str]) -> np.ndarray:
    """`proba` as float64 after checking its shape (n, len(labels)), that it is finite and within [0, 1]."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (n, len(labels)):
        raise ValueError(
            f"proba must have shape (n_rows, n_labels) = ({n}, {len(labels)}), got {proba.shape}; "
            "columns follow the order of `labels`"
        )
    if not np.isfinite(proba).all():
        raise ValueError("proba contains NaN or infinite values")
    if proba.min() < -1e-6 or proba.max() > 1 + 1e-6:
        raise ValueError(
            f"proba must hold probabilities in [0, 1], found values in [{proba.min():.3g}, {proba.max():.3g}]; "
            "did you pass logits? apply a softmax first"
        )
    return proba


def classification_metrics(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str], *,
                           texts: Sequence[str] | None = None, n_errors: int = 20) -> dict:
    """Accuracy, F1 (macro/micro/weighted), per-class scores, confusion, calibration and the worst errors.

    `proba` is (n, len(labels)) with columns in `labels` order; the prediction is its argmax. Macro averages run
    over the labels that occur in `y_true` or in the predictions (scikit-learn's default), so a label absent from
    the test split does not count as a zero; `per_class` still lists every label, absent ones with support 0.
    `worst_errors` is empty unless `texts` is given. Every value is a plain Python number, string or list.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    n = len(y_true)
    if n == 0:
        raise ValueError("cannot compute metrics on an empty test set")
    if texts is not None and len(texts) != n:
        raise ValueError(f"got {len(texts)} texts for {n} true labels")
    labels = [str(label) for label in labels]
    true = label_indices(y_true, labels)
    proba = check_proba(proba, n, labels)
    pred = proba.argmax(axis=1)
    confidence = proba.max(axis=1)

    everything = list(range(len(labels)))
    present = sorted(set(true.tolist()) | set(pred.tolist()))
    p, r, f, support = precision_recall_fscore_support(true, pred, labels=everything, zero_division=0)

    def average(kind: str) -> tuple[float, float, float]:
        ap, ar, af, _ = precision_recall_fscore_support(true, pred, labels=present, average=kind, zero_division=0)
        return float(ap), float(ar), float(af)

    macro_p, macro_r, macro_f = average("macro")
    cm = confusion_matrix(true, pred, labels=everything)
    bins = reliability_bins(confidence, pred == true, n_bins=10)
    return {
        "n": int(n),
        "accuracy": float(accuracy_score(true, pred)),
        "macro_f1": macro_f,
        "micro_f1": average("micro")[2],
        "weighted_f1": average("weighted")[2],
        "macro_precision": macro_p,
        "macro_recall": macro_r,
        "per_class": [
            {"label": label, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
             "support": int(support[i])}
            for i, label in enumerate(labels)
        ],
        "confusion": {"labels": labels, "matrix": cm.astype(int).tolist()},
        "calibration": {"ece": ece_from_bins(bins), "bins": bins},
        "most_confused": most_confused(cm, labels, k=10),
        "worst_errors": worst_errors(texts, true, pred, confidence, labels, k=n_errors) if texts is not None else [],
    }


def multilabel_metrics(y_true: Sequence[Sequence[str]], proba: np.ndarray, labels: Sequence[str], thresholds: np.ndarray, *,
                       texts: Sequence[str] | None = None) -> dict:
    """Micro/macro F1, subset accuracy (every label right), Hamming loss (share of wrong label decisions) and a
    per-label table, predicting a label where its probability reaches its threshold.

    `y_true` holds each row's labels; macro averages run over the labels that occur in the truth or the predictions
    (as for classification), `per_label` lists every label. `texts` is accepted for symmetry and unused.
    """
    from sklearn.metrics import accuracy_score, hamming_loss, precision_recall_fscore_support

    n = len(y_true)
    if n == 0:
        raise ValueError("cannot compute metrics on an empty test set")
    labels = [str(label) for label in labels]
    proba = check_proba(proba, n, labels)
    index = {label: i for i, label in enumerate(labels)}
    true = np.zeros((n, len(labels)), dtype=np.int64)
    for r, row in enumerate(y_true):
        true[r, label_indices(row, labels)] = 1
    pred = (proba >= np.asarray(thresholds, dtype=np.float64)[None, :]).astype(np.int64)
    p, r, f, support = precision_recall_fscore_support(true, pred, zero_division=0)
    present = np.flatnonzero(true.sum(0) + pred.sum(0))
    micro_p, micro_r, micro_f, _ = precision_recall_fscore_support(true, pred, average="micro", zero_division=0)
    return {
        "n": int(n),
        "micro_f1": float(micro_f),
        "macro_f1": float(f[present].mean()) if len(present) else 0.0,
        "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "subset_accuracy": float(accuracy_score(true, pred)),
        "hamming_loss": float(hamming_loss(true, pred)),
        "label_cardinality": {"true": float(true.sum(1).mean()), "predicted": float(pred.sum(1).mean())},
        "per_label": [
            {"label": label, "precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i]),
             "threshold": float(thresholds[index[label]])}
            for i, label in enumerate(labels)
        ],
    }


def regression_metrics(y_true: np.ndarray, pred: np.ndarray, *, texts: Sequence[str] | None = None, n_errors: int = 20,
                       n_points: int = 1000) -> dict:
    """MAE, RMSE, R², Spearman and Pearson correlations, the largest errors (with `texts`) and up to `n_points`
    (true, predicted) pairs for the scatter plot. A correlation is None when either side is constant."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y_true, pred = np.asarray(y_true, dtype=np.float64), np.asarray(pred, dtype=np.float64).reshape(-1)
    n = len(y_true)
    if n == 0:
        raise ValueError("cannot compute metrics on an empty test set")
    if len(pred) != n:
        raise ValueError(f"got {len(pred)} predictions for {n} true values")
    if not np.isfinite(pred).all():
        raise ValueError("predictions contain NaN or infinite values")
    varied = n > 1 and np.ptp(y_true) > 0 and np.ptp(pred) > 0

    def corr(fn) -> float | None:
        return float(fn(y_true, pred)[0]) if varied else None

    error = pred - y_true
    worst = np.argsort(-np.abs(error), kind="stable")[:n_errors] if texts is not None else []
    shown = np.unique(np.linspace(0, n - 1, min(n, n_points)).astype(int))
    return {
        "n": int(n),
        "mae": float(mean_absolute_error(y_true, pred)),
        "rmse": float(np.sqrt(mean_squared_error(y_true, pred))),
        "r2": float(r2_score(y_true, pred)) if n > 1 and np.ptp(y_true) > 0 else None,
        "spearman": corr(spearmanr),
        "pearson": corr(pearsonr),
        "true": {"mean": float(y_true.mean()), "std": float(y_true.std()), "min": float(y_true.min()), "max": float(y_true.max())},
        "predicted": {"mean": float(pred.mean()), "std": float(pred.std()), "min": float(pred.min()), "max": float(pred.max())},
        "worst_errors": [{"text": str(texts[i]), "true": float(y_true[i]), "pred": float(pred[i]), "error": float(error[i])}
                         for i in worst] if texts is not None else [],
        "scatter": {"true": y_true[shown].tolist(), "pred": pred[shown].tolist()},
    }
