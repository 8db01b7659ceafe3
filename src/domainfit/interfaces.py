"""The interfaces every layer implements or uses: Task, Workflow, Method, Reporter (small Protocols), the plain records
they pass (StepEvent, GateSplit, Budget), and how a task and its workflow are found (`make_task`, `workflow_for`,
`infer_task`).

This module sits just above `errors` and `registry`: it imports nothing else of domainfit (its lookups reach the
registry, which imports the task packages by name on first use), so any layer may use it.

    Task        what a task is: options, label set, metrics, the prediction schema, and its `workflow`
    TableTask   a Task with one target per text (classification, multilabel, regression): parsing, head, loss,
                decoding, formatting — what the shared table workflow and the Predictor call
    Workflow    how a task's bundle is made and used: train, predictor, evaluate, data check, test split for the parity
                gate, live statistics for monitoring, the budget and data pool of `compare`
    Method      an adaptation method (full, lora, ...): which task kinds it serves and how it fits
    Reporter    how progress reaches a person (rich in the CLI, silent in the Python API, SSE in the studio)

A new task is one package: a class registered with `domainfit.registry.tasks` whose `workflow` attribute is an
object with the Workflow members. Nothing else in domainfit names tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from domainfit.registry import tasks

__all__ = ["Budget", "GateSplit", "Method", "NoOptions", "Pool", "ReadsTargets", "Reporter", "SilentReporter", "StepEvent", "TableTask", "Task",
           "Workflow", "infer_task", "make_task", "serves", "workflow_for"]


# -- records ---------------------------------------------------------------------------------------------------------

@dataclass
class StepEvent:
    """What the training loop reports after each optimizer step (and at evaluations, checkpoints and the end)."""

    kind: str  # "step" | "eval" | "checkpoint" | "stop" | "done"
    step: int
    total_steps: int
    epoch: float
    loss: float | None = None
    lr: float | None = None
    metrics: dict | None = None
    message: str = ""


@dataclass(frozen=True)
class GateSplit:
    """The test split a variant is checked on: its `texts` (what `domainfit bench` times), the gold `y_true` the task's
    metrics read, and `score(predictor)`, the scores of the whole split by a predictor of the bundle."""

    texts: list[str]
    y_true: list
    score: Callable[[Any], Any]


@dataclass(frozen=True)
class Budget:
    """What a task's labelled-data budget k counts in `domainfit compare`, and how its rows are drawn."""

    unit: str  # "examples per class": the x axis of the learning curve
    sample: Callable[[Any, int | None, int, Any], Any]  # (rows, k or None = all, seed, task) -> rows


class NoOptions(BaseModel):
    """The options of a task or method that has none (its options must then be empty)."""

    model_config = ConfigDict(extra="forbid")


# -- protocols -------------------------------------------------------------------------------------------------------

class Reporter(Protocol):
    """How a long step shows progress; the CLI passes a rich one, the Python API a silent one."""

    def progress(self, description: str, total: int) -> Callable[[int], None]: ...

    def event(self, event: StepEvent) -> None: ...

    def log(self, message: str) -> None: ...


class SilentReporter:
    """A Reporter that shows nothing (the Python API's default)."""

    def progress(self, description: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def event(self, event: StepEvent) -> None:
        pass

    def log(self, message: str) -> None:
        pass


class Pool(Protocol):
    """The data `compare` draws its budgets from: read and checked once, written per run in a format the task reads."""

    task: Any
    train: Any  # rows (DataFrame) or sentences (list): what `Budget.sample` draws from
    val: Any
    test: Any
    suffix: str  # of a written split
    inputs: list[Path]  # files every run reads besides its splits (part of the resume digest)
    run_values: dict[str, Any]  # config keys every run sets besides data.train/val/test
    summary: dict[str, Any]  # train/val/test sizes and the number of labels, for the report

    def write(self, rows: Any, path: Path) -> None: ...

    def score_baseline(self, name: str, train: Any, val: Any, seed: int) -> dict[str, float]:
        """The baseline fit on `train` (thresholds, where it has any, tuned on `val`), scored on the test rows."""
        ...


@runtime_checkable
class Workflow(Protocol):
    """How a task's bundle is made and used. The table tasks share one (`domainfit.tasks.table`); NER and retrieval
    bring their own. Every member is called through `workflow_for(task)`: no caller branches on the task."""

    budget: Budget  # what `compare` counts

    def train(self, cfg: Any, *, output: Path, resume: bool, reporter: Reporter) -> Path:
        """Write a complete bundle into `output` (a staging folder, see `bundle.stage_path`)."""
        ...

    def make_predictor(self, bundle: Any, **predictor_kwargs: Any) -> Any:
        """A predictor: `predict(texts, top_k=)`, `predict_scores`, `labels`, `variant`, `bundle`, `task`."""
        ...

    def evaluate_bundle(self, bundle_path: str | Path, data_path: str | Path, *, out_dir: str | Path | None,
                        text_column: str | None, label_column: str | None, encoding: str | None,
                        baseline_names: Sequence[str] | None, reporter: Any) -> dict: ...

    def check_data(self, cfg: Any, *, task: Any, tokenizer: Any = None, max_length: int = 128,
                   model_name: str | None = None) -> Any:
        """The DataReport training would give, writing nothing."""
        ...

    def test_split(self, bundle: Any) -> GateSplit: ...

    def live_stats(self, rows: Any, reference: dict) -> dict:
        """Statistics of logged predictions (`PredictionLog.predictions()`), keyed as the bundle's reference stats."""
        ...

    def open_pool(self, cfg: Any, task: Any, *, tokenizer: Any, model_name: str, folder: Path) -> Pool: ...


class Task(Protocol):
    """What every task is. One package per task registers a class under `domainfit.registry.tasks`."""

    name: str
    description: str
    kind: str  # what methods see: "table" (one vector per text, a linear head), "token" (a head per token), "pair"
    # what one text's target is: "label" (one of a set), "labels" (several), "value" (a number), "tags" (one per word),
    # "answer" (one of a bank): baselines, data checks, distillation and retraining that fit a kind of target name it
    targets: str
    primary_metric: str  # validation metric for early stopping and model choice (higher is better)
    summary_metrics: tuple[str, ...]  # headline metrics of comparisons; the first two are higher-is-better
    default_baselines: tuple[str, ...]  # baselines run when the config names none
    Options: type  # a pydantic model: `task_options` of the config, validated before any work
    workflow: Workflow
    data_suffixes: tuple[str, ...]  # file extensions only this task's data has (NER: ".conll"), for `infer_task`

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None: ...

    def label_set(self, labels: Iterable[str]) -> list[str]: ...

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> Any: ...

    def decode(self, logits: Any) -> Any: ...

    def prediction_model(self, label_set: Sequence[str]) -> type:
        """The pydantic model of one formatted prediction (the serving API's response schema)."""
        ...

    def state(self) -> dict:
        """What `make_task` needs to restore this instance (JSON-ready)."""
        ...

    @classmethod
    def example(cls) -> dict:
        """A tiny training set a tiny model learns in a few steps, for contract tests: {"rows" or "files": ...}."""
        ...


@runtime_checkable
class ReadsTargets(Protocol):
    """A task whose target is one cell of a table (a label, a label list, a number, an answer id): the data layer,
    evaluation files and served corrections read it with `parse_target`."""

    def parse_target(self, value: str) -> str:
        """The canonical string of one raw label cell; ValueError("reason_code: what is wrong") to reject the row."""
        ...

    def label_set(self, labels: Iterable[str]) -> list[str]: ...


class TableTask(Task, ReadsTargets, Protocol):
    """A task with one target per text: what the shared table workflow, the data layer and the Predictor call."""

    tunes_on_validation: bool

    def strata(self, labels: Any) -> Any: ...

    def target_summary(self, labels: Sequence[str]) -> dict: ...

    def fit_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> None: ...

    def encode_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> Any: ...

    def class_weights(self, labels: Sequence[str], label_set: Sequence[str], mode: str) -> Any: ...

    def loss(self, logits: Any, targets: Any, *, class_weights: Any, label_smoothing: float) -> Any: ...

    def linear_probe(self, x: Any, y: Any, *, C: float, balanced: bool, seed: int) -> tuple[Any, Any]: ...

    def tune(self, labels: Sequence[str], scores: Any, label_set: Sequence[str]) -> None: ...

    def format(self, scores: Any, label_set: Sequence[str], top_k: int) -> list[dict]: ...

    def output_columns(self, prediction: dict) -> dict[str, Any]: ...

    def metrics(self, y_true: Sequence[str], scores: Any, label_set: Sequence[str], *,
                texts: Sequence[str] | None = None) -> dict: ...

    def reference_stats(self, texts: Sequence[str], scores: Any, label_set: Sequence[str]) -> dict: ...


class Method(Protocol):
    """One file per method registers a class under `domainfit.registry.methods`."""

    description: str
    # What it serves: task kinds ({"table", "token", "pair"}), targets ({"label", ...}) or task names; zero-shot: {"label", "pair"}
    tasks: frozenset[str]
    Options: type
    # optional class attributes: `default_lr` (training.lr when the config leaves it empty, default 1e-4) and
    # `needs_training_data = False` (zero-shot methods: labels come from their options)

    def fit(self, ctx: Any) -> Any: ...

    # Optional, for the methods that train (part of) the encoder by gradient descent; token and pair tasks need it:
    # def adapt(self, encoder, options: dict, *, training, total_steps: int) -> Adaptation


# -- lookup ----------------------------------------------------------------------------------------------------------

def make_task(name: str, options: dict | None = None, state: dict | None = None) -> Task:
    """The registered task `name`, its options validated, its learned state restored."""
    return tasks.get(name)(options=options, state=state)


def workflow_for(task: str | Task) -> Workflow:
    """The workflow of a task (by name or instance)."""
    cls = tasks.get(task) if isinstance(task, str) else type(task)
    return cls.workflow


def serves(component: Any, task: str | Task) -> bool:
    """Whether a component (method, baseline, data check: anything with a `tasks` set) serves a task, by name or
    instance: the set names the task, the task's kind (what the model looks like) or its targets (what is predicted)."""
    cls = tasks.get(task) if isinstance(task, str) else type(task)
    wanted = component.tasks
    return getattr(cls, "name", None) in wanted or getattr(cls, "kind", None) in wanted or getattr(cls, "targets", None) in wanted


def infer_task(path: str | os.PathLike | None) -> str | None:
    """The task whose own data files end like `path` (a task's `data_suffixes`, e.g. ".conll" for entity recognition),
    or None: the caller's default then applies."""
    suffix = Path(str(path)).suffix.lower() if path else ""
    return next((name for name, t in tasks.items() if suffix and suffix in getattr(t, "data_suffixes", ())), None)
