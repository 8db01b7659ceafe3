"""Aggregate compare runs into a leaderboard (mean ± std over seeds) and recommend a method for the budget."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

__all__ = ["aggregate", "recommend"]

_NUMERIC = ("accuracy", "macro_f1", "train_seconds", "texts_per_s", "trainable_parameters", "bundle_mb")


def aggregate(runs: list[dict]) -> list[dict]:
    """One row per (method, shots): means, and the std of accuracy/macro-F1 across seeds."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in runs:
        if "error" not in r:
            groups[(r["method"], r["shots"])].append(r)
    rows = []
    for (method, shots), rs in groups.items():
        row: dict = {"method": method, "shots": shots, "seeds": len(rs)}
        for key in _NUMERIC:
            vals = [r[key] for r in rs if r.get(key) is not None]
            row[key] = float(np.mean(vals)) if vals else None
        for key in ("accuracy", "macro_f1"):
            vals = [r[key] for r in rs]
            row[f"{key}_std"] = float(np.std(vals)) if len(vals) > 1 else 0.0
        rows.append(row)
    order = {s: i for i, s in enumerate(dict.fromkeys(r["shots"] for r in runs))}
    return sorted(rows, key=lambda r: (order.get(r["shots"], 0), -(r["accuracy"] or 0)))


def recommend(rows: list[dict], tolerance: float = 0.01) -> dict:
    """At the largest budget: the most accurate method, unless a cheaper one (faster to train) is within
    `tolerance` accuracy — then that one, because it costs less to run and retrain. Says why in a sentence."""
    if not rows:
        return {"method": None, "why": "no successful run"}
    budget = rows[-1]["shots"] if rows[-1]["shots"] == "all" else max(
        (r["shots"] for r in rows), key=lambda s: float("inf") if s == "all" else int(s))
    at = [r for r in rows if r["shots"] == budget]
    best = max(at, key=lambda r: r["accuracy"] or 0)
    near = [r for r in at if (best["accuracy"] or 0) - (r["accuracy"] or 0) <= tolerance]
    cheapest = min(near, key=lambda r: r["train_seconds"] if r["train_seconds"] is not None else float("inf"))
    why = (f"at {budget} examples per class {best['method']} is the most accurate "
           f"({100 * best['accuracy']:.1f}% accuracy, {100 * best['macro_f1']:.1f} macro-F1)")
    if cheapest is not best:
        why += (f"; {cheapest['method']} is within {100 * tolerance:.0f} point ({100 * cheapest['accuracy']:.1f}%) and trains "
                f"{(best['train_seconds'] or 0) / max(cheapest['train_seconds'] or 1e-9, 1e-9):.0f}x faster, so it is recommended")
    curve = sorted((r for r in rows if r["method"] == cheapest["method"] and r["shots"] != "all"), key=lambda r: int(r["shots"]))
    if len(curve) >= 2:
        a, b = curve[-2], curve[-1]
        why += (f". Labelling more pays: {cheapest['method']} goes from {100 * a['accuracy']:.1f}% at {a['shots']} to "
                f"{100 * b['accuracy']:.1f}% at {b['shots']} examples per class")
    return {"method": cheapest["method"], "shots": budget, "accuracy": cheapest["accuracy"], "why": why + "."}
