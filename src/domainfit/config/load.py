"""Build a TrainConfig from YAML, a dict and `key.sub=value` overrides; every problem is reported at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from domainfit.config.messages import pydantic_message
from domainfit.config.schema import TrainConfig
from domainfit.errors import ConfigError
from domainfit.i18n import _

__all__ = ["load_config", "parse_override", "read_yaml_mapping", "set_dotted"]


def parse_override(text: str) -> tuple[str, Any]:
    """'training.lr=3e-4' → ('training.lr', 0.0003); the value is read as YAML (numbers, bools, lists, null)."""
    if "=" not in text:
        raise ConfigError([(text, _("an override must look like key.subkey=value, e.g. training.epochs=3"))])
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def set_dotted(tree: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = tree
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            node[p] = nxt
        node = nxt
    node[parts[-1]] = value


def read_yaml_mapping(path: str | Path, *, example: str) -> dict:
    """The mapping a YAML config file holds; ConfigError for a missing file, bad YAML (line and column) or another
    top level (`example` shows a mapping of the file's kind)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([("config", _("no such file: {path}").format(path=path.resolve()))])
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _("line {line}, column {column}").format(line=mark.line + 1, column=mark.column + 1) if mark else "?"
        raise ConfigError([(where, _("not valid YAML: {problem}").format(problem=getattr(exc, "problem", exc)))],
                          source=str(path)) from None
    if not isinstance(tree, dict):
        raise ConfigError([("(top level)", _("the YAML file must hold a mapping of keys, like `{example}`").format(
            example=example))], source=str(path))
    return tree


def load_config(
    source: str | Path | Mapping | TrainConfig | None = None,
    *,
    overrides: Sequence[str] = (),
    values: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """`source`: a YAML path, a dict or a TrainConfig; `values`: dotted keys set by CLI flags; then `overrides`.

    Relative data paths in a YAML file are read relative to the current directory (as the CLI user typed them).
    """
    origin = None
    if isinstance(source, TrainConfig):
        tree = source.model_dump(mode="python")
    elif isinstance(source, (str, Path)):
        origin = str(source)
        tree = read_yaml_mapping(source, example="data: {train: file.csv}")
    else:
        tree = dict(source or {})
    tree = _deep_copy(tree)
    for key, value in (values or {}).items():
        if value is not None:
            set_dotted(tree, key, value)
    for item in overrides:
        set_dotted(tree, *parse_override(item))
    try:
        return TrainConfig.model_validate(tree)
    except ValidationError as exc:
        hint = _("edit these keys in {source} or pass --set key=value; `domainfit train --help` lists the options").format(
            source=origin) if origin else None
        raise ConfigError(validation_problems(exc, TrainConfig), source=origin, hint=hint) from None


def validation_problems(exc: ValidationError, model: Any = None) -> list[tuple[str, str]]:
    """(key, message) per problem of a pydantic ValidationError, unknown keys with a "did you mean"."""
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = pydantic_message(err)
        if err["type"] == "extra_forbidden":
            problems.append((key, _("unknown key (not an option here)") + _suggest(err["loc"], model or TrainConfig)))
            continue
        for line in msg.splitlines():  # cross-field checks name their key(s): "data.train: ..."
            head, sep, rest = line.partition(": ")
            if key == "(top level)" and sep and "." in head and " " not in head:
                problems.append((head, rest))
            else:
                problems.append((key, line))
    return problems


def _suggest(loc: tuple, model: Any) -> str:
    import difflib

    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        model = getattr(field, "annotation", None) if field else None
        if model is None:
            return ""
    names = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    return (_("; did you mean {name}?").format(name=repr(close[0])) if close
            else _("; valid keys: {names}").format(names=", ".join(names)))


def _deep_copy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _deep_copy(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_deep_copy(v) for v in tree]
    return tree
