"""The Task protocol: how a task parses its targets, its head, loss, decoding, state, output and metrics.

A task's targets travel through the data layer, the splits saved in the bundle and the evaluation files as one
*canonical string* per row (`parse_target` makes it): the label itself for classification, a JSON list of labels for
multi-label, the number for regression. Everything else reads them back with `encode_targets` / `metrics`.

A task instance may carry *state* learned from the data (regression: the target mean and std; multi-label: decision
thresholds). The pipeline fills it (`fit_targets` before training, `tune` on the validation split after it), stores
`state()` in domainfit.json under "task_state", and `make_task` restores it wherever a bundle is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

__all__ = ["NoOptions", "Task", "infer_task", "make_task", "workflow_of"]


class NoOptions(BaseModel):
    """The options of a task that has none (`task_options` must then be empty)."""

    model_config = ConfigDict(extra="forbid")


class Task(Protocol):
    """One file per task registers a class under `domainfit.registry.tasks`; `make_task` builds an instance."""

    name: str
    description: str
    primary_metric: str  # validation metric for early stopping and model choice (higher is better)
    summary_metrics: tuple[str, ...]  # headline metrics of comparisons; the first two are higher-is-better
    default_baselines: tuple[str, ...]  # baselines run when the config names none
    tunes_on_validation: bool  # the pipeline calls `tune` with the model's validation scores
    Options: type[BaseModel]  # `task_options` of the config, validated before any work
    # Optional: the module path of a task that is not one-text-one-target (NER: one tag per token; retrieval: pairs)
    # and so brings its own workflow; see `workflow_of`. Sequence tasks leave it unset.
    workflow: str | None
    # Optional: file extensions that only this task's data has (NER: ".conll"); a config that names no task and
    # trains on such a file gets this task (see `infer_task`).
    data_suffixes: tuple[str, ...]

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None: ...

    # ---- data
    def parse_target(self, value: str) -> str:
        """The canonical string of one raw label cell; ValueError("reason_code: what is wrong") to reject the row."""
        ...

    def label_set(self, labels: Iterable[str]) -> list[str]:
        """The model's outputs, in head order, from canonical targets (classes, labels, or ["score"])."""
        ...

    def strata(self, labels: pd.Series) -> pd.Series:
        """One group key per row for the seeded stratified split."""
        ...

    def target_summary(self, labels: Sequence[str]) -> dict:
        """What the data report shows per split: rows per label, or the value statistics."""
        ...

    # ---- training
    def fit_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> None:
        """Learn what encoding needs from the training targets (before any training)."""
        ...

    def encode_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> torch.Tensor: ...

    def class_weights(self, labels: Sequence[str], label_set: Sequence[str], mode: str) -> torch.Tensor | None: ...

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module: ...

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, *, class_weights: torch.Tensor | None, label_smoothing: float) -> torch.Tensor: ...

    def linear_probe(self, x: np.ndarray, y: np.ndarray, *, C: float, balanced: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(weight, bias) of a linear head fit in closed form on frozen embeddings and encoded targets."""
        ...

    def tune(self, labels: Sequence[str], scores: np.ndarray, label_set: Sequence[str]) -> None:
        """Learn decision state from the trained model's validation scores (only if `tunes_on_validation`)."""
        ...

    def state(self) -> dict:
        """What `make_task` needs to restore this instance (JSON-ready)."""
        ...

    # ---- output
    def decode(self, logits: torch.Tensor) -> np.ndarray:
        """(n, len(label_set)) scores: probabilities, or values in the target's units."""
        ...

    def format(self, scores: np.ndarray, label_set: Sequence[str], top_k: int) -> list[dict]: ...

    def output_columns(self, prediction: dict) -> dict[str, Any]:
        """The columns `domainfit predict --input` adds for one formatted prediction."""
        ...

    def prediction_model(self, label_set: Sequence[str]) -> type:
        """The pydantic model of one formatted prediction (the serving API's response schema)."""
        ...

    def metrics(self, y_true: Sequence[str], scores: np.ndarray, label_set: Sequence[str], *, texts: Sequence[str] | None = None) -> dict: ...

    def reference_stats(self, texts: Sequence[str], scores: np.ndarray, label_set: Sequence[str]) -> dict:
        """What monitoring compares live predictions against."""
        ...


def make_task(name: str, options: dict | None = None, state: dict | None = None) -> Task:
    """The registered task `name`, its options validated, its learned state restored."""
    from domainfit.registry import tasks

    return tasks.get(name)(options=options, state=state)


def workflow_of(name: str):
    """The workflow module of a task that has its own (`Task.workflow`), or None for the sequence tasks that the
    shared pipeline serves. A workflow module provides:

        run_training(cfg: TrainConfig, *, resume: bool, reporter) -> Path          the bundle it wrote
        make_predictor(bundle: Bundle, **predictor_kwargs) -> predictor             `predict(texts, top_k=)`, `labels`,
                                                                                    `variant`, `bundle`
        evaluate_bundle(bundle_path, data_path, *, out_dir, text_column, label_column, encoding, baseline_names,
                        reporter) -> dict                                          metrics, as the sequence evaluate
        check_data(cfg: DataConfig, *, task, tokenizer, max_length, model_name) -> DataReport
    """
    import importlib

    from domainfit.registry import tasks

    path = getattr(tasks.get(name), "workflow", None)
    return importlib.import_module(path) if path else None


def infer_task(path: str | os.PathLike | None) -> str | None:
    """The task whose own data files end like `path` (a task's optional `data_suffixes`, e.g. ".conll" for entity
    recognition), or None: the caller's default then applies."""
    from domainfit.registry import tasks

    suffix = Path(str(path)).suffix.lower() if path else ""
    return next((name for name, t in tasks.items() if suffix and suffix in getattr(t, "data_suffixes", ())), None)
