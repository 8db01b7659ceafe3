"""Regression: one number per text (a risk, a satisfaction score); linear head with one output, MSE or Huber loss
on standardised targets (mean and std of the training rows, stored in the bundle and inverted at prediction)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from domainfit.data.sampling import sample_per_bin
from domainfit.evaluation.live import length_stats
from domainfit.evaluation.metrics import regression_metrics
from domainfit.evaluation.reference import regression_reference_stats
from domainfit.i18n import _
from domainfit.interfaces import Budget
from domainfit.registry import tasks
from domainfit.tasks import examples
from domainfit.tasks.table import TableWorkflow

__all__ = ["RegressionOptions", "RegressionTask", "value_stats"]

OUTPUT = "score"  # the one output's name: the label set of every regression bundle


class RegressionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loss: Literal["mse", "huber"] = Field("mse", description="mse, or huber (less pulled by outliers)")
    huber_delta: float = Field(1.0, gt=0, description="where Huber turns linear, in standard deviations of the target")
    standardize: bool = Field(True, description="train on (y - mean) / std of the training targets")


@tasks.register("regression")
class RegressionTask:
    name = "regression"
    description = "a number per text (score, risk): one linear output, MSE/Huber on standardised targets, MAE/RMSE/R²/Spearman"
    primary_metric = "r2"
    summary_metrics = ("r2", "spearman", "pearson", "mae", "rmse")
    default_baselines = ("tfidf_ridge",)
    tunes_on_validation = False
    Options = RegressionOptions
    kind = "table"
    targets = "value"
    data_suffixes: tuple[str, ...] = ()
    workflow = TableWorkflow(budget=Budget("rows per target bin", sample_per_bin),
                             live_stats=lambda rows, reference: value_stats(rows, reference))
    example = staticmethod(examples.regression_example)

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None:
        self.options = RegressionOptions.model_validate(options or {})
        state = state or {}
        self.mean = float(state.get("mean", 0.0))
        self.std = float(state.get("std", 1.0))

    # ---- data
    def parse_target(self, value: str) -> str:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            raise ValueError("not_a_number: " + _("{value} is not a number").format(value=repr(text[:60]))) from None
        if not math.isfinite(number):
            raise ValueError("not_a_number: " + _("{value} is not a finite number").format(value=repr(text[:60])))
        return repr(number)

    def label_set(self, labels: Iterable[str]) -> list[str]:
        return [OUTPUT]

    def strata(self, labels: pd.Series) -> pd.Series:
        """Quantile bins of the target (up to 10, at least ~5 rows each), so every split covers the whole range."""
        values = labels.astype(float)
        bins = max(1, min(10, len(values) // 5))
        if bins == 1:
            return pd.Series("all", index=labels.index, dtype=object)
        return pd.qcut(values.rank(method="first"), bins, labels=False).astype(str)

    def target_summary(self, labels: Sequence[str]) -> dict:
        values = np.asarray(list(labels), dtype=np.float64)
        if not len(values):
            return {}
        return {"mean": round(float(values.mean()), 6), "std": round(float(values.std()), 6),
                "min": float(values.min()), "max": float(values.max())}

    # ---- training
    def fit_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> None:
        values = np.asarray(list(labels), dtype=np.float64)
        if self.options.standardize and len(values):
            self.mean, std = float(values.mean()), float(values.std())
            self.std = std if std > 0 else 1.0
        else:
            self.mean, self.std = 0.0, 1.0

    def encode_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> torch.Tensor:
        values = np.asarray(list(labels), dtype=np.float64)
        return torch.tensor((values - self.mean) / self.std, dtype=torch.float32)

    def class_weights(self, labels: Sequence[str], label_set: Sequence[str], mode: str) -> torch.Tensor | None:
        return None  # the config rejects training.class_weights for regression

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module:
        return nn.Linear(hidden_size, 1)

    def loss(self, logits, targets, *, class_weights=None, label_smoothing=0.0):
        pred = logits.float()[:, 0]
        if self.options.loss == "huber":
            return nn.functional.huber_loss(pred, targets, delta=self.options.huber_delta)
        return nn.functional.mse_loss(pred, targets)

    def linear_probe(self, x: np.ndarray, y: np.ndarray, *, C: float, balanced: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Ridge regression (scikit-learn) with alpha = 1 / C, on the standardised targets."""
        from sklearn.linear_model import Ridge

        reg = Ridge(alpha=1.0 / C).fit(x, y)
        return np.asarray(reg.coef_).reshape(1, -1), np.atleast_1d(reg.intercept_)

    def tune(self, labels: Sequence[str], scores: np.ndarray, label_set: Sequence[str]) -> None:
        pass

    def state(self) -> dict:
        return {"mean": self.mean, "std": self.std}

    # ---- output
    def decode(self, logits: torch.Tensor) -> np.ndarray:
        return (logits.float()[:, :1] * self.std + self.mean).numpy()

    def format(self, scores: np.ndarray, label_set: Sequence[str], top_k: int = 1) -> list[dict]:
        return [{"score": float(v)} for v in np.asarray(scores).reshape(len(scores), -1)[:, 0]]

    def output_columns(self, prediction: dict) -> dict:
        return {"predicted_score": round(prediction["score"], 6)}

    def prediction_model(self, label_set: Sequence[str]) -> type:
        from pydantic import Field, create_model

        return create_model("RegressionPrediction", score=(float, Field(..., description="the predicted value, in the target's units",
                                                                        examples=[3.7])))

    def metrics(self, y_true, scores, label_set, *, texts=None) -> dict:
        return regression_metrics(np.asarray(list(y_true), dtype=np.float64), np.asarray(scores)[:, 0], texts=texts)

    def reference_stats(self, texts, scores, label_set) -> dict:
        return regression_reference_stats(texts, np.asarray(scores)[:, 0])


def value_stats(rows: pd.DataFrame, reference: dict) -> dict:
    """Regression: the predicted values binned on the reference's own edges (values outside go to the end bins)."""
    values = rows["score"].to_numpy(dtype=np.float64)
    edges = (reference.get("value_histogram") or {}).get("edges") or np.linspace(values.min(), values.max() + 1e-9, 21).tolist()
    index = np.clip(np.searchsorted(np.asarray(edges), values, side="right") - 1, 0, len(edges) - 2)
    return {**length_stats(rows), "value_histogram": {"edges": list(edges), "counts": np.bincount(index, minlength=len(edges) - 1).tolist()},
            "mean_value": float(values.mean()) if len(values) else None, "std_value": float(values.std()) if len(values) else None}
