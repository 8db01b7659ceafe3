"""Ranking metrics over the full catalogue (never sampled negatives): Recall@10/@20, nDCG@10, MRR, overall and on the
cases whose target is a cold item; coverage and popularity bias of the top-10 lists. Written by hand: each is a
line of numpy over the rank of the one true item (no library computes them from a full score matrix without
materialising every ranking)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["exclude", "ranking_metrics", "target_ranks"]

K_LIST = (10, 20)


def exclude(scores: np.ndarray, seen: Sequence[Sequence[int]], keep: Sequence[int] | None = None) -> np.ndarray:
    """The scores with each user's already-seen items set to -inf (but the target, `keep`, if it was seen)."""
    out = np.array(scores, dtype=np.float32, copy=True)
    for i, rows in enumerate(seen):
        if rows:
            out[i, list(rows)] = -np.inf
            if keep is not None and keep[i] in rows:
                out[i, keep[i]] = scores[i, keep[i]]
    return out


def target_ranks(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """1-based rank of each row's true column (ties counted against it: a constant score gives the worst rank)."""
    own = scores[np.arange(len(truth)), truth][:, None]
    return (scores >= own).sum(1)


def _block(ranks: np.ndarray) -> dict:
    if not len(ranks):
        return {f"recall_at_{k}": None for k in K_LIST} | {"ndcg_at_10": None, "mrr": None, "n": 0}
    out = {f"recall_at_{k}": float((ranks <= k).mean()) for k in K_LIST}
    out["ndcg_at_10"] = float(np.where(ranks <= 10, 1.0 / np.log2(ranks + 1), 0.0).mean())
    out["mrr"] = float((1.0 / ranks).mean())
    out["n"] = len(ranks)
    return out


def ranking_metrics(scores: np.ndarray, truth: Sequence[int], *, cold: Sequence[bool] | None = None,
                    popularity: np.ndarray | None = None, k: int = 10) -> dict:
    """The headline metrics of a (cases, items) score matrix against the true item of each case (its column);
    `cold`: which cases' targets are cold items; `popularity`: training counts per item (for the bias)."""
    scores = np.asarray(scores, dtype=np.float32)
    truth = np.asarray(truth, dtype=np.int64)
    ranks = target_ranks(scores, truth) if len(truth) else np.zeros(0, dtype=np.int64)
    out = _block(ranks)
    if cold is not None:
        cold = np.asarray(cold, dtype=bool)
        out["cold"] = _block(ranks[cold]) if cold.any() else _block(np.zeros(0))
        out["warm"] = _block(ranks[~cold]) if (~cold).any() else _block(np.zeros(0))
        for key in ("recall_at_10", "ndcg_at_10", "mrr"):
            out[f"cold_{key}"] = out["cold"][key]
    if len(truth) and scores.shape[1]:
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        out["coverage_at_10"] = float(len(np.unique(top)) / scores.shape[1])
        if popularity is not None and popularity.sum() > 0:
            share = popularity / popularity.sum()
            # popularity bias: the mean training share of the recommended items over the catalogue's mean share (1/n)
            out["popularity_bias"] = float(share[top].mean() * len(share))
    return out
