"""Statistics of logged predictions in the shape of the bundle's `reference_stats.json`, task by task.

The reference was computed on the test split at training time (`domainfit.evaluation.reference` and each task's
`reference_stats`); the same fixed bins are used here, so live and reference compare count for count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd

from domainfit.evaluation.reference import LENGTH_EDGES, confidence_histogram

__all__ = ["LIVE_STATS", "live_stats"]

NO_LABEL = "(none)"


def _lengths(rows: pd.DataFrame) -> dict:
    lengths = rows["length"].to_numpy(dtype=np.int64)
    index = np.clip(np.searchsorted(np.asarray(LENGTH_EDGES), lengths, side="right") - 1, 0, len(LENGTH_EDGES) - 2)
    return {"n": len(rows), "length_histogram": {"edges": list(LENGTH_EDGES),
                                                 "counts": np.bincount(index, minlength=len(LENGTH_EDGES) - 1).tolist()},
            "mean_length": float(lengths.mean()) if len(lengths) else None}


def _confidence(scores) -> dict:
    scores = np.clip(np.asarray(list(scores), dtype=np.float64), 0.0, 1.0)
    return {"confidence_histogram": confidence_histogram(scores), "mean_confidence": float(scores.mean()) if len(scores) else None}


def _shares(counter: Counter, total: int) -> dict[str, float]:
    return {label: n / max(1, total) for label, n in sorted(counter.items())}


def _single(rows: pd.DataFrame, reference: dict) -> dict:
    """Classification and retrieval: one label per text (retrieval's refused queries count under their best answer,
    as the reference counts them; `no_answer_rate` says how many were refused)."""
    labels = [lab if lab is not None else out.get("top", NO_LABEL) for lab, out in zip(rows["label"], rows["output"])]
    stats = {**_lengths(rows), "label_distribution": _shares(Counter(labels), len(rows)), **_confidence(rows["score"])}
    refused = [bool(out.get("no_answer")) for out in rows["output"] if "no_answer" in out]
    if refused:
        stats["no_answer_rate"] = float(np.mean(refused))
    return stats


def _multi(rows: pd.DataFrame, reference: dict) -> dict:
    chosen = [out.get("labels") or [] for out in rows["output"]]
    counter = Counter(label for labels in chosen for label in labels)
    return {**_lengths(rows), "label_distribution": _shares(counter, len(rows)),
            "mean_labels_per_text": float(np.mean([len(c) for c in chosen])) if chosen else None, **_confidence(rows["score"])}


def _values(rows: pd.DataFrame, reference: dict) -> dict:
    """Regression: the predicted values binned on the reference's own edges (values outside go to the end bins)."""
    values = rows["score"].to_numpy(dtype=np.float64)
    edges = (reference.get("value_histogram") or {}).get("edges") or np.linspace(values.min(), values.max() + 1e-9, 21).tolist()
    index = np.clip(np.searchsorted(np.asarray(edges), values, side="right") - 1, 0, len(edges) - 2)
    return {**_lengths(rows), "value_histogram": {"edges": list(edges), "counts": np.bincount(index, minlength=len(edges) - 1).tolist()},
            "mean_value": float(values.mean()) if len(values) else None, "std_value": float(values.std()) if len(values) else None}


def _entities(rows: pd.DataFrame, reference: dict) -> dict:
    entities = [e for out in rows["output"] for e in out.get("entities") or []]
    return {**_lengths(rows), "mean_entities_per_text": len(entities) / max(1, len(rows)),
            "label_distribution": _shares(Counter(e["label"] for e in entities), len(entities)),
            **_confidence(e["score"] for e in entities)}


LIVE_STATS: dict[str, Callable[[pd.DataFrame, dict], dict]] = {
    "classification": _single,
    "retrieval": _single,
    "multilabel": _multi,
    "regression": _values,
    "ner": _entities,
}
"""Task name -> statistics of its logged predictions. A new task adds its entry (and its `reference_stats`)."""


def live_stats(task: str, rows: pd.DataFrame, reference: dict) -> dict:
    """The statistics of logged predictions (`PredictionLog.predictions()`), keyed as `reference`."""
    if task not in LIVE_STATS:
        raise KeyError(f"no live statistics for task {task!r}; known: {', '.join(LIVE_STATS)}")
    return LIVE_STATS[task](rows, reference)
