"""The two towers: the item tower is the text encoder (an item is its text's unit embedding); the user tower pools the
embeddings of the user's last N items — with fixed recency weights, or a small attention layer — into one unit vector.
A user's scores are one matrix product with the item index.

Written by hand (a few lines each, no library has them for a shared loop that batches one text per row): the
poolers, and the in-batch ranking loss over users and items (sentence-transformers' multiple-negatives ranking loss,
the user vector as the query): the batch's target items are the negatives, a row whose target another row shares is
not its negative, and `extra_negatives` sampled catalogue items (by popularity) are added to every row's negatives.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["AttentionPooler", "RecencyPooler", "TwoTower", "make_pooler", "pool_numpy", "two_tower_loss"]


class RecencyPooler(nn.Module):
    """u = normalise(sum_i decay^age_i e_i): the newest item weighs 1, each older one `decay` times less. No weights."""

    def __init__(self, hidden: int, n: int, decay: float) -> None:
        super().__init__()
        self.n, self.decay = n, float(decay)

    def weights(self, vecs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = vecs.shape[1]  # histories are right-aligned: the last column is the newest item
        age = torch.arange(n - 1, -1, -1, device=vecs.device, dtype=vecs.dtype)
        return (self.decay ** age).unsqueeze(0) * mask

    def forward(self, vecs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        w = self.weights(vecs, mask)
        return nn.functional.normalize((w.unsqueeze(-1) * vecs).sum(1), dim=-1)


class AttentionPooler(nn.Module):
    """A learned query and a learned bias per position (newest = last): softmax weights over the history items,
    starting from the recency weights (the bias is initialised to age x log(decay))."""

    def __init__(self, hidden: int, n: int, decay: float) -> None:
        super().__init__()
        self.n = n
        self.query = nn.Parameter(torch.zeros(hidden))
        age = torch.arange(n - 1, -1, -1, dtype=torch.float32)
        self.position = nn.Parameter(age * float(np.log(max(decay, 1e-3))))

    def weights(self, vecs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = vecs.shape[1]
        logits = vecs @ self.query + self.position[-n:].to(vecs.dtype)
        logits = logits.masked_fill(mask <= 0, -1e4)
        return torch.softmax(logits, dim=1) * mask

    def forward(self, vecs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        w = self.weights(vecs, mask)
        return nn.functional.normalize((w.unsqueeze(-1) * vecs).sum(1), dim=-1)


POOLERS = {"recency": RecencyPooler, "attention": AttentionPooler}


def make_pooler(kind: str, hidden: int, n: int, decay: float) -> nn.Module:
    return POOLERS[kind](hidden, n, decay)


class TwoTower(nn.Module):
    """The model the loop trains: `encoder` (the item tower, adapted by the method) and `head` (the user tower's
    pooler; named head so the methods' learning-rate rules give it the new-layer rate). Its forward embeds item texts."""

    def __init__(self, encoder: nn.Module, pooler: nn.Module, *, pooling: str) -> None:
        super().__init__()
        self.encoder, self.head, self.pooling = encoder, pooler, pooling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        from domainfit.backbones.encoder import pool

        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return pool(hidden, attention_mask, self.pooling, True)

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def two_tower_loss(users: torch.Tensor, items: torch.Tensor, targets: torch.Tensor, scale: float,
                   extra: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of scale x cosine(user_i, item_j) over the batch's targets (+ `extra` sampled items); row i's
    positive is column i; a column holding the same item as row i's target is masked (not a false negative)."""
    logits = scale * users.float() @ items.float().T
    same = (targets.unsqueeze(0) == targets.unsqueeze(1)) & ~torch.eye(len(targets), dtype=torch.bool, device=targets.device)
    logits = logits.masked_fill(same, -1e4)
    if extra is not None and len(extra):
        logits = torch.cat([logits, scale * users.float() @ extra.float().T], dim=1)
    return nn.functional.cross_entropy(logits, torch.arange(len(targets), device=logits.device))


def pool_numpy(pooler: nn.Module, vectors: np.ndarray, histories: list[list[int]], n: int) -> np.ndarray:
    """(users, d) unit user vectors from the item vectors of each history (its last n rows of `vectors`);
    a user without history gets a zero vector."""
    d = vectors.shape[1]
    batch = np.zeros((len(histories), n, d), dtype=np.float32)
    mask = np.zeros((len(histories), n), dtype=np.float32)
    for i, rows in enumerate(histories):
        rows = rows[-n:]
        if rows:
            batch[i, n - len(rows):] = vectors[rows]
            mask[i, n - len(rows):] = 1.0
    with torch.no_grad():
        out = pooler(torch.from_numpy(batch), torch.from_numpy(mask)).numpy()
    out[mask.sum(1) == 0] = 0.0
    return out
