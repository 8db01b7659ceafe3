"""Out-of-scope detectors: one score per text, higher = more out of scope, from a classifier's logits and its pooled
embeddings.

    msp          maximum softmax probability (Hendrycks & Gimpel 2017): the score is 1 - max p
    energy       the energy score (Liu et al. 2020): -logsumexp(logits)
    mahalanobis  Lee et al. 2018, Podolskiy et al. 2021 for transformers: the smallest Mahalanobis distance of the pooled
                 embedding to a class mean, with one covariance shared by the classes (scikit-learn's LedoitWolf
                 estimator on the class-centred embeddings: shrinkage keeps it invertible with few rows per class)
    knn          Sun et al. 2022: the distance to the k-th nearest training embedding, all L2-normalised
                 (scikit-learn's NearestNeighbors)

Each is a registered class with `needs_embeddings`, `fit(logits, embeddings, y)` (the training split's outputs),
`score(logits, embeddings)`, `tensors()` (arrays, stored as safetensors) and `params()` (JSON); `rebuild(tensors,
params)` makes it again from a bundle. Nothing is pickled. The arithmetic is numpy's, scipy's and scikit-learn's; this
module is the glue.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp, softmax

from domainfit.registry import Registry

__all__ = ["Energy", "Knn", "Mahalanobis", "MaxSoftmax", "ood_detectors"]

ood_detectors: Registry = Registry("out-of-scope detector", "domainfit.ood.detectors", listing="detectors")


@ood_detectors.register("msp")
class MaxSoftmax:
    description = "maximum softmax probability (score 1 - max p): the literature's baseline"
    needs_embeddings = False

    def fit(self, logits: np.ndarray, embeddings: np.ndarray | None, y: np.ndarray) -> MaxSoftmax:
        return self

    def score(self, logits: np.ndarray, embeddings: np.ndarray | None) -> np.ndarray:
        return 1.0 - softmax(np.asarray(logits, dtype=np.float64), axis=1).max(axis=1)

    def tensors(self) -> dict[str, np.ndarray]:
        return {}

    def params(self) -> dict:
        return {}

    @classmethod
    def rebuild(cls, tensors: dict[str, np.ndarray], params: dict) -> MaxSoftmax:
        return cls()


@ood_detectors.register("energy")
class Energy(MaxSoftmax):
    description = "energy score -logsumexp(logits) (Liu et al. 2020)"

    def score(self, logits: np.ndarray, embeddings: np.ndarray | None) -> np.ndarray:
        return -logsumexp(np.asarray(logits, dtype=np.float64), axis=1)


@ood_detectors.register("mahalanobis")
class Mahalanobis:
    description = "Mahalanobis distance of the pooled embedding to the nearest class mean, shared covariance (Lee et al. 2018)"
    needs_embeddings = True

    def __init__(self, means: np.ndarray | None = None, precision: np.ndarray | None = None) -> None:
        self.means, self.precision = means, precision

    def fit(self, logits: np.ndarray | None, embeddings: np.ndarray, y: np.ndarray) -> Mahalanobis:
        from sklearn.covariance import LedoitWolf

        x = np.asarray(embeddings, dtype=np.float64)
        classes = np.unique(y)
        self.means = np.stack([x[y == c].mean(axis=0) for c in classes])
        centred = x - self.means[np.searchsorted(classes, y)]
        self.precision = LedoitWolf(assume_centered=True).fit(centred).precision_
        return self

    def score(self, logits: np.ndarray | None, embeddings: np.ndarray) -> np.ndarray:
        x = np.asarray(embeddings, dtype=np.float64)
        xp = x @ self.precision
        mp = self.means @ self.precision
        d = (xp * x).sum(1)[:, None] - 2 * xp @ self.means.T + (mp * self.means).sum(1)[None, :]
        return np.sqrt(np.maximum(d.min(axis=1), 0.0))

    def tensors(self) -> dict[str, np.ndarray]:
        return {"means": self.means.astype(np.float32), "precision": self.precision.astype(np.float32)}

    def params(self) -> dict:
        return {}

    @classmethod
    def rebuild(cls, tensors: dict[str, np.ndarray], params: dict) -> Mahalanobis:
        return cls(tensors["means"].astype(np.float64), tensors["precision"].astype(np.float64))


@ood_detectors.register("knn")
class Knn:
    description = "distance to the k-th nearest training embedding, L2-normalised (Sun et al. 2022)"
    needs_embeddings = True

    def __init__(self, k: int = 10, bank: np.ndarray | None = None) -> None:
        self.k, self.bank, self._index = k, bank, None

    def fit(self, logits: np.ndarray | None, embeddings: np.ndarray, y: np.ndarray) -> Knn:
        self.bank = _unit(embeddings).astype(np.float32)
        self._index = None
        return self

    def score(self, logits: np.ndarray | None, embeddings: np.ndarray) -> np.ndarray:
        if self._index is None:
            from sklearn.neighbors import NearestNeighbors

            self._index = NearestNeighbors(n_neighbors=min(self.k, len(self.bank)), algorithm="brute").fit(self.bank)
        dist, _ = self._index.kneighbors(_unit(embeddings).astype(np.float32))
        return dist[:, -1].astype(np.float64)

    def tensors(self) -> dict[str, np.ndarray]:
        return {"bank": self.bank}

    def params(self) -> dict:
        return {"k": self.k}

    @classmethod
    def rebuild(cls, tensors: dict[str, np.ndarray], params: dict) -> Knn:
        return cls(int(params.get("k", 10)), tensors["bank"])


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def make_detector(name: str, params: dict | None = None):
    """A fresh detector of kind `name` (`params`: e.g. {"k": 10} for knn)."""
    cls = ood_detectors.get(name)
    return cls(int((params or {}).get("k", 10))) if cls is Knn else cls()
