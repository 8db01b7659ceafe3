"""The probabilities of a classification bundle with each text's out-of-scope score attached (`OodScores`).

Why an ndarray subclass: every consumer of a Predictor's scores (the task's `format` and `metrics`, the server's
batches cut per request, the parity gate, evaluation) takes an (n, labels) array and slices it by rows; carrying the
detector's score on the same object keeps each of them unchanged, and a row slice keeps its rows' scores. Anything
that makes a plain array of it (`np.asarray`, arithmetic reductions) sees just the probabilities.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OodScores", "ood_of"]


class OodScores(np.ndarray):
    """(n, labels) probabilities; `.ood` the (n,) out-of-scope scores (higher = more out of scope)."""

    ood: np.ndarray

    def __new__(cls, probabilities: np.ndarray, ood: np.ndarray) -> OodScores:
        obj = np.asarray(probabilities).view(cls)
        obj.ood = np.asarray(ood, dtype=np.float64).reshape(-1)
        if len(obj.ood) != obj.shape[0]:
            raise ValueError(f"{len(obj.ood)} out-of-scope scores for {obj.shape[0]} rows")
        return obj

    def __array_finalize__(self, obj) -> None:
        if obj is not None:
            self.ood = getattr(obj, "ood", None)

    def __getitem__(self, key):
        out = super().__getitem__(key)
        rows = not isinstance(key, tuple) and (isinstance(key, slice) or (isinstance(key, (list, np.ndarray))
                                                                            and np.asarray(key).ndim == 1))
        if rows and isinstance(out, np.ndarray) and out.ndim == 2 and self.ood is not None:
            return OodScores(np.asarray(out), self.ood[key])
        return np.asarray(out) if isinstance(out, np.ndarray) else out

    def __reduce__(self):  # never pickled by domainfit; a copy (multiprocessing, deepcopy) keeps the scores
        return (OodScores, (np.asarray(self), self.ood))


def ood_of(scores) -> np.ndarray | None:
    """The out-of-scope scores `scores` carries, if any, checked against its rows."""
    ood = getattr(scores, "ood", None)
    if ood is None or len(ood) != len(scores):
        return None
    return ood
