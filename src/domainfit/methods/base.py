"""What a method is given (FitContext) and returns (FitResult), and what a gradient method does to the backbone
(Adaptation). The Method protocol itself is in `domainfit.interfaces`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from domainfit.backbones.encoder import FrozenEncoder
from domainfit.backbones.resolve import ResolvedBackbone
from domainfit.config.schema import TrainConfig
from domainfit.interfaces import Reporter, SilentReporter, Task
from domainfit.modeling import TextModel

__all__ = ["Adaptation", "FitContext", "FitResult", "LoopOptions"]

class LoopOptions(BaseModel):
    """Options shared by the methods that train with the loop: how the head starts and how fast it learns."""

    model_config = ConfigDict(extra="forbid")
    lp_init: bool = Field(True, description="initialise the head from a linear probe on frozen embeddings (LP-FT)")
    head_lr_scale: float = Field(1.0, gt=0, description="head learning rate = training.lr x this, unless training.head_lr is set")


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
    # the trained model's pooled embeddings of a split ("train", "val"; rows in the split's order) where the method
    # computed them anyway (head: the frozen cache; the loop: the best validation evaluation), so that the
    # out-of-scope step reads them instead of making a second pass
    embeddings: dict = field(default_factory=dict)


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
