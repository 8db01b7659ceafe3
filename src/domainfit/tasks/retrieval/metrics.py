"""Ranking metrics of a retrieval model and the calibration of its "no good answer" threshold (pure functions).

Scores are (queries, answers) similarities (cosine for the bi-encoder, BM25 for that baseline). A query's truth is
the id of its answer, or the task's no-answer marker for a query the bank cannot answer (out of scope).

The no-answer decision: answer when the top score reaches the threshold. It is *right* when the model answers a
query whose top-1 answer is correct, or abstains on one whose top-1 is wrong or that has no answer; the threshold
chosen on validation is the one that makes the most of these decisions right (ties: the lowest, so that the model
abstains as little as the data allows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["RANKS", "calibrate_threshold", "retrieval_metrics", "true_ranks"]

RANKS = (1, 2, 3, 5, 10, 20)  # the recall curve of the report


def true_ranks(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """1-based rank of the true answer of each row (ties count against it); 0 for rows without one (truth < 0)."""
    scores = np.asarray(scores, dtype=np.float64)
    rows = np.arange(len(truth))
    true_score = scores[rows, np.maximum(truth, 0)]
    ranks = 1 + (scores > true_score[:, None]).sum(1) if scores.size else np.zeros(len(truth), dtype=np.int64)
    return np.where(truth >= 0, ranks, 0)


def calibrate_threshold(top_scores: np.ndarray, should_answer: np.ndarray) -> tuple[float | None, float | None]:
    """(threshold, accuracy of the decision on these rows): answer when top score >= threshold, chosen to get the
    most decisions right (see the module docstring). (None, None) without rows. A threshold below every score means
    "always answer"; it is then the lowest score seen minus a margin of half the score spread, so a query scoring far
    below anything seen in validation is still refused."""
    top = np.asarray(top_scores, dtype=np.float64)
    good = np.asarray(should_answer, dtype=bool)
    n = len(top)
    if n == 0:
        return None, None
    order = np.argsort(-top, kind="stable")
    top, good = top[order], good[order]
    # answering the first j rows (j = 0..n): right = answered good ones + refused bad ones
    answered_good = np.concatenate([[0], np.cumsum(good)])
    refused_bad = (~good).sum() - np.concatenate([[0], np.cumsum(~good)])
    right = answered_good + refused_bad
    can_cut = np.concatenate([[True], top[1:] < top[:-1], [True]])  # only between two different scores
    right = np.where(can_cut, right, -1)
    j = int(np.flatnonzero(right == right.max())[-1])  # the most answers among the best cuts
    spread = float(top[0] - top[-1]) or 1.0
    if j == 0:
        threshold = float(top[0]) + 1e-6
    elif j == n:
        threshold = float(top[-1]) - spread / 2
    else:
        threshold = float(top[j - 1] + top[j]) / 2
    return threshold, float(right[j] / n)


def retrieval_metrics(y_true: Sequence[str], scores: np.ndarray, label_set: Sequence[str], *, threshold: float | None,
                      no_answer: str, texts: Sequence[str] | None = None, n_misses: int = 20) -> dict:
    """recall@1/5/10, MRR@10 (queries with an answer), the no-answer decision's accuracy (every query), the recall
    curve, the decision's details and the worst misses (true answer ranked lowest)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = list(label_set)
    if scores.shape != (len(y_true), len(labels)):
        raise ValueError(f"scores must have shape (queries, answers) = ({len(y_true)}, {len(labels)}), got {scores.shape}")
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({y for y in y_true if y != no_answer and y not in index})
    if unknown:
        raise ValueError(f"answer id(s) not in the answer bank: {', '.join(map(repr, unknown[:10]))}")
    truth = np.array([index.get(y, -1) for y in y_true], dtype=np.int64)
    in_scope = truth >= 0
    ranks = true_ranks(scores, truth)
    r = ranks[in_scope]
    out: dict = {"n": len(truth), "n_with_answer": int(in_scope.sum()), "n_out_of_scope": int((~in_scope).sum()),
                 "answers": len(labels)}

    def share(mask: np.ndarray) -> float | None:
        return float(mask.mean()) if len(mask) else None

    for k in (1, 5, 10):
        out[f"recall_at_{k}"] = share(r <= k)
    out["mrr_at_10"] = float(np.where(r <= 10, 1.0 / np.maximum(r, 1), 0.0).mean()) if len(r) else None
    out["recall_curve"] = [{"k": k, "recall": share(r <= k)} for k in RANKS if k <= max(len(labels), 1)]

    top = scores.max(1) if len(labels) else np.zeros(len(truth))
    best = scores.argmax(1) if len(labels) else np.zeros(len(truth), dtype=np.int64)
    answered = top >= threshold if threshold is not None else np.ones(len(truth), dtype=bool)
    should = in_scope & (ranks == 1)
    out["no_answer_accuracy"] = share(answered == should)
    out["no_answer"] = {
        "threshold": threshold,
        "answered": share(answered),
        "answered_correct": float(should[answered].mean()) if answered.any() else None,
        "refused_out_of_scope": share(~answered[~in_scope]),
        "refused_with_answer": share(~answered[in_scope]),
    }
    if texts is not None:
        missed = np.flatnonzero(in_scope & (ranks > 1))
        missed = missed[np.argsort(-ranks[missed], kind="stable")][:n_misses]
        out["misses"] = [{"text": str(texts[i]), "answer": labels[truth[i]], "rank": int(ranks[i]),
                          "predicted": labels[best[i]], "score": float(top[i]), "answer_score": float(scores[i, truth[i]])}
                         for i in missed]
    return out
