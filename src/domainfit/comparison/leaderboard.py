"""Aggregate compare runs into a leaderboard (mean ± std over seeds) and recommend a method for the budget.

Runs carry the task's two headline metrics by name (classification: accuracy, macro_f1; multilabel: micro_f1,
macro_f1; regression: r2, spearman; retrieval: recall_at_1, mrr_at_10; ner: f1, precision); both are higher-is-better
and on a 0..1 scale, shown in points (x100).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

__all__ = ["aggregate", "recommend"]

DEFAULT_METRICS = ("accuracy", "macro_f1")
_COSTS = ("train_seconds", "texts_per_s", "trainable_parameters", "bundle_mb")


def aggregate(runs: list[dict], metrics: Sequence[str] = DEFAULT_METRICS) -> list[dict]:
    """One row per (method, shots): means, and the std of each metric across seeds; ordered by budget, then by the
    first metric (best first)."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in runs:
        if "error" not in r:
            groups[(r["method"], r["shots"])].append(r)
    rows = []
    for (method, shots), rs in groups.items():
        row: dict = {"method": method, "shots": shots, "seeds": len(rs)}
        for key in (*metrics, *_COSTS):
            vals = [r[key] for r in rs if r.get(key) is not None]
            row[key] = float(np.mean(vals)) if vals else None
        for key in metrics:
            vals = [r[key] for r in rs if r.get(key) is not None]
            row[f"{key}_std"] = float(np.std(vals)) if len(vals) > 1 else 0.0
        rows.append(row)
    order = {s: i for i, s in enumerate(dict.fromkeys(r["shots"] for r in runs))}
    first = metrics[0]
    return sorted(rows, key=lambda r: (order.get(r["shots"], 0), -(r[first] if r[first] is not None else -np.inf)))


def pts(value: float | None) -> str:
    """A 0..1 metric in points."""
    return "—" if value is None else f"{100 * value:.1f}"


def _score(row: dict, metric: str) -> float:
    return row[metric] if row.get(metric) is not None else -np.inf


def recommend(rows: list[dict], metrics: Sequence[str] = DEFAULT_METRICS, *, unit: str = "examples per class",
              tolerance: float = 0.01) -> dict:
    """At the largest budget: the best method by the first metric, unless a cheaper one (faster to train) is within
    `tolerance` of it — then that one, because it costs less to run and retrain. Says why in a sentence."""
    if not rows:
        return {"method": None, "why": "no successful run"}
    first, second = metrics[0], metrics[1] if len(metrics) > 1 else metrics[0]
    budget = rows[-1]["shots"] if rows[-1]["shots"] == "all" else max(
        (r["shots"] for r in rows), key=lambda s: float("inf") if s == "all" else int(s))
    at = [r for r in rows if r["shots"] == budget]
    best = max(at, key=lambda r: _score(r, first))
    near = [r for r in at if _score(best, first) - _score(r, first) <= tolerance]
    cheapest = min(near, key=lambda r: r["train_seconds"] if r["train_seconds"] is not None else float("inf"))
    why = (f"at {budget} {unit} {best['method']} is the best "
           f"({first} {pts(best[first])}, {second} {pts(best.get(second))})")
    if cheapest is not best:
        why += (f"; {cheapest['method']} is within {100 * tolerance:.0f} point ({first} {pts(cheapest[first])}) and trains "
                f"{(best['train_seconds'] or 0) / max(cheapest['train_seconds'] or 1e-9, 1e-9):.0f}x faster, so it is recommended")
    curve = sorted((r for r in rows if r["method"] == cheapest["method"] and r["shots"] != "all"), key=lambda r: int(r["shots"]))
    if len(curve) >= 2:
        a, b = curve[-2], curve[-1]
        why += (f". Labelling more pays: {cheapest['method']} goes from {first} {pts(a[first])} at {a['shots']} to "
                f"{pts(b[first])} at {b['shots']} {unit}")
    return {"method": cheapest["method"], "shots": budget, "metric": first, "score": cheapest[first],
            first: cheapest[first], "why": why + "."}
