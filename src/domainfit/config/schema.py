"""The typed training configuration: unknown keys rejected, every problem reported at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domainfit.config.messages import pydantic_message
from domainfit.i18n import _
from domainfit.interfaces import infer_task, serves
from domainfit.registry import baselines, methods, pii_kinds, tasks

__all__ = ["DataConfig", "ModelConfig", "TrainConfig", "TrainingConfig"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class _NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the data is and how to read, clean and split it."""

    train: Path | None = Field(None, description="training table (csv/tsv/jsonl/parquet/xlsx); split into train/val/test unless --val/--test are given; only zero-shot methods go without")
    val: Path | None = Field(None, description="the user's own validation table")
    test: Path | None = Field(None, description="the user's own test table")
    answers: Path | None = Field(None, description="retrieval: the answer bank (id and answer text columns) when the pairs name answers by id")
    items: Path | None = Field(None, description="recommend: the item catalogue (id, text, optional category/brand/price/created); data.train then holds the interactions (user, item, time)")
    text_column: str | None = Field(None, description="column holding the text; inferred when unambiguous")
    label_column: str | None = Field(None, description="column holding the label; inferred when unambiguous")
    encoding: str | None = Field(None, description="file encoding; detected (utf-8, utf-8-sig, gb18030/gbk, ...) when not given")
    delimiter: str | None = Field(None, description="CSV delimiter; detected when not given")
    sheet: str | int | None = Field(None, description="Excel sheet name or index (default: the first)")
    normalize: bool = Field(True, description="Unicode NFKC (full-width to half-width), control characters and whitespace")
    redact: bool | list[str] = Field(False, description="replace personal data in the texts by placeholders ([PHONE], [NAME], ...) in "
                                     "training, evaluation, prediction and logs: true for every kind, or a list of email, id_card, "
                                     "bank_card, phone, name")
    val_size: float = Field(0.1, gt=0, lt=0.5, description="share of rows for validation when it is carved from train")
    test_size: float = Field(0.2, gt=0, lt=0.5, description="share of rows for test when no --test is given")
    min_per_class: int = Field(3, ge=1, description="classes with fewer rows than this are rejected (they cannot be split and evaluated)")
    drop_leakage: bool = Field(True, description="drop training rows whose text also appears in the test set")
    seed: int = 42


    @field_validator("redact")
    @classmethod
    def _known_pii_kinds(cls, value: bool | list[str]) -> bool | list[str]:
        for kind in [] if isinstance(value, bool) else value:
            if kind not in pii_kinds:
                raise ValueError(pii_kinds.unknown_message(kind))
        return value


class ModelConfig(_Strict):
    """The pretrained backbone and how it turns tokens into one vector."""

    backbone: str | None = Field(None, description="local folder or Hugging Face id; default: the bundled all-MiniLM-L6-v2")
    pooling: Literal["auto", "mean", "cls"] = Field("auto", description="auto: what the backbone was trained for (sentence-transformers config), else mean")
    max_length: int = Field(128, ge=8, le=8192, description="tokens per text; longer texts are truncated (data check counts them)")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout before the classification head")


class TrainingConfig(_Strict):
    """The one training loop's settings."""

    epochs: float = Field(4, gt=0, description="passes over the training data (fractions allowed)")
    batch_size: int = Field(32, ge=1)
    lr: float | None = Field(None, gt=0, description="learning rate of the backbone (default: the method's: 1e-4 for full, 1e-3 for lora and adapters)")
    head_lr: float | None = Field(None, gt=0, description="learning rate of the new head (default: lr x the method's head_lr_scale: 5 for full and freeze, 20 for lora, 1 for the other adapter methods); a new head learns slowly at the backbone's rate")
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.06, ge=0, lt=1)
    grad_accum: int = Field(1, ge=1, description="gradient accumulation steps")
    max_grad_norm: float | None = Field(1.0, gt=0, description="gradient clipping; null disables")
    patience: int | None = Field(2, ge=1, description="early stopping: evaluations without improvement of validation macro-F1; null disables")
    evals_per_epoch: int = Field(1, ge=1, description="validation evaluations per epoch")
    class_weights: Literal["none", "balanced", "sqrt"] = Field("none", description="loss weights against class imbalance")
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    precision: Literal["auto", "fp32", "bf16"] = Field("auto", description="bf16 autocast where the CPU/GPU runs it fast; auto picks it when supported")
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: the cores available)")
    checkpoint_every: int = Field(200, ge=1, description="optimizer steps between checkpoints (for --resume)")
    seed: int = 42


class TrackingConfig(_Strict):
    backend: Literal["none", "mlflow"] = Field("none", description="mlflow: log params and test metrics of the run")
    uri: str | None = Field(None, description="MLflow tracking URI (default: $DOMAINFIT_REGISTRY or ./domainfit-registry)")
    experiment: str = Field("domainfit", description="MLflow experiment name")


class TrainConfig(_Strict):
    """Everything `domainfit train` needs. Saved, resolved, inside every bundle."""

    task: str = Field("classification", description="`domainfit ls tasks` lists them")
    task_options: dict[str, Any] = Field(default_factory=dict, description="options of the chosen task (multilabel: separator, ...; regression: loss, ...)")
    method: str = Field("full", description="`domainfit ls methods` lists them")
    method_options: dict[str, Any] = Field(default_factory=dict, description="options of the chosen method")
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    baselines: list[str] | None = Field(None, description="baselines evaluated on the same test split; default: the task's (classification: zeroshot, tfidf)")
    output: Path = Field(Path("runs/model"), description="bundle folder to write")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig, description="experiment tracking (MLflow)")

    @model_validator(mode="before")
    @classmethod
    def _task_from_data_file(cls, values: Any) -> Any:
        """No task named: the training file's extension may say it (`.conll` is entity data); else classification."""
        if isinstance(values, dict) and values.get("task") is None and isinstance(values.get("data"), dict):
            inferred = infer_task(values["data"].get("train"))
            if inferred:
                values = {**values, "task": inferred}
        return values

    @field_validator("task")
    @classmethod
    def _known_task(cls, v: str) -> str:
        if v not in tasks:
            raise ValueError(tasks.unknown_message(v))
        return v

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str) -> str:
        if v not in methods:
            raise ValueError(methods.unknown_message(v))
        return v

    @field_validator("baselines")
    @classmethod
    def _known_baselines(cls, v: list[str] | None) -> list[str] | None:
        bad = [b for b in v or () if b not in baselines]
        if bad:
            raise ValueError("; ".join(baselines.unknown_message(b) for b in bad))
        return v

    @model_validator(mode="after")
    def _task_and_method_options(self) -> TrainConfig:
        if self.method in methods and self.task in tasks and not serves(methods.get(self.method), self.task):
            supported = [n for n, m in methods.items() if serves(m, self.task)]
            raise ValueError(_("method {method} does not support task {task}; methods that do: {supported}").format(
                method=repr(self.method), task=repr(self.task), supported=", ".join(supported)))
        if self.task in tasks:
            task = tasks.get(self.task)
            self.__dict__["task_options"] = _options("task", self.task, getattr(task, "Options", _NoOptions), self.task_options)
            if self.baselines is None:
                self.__dict__["baselines"] = list(getattr(task, "default_baselines", ()))
            if self.data.redact and not getattr(task, "supports_redaction", True):
                raise ValueError("data.redact: " + _("not available for task {task}: {why}").format(
                    task=repr(self.task), why=task.supports_redaction_why))
        if self.method in methods:
            method = methods.get(self.method)
            self.__dict__["method_options"] = _options("method", self.method, method.Options, self.method_options)
            if self.training.lr is None:
                self.training.__dict__["lr"] = getattr(method, "default_lr", 1e-4)
            if self.data.train is None:
                if getattr(method, "needs_training_data", True):
                    raise ValueError("data.train: " + _("required, method {method} learns from labelled rows (only "
                                                        "zero-shot methods go without)").format(method=repr(self.method)))
                if not method.declared_labels(self.method_options):
                    raise ValueError("method_options.labels: " + _("without data.train, list the labels as "
                                                                   "method_options.labels: {label: description, ...}"))
        return self


def _options(kind: str, name: str, schema: type[BaseModel], values: dict) -> dict:
    """`values` validated against a task's or method's Options, defaults filled in; every bad option is reported
    under its full key (`method_options.r: ...`)."""
    try:
        return schema.model_validate(values).model_dump()
    except ValidationError as exc:
        raise ValueError("\n".join(
            f"{kind}_options.{'.'.join(str(p) for p in e['loc'])}: "
            + (_("unknown option of {kind} {name}; options: {options}").format(
                kind=kind, name=repr(name), options=", ".join(schema.model_fields) or _("none"))
               if e["type"] == "extra_forbidden" else pydantic_message(e))
            for e in exc.errors())) from None
