"""`compare --tune`: each method tuned before it is compared. `compare_tuner` gives `run_compare` a function that runs a
short study (`tune`) on the run's own training and validation files (never its test split) and leaves the best
trial's bundle where the plain run would have written its own; the defaults are trial 0, so the tuned run is never
worse than the defaults on validation. What it returns is recorded beside the run: the defaults' and the best trial's
validation value and test metrics, the values found, and the trial counts.

Glue only: the study is `tune`'s (Optuna); the comparison measures the bundle as it measures any other.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from domainfit.config import TrainConfig
from domainfit.i18n import _
from domainfit.tuning.space import DEFAULT_SPACES
from domainfit.tuning.study import tune, tuning_folder

__all__ = ["compare_tuner"]


def compare_tuner(trials: int, timeout: float | None = None, reporter=None) -> Callable[[TrainConfig], dict | None]:
    """A function of one run's config: None for a method without a default search space (it is trained as is), else
    the study's outcome, with the best trial's bundle at `cfg.output`. `timeout` bounds each method's study."""
    from domainfit.errors import ConfigError

    if trials < 1:
        raise ConfigError([("--trials", _("at least 1 (the defaults are trial 0)"))])

    def tune_run(cfg: TrainConfig) -> dict | None:
        if cfg.method not in DEFAULT_SPACES:
            return None
        summary = tune(cfg, trials=trials, timeout=timeout, reporter=reporter)
        folder = tuning_folder(cfg.output)
        for trial in folder.glob("trial-*"):  # the best one is the run's bundle now; the study and report stay
            shutil.rmtree(trial, ignore_errors=True)
        defaults, best = summary["defaults"] or {}, summary["best"]
        return {"trials": summary["counts"], "metric": summary["metric"], "best_trial": best["number"],
                "params": best["params"], "val_default": defaults.get("value"), "val_tuned": best["value"],
                "test_default": defaults.get("test", {}), "test_tuned": best["test"], "report": str(folder / "report.html")}

    return tune_run
