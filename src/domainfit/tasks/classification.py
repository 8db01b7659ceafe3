"""Single-label text classification (binary and multi-class): linear head, softmax, cross-entropy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from domainfit.data.checks import CheckContext, Issue, report_check
from domainfit.data.sampling import sample_per_class
from domainfit.evaluation import classification_metrics, reference_stats
from domainfit.evaluation.live import single_label_stats
from domainfit.interfaces import Budget, NoOptions
from domainfit.registry import tasks
from domainfit.tasks import examples
from domainfit.tasks.table import TableWorkflow

__all__ = ["ClassificationTask", "class_weight_vector"]


@tasks.register("classification")
class ClassificationTask:
    name = "classification"
    description = "one label per text (binary or multi-class): softmax head, cross-entropy, accuracy/F1/calibration"
    primary_metric = "macro_f1"
    summary_metrics = ("accuracy", "macro_f1", "micro_f1", "weighted_f1")
    default_baselines = ("zeroshot", "tfidf")
    tunes_on_validation = False
    Options = NoOptions
    kind = "table"
    targets = "label"
    data_suffixes: tuple[str, ...] = ()
    workflow = TableWorkflow(budget=Budget("examples per class", lambda rows, k, seed, task: sample_per_class(rows, k, seed)),
                             live_stats=single_label_stats)
    example = staticmethod(examples.single_label_example)

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None:
        self.options = NoOptions.model_validate(options or {})

    # ---- data
    def parse_target(self, value: str) -> str:
        label = str(value).strip()
        if not label:
            raise ValueError("missing_label")
        return label

    def label_set(self, labels: Iterable[str]) -> list[str]:
        return sorted(set(map(str, labels)))

    def strata(self, labels: pd.Series) -> pd.Series:
        return labels

    def target_summary(self, labels: Sequence[str]) -> dict:
        return {str(k): int(v) for k, v in pd.Series(list(labels), dtype=object).value_counts().sort_index().items()}

    # ---- training
    def fit_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> None:
        pass

    def encode_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> torch.Tensor:
        index = {label: i for i, label in enumerate(label_set)}
        return torch.tensor([index[str(label)] for label in labels], dtype=torch.long)

    def class_weights(self, labels: Sequence[str], label_set: Sequence[str], mode: str) -> torch.Tensor | None:
        return class_weight_vector(list(labels), label_set, mode)

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module:
        return nn.Linear(hidden_size, len(label_set))

    def loss(self, logits, targets, *, class_weights=None, label_smoothing=0.0):
        return nn.functional.cross_entropy(logits.float(), targets, weight=class_weights, label_smoothing=label_smoothing)

    def linear_probe(self, x: np.ndarray, y: np.ndarray, *, C: float, balanced: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Multinomial logistic regression (scikit-learn); a binary model's one row becomes the softmax's two."""
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced" if balanced else None, random_state=seed)
        clf.fit(x, y)
        coef, intercept = clf.coef_, clf.intercept_
        if coef.shape[0] == 1:  # binary: scikit-learn keeps one row (the positive class); softmax needs two
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        return coef, intercept

    def tune(self, labels: Sequence[str], scores: np.ndarray, label_set: Sequence[str]) -> None:
        pass

    def state(self) -> dict:
        return {}

    # ---- output
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

    def output_columns(self, prediction: dict) -> dict:
        return {"predicted_label": prediction["label"], "score": round(prediction["score"], 6), "top_k": prediction["top_k"]}

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
        return classification_metrics(y_true, scores, label_set, texts=texts)

    def reference_stats(self, texts, scores, label_set) -> dict:
        return reference_stats(texts, scores, label_set)


def class_weight_vector(labels: Sequence[str], label_set: Sequence[str], mode: str) -> torch.Tensor | None:
    """Loss weights against imbalance: 'balanced' = n / (k * count) as in scikit-learn, 'sqrt' its square root."""
    if mode == "none":
        return None
    counts = np.array([max(1, sum(1 for y in labels if y == c)) for c in label_set], dtype=np.float64)
    w = len(labels) / (len(label_set) * counts)
    if mode == "sqrt":
        w = np.sqrt(w)
    return torch.tensor(w, dtype=torch.float32)


@report_check("class_imbalance", tasks={"label"})
def check_class_imbalance(kept: pd.DataFrame, ctx: CheckContext) -> list[Issue]:
    counts = kept.loc[kept["_role"] == "train", "label"].value_counts()
    if len(counts) < 2 or counts.iloc[-1] == 0:
        return []
    ratio = counts.iloc[0] / counts.iloc[-1]
    if ratio <= 10:
        return []
    return [Issue(
        "class_imbalance",
        "warning",
        f"the largest class {counts.index[0]!r} has {counts.iloc[0]} rows, the smallest {counts.index[-1]!r} "
        f"{counts.iloc[-1]} ({ratio:.0f}x fewer)",
        [],
        hint="set training.class_weights: balanced so small classes count in the loss, and judge the model by macro-F1",
    )]  # fmt: skip
