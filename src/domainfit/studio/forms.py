"""The Train form, generated from the typed config schema (`domainfit.config.schema.TrainConfig` and the chosen
method's and task's `Options`), and its validation — `domainfit.config.load.load_config`, the CLI's own, so a value
the CLI refuses is refused here under the same key.

A field is (key, kind, default, description, choices): kind "select" for a Literal or a registry name, "bool",
"number", "text"; nested sections (data., model., training.) are flattened to dotted keys. Free-form keys (dicts,
lists) are left to the YAML route, except the method's and task's options, which get fields of their own.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from domainfit.config.load import load_config
from domainfit.config.schema import TrainConfig
from domainfit.errors import ConfigError
from domainfit.registry import methods, tasks

__all__ = ["FormField", "form_fields", "option_fields", "validate_values"]

_SKIPPED = {"task_options", "method_options", "baselines", "tracking", "data.answers", "data.sheet", "data.redact",
            "training.threads", "data.seed", "training.seed"}
_FIRST = ("task", "method", "data.train", "data.test", "data.text_column", "data.label_column", "model.backbone",
          "model.max_length", "training.epochs", "output")


@dataclass(frozen=True)
class FormField:
    key: str
    kind: str  # select | bool | number | text
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    required: bool = False


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "select", tuple(str(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    if annotation is bool:
        return "bool", ()
    if annotation in (int, float):
        return "number", ()
    if origin in (dict, list) or annotation in (dict, list):
        return "skip", ()
    return "text", ()


def _fields_of(model: type[BaseModel], prefix: str = "") -> list[FormField]:
    out = []
    for name, info in model.model_fields.items():
        key = prefix + name
        annotation = info.annotation
        if key in _SKIPPED:
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += _fields_of(annotation, key + ".")
            continue
        kind, choices = _kind(annotation)
        if kind == "skip":
            continue
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        out.append(FormField(key, kind, default, info.description or "", choices, info.is_required()))
    return out


def form_fields() -> list[FormField]:
    """Every field of the Train form, the most used first."""
    fields = {f.key: f for f in _fields_of(TrainConfig)}
    fields["task"] = FormField("task", "select", "classification", fields["task"].description, tuple(tasks.names()))
    fields["method"] = FormField("method", "select", "full", fields["method"].description, tuple(methods.names()))
    first = [fields.pop(k) for k in _FIRST if k in fields]
    return first + [fields[k] for k in sorted(fields)]


def option_fields(method: str) -> list[FormField]:
    """The chosen method's options (method_options.<name>), from its registered Options model."""
    if method not in methods:
        return []
    return [FormField(f"method_options.{f.key}", f.kind, f.default, f.description, f.choices)
            for f in _fields_of(methods.get(method).Options)]


def _text(field: FormField | None, raw: Any) -> str:
    if field is not None and field.kind == "bool" and not isinstance(raw, bool):
        return "true" if str(raw).strip().lower() in ("1", "true", "on", "yes") else "false"
    return str(raw).strip().lower() if isinstance(raw, bool) else str(raw).strip()


def validate_values(form: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """(the `key=value` overrides to train with, the problems `load_config` finds in them: [(key, message)]).

    Each filled field becomes the `--set key=value` a CLI user would type (the value read as YAML: numbers, true,
    null), and the CLI's `load_config` checks them: the same values are refused under the same keys. Empty fields,
    and fields left at their default, are not sent."""
    known = {f.key: f for f in form_fields() + option_fields(str(form.get("method") or "full"))}
    overrides: list[str] = []
    for key, raw in form.items():
        if raw is None:
            continue
        field = known.get(key)
        text = _text(field, raw)
        if not text or (field is not None and field.default is not None and text.lower() == str(field.default).lower()):
            continue
        overrides.append(f"{key}={text}")
    try:
        load_config(None, overrides=overrides)
    except ConfigError as exc:
        return overrides, list(exc.problems)
    return overrides, []
