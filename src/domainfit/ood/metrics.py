"""What out-of-scope detection costs and buys, from the detector's scores and the decisions taken with its threshold.

    in_scope_accuracy        correct AND not refused, over the in-scope rows (a refusal counts as an error)
    in_scope_accuracy_plain  the same model's accuracy without any refusal (what the threshold is compared with)
    refused_in_scope         the share of in-scope rows flagged out of scope (the threshold's cost without OOS data)
    oos_recall / precision   the out-of-scope rows flagged / the flagged rows that are out of scope
    auroc                    ROC AUC of the score separating out-of-scope from in-scope rows (scikit-learn)
    fpr_at_95                the share of out-of-scope rows accepted at the threshold keeping 95% of in-scope rows

The arithmetic is scikit-learn's (`roc_auc_score`) and numpy's; this module gathers it into one JSON-ready dict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["flag_out_of_scope", "ood_metrics", "tradeoff_curve"]


def flag_out_of_scope(ood: np.ndarray, threshold: float, predicted: Sequence[str] | None = None,
                      oos_label: str | None = None) -> np.ndarray:
    """The out-of-scope decisions: a score above the threshold, or a predicted `oos_label` class."""
    flagged = np.asarray(ood, dtype=np.float64) > threshold
    if oos_label is not None and predicted is not None:
        flagged |= np.asarray([p == oos_label for p in predicted], dtype=bool)
    return flagged


def _share(mask: np.ndarray) -> float | None:
    return float(mask.mean()) if len(mask) else None


def ood_metrics(y_true: Sequence[str], predicted: Sequence[str], ood: np.ndarray, flagged: np.ndarray,
                oos_gold: np.ndarray) -> dict:
    """The metrics above; `oos_gold` marks the rows whose true answer is "out of scope" (held-out intents, the
    oos label). AUROC and FPR@95 need rows of both kinds (None otherwise)."""
    from sklearn.metrics import roc_auc_score

    y, p = np.asarray(list(map(str, y_true)), dtype=object), np.asarray(list(map(str, predicted)), dtype=object)
    ood, flagged, gold = np.asarray(ood, dtype=np.float64), np.asarray(flagged, bool), np.asarray(oos_gold, bool)
    ins = ~gold
    correct = (y == p) & ins
    out: dict = {"n": len(y), "in_scope_n": int(ins.sum()), "oos_n": int(gold.sum()),
                 "in_scope_accuracy": _share((correct & ~flagged)[ins]), "in_scope_accuracy_plain": _share(correct[ins]),
                 "refused_in_scope": _share(flagged[ins]), "flagged_share": _share(flagged),
                 "oos_recall": _share(flagged[gold]),
                 "oos_precision": float(gold[flagged].mean()) if flagged.any() and gold.any() else None,
                 "auroc": None, "fpr_at_95": None}
    if gold.any() and ins.any():
        out["auroc"] = float(roc_auc_score(gold.astype(int), ood))
        t95 = float(np.quantile(ood[ins], 0.95))
        out["fpr_at_95"] = float((ood[gold] <= t95).mean())
    return out


def tradeoff_curve(y_true: Sequence[str], predicted: Sequence[str], ood: np.ndarray, oos_gold: np.ndarray, *,
                   oos_label: str | None = None, points: int = 41) -> list[dict]:
    """In-scope accuracy (refusals = errors) against OOS recall (None without OOS rows) and the share of in-scope rows
    kept, as the threshold moves over the quantiles of the scores."""
    ood = np.asarray(ood, dtype=np.float64)
    if not len(ood):
        return []
    y, p = np.asarray(list(map(str, y_true)), dtype=object), np.asarray(list(map(str, predicted)), dtype=object)
    gold = np.asarray(oos_gold, bool)
    ins = ~gold
    correct = (y == p) & ins
    curve = []
    for t in np.unique(np.quantile(ood, np.linspace(0.0, 1.0, points))):
        flagged = flag_out_of_scope(ood, float(t), predicted, oos_label)
        curve.append({"threshold": float(t), "in_scope_accuracy": _share((correct & ~flagged)[ins]),
                      "in_scope_kept": _share(~flagged[ins]), "oos_recall": _share(flagged[gold])})
    return curve
