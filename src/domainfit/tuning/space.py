"""What a study searches: dotted config keys (as `--set` takes them) mapped to ranges or choices, typed and checked
against the training config before any trial runs. Each method that trains with the loop has a default space (learning
rate, head learning rate, epochs, batch size, warm-up, dropout, class weights; LoRA's rank, alpha and dropout).

A space file (YAML):

    training.lr: {type: float, low: 1.0e-5, high: 5.0e-4, log: true}
    training.epochs: {type: int, low: 2, high: 6}
    training.class_weights: {type: categorical, choices: [none, balanced]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domainfit.config import TrainConfig
from domainfit.config.load import load_config
from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.registry import methods

__all__ = ["DEFAULT_SPACES", "ParamSpec", "SearchSpace", "check_space", "default_space", "default_values", "load_space",
           "suggest"]


class ParamSpec(BaseModel):
    """One searched key: a float or int range (optionally log-scaled) or a list of choices."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[str | int | float | bool] | None = Field(None, description="categorical: the values tried")

    @model_validator(mode="after")
    def _bounds(self) -> ParamSpec:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError(_("a categorical parameter needs `choices`"))
        elif self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(_("a {type} parameter needs low < high").format(type=self.type))
        elif self.log and self.low <= 0:
            raise ValueError(_("log scale needs low > 0"))
        return self


SearchSpace = dict[str, ParamSpec]


def _loop_space(lr: tuple[float, float], head_lr_scale: tuple[float, float]) -> dict[str, dict]:
    return {
        "training.lr": {"type": "float", "low": lr[0], "high": lr[1], "log": True},
        "method_options.head_lr_scale": {"type": "float", "low": head_lr_scale[0], "high": head_lr_scale[1], "log": True},
        "training.epochs": {"type": "int", "low": 2, "high": 6},
        "training.batch_size": {"type": "categorical", "choices": [16, 32]},
        "training.warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.3},
        "training.class_weights": {"type": "categorical", "choices": ["none", "balanced", "sqrt"]},
    }


_LORA = {"method_options.r": {"type": "categorical", "choices": [4, 8, 16, 32]},
         "method_options.alpha": {"type": "categorical", "choices": [8, 16, 32, 64]},
         "method_options.dropout": {"type": "float", "low": 0.0, "high": 0.2}}

# SetFit's contrastive phase: pairs per example, steps, the body's learning rate (the head's C is chosen on validation).
_FEWSHOT = {"method_options.num_iterations": {"type": "int", "low": 5, "high": 40},
            "method_options.max_steps": {"type": "categorical", "choices": [100, 200, 400, 800]},
            "method_options.body_lr": {"type": "float", "low": 5e-6, "high": 2e-4, "log": True},
            "method_options.batch_size": {"type": "categorical", "choices": [16, 32]}}

# The methods that train with the loop, and fewshot's contrastive phase (the head-only and zero-shot methods have
# nothing to tune beyond the head's C, which they choose on validation themselves).
DEFAULT_SPACES: dict[str, dict[str, dict]] = {
    "full": _loop_space((1e-5, 5e-4), (1.0, 20.0)),
    "freeze": _loop_space((1e-5, 5e-4), (1.0, 20.0)),
    "lora": {**_loop_space((1e-4, 5e-3), (1.0, 40.0)), **_LORA},  # its defaults (head_lr_scale 20) inside
    "adalora": _loop_space((1e-4, 5e-3), (0.5, 10.0)),
    "ia3": _loop_space((3e-4, 1e-2), (0.5, 10.0)),
    "adapter": _loop_space((1e-4, 5e-3), (0.5, 10.0)),
    "fewshot": _FEWSHOT,
}


def default_space(method: str) -> SearchSpace:
    if method not in DEFAULT_SPACES:
        raise ConfigError([("--space", _("method {method} has no default search space (those with one: "
                                         "{methods}); give a space file with --space").format(
                                             method=repr(method), methods=", ".join(sorted(DEFAULT_SPACES))))])
    return {key: ParamSpec(**spec) for key, spec in DEFAULT_SPACES[method].items()}


def load_space(path: str | Path, base: dict | None = None) -> SearchSpace:
    """A space file, every problem reported at once (file, key, what is wrong); with `base` (a config tree) also
    whether each key is a config key that takes the values (`check_space`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([("--space", _("no such file: {path}").format(path=path.resolve()))])
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([("--space", _("not valid YAML: {exc}").format(exc=exc))], source=str(path)) from None
    if not isinstance(tree, dict) or not tree:
        raise ConfigError([("(top level)", _("a mapping of dotted config keys to {type, low, high} or "
                                             "{type, choices}"))],
                          source=str(path))
    space, problems = {}, []
    for key, spec in tree.items():
        try:
            space[str(key)] = ParamSpec.model_validate(spec)
        except ValidationError as exc:
            problems += [(str(key), e["msg"].removeprefix("Value error, ")) for e in exc.errors()]
    if base is not None:
        problems += space_problems(space, base)
    if problems:
        raise ConfigError(problems, source=str(path))
    return space


def _probe(spec: ParamSpec) -> Any:
    if spec.type == "categorical":
        return spec.choices[0]
    return int(spec.low) if spec.type == "int" else float(spec.low)


def check_space(space: SearchSpace, base: dict) -> None:
    """Each key must be a config key that takes its values: an unknown key (`training.lrr`) or an impossible range
    fails here, before any trial, all problems at once."""
    problems = space_problems(space, base)
    if problems:
        raise ConfigError(problems, source=_("search space"))


def space_problems(space: SearchSpace, base: dict) -> list[tuple[str, str]]:
    problems = []
    for key, spec in space.items():
        for value in ([_probe(spec), spec.high if spec.type != "categorical" else None] + (spec.choices or [])[1:]):
            if value is None:
                continue
            try:
                load_config(base, values={key: int(value) if spec.type == "int" else value})
            except ConfigError as exc:
                problems += [(key, f"{value!r}: {msg}") for _key, msg in exc.problems]
                break
    return problems


def _dotted(tree: dict, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def default_values(space: SearchSpace, cfg: TrainConfig) -> dict[str, Any]:
    """The value each searched key has in the config as given (the method's option defaults filled in): trial 0."""
    tree = cfg.model_dump(mode="json")
    options = getattr(methods.get(cfg.method), "Options", None)
    if options is not None:
        tree["method_options"] = options.model_validate(cfg.method_options).model_dump(mode="json")
    values = {}
    for key, spec in space.items():
        value = _dotted(tree, key)
        if value is None:
            continue
        if spec.type == "int":
            value = int(value)
        values[key] = value
    return values


def suggest(trial, space: SearchSpace) -> dict[str, Any]:
    """The trial's values, drawn by the study's sampler (TPE)."""
    values = {}
    for key, spec in space.items():
        if spec.type == "categorical":
            values[key] = trial.suggest_categorical(key, spec.choices)
        elif spec.type == "int":
            values[key] = trial.suggest_int(key, int(spec.low), int(spec.high), log=spec.log)
        else:
            values[key] = trial.suggest_float(key, spec.low, spec.high, log=spec.log)
    return values
