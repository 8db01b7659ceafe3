"""The Method protocol and what a method is given (FitContext) and returns (FitResult)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from domainfit.backbones.encoder import FrozenEncoder
from domainfit.backbones.resolve import ResolvedBackbone
from domainfit.config.schema import TrainConfig
from domainfit.modeling import TextModel
from domainfit.tasks.base import Task
from domainfit.training.loop import StepEvent

__all__ = ["LINEAR_HEAD_TASKS", "PAIR_TASKS", "TOKEN_TASKS", "Adaptation", "FitContext", "FitResult", "LoopOptions", "Method", "Reporter",
           "SilentReporter"]

# Tasks whose head is one linear layer fit by the task's own loss (or closed-form probe): every method that trains
# a head and (part of) the encoder through the task works for all of them.
LINEAR_HEAD_TASKS = frozenset({"classification", "multilabel", "regression"})
# Tasks with a head over every token, trained by their own workflow (domainfit.tasks.ner.workflow): every method that
# adapts the encoder with `adapt` serves them; methods that need one vector per text (head, fewshot, zeroshot) do not.
TOKEN_TASKS = frozenset({"ner"})
# Tasks over pairs of texts (query, answer), trained by their own workflow (domainfit.tasks.retrieval.workflow): every method
# with `adapt` serves them; a method without it that declares them (zeroshot) indexes with the untouched backbone.
PAIR_TASKS = frozenset({"retrieval"})


class LoopOptions(BaseModel):
    """Options shared by the methods that train with the loop: how the head starts and how fast it learns."""

    model_config = ConfigDict(extra="forbid")
    lp_init: bool = Field(True, description="initialise the head from a linear probe on frozen embeddings (LP-FT)")
    head_lr_scale: float = Field(1.0, gt=0, description="head learning rate = training.lr x this, unless training.head_lr is set")


class Reporter(Protocol):
    """How a method shows progress; the CLI passes a rich one, the Python API a silent one."""

    def progress(self, description: str, total: int) -> Callable[[int], None]: ...

    def event(self, event: StepEvent) -> None: ...

    def log(self, message: str) -> None: ...


class SilentReporter:
    def progress(self, description: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def event(self, event: StepEvent) -> None:
        pass

    def log(self, message: str) -> None:
        pass


@dataclass
class FitContext:
    config: TrainConfig
    task: Task
    labels: list[str]
    train: pd.DataFrame  # columns text, label (normalised)
    val: pd.DataFrame
    backbone: ResolvedBackbone
    encoder: nn.Module
    tokenizer: Any
    pooling: str
    normalize: bool
    frozen: FrozenEncoder  # the untouched backbone, with an embedding cache
    output: Path
    resume: bool = False
    reporter: Reporter = field(default_factory=SilentReporter)

    @property
    def options(self) -> dict:
        return self.config.method_options


@dataclass
class FitResult:
    model: TextModel
    seconds: float
    history: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)  # method-specific facts worth recording (chosen C, best step, ...)
    encoder_format: str = "transformers"  # how the bundle stores the encoder (see domainfit.encoder_formats)
    format_options: dict = field(default_factory=dict)  # what that format needs to load it again


@dataclass
class Adaptation:
    """What a gradient method does to the backbone, whatever head sits on it (one per text or one per token): the
    encoder to train (as is, partly frozen, wrapped by peft, with adapters injected), the learning rate of each
    trainable parameter, and how the bundle stores the trained encoder."""

    encoder: nn.Module
    param_lr: Callable[[str], float]  # names as in the whole model: "encoder.…", "head.…"
    on_step: Callable[[nn.Module, int], None] | None = None  # after each optimizer step (AdaLoRA's budget update)
    encoder_format: str = "transformers"  # see domainfit.encoder_formats
    format_options: dict = field(default_factory=dict)
    finish: Callable[[nn.Module], nn.Module] | None = None  # the trained encoder -> the one saved (peft merge)


class Method(Protocol):
    """One file per method registers a class under `domainfit.registry.methods`."""

    description: str
    tasks: frozenset[str]
    Options: type[BaseModel]
    # optional class attributes: `default_lr` (training.lr when the config leaves it empty, default 1e-4) and
    # `needs_training_data = False` (zero-shot methods: labels come from their options)

    def fit(self, ctx: FitContext) -> FitResult: ...

    # Optional, for the methods that train (part of) the encoder by gradient descent; the token tasks (TOKEN_TASKS)
    # need it. `fit` of those methods is `methods.full.fit_adapted(ctx, self)`.
    # def adapt(self, encoder: nn.Module, options: dict, *, training: TrainingConfig, total_steps: int) -> Adaptation
