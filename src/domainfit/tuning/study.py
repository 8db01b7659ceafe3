"""`domainfit tune`: an Optuna study over one training config.

Every trial is a real `domainfit train` of the config with the trial's values (into `<output>-tuning/trial-N`), scored
by its best validation value of the task's primary metric (never the test split); the loop's evaluations are reported
to the trial, so the median pruner stops a trial that falls behind the others at the same epoch. Trial 0 is the config
as given (the defaults), so a study can only match or beat them on validation. The study lives in an RDB storage
(SQLite file by default, beside the output; any SQLAlchemy URL, e.g. PostgreSQL, to share it between machines): a
killed run resumes where it stopped, and several processes running the same command work on one study until it holds
`trials` finished trials between them. A killed process's trial stays RUNNING until its heartbeat goes stale, then it is
marked failed and tried again once. The best trial's bundle is kept as `output` (trained again from its values when
another machine ran it), and the report (`report.py`) is written beside it.

Glue only: Optuna samples (TPE), prunes (median), stores and counts; domainfit trains.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

from domainfit.bundle import read_meta, swap_in
from domainfit.config.load import load_config
from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.interfaces import Reporter, SilentReporter, StepEvent, make_task
from domainfit.store import redact_url
from domainfit.tasks.skeleton import run_training
from domainfit.tuning.report import write_report
from domainfit.tuning.space import check_space, default_space, default_values, load_space, suggest

__all__ = ["open_storage", "tune", "tuning_folder"]

HEARTBEAT_S, GRACE_S = 15, 60  # a trial whose process stopped beating for a minute is failed and tried again


def tuning_folder(output: str | Path) -> Path:
    output = Path(output)
    return output.parent / f"{output.name}-tuning"


def open_storage(url: str):
    """Optuna's RDB storage at `url`, connected now: a bad URL or an unreachable server fails before any trial."""
    import optuna
    import sqlalchemy as sa

    try:
        backend = sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        raise ConfigError([("--storage", _("{url} is not a database URL; give sqlite:///study.db or "
                                           "postgresql+psycopg://user@host:5432/db").format(
                                               url=repr(redact_url(url))))]) from None
    engine_kwargs = {"connect_args": {"timeout": 60}} if backend == "sqlite" else {"pool_pre_ping": True}
    try:
        with warnings.catch_warnings():  # the heartbeat is marked experimental; it is what makes a killed trial retry
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1))
    except Exception as exc:  # noqa: BLE001 - sqlalchemy's and the drivers' errors differ; all mean "cannot use it"
        raise ConfigError([("--storage", _("cannot open the study storage {url} ({kind}: {error}); check the URL, "
                                           "that the server is up and that the database exists").format(
                                               url=redact_url(url), kind=type(exc).__name__,
                                               error=str(exc).splitlines()[0][:200]))]) from None


class _PruningReporter:
    """Passes the loop's events on, and reports each validation to the trial (pruned: the trial stops there)."""

    def __init__(self, trial, metric: str, evals_per_epoch: int, inner: Reporter) -> None:
        self.trial, self.metric, self.evals_per_epoch, self.inner = trial, metric, evals_per_epoch, inner

    def progress(self, description: str, total: int):
        return self.inner.progress(description, total)

    def log(self, message: str) -> None:
        self.inner.log(message)

    def event(self, event: StepEvent) -> None:
        import optuna

        self.inner.event(event)
        if event.kind != "eval" or not event.metrics or self.metric not in event.metrics:
            return
        self.trial.report(float(event.metrics[self.metric]), step=round(event.epoch * self.evals_per_epoch))
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.metric} {event.metrics[self.metric]:.4f} at epoch {event.epoch:.2f}")


def tune(config: Any, *, trials: int = 20, timeout: float | None = None, space: str | Path | None = None,
         storage: str | None = None, study_name: str | None = None, overrides=(), reporter: Reporter | None = None) -> dict:
    """Run (or join, or resume) the study; returns the summary written to `<output>-tuning/tune.json`."""
    import optuna

    reporter = reporter or SilentReporter()
    cfg = load_config(config, overrides=overrides)  # every config problem, before any work
    base = cfg.model_dump(mode="json")
    searched = load_space(space, base) if space else default_space(cfg.method)
    check_space(searched, base)
    if trials < 1:
        raise ConfigError([("--trials", _("at least 1"))])
    folder = tuning_folder(cfg.output)
    folder.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    rdb = open_storage(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name or Path(cfg.output).name, storage=rdb, direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=cfg.training.seed, n_startup_trials=5),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    if not study.trials:  # the defaults first: the study then never ends below them
        study.enqueue_trial(default_values(searched, cfg), user_attrs={"defaults": True})
    metric = make_task(cfg.task, cfg.task_options).primary_metric

    def objective(trial) -> float:
        values = suggest(trial, searched)
        out = folder / f"trial-{trial.number}"
        reporter.log(_("trial {number}:").format(number=trial.number) + " " + ", ".join(f"{k}={_short(v)}" for k, v in values.items()))
        trial_cfg = load_config(base, values={**values, "output": str(out)})
        inner = _PruningReporter(trial, metric, cfg.training.evals_per_epoch, reporter)
        try:
            run_training(trial_cfg, overwrite=True, reporter=inner)
        except optuna.TrialPruned:
            shutil.rmtree(out.parent / f".{out.name}.partial", ignore_errors=True)
            raise
        meta = read_meta(out)
        value = meta.training.get("best_val")
        if value is None:
            raise ConfigError([("data.val", _("tuning scores each trial on the validation split, and this run had "
                                              "none; set data.val_size above 0 or give data.val"))])
        trial.set_user_attr("test", _test_metrics(out))
        _keep_best_only(study, folder, out, float(value))
        return float(value)

    done = _finished(study)
    if done < trials:
        study.optimize(objective, n_trials=trials - done, timeout=timeout, gc_after_trial=True,
                       callbacks=[optuna.study.MaxTrialsCallback(trials, states=_FINISHED)])
    best = study.best_trial
    kept = folder / f"trial-{best.number}"
    if kept.is_dir():
        stage = Path(cfg.output).parent / f".{Path(cfg.output).name}.partial"
        shutil.rmtree(stage, ignore_errors=True)
        shutil.copytree(kept, stage)
        swap_in(stage, cfg.output)
    else:  # another process ran the best trial: train its values here
        reporter.log(_("training the best trial ({number}) into {output}").format(number=best.number, output=cfg.output))
        run_training(load_config(base, values={**best.params, "output": str(cfg.output)}), overwrite=True, reporter=reporter)
    summary = _summary(study, metric, cfg, url, searched)
    write_report(study, summary, folder)
    return summary


_FINISHED = None  # set on first use (optuna imported lazily)


def _finished(study) -> int:
    import optuna

    global _FINISHED
    _FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=_FINISHED))


def _keep_best_only(study, folder: Path, out: Path, value: float) -> None:
    """One bundle on disk: this trial's if it leads the study, else none (a bundle is tens of MB)."""
    try:
        best = study.best_value
    except ValueError:  # no finished trial yet
        best = None
    if best is not None and value <= best:
        shutil.rmtree(out, ignore_errors=True)
        return
    for other in folder.glob("trial-*"):
        if other != out:
            shutil.rmtree(other, ignore_errors=True)


def _test_metrics(bundle: Path) -> dict:
    import json

    path = bundle / "metrics.json"
    if not path.is_file():
        return {}
    model = json.loads(path.read_text(encoding="utf-8")).get("model", {})
    return {k: v for k, v in model.items() if isinstance(v, (int, float)) and k != "n"}


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _summary(study, metric: str, cfg, url: str, searched) -> dict:
    import optuna

    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append({"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
                     "defaults": bool(t.user_attrs.get("defaults")), "test": t.user_attrs.get("test", {}),
                     "seconds": t.duration.total_seconds() if t.duration else None})
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    defaults = next((r for r in rows if r["defaults"] and r["state"] == "COMPLETE"), None)
    best = study.best_trial
    importances: dict = {}
    if len(complete) >= 2:
        try:
            importances = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError):  # e.g. every trial with the same values
            importances = {}
    return {"study": study.study_name, "storage": redact_url(url), "metric": f"validation {metric}",
            "method": cfg.method, "output": str(cfg.output), "space": {k: v.model_dump(exclude_none=True) for k, v in searched.items()},
            "best": {"number": best.number, "value": best.value, "params": best.params, "test": best.user_attrs.get("test", {})},
            "defaults": defaults, "importances": importances, "trials": rows,
            "counts": {state: sum(r["state"] == state for r in rows) for state in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")}}
