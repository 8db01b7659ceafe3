"""The parity gate: a compressed variant against the original on the bundle's own test split, for any task: the
task's two headline metrics, the agreement of the decisions and the largest score difference.

`score_split` and `headline_metrics` are the one way a variant's quality is measured: the gate (`domainfit compress`)
and `domainfit bench` both read their numbers from them, so the two commands agree to the last digit. Why the batch
plan is fixed: an int8 variant quantizes its activations per batch (dynamic quantization scales each batch by its own
range), so its scores, and now and then a decision, change with the texts it shares a batch with; scored at batch 64
by one command and at batch 32 by the other, one variant got two accuracies."""

from __future__ import annotations

from typing import Any

import numpy as np

from domainfit.bundle import Bundle
from domainfit.errors import CompressionError
from domainfit.i18n import _
from domainfit.interfaces import GateSplit, make_task, workflow_for

__all__ = ["SCORING_BATCH_SIZE", "GateSplit", "batch_agreement", "check_gate", "headline_metrics", "metric_names", "parity", "score_split",
           "test_split"]

SCORING_BATCH_SIZE = 32  # the test split is scored in length-sorted batches of this size, whatever runs it


def test_split(bundle: Bundle) -> GateSplit:
    """The test split saved at training time, as the bundle's task reads it (`Workflow.test_split`)."""
    return workflow_for(bundle.task).test_split(bundle)


def score_split(split: GateSplit, predictor: Any, batch_size: int = SCORING_BATCH_SIZE) -> Any:
    """The predictor's scores of the whole split in the one batch plan every measurement uses: length-sorted batches of
    `batch_size` (`SCORING_BATCH_SIZE`; 1 for `batch_agreement`), the predictor's own batch size and any measured call
    overhead set aside meanwhile."""
    runner = getattr(predictor, "runner", None)
    own, overhead = predictor.batch_size, getattr(runner, "call_overhead", None)
    predictor.batch_size = batch_size
    if runner is not None:
        runner.call_overhead = None  # plain runs of batch_size, not a plan cut by a timing
    try:
        return split.score(predictor)
    finally:
        predictor.batch_size = own
        if runner is not None:
            runner.call_overhead = overhead


def headline_metrics(task: Any, y_true: list, scores: Any, labels: list[str]) -> dict[str, float]:
    """The task's two headline metrics (its first two `summary_metrics`; `bench` shows the first) of `scores`
    (`score_split`) against the split's gold answers: what the gate and `domainfit bench` both report."""
    values = task.metrics(y_true, scores, labels)
    return {m: float(values[m]) for m in task.summary_metrics[:2]}


def decision(prediction: Any) -> Any:
    """What a formatted prediction decides, without its scores (every float left out): the label(s), the entities'
    spans and types, the answer id; an empty dict for a regression (a score is all it says)."""
    if isinstance(prediction, dict):
        return {k: decision(v) for k, v in prediction.items() if not isinstance(v, float)}
    if isinstance(prediction, list):
        return [decision(v) for v in prediction if not isinstance(v, float)]
    return prediction


def _flat(scores: Any) -> np.ndarray:
    """All the scores as one vector: an (n, labels) array, or the per-word scores of each text (`WordScores`)."""
    arrays = [np.ravel(getattr(s, "scores", s)) for s in scores]
    return np.concatenate(arrays).astype(np.float64) if arrays else np.zeros(0)


def parity(reference: Any, variant: Any, y_true: list, labels: list[str], task=None) -> dict:
    """The task's two headline metrics (classification: accuracy and macro-F1; multi-label: micro/macro-F1; regression:
    R² and Spearman; NER: strict entity F1 and precision; retrieval: recall@1 and MRR@10) for both, their difference in
    points, agreement (the share of test texts whose decision — label(s), entity set, answer — is identical; none for a
    regression) and max |Δ score| (probabilities; a regression's values; NER: each word's label probabilities)."""

    task = task or make_task("classification")
    names = list(task.summary_metrics[:2])  # higher is better, by the Task protocol
    ref_m, var_m = headline_metrics(task, y_true, reference, labels), headline_metrics(task, y_true, variant, labels)
    out: dict = {"n": len(y_true), "metrics": names}
    for m in names:
        out.update({m: float(var_m[m]), f"{m}_original": float(ref_m[m]),
                    f"{m}_delta_points": round(100 * float(var_m[m] - ref_m[m]), 3)})
    decided = [decision(p) for p in task.format(reference, labels, 1)]
    if any(decided):  # a regression has no decision to agree on: max |Δ score| says it all
        again = [decision(p) for p in task.format(variant, labels, 1)]
        out["agreement"] = float(np.mean([a == b for a, b in zip(decided, again)]))
    ref, var = _flat(reference), _flat(variant)
    out["max_probability_difference"] = float(np.max(np.abs(ref - var))) if len(ref) else 0.0
    return out


def batch_agreement(split: GateSplit, predictor: Any, batched: Any, labels: list[str], task) -> float | None:
    """The share of test texts whose decision is the same scored alone (batch 1) as in the gate's batch plan
    (`batched`): 1.0 for a variant whose result does not depend on its batch; below it for dynamic int8, which scales
    each batch's activations by that batch's range. None for a regression (no decision)."""
    decided = [decision(p) for p in task.format(batched, labels, 1)]
    if not any(decided):
        return None
    alone = [decision(p) for p in task.format(score_split(split, predictor, batch_size=1), labels, 1)]
    return float(np.mean([a == b for a, b in zip(decided, alone)]))


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
    shown = ", ".join(_("{metric} {value} against {original}").format(
        metric=m, value=f"{100 * result[m]:.2f}", original=f"{100 * result[f'{m}_original']:.2f}") for m in names)
    raise CompressionError(
        _("{name} loses {drop} points ({shown}) — {excess} points more than the tolerance of "
          "{tolerance}; the variant was not written").format(
            name=name, drop=f"{drop:.2f}", shown=shown, excess=f"{drop - tolerance:.2f}", tolerance=f"{tolerance:g}"),
        where=name,
        hint=_("try a gentler setting (int8 → none, fewer distilled layers removed), raise --tolerance, or --force to "
               "keep it anyway"),
    )
