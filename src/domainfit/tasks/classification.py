"""Single-label text classification (binary and multi-class): linear head, softmax, cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from domainfit.registry import tasks

__all__ = ["ClassificationTask", "class_weight_vector"]


@tasks.register("classification")
class ClassificationTask:
    description = "one label per text (binary or multi-class): softmax head, cross-entropy, accuracy/F1/calibration"
    primary_metric = "macro_f1"

    def encode_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> torch.Tensor:
        index = {label: i for i, label in enumerate(label_set)}
        return torch.tensor([index[str(label)] for label in labels], dtype=torch.long)

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module:
        return nn.Linear(hidden_size, len(label_set))

    def loss(self, logits, targets, *, class_weights=None, label_smoothing=0.0):
        return nn.functional.cross_entropy(logits.float(), targets, weight=class_weights, label_smoothing=label_smoothing)

    def decode(self, logits: torch.Tensor) -> np.ndarray:
        return torch.softmax(logits.float(), dim=-1).numpy()

    def format(self, scores: np.ndarray, label_set: Sequence[str], top_k: int = 1) -> list[dict]:
        k = max(1, min(top_k, len(label_set)))
        order = np.argsort(-scores, axis=1)[:, :k]
        out = []
        for row, idx in zip(scores, order):
            ranked = [{"label": label_set[j], "score": float(row[j])} for j in idx]
            out.append({"label": ranked[0]["label"], "score": ranked[0]["score"], "top_k": ranked})
        return out

    def prediction_model(self, label_set: Sequence[str]) -> type:
        from typing import Literal

        from pydantic import BaseModel, Field, create_model

        label_type = Literal[tuple(label_set)] if label_set else str
        scored = create_model("ScoredLabel", label=(label_type, ...), score=(float, Field(ge=0.0, le=1.0)))
        example = {"label": label_set[0], "score": 0.97, "top_k": [{"label": label_set[0], "score": 0.97}]} if label_set else None
        return create_model("ClassificationPrediction", __base__=BaseModel,
                            label=(label_type, Field(..., description="the most probable label")),
                            score=(float, Field(..., ge=0.0, le=1.0, description="its probability")),
                            top_k=(list[scored], Field(..., description="the top_k labels, most probable first",
                                                       examples=[example["top_k"]] if example else None)))

    def metrics(self, y_true, scores, label_set, *, texts=None) -> dict:
        from domainfit.evaluation import classification_metrics

        return classification_metrics(y_true, scores, label_set, texts=texts)


def class_weight_vector(labels: Sequence[str], label_set: Sequence[str], mode: str) -> torch.Tensor | None:
    """Loss weights against imbalance: 'balanced' = n / (k * count) as in scikit-learn, 'sqrt' its square root."""
    if mode == "none":
        return None
    counts = np.array([max(1, sum(1 for y in labels if y == c)) for c in label_set], dtype=np.float64)
    w = len(labels) / (len(label_set) * counts)
    if mode == "sqrt":
        w = np.sqrt(w)
    return torch.tensor(w, dtype=torch.float32)
