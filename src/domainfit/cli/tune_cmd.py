"""`domainfit tune CONFIG --trials N [--timeout 2h] [--space space.yaml] [--storage URL]`: a thin shell over
`domainfit.tuning.tune`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from domainfit.errors import ConfigError
from domainfit.i18n import _

__all__ = ["tune_command"]

Opt = typer.Option
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | None) -> float | None:
    """90, 90s, 30m, 2h, 1d → seconds."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ConfigError([("--timeout", _("cannot read {text}: give seconds or a number with s, m, h or d (2h)").format(text=repr(text)))])
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def tune_command(
    config: Annotated[Path, typer.Argument(help="the training config (YAML) to tune")],
    trials: Annotated[int, Opt("--trials", help="finished trials the study should hold (shared by every process on it)")] = 20,
    timeout: Annotated[str | None, Opt("--timeout", help="stop starting trials after this long: 90m, 2h")] = None,
    space: Annotated[Path | None, Opt("--space", help="search space YAML (default: the method's)")] = None,
    storage: Annotated[str | None, Opt("--storage", help="study storage: sqlite:///study.db or postgresql+psycopg://… (default: a SQLite file beside the output)")] = None,
    study: Annotated[str | None, Opt("--study", help="study name (default: the output folder's name)")] = None,
    set_: Annotated[list[str] | None, Opt("--set", help="any config key: --set training.patience=3 (repeatable)")] = None,
) -> None:
    """Search hyperparameters with Optuna (TPE, pruning; the defaults are trial 0) and keep the best model as the bundle."""
    from domainfit.cli.ui import RichReporter, console
    from domainfit.tuning import tune

    summary = tune(config, trials=trials, timeout=parse_duration(timeout), space=space, storage=storage, study_name=study,
                   overrides=set_ or (), reporter=RichReporter())
    best, defaults = summary["best"], summary["defaults"]
    console.print(_("best trial {number}: {metric} {value}").format(number=best["number"], metric=summary["metric"], value=f"{best['value']:.4f}")
                  + (" " + _("(defaults {value})").format(value=f"{defaults['value']:.4f}") if defaults else "") + f"; {summary['counts']}")
    console.print(_("bundle: [bold]{path}[/]   report: {report}").format(path=summary["output"], report=Path(summary["output"]).parent / (Path(summary["output"]).name + "-tuning") / "report.html"))
