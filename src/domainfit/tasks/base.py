"""The Task protocol: what a task reads, how it encodes targets, its head, loss, decoding and metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
from torch import nn

__all__ = ["Task"]


class Task(Protocol):
    """One file per task registers an instance-able class under `domainfit.registry.tasks`."""

    description: str
    primary_metric: str  # validation metric for early stopping and model choice (higher is better)

    def encode_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> torch.Tensor: ...

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module: ...

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, *, class_weights: torch.Tensor | None, label_smoothing: float) -> torch.Tensor: ...

    def decode(self, logits: torch.Tensor) -> np.ndarray: ...

    def format(self, scores: np.ndarray, label_set: Sequence[str], top_k: int) -> list[dict]: ...

    def prediction_model(self, label_set: Sequence[str]) -> type:
        """The pydantic model of one formatted prediction (the serving API's response schema)."""
        ...

    def metrics(self, y_true: Sequence[str], scores: np.ndarray, label_set: Sequence[str], *, texts: Sequence[str] | None = None) -> dict: ...
