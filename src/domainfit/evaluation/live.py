"""Statistics of logged predictions in the shape of the bundle's `reference_stats.json`: the shared parts (lengths,
confidence, label shares) and those of single-label tasks; each task's workflow names its own (`Workflow.live_stats`).

The reference was computed on the test split at training time (`domainfit.evaluation.reference` and each task's
`reference_stats`); the same fixed bins are used here, so live and reference compare count for count.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from domainfit.evaluation.reference import LENGTH_EDGES, confidence_histogram

__all__ = ["NO_LABEL", "confidence_stats", "label_shares", "length_stats", "single_label_stats"]

NO_LABEL = "(none)"


def length_stats(rows: pd.DataFrame) -> dict:
    lengths = rows["length"].to_numpy(dtype=np.int64)
    index = np.clip(np.searchsorted(np.asarray(LENGTH_EDGES), lengths, side="right") - 1, 0, len(LENGTH_EDGES) - 2)
    return {"n": len(rows), "length_histogram": {"edges": list(LENGTH_EDGES),
                                                 "counts": np.bincount(index, minlength=len(LENGTH_EDGES) - 1).tolist()},
            "mean_length": float(lengths.mean()) if len(lengths) else None}


def confidence_stats(scores) -> dict:
    scores = np.clip(np.asarray(list(scores), dtype=np.float64), 0.0, 1.0)
    return {"confidence_histogram": confidence_histogram(scores), "mean_confidence": float(scores.mean()) if len(scores) else None}


def label_shares(counter: Counter, total: int) -> dict[str, float]:
    return {label: n / max(1, total) for label, n in sorted(counter.items())}


def single_label_stats(rows: pd.DataFrame, reference: dict) -> dict:
    """Classification and retrieval: one label per text (retrieval's refused queries count under their best answer,
    as the reference counts them; `no_answer_rate` says how many were refused)."""
    labels = [lab if lab is not None else out.get("top", NO_LABEL) for lab, out in zip(rows["label"], rows["output"])]
    stats = {**length_stats(rows), "label_distribution": label_shares(Counter(labels), len(rows)), **confidence_stats(rows["score"])}
    refused = [bool(out.get("no_answer")) for out in rows["output"] if "no_answer" in out]
    if refused:
        stats["no_answer_rate"] = float(np.mean(refused))
    flagged = [bool(out["out_of_scope"]) for out in rows["output"] if "out_of_scope" in out]
    if flagged:  # a classification bundle with an out-of-scope detector: the share of traffic it finds out of scope
        stats["out_of_scope_rate"] = float(np.mean(flagged))
    return stats
