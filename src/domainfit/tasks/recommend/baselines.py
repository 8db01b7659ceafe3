"""The recommend baselines, registered in `domainfit.registry.baselines` and scored on the same test cases as the
model: each returns a (cases, items) score matrix over the full catalogue.

- `popular`: the items most interacted with in training (the same list for everyone).
- `itemknn`: item co-occurrence (items interacted with by the same users), cosine-normalised, summed over the
  history (scipy sparse products).
- `als`: ID-based matrix factorisation, `implicit`'s AlternatingLeastSquares; a case's user factors are solved from its
  history (`recalculate_user`), so a user or history unseen in training is scored too.
- `backbone`: the untouched backbone's text embeddings, the history pooled with the same recency weights.
- `bm25`: BM25 (`bm25s`) of every item's text against the text of the last N history items.

An ID-based baseline cannot score an item without training interactions (a cold item) above zero: that is the point
of the cold-start comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from domainfit.evaluation.baselines import bm25_scores
from domainfit.registry import baselines

__all__ = ["ALSBaseline", "BM25Baseline", "BackboneBaseline", "ItemKNNBaseline", "PopularBaseline", "RecSplit",
           "user_item_matrix"]


@dataclass
class RecSplit:
    """What a baseline sees: the catalogue (ids, texts), training interactions, and the cases (history rows)."""

    ids: list[str]
    texts: list[str]
    train: pd.DataFrame  # user, item, weight
    histories: list[list[int]]  # per case: catalogue rows, oldest first
    history_length: int
    decay: float


def user_item_matrix(train: pd.DataFrame, ids: list[str]) -> tuple[sp.csr_matrix, list[str]]:
    row = {item: i for i, item in enumerate(ids)}
    users = sorted(train["user"].unique())
    urow = {u: i for i, u in enumerate(users)}
    kept = train[train["item"].isin(row)]
    m = sp.csr_matrix((np.ones(len(kept), dtype=np.float32), (kept["user"].map(urow), kept["item"].map(row))),
                      shape=(len(users), len(ids)))
    m.data[:] = 1.0  # repeated interactions count once
    return m, users


def _history_matrix(histories: list[list[int]], n_items: int, n: int, decay: float | None = None) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for i, h in enumerate(histories):
        h = h[-n:]
        for age, j in enumerate(reversed(h)):
            rows.append(i)
            cols.append(j)
            vals.append(1.0 if decay is None else decay ** age)
    m = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(histories), n_items))
    m.sum_duplicates()
    return m


@baselines.register("popular")
class PopularBaseline:
    description = "most popular: the items with the most training interactions, the same list for every user"
    tasks = frozenset({"recommend"})
    needs_encoder = False
    needs_training_data = True

    def score(self, split: RecSplit, *, encoder=None, seed: int = 0) -> np.ndarray:
        counts = pd.Series(split.train["item"]).value_counts()
        pop = np.array([counts.get(i, 0) for i in split.ids], dtype=np.float32)
        return np.tile(pop, (len(split.histories), 1))


@baselines.register("itemknn")
class ItemKNNBaseline:
    description = "item-kNN: cosine of item co-occurrence (same users), summed over the history with recency weights"
    tasks = frozenset({"recommend"})
    needs_encoder = False
    needs_training_data = True

    def score(self, split: RecSplit, *, encoder=None, seed: int = 0) -> np.ndarray:
        m, _ = user_item_matrix(split.train, split.ids)
        co = (m.T @ m).tocsr().astype(np.float32)
        co.setdiag(0)
        norm = np.sqrt(np.asarray(m.sum(0)).ravel()) + 1e-9
        co = sp.diags(1 / norm) @ co @ sp.diags(1 / norm)
        h = _history_matrix(split.histories, len(split.ids), split.history_length, split.decay)
        pop = np.asarray(m.sum(0)).ravel().astype(np.float32)
        return np.asarray((h @ co).todense(), dtype=np.float32) + 1e-6 * pop / max(pop.max(), 1)  # ties: popularity


@baselines.register("als")
class ALSBaseline:
    description = "ID-based matrix factorisation: implicit's AlternatingLeastSquares (64 factors), user factors from the history"
    tasks = frozenset({"recommend"})
    needs_encoder = False
    needs_training_data = True

    def score(self, split: RecSplit, *, encoder=None, seed: int = 0) -> np.ndarray:
        from implicit.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        m, _ = user_item_matrix(split.train, split.ids)
        with threadpool_limits(1, "blas"):  # implicit's advice: its own threads, BLAS single-threaded
            model = AlternatingLeastSquares(factors=64, regularization=0.05, alpha=10.0, iterations=15,
                                            random_state=seed, use_gpu=False)
            model.fit(m, show_progress=False)
            h = _history_matrix(split.histories, len(split.ids), 10**6)
            users = model.recalculate_user(np.arange(h.shape[0]), h)
        return np.asarray(users @ np.asarray(model.item_factors).T, dtype=np.float32)


@baselines.register("backbone_text")
class BackboneBaseline:
    description = "the untouched backbone: item text embeddings, the history pooled with recency weights (no training)"
    tasks = frozenset({"recommend"})
    needs_encoder = True
    needs_training_data = False

    def score(self, split: RecSplit, *, encoder=None, seed: int = 0) -> np.ndarray:
        if encoder is None:
            raise ValueError("the backbone_text baseline needs an encoder")
        vectors = encoder.embed(split.texts)
        h = _history_matrix(split.histories, len(split.ids), split.history_length, split.decay)
        users = np.asarray(h @ vectors, dtype=np.float32)
        users /= np.linalg.norm(users, axis=1, keepdims=True) + 1e-9
        return users @ vectors.T


@baselines.register("bm25_history")
class BM25Baseline:
    description = "BM25 (bm25s) of every item's text against the text of the user's last items"
    tasks = frozenset({"recommend"})
    needs_encoder = False
    needs_training_data = False

    def score(self, split: RecSplit, *, encoder=None, seed: int = 0) -> np.ndarray:
        queries = [" ".join(split.texts[j] for j in h[-split.history_length:]) for h in split.histories]
        return bm25_scores(split.texts, queries)
