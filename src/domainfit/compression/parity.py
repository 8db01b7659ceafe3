"""The parity gate: a compressed variant against the original on the bundle's own test split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from domainfit.bundle import Bundle
from domainfit.errors import BundleError, CompressionError

__all__ = ["check_gate", "parity", "test_split"]


def test_split(bundle: Bundle) -> tuple[list[str], list[str]]:
    """(texts, labels) of the test split saved at training time."""
    path = bundle.path / "data" / "test.csv"
    if not path.is_file():
        raise BundleError(f"the bundle has no test split ({path} is missing): compression is checked against it",
                          where=str(bundle.path), hint="retrain with this domainfit version (it saves data/test.csv), "
                          "or train with data.test so the bundle keeps one")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if frame.empty:
        raise BundleError(f"the bundle's test split {path} is empty: nothing to check a compressed variant against",
                          where=str(path), hint="retrain with a test file (data.test) or a test share (data.test_size)")
    return frame["text"].tolist(), frame["label"].tolist()


def parity(reference: np.ndarray, variant: np.ndarray, y_true: list[str], labels: list[str]) -> dict:
    """Accuracy/macro-F1 of both, their difference in points, agreement of the predicted labels, max |Δp|."""
    from sklearn.metrics import accuracy_score, f1_score

    ref_pred = [labels[i] for i in reference.argmax(1)]
    var_pred = [labels[i] for i in variant.argmax(1)]
    acc_ref, acc_var = accuracy_score(y_true, ref_pred), accuracy_score(y_true, var_pred)
    f1_ref = f1_score(y_true, ref_pred, average="macro")
    f1_var = f1_score(y_true, var_pred, average="macro")
    return {
        "n": len(y_true),
        "accuracy": float(acc_var), "accuracy_original": float(acc_ref),
        "accuracy_delta_points": round(100 * float(acc_var - acc_ref), 3),
        "macro_f1": float(f1_var), "macro_f1_original": float(f1_ref),
        "macro_f1_delta_points": round(100 * float(f1_var - f1_ref), 3),
        "agreement": float(np.mean(reference.argmax(1) == variant.argmax(1))),
        "max_probability_difference": float(np.max(np.abs(reference - variant))),
    }


def check_gate(name: str, result: dict, tolerance: float, force: bool) -> bool:
    """True when the variant is within `tolerance` points of accuracy (and of macro-F1); raises unless `force`."""
    drop = max(-result["accuracy_delta_points"], -result["macro_f1_delta_points"])
    if drop <= tolerance:
        return True
    if force:
        return False
    raise CompressionError(
        f"{name} loses {drop:.2f} points (accuracy {100 * result['accuracy']:.2f}% against "
        f"{100 * result['accuracy_original']:.2f}%, macro-F1 {100 * result['macro_f1']:.2f} against "
        f"{100 * result['macro_f1_original']:.2f}) — {drop - tolerance:.2f} points more than the tolerance of {tolerance:g}; "
        "the variant was not written",
        where=name,
        hint="try a gentler setting (int8 → none, fewer distilled layers removed), raise --tolerance, or --force to keep it anyway",
    )
