"""`domainfit compare`: every method at every labelled-data budget, scored on one test split, into a leaderboard.

The data is read, checked and split once (`Workflow.open_pool`: the task's own reader). For each budget (k examples per class,
label, target bin, answer or entity type — the task's `Workflow.budget` — or all) and seed, the training and
validation rows are sampled; each method is trained through the ordinary `train` pipeline (so what is
compared is exactly what a user gets), baselines such as `tfidf` are fit directly. Small budgets get several seeds
(mean ± std). Bundles are deleted after measuring unless `keep_bundles`. With a `tuner` (`compare --tune`, given by
the API from `domainfit.tuning.compare_tuner`) each method is tuned on the run's own training and validation files
first, and the run records the defaults' scores (trial 0) beside the tuned ones.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from domainfit.backbones import load_backbone, resolve_backbone
from domainfit.bundle import load_bundle
from domainfit.comparison.leaderboard import aggregate, recommend
from domainfit.comparison.report import write_compare_report
from domainfit.config.load import load_config
from domainfit.errors import ConfigError, DomainfitError
from domainfit.i18n import _
from domainfit.interfaces import make_task, serves, workflow_for
from domainfit.registry import baselines, methods, tasks
from domainfit.tasks.skeleton import run_training

__all__ = ["check_methods", "run_compare"]

SMALL_BUDGET = 32  # budgets up to this many examples per class (label, answer, ...) get several seeds


def run_compare(
    data: str | Path,
    *,
    methods_: list[str],
    shots: list[int | None],
    output: str | Path,
    seeds: int = 3,
    test: str | Path | None = None,
    val: str | Path | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    base: dict[str, Any] | None = None,
    keep_bundles: bool = False,
    resume: bool = False,
    reporter=None,
    tuner: Callable[[Any], dict | None] | None = None,
    tune_settings: dict | None = None,
) -> dict:
    """Returns {"runs", "leaderboard", "recommendation", "task", "metrics", "unit", "data"} and writes them (and
    report.html) to `output`. The leaderboard ranks by the task's first two summary metrics (higher is better)."""
    out = Path(output)
    base = dict(base or {})
    cfg0 = load_config(base, values={"data.train": str(data), "data.test": str(test) if test else None,
                                     "data.val": str(val) if val else None, "data.text_column": text_column,
                                     "data.label_column": label_column})
    methods_ = list(methods_) or default_methods(cfg0.task)
    check_methods(methods_, cfg0.task)
    workflow = workflow_for(cfg0.task)
    budget = workflow.budget  # what k counts for this task, and how its rows are drawn
    task = make_task(cfg0.task, cfg0.task_options)
    metrics = tuple(task.summary_metrics[:2])
    backbone = resolve_backbone(cfg0.model.backbone)
    _model, tokenizer = load_backbone(backbone.path)
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    pool = workflow.open_pool(cfg0, task, tokenizer=tokenizer, model_name=backbone.name, folder=folder)
    test_file = folder / f"test{pool.suffix}"
    pool.write(pool.test, test_file)

    plan = [(k, s) for k in shots for s in range(seeds if k is not None and k <= SMALL_BUDGET else 1)]
    total = len(plan) * len(methods_)
    advance = reporter.progress(_("compare"), total) if reporter else None
    done = _finished_runs(out) if resume else {}
    runs: list[dict] = []
    for k, seed in plan:
        shots_name = "all" if k is None else str(k)
        train_k = budget.sample(pool.train, k, seed, task)
        val_k = budget.sample(pool.val, k, seed, task)
        train_file = folder / f"train_{shots_name}_s{seed}{pool.suffix}"
        val_file = folder / f"val_{shots_name}_s{seed}{pool.suffix}"
        pool.write(train_k, train_file)
        pool.write(val_k, val_file)
        sample = _sample_digest(train_file, val_file, test_file, *pool.inputs,
                                {"base": base, "tune": tune_settings} if tuner else base)
        for name in methods_:
            record = {"method": name, "shots": shots_name, "seed": seed, "train_rows": len(train_k), "sample": sample}
            previous = done.get((name, shots_name, seed, sample))
            if previous is not None:  # --resume: this exact run finished before
                runs.append(previous)
                if advance:
                    advance(1)
                continue
            try:
                if name in methods:
                    files = {"data.train": str(train_file), "data.val": str(val_file), "data.test": str(test_file)}
                    record.update(_train_method(run_training, base, name, {"task": cfg0.task, **files, **pool.run_values},
                                                seed, out / "runs" / f"{name}-{shots_name}-s{seed}", keep_bundles, metrics,
                                                tuner))
                else:
                    record.update(_fit_baseline(pool, name, train_k, val_k, seed, metrics))
            except DomainfitError as exc:
                record["error"] = str(exc)
            except Exception as exc:  # noqa: BLE001 - one failing method must not lose the others' results
                record["error"] = f"{type(exc).__name__}: {exc}"
            runs.append(record)
            if reporter:
                shown = (f"{metrics[0]} {100 * record[metrics[0]]:.1f}" if record.get(metrics[0]) is not None
                         else _("failed: {error}").format(error=record.get("error", "")[:200]))
                reporter.log(_("{name} @ {shots} {unit} (seed {seed}): {shown}").format(
                    name=name, shots=shots_name, unit=budget.unit, seed=seed, shown=shown))
            if advance:
                advance(1)
            _save(out, runs)
            finished = getattr(reporter, "run_finished", None)  # optional: the studio draws the learning curve live
            if finished:
                finished(dict(record), metrics[0])
    board = aggregate(runs, metrics)
    result = {"runs": runs, "leaderboard": board, "recommendation": recommend(board, metrics, unit=budget.unit),
              "task": cfg0.task, "metrics": list(metrics), "unit": budget.unit, "tune": tune_settings if tuner else None,
              "data": {**pool.summary, "backbone": backbone.name}}
    _save(out, runs, result)

    write_compare_report(out / "report.html", result)
    return result


DEFAULT_METHODS = ("zeroshot", "tfidf", "head", "fewshot", "lora", "full")


def default_methods(task: str) -> list[str]:
    """What `compare` runs when not told: the usual line-up, less what the task cannot do, and the task's own cheap
    baselines (multilabel: tfidf_multilabel; regression: tfidf_ridge; retrieval: bm25; ner: dictionary)."""
    usable = [n for n in DEFAULT_METHODS if (n in methods and serves(methods.get(n), task))
              or (n in baselines and serves(baselines.get(n), task) and not baselines.get(n).needs_encoder)]
    own = [b for b in getattr(tasks.get(task), "default_baselines", ())
           if b in baselines and not baselines.get(b).needs_encoder and b not in usable]
    return own + usable


def check_methods(names: list[str], task: str) -> None:
    """Every name is a method or a baseline that answers `task` (a baseline that needs the backbone is compared as
    the method of that name); all problems at once, before any work."""
    problems = []
    for name in names:
        registry, kind = (methods, "method") if name in methods else (baselines, "baseline")
        if name not in registry:
            problems.append(("--methods", methods.unknown_message(name)))
        elif not serves(registry.get(name), task):
            able = [n for n, c in methods.items() if serves(c, task)] + [
                n for n, c in baselines.items() if serves(c, task) and not c.needs_encoder]
            problems.append(("--methods", (
                _("method {name} does not support task {task}; methods and baselines that do: {able}") if kind == "method"
                else _("baseline {name} does not support task {task}; methods and baselines that do: {able}")).format(
                    name=repr(name), task=repr(task), able=", ".join(dict.fromkeys(able)))))
        elif kind == "baseline" and registry.get(name).needs_encoder:
            problems.append(("--methods", _("{name} is a baseline that needs the backbone; compare the untouched backbone "
                                            "with the method `zeroshot` where the task has it").format(name=repr(name))))
    if problems:
        raise ConfigError(problems)


def _train_method(run_training, base: dict, name: str, values: dict, seed: int, bundle: Path, keep: bool,
                  metrics: tuple[str, ...] = ("accuracy", "macro_f1"), tuner=None) -> dict:
    """Train `name` through the ordinary pipeline on the run's files (`values`: data paths, task, columns); with a
    `tuner`, tune it first (the best trial's bundle is then the one measured)."""
    cfg = load_config({**base, "method": name, "baselines": []},
                      values={**values, "data.min_per_class": 1, "training.seed": seed, "output": str(bundle)})
    t = time.perf_counter()
    tuning = tuner(cfg) if tuner else None  # None: the method has no search space, trained as is
    if tuning is None:
        run_training(cfg, overwrite=True)  # the comparison's own work folder
    wall = time.perf_counter() - t
    meta = load_bundle(bundle).meta  # checks the format version and the manifest, as every reader of a bundle does
    scores = json.loads((bundle / "metrics.json").read_text(encoding="utf-8"))
    size = sum(f.stat().st_size for f in (bundle / "model").rglob("*") if f.is_file())
    row = {**{m: scores["model"][m] for m in metrics},
           "train_seconds": meta.training["seconds"], "wall_seconds": round(wall, 2),
           "texts_per_s": scores["inference"]["texts_per_s"],
           "trainable_parameters": meta.model.trainable_parameters, "bundle_mb": round(size / 2**20, 2)}
    if tuning is not None:
        row["tuning"] = {**tuning, "test_default": {m: tuning["test_default"].get(m) for m in metrics},
                         "test_tuned": {m: tuning["test_tuned"].get(m) for m in metrics}}
    if not keep:
        shutil.rmtree(bundle, ignore_errors=True)
    return row


def _fit_baseline(pool, name: str, train, val, seed: int, metrics: tuple[str, ...]) -> dict:
    t = time.perf_counter()
    scores = pool.score_baseline(name, train, val, seed)
    seconds = time.perf_counter() - t
    return {**{m: float(scores[m]) for m in metrics}, "train_seconds": round(seconds, 2), "texts_per_s": None,
            "trainable_parameters": None, "bundle_mb": None}


def _sample_digest(*parts) -> str:
    """Identifies a run's inputs: the sampled files and the shared config (a resumed run must see the same)."""
    import hashlib

    h = hashlib.sha256()
    for part in parts:
        h.update(part.read_bytes() if isinstance(part, Path) else json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _finished_runs(out: Path) -> dict:
    path = out / "runs.json"
    if not path.is_file():
        return {}
    runs = json.loads(path.read_text(encoding="utf-8"))
    return {(r["method"], r["shots"], r["seed"], r.get("sample")): r for r in runs if "error" not in r and r.get("sample")}


def _save(out: Path, runs: list[dict], result: dict | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs.json").write_text(json.dumps(runs, indent=2, default=str), encoding="utf-8")
    if result is not None:
        (out / "leaderboard.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
        pd.DataFrame(result["leaderboard"]).to_csv(out / "leaderboard.csv", index=False)
