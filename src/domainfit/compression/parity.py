"""The parity gate: a compressed variant against the original on the bundle's own test split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from domainfit.bundle import Bundle
from domainfit.errors import BundleError, CompressionError

__all__ = ["check_gate", "metric_names", "parity", "test_split"]


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


def parity(reference: np.ndarray, variant: np.ndarray, y_true: list[str], labels: list[str], task=None) -> dict:
    """The task's two headline metrics (classification: accuracy and macro-F1; multi-label: micro/macro-F1; regression:
    R² and Spearman) for both, their difference in points, agreement of the decisions, max |Δ score|."""
    from domainfit.tasks import make_task

    task = task or make_task("classification")
    names = list(task.summary_metrics[:2])  # higher is better, by the Task protocol
    ref_m, var_m = task.metrics(y_true, reference, labels), task.metrics(y_true, variant, labels)
    out: dict = {"n": len(y_true), "metrics": names}
    for m in names:
        out.update({m: float(var_m[m]), f"{m}_original": float(ref_m[m]),
                    f"{m}_delta_points": round(100 * float(var_m[m] - ref_m[m]), 3)})
    decided = [(p.get("labels", p.get("label"))) for p in task.format(reference, labels, 1)]
    if decided and decided[0] is not None:  # a regression has no decision to agree on: max |Δ score| says it all
        again = [(p.get("labels", p.get("label"))) for p in task.format(variant, labels, 1)]
        out["agreement"] = float(np.mean([a == b for a, b in zip(decided, again)]))
    out["max_probability_difference"] = float(np.max(np.abs(reference - variant))) if len(reference) else 0.0
    return out


def metric_names(result: dict) -> list[str]:
    return result.get("metrics", ["accuracy", "macro_f1"])


def check_gate(name: str, result: dict, tolerance: float, force: bool) -> bool:
    """True when the variant is within `tolerance` points of the original on both headline metrics (classification:
    accuracy and macro-F1); raises unless `force`."""
    names = metric_names(result)
    drop = max(-result[f"{m}_delta_points"] for m in names)
    if drop <= tolerance:
        return True
    if force:
        return False
    shown = ", ".join(f"{m} {100 * result[m]:.2f} against {100 * result[f'{m}_original']:.2f}" for m in names)
    raise CompressionError(
        f"{name} loses {drop:.2f} points ({shown}) — {drop - tolerance:.2f} points more than the tolerance of "
        f"{tolerance:g}; the variant was not written",
        where=name,
        hint="try a gentler setting (int8 → none, fewer distilled layers removed), raise --tolerance, or --force to keep it anyway",
    )
