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
          "training.epochs", "output")


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


def _value(field: FormField | None, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    raw = raw.strip()
    if field is not None and field.kind == "bool":
        return raw.lower() in ("1", "true", "on", "yes")
    if field is not None and field.kind == "number":
        try:
            return int(raw) if raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            return raw  # left as typed: the schema names the key and says what it expects
    return raw


def validate_values(form: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """(the dotted values to train with, the problems `load_config` finds in them: [(key, message)]). Empty fields
    and fields left at their default are not sent, exactly as a CLI user who does not pass them."""
    known = {f.key: f for f in form_fields() + option_fields(str(form.get("method") or "full"))}
    values: dict[str, Any] = {}
    for key, raw in form.items():
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        field = known.get(key)
        value = _value(field, raw)
        if field is not None and field.default is not None and str(value) == str(field.default):
            continue
        values[key] = value
    try:
        load_config(None, values=values)
    except ConfigError as exc:
        return values, list(exc.problems)
    return values, []
