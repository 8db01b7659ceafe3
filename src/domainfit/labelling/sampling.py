"""Which pool rows to label next: uncertainty (least confidence, margin, entropy), diversity (k-means, core-set) and
both (the most uncertain row of each k-means cluster, the default), each a registered strategy.

A strategy is `pick(scores, emb, n, *, labelled_emb, seed) -> list[Pick]`: `scores` each pool row's uncertainty
(higher = less sure; `uncertainty` for classes, `row_uncertainty` for several labels or entity tags), `emb` (pool, d)
L2-normalised embeddings, `labelled_emb` those of the rows already labelled (core-set keeps away from
them). scikit-learn does the clustering (`KMeans`); the scores and the greedy k-center of the core-set
(Sener & Savarese 2018) are written here: a few lines of numpy that no library exposes on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domainfit.registry import Registry

__all__ = ["UNCERTAINTY", "Pick", "label_uncertainty", "near_duplicates", "strategies", "token_uncertainty", "uncertainty"]

strategies: Registry = Registry("sampling strategy", "domainfit.labelling.sampling", listing="strategies")


@dataclass(frozen=True)
class Pick:
    index: int  # position in the pool
    score: float  # the strategy's score (higher = more useful to label)
    reason: str


def _sorted(p: np.ndarray) -> np.ndarray:
    return -np.sort(-p, axis=1)


def least_confidence(probs: np.ndarray) -> np.ndarray:
    return 1.0 - probs.max(axis=1)


def margin(probs: np.ndarray) -> np.ndarray:
    """1 − (top − second): 1 when the two best classes tie."""
    s = _sorted(probs)
    return 1.0 - (s[:, 0] - (s[:, 1] if probs.shape[1] > 1 else 0.0))


def entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy normalised to [0, 1] by log(classes)."""
    p = np.clip(probs, 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1) / np.log(max(probs.shape[1], 2))


UNCERTAINTY = {"least-confidence": least_confidence, "margin": margin, "entropy": entropy}


def uncertainty(probs: np.ndarray, kind: str = "entropy") -> np.ndarray:
    """Each row's uncertainty over its classes (rows sum to 1)."""
    return UNCERTAINTY[kind](np.asarray(probs, dtype=np.float64))


def label_uncertainty(probs: np.ndarray, kind: str = "entropy") -> np.ndarray:
    """Several labels per text (independent probabilities): the least sure of its yes/no decisions."""
    p = np.asarray(probs, dtype=np.float64)
    binary = np.stack([p, 1.0 - p], axis=-1).reshape(-1, 2)
    return UNCERTAINTY[kind](binary).reshape(p.shape).max(axis=1) if p.size else np.zeros(len(p))


def token_uncertainty(word_probs: list[np.ndarray], kind: str = "entropy") -> tuple[np.ndarray, list[int]]:
    """Entity tags: each sentence's least sure word (sentence-level uncertainty = its max over words), and that word."""
    scores, where = [], []
    for p in word_probs:
        kept = p[p.sum(axis=1) > 0] if len(p) else p  # rows of zeros: words the tokenizer dropped
        u = UNCERTAINTY[kind](kept) if len(kept) else np.zeros(1)
        idx = np.flatnonzero(p.sum(axis=1) > 0) if len(p) else np.zeros(1, dtype=int)
        scores.append(float(u.max()))
        where.append(int(idx[int(u.argmax())]) if len(idx) else 0)
    return np.asarray(scores), where


def _uncertain_first(scores, emb, n, *, labelled_emb=None, seed=0, describe=None) -> list[Pick]:
    order = np.argsort(-scores, kind="stable")[:n]
    return [Pick(int(i), float(scores[i]), f"uncertainty {scores[i]:.3f}, rank {r + 1} of {len(scores)}")
            for r, i in enumerate(order)]


strategies.register("uncertainty")(_uncertain_first)


def _clusters(emb: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans

    k = min(n, len(emb))
    # one start, few iterations, and on a big pool random initial centres (k-means++ seeding alone took 20 s on
    # 9,000 texts here): the clusters only spread the picks out, and `label next` must answer in seconds
    km = KMeans(k, n_init=1, max_iter=30, init="k-means++" if len(emb) <= 3000 else "random", random_state=seed)
    assign = km.fit_predict(emb)
    return assign, km.cluster_centers_


def _each_cluster(emb: np.ndarray, n: int, seed: int):
    """(cluster number, clusters, its centre, its members) for each non-empty k-means cluster, k = n."""
    assign, centers = _clusters(emb, n, seed)
    for c in range(len(centers)):
        members = np.flatnonzero(assign == c)
        if len(members):
            yield c, len(centers), centers[c], members


@strategies.register("kmeans")
def kmeans(scores, emb, n, *, labelled_emb=None, seed=0) -> list[Pick]:
    """One row per k-means cluster (k = n): the one nearest its centre; bigger clusters first."""
    picks = []
    for c, k, centre, members in _each_cluster(emb, n, seed):
        i = int(members[np.argmin(np.linalg.norm(emb[members] - centre, axis=1))])
        picks.append(Pick(i, float(len(members)), f"centre of cluster {c + 1} of {k} ({len(members)} texts like it)"))
    return sorted(picks, key=lambda p: -p.score)


@strategies.register("coreset")
def coreset(scores, emb, n, *, labelled_emb=None, seed=0) -> list[Pick]:
    """Greedy k-center: each pick is the pool row farthest (cosine) from every labelled or already picked row."""
    picks = []
    if labelled_emb is not None and len(labelled_emb):
        nearest = np.min(1.0 - emb @ np.asarray(labelled_emb).T, axis=1)
    else:  # nothing labelled yet: start anywhere (seeded), then spread out from there
        first = int(np.random.default_rng(seed).integers(len(emb)))
        picks.append(Pick(first, 1.0, "first pick at random (nothing labelled yet)"))
        nearest = 1.0 - emb @ emb[first]
        nearest[first] = -np.inf
    while len(picks) < min(n, len(emb)):
        i = int(np.argmax(nearest))
        picks.append(Pick(i, float(nearest[i]), f"farthest from everything labelled or picked (cosine distance {nearest[i]:.3f})"))
        nearest = np.minimum(nearest, 1.0 - emb @ emb[i])
        nearest[i] = -np.inf
    return picks


@strategies.register("hybrid")
def hybrid(scores, emb, n, *, labelled_emb=None, seed=0) -> list[Pick]:
    """Uncertainty within diversity: k-means into n clusters, then the most uncertain row of each."""
    picks = []
    for c, k, _, members in _each_cluster(emb, n, seed):
        i = int(members[np.argmax(scores[members])])
        picks.append(Pick(i, float(scores[i]), f"most uncertain of cluster {c + 1} of {k} ({len(members)} texts): "
                                               f"uncertainty {scores[i]:.3f}"))
    return sorted(picks, key=lambda p: -p.score)


@strategies.register("random")
def random_pick(scores, emb, n, *, labelled_emb=None, seed=0) -> list[Pick]:
    order = np.random.default_rng(seed).permutation(len(emb))[:n]
    return [Pick(int(i), 0.0, f"random sample (seed {seed})") for i in order]


def near_duplicates(emb: np.ndarray, labelled_emb: np.ndarray | None, threshold: float) -> np.ndarray:
    """Pool rows whose cosine similarity to some labelled row is at least `threshold` (rows L2-normalised)."""
    if labelled_emb is None or not len(labelled_emb) or not len(emb):
        return np.zeros(len(emb), dtype=bool)
    best = np.full(len(emb), -1.0)
    for start in range(0, len(labelled_emb), 4096):  # blocks: a 100k pool against 100k labelled rows stays in memory
        best = np.maximum(best, (emb @ np.asarray(labelled_emb[start:start + 4096]).T).max(axis=1))
    return best >= threshold
