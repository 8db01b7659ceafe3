"""`domainfit compare`: every method at every labelled-data budget, scored on one test split, into a leaderboard.

The data is read, checked and split once. For each budget (k examples per class, or all) and seed, the training
and validation rows are sampled per class; each method is trained through the ordinary `train` pipeline (so what is
compared is exactly what a user gets), baselines such as `tfidf` are fit directly. Small budgets get several seeds
(mean ± std). Bundles are deleted after measuring unless `keep_bundles`.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from domainfit.comparison.leaderboard import aggregate, recommend
from domainfit.comparison.sampling import sample_per_class
from domainfit.config.load import load_config
from domainfit.errors import ConfigError, DomainfitError
from domainfit.registry import baselines, methods

__all__ = ["run_compare"]

SMALL_BUDGET = 32  # budgets up to this many examples per class get several seeds


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
) -> dict:
    """Returns {"runs": [...], "leaderboard": [...], "recommendation": {...}} and writes them (and report.html) to `output`."""
    from domainfit.backbones import load_backbone, resolve_backbone
    from domainfit.data import prepare_data
    from domainfit.training.pipeline import run_training

    unknown = [m for m in methods_ if m not in methods and m not in baselines]
    if unknown:
        problems = [("--methods", methods.unknown_message(m)) for m in unknown]
        raise ConfigError(problems)
    out = Path(output)
    base = dict(base or {})
    cfg0 = load_config(base, values={"data.train": str(data), "data.test": str(test) if test else None,
                                     "data.val": str(val) if val else None, "data.text_column": text_column,
                                     "data.label_column": label_column})
    if cfg0.task != "classification":  # budgets are "k examples per class": only classes can be sampled that way
        raise ConfigError([("task", f"`domainfit compare` samples k labelled examples per class, so it compares "
                                    f"classification only, not {cfg0.task}; train each method with `domainfit train "
                                    f"--task {cfg0.task} --method NAME` and compare their metrics.json "
                                    f"({cfg0.task}: {', '.join(_task_metrics(cfg0.task))})")])
    backbone = resolve_backbone(cfg0.model.backbone)
    _, tokenizer = load_backbone(backbone.path)
    prepared = prepare_data(cfg0.data, tokenizer=tokenizer, max_length=cfg0.model.max_length, model_name=backbone.name)
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    test_csv = folder / "test.csv"
    prepared.test[["text", "label"]].to_csv(test_csv, index=False)

    plan = [(k, s) for k in shots for s in range(seeds if k is not None and k <= SMALL_BUDGET else 1)]
    total = len(plan) * len(methods_)
    advance = reporter.progress("compare", total) if reporter else None
    done = _finished_runs(out) if resume else {}
    runs: list[dict] = []
    for k, seed in plan:
        shots_name = "all" if k is None else str(k)
        train_k = sample_per_class(prepared.train, k, seed)
        val_k = sample_per_class(prepared.val, k, seed)
        train_csv, val_csv = folder / f"train_{shots_name}_s{seed}.csv", folder / f"val_{shots_name}_s{seed}.csv"
        train_k[["text", "label"]].to_csv(train_csv, index=False)
        val_k[["text", "label"]].to_csv(val_csv, index=False)
        sample = _sample_digest(train_csv, val_csv, test_csv, base)
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
                    record.update(_train_method(run_training, base, name, train_csv, val_csv, test_csv, seed,
                                                out / "runs" / f"{name}-{shots_name}-s{seed}", keep_bundles))
                else:
                    record.update(_fit_baseline(name, train_k, prepared.test, prepared.labels, seed))
            except DomainfitError as exc:
                record["error"] = str(exc)
            except Exception as exc:  # noqa: BLE001 - one failing method must not lose the others' results
                record["error"] = f"{type(exc).__name__}: {exc}"
            runs.append(record)
            if reporter:
                shown = f"{100 * record['accuracy']:.1f}%" if "accuracy" in record else f"failed: {record['error'][:200]}"
                reporter.log(f"{name} @ {shots_name}/class (seed {seed}): {shown}")
            if advance:
                advance(1)
            _save(out, runs)
    board = aggregate(runs)
    result = {"runs": runs, "leaderboard": board, "recommendation": recommend(board),
              "data": {"train": len(prepared.train), "val": len(prepared.val), "test": len(prepared.test),
                       "labels": len(prepared.labels), "backbone": backbone.name}}
    _save(out, runs, result)
    from domainfit.comparison.report import write_compare_report

    write_compare_report(out / "report.html", result)
    return result


def _task_metrics(name: str) -> tuple[str, ...]:
    from domainfit.registry import tasks

    return tasks.get(name).summary_metrics


def _train_method(run_training, base: dict, name: str, train_csv: Path, val_csv: Path, test_csv: Path, seed: int,
                  bundle: Path, keep: bool) -> dict:
    cfg = load_config({**base, "method": name, "baselines": []},
                      values={"data.train": str(train_csv), "data.val": str(val_csv), "data.test": str(test_csv),
                              "data.text_column": "text", "data.label_column": "label", "data.min_per_class": 1,
                              "training.seed": seed, "output": str(bundle)})
    t = time.perf_counter()
    run_training(cfg)
    wall = time.perf_counter() - t
    meta = json.loads((bundle / "domainfit.json").read_text(encoding="utf-8"))
    metrics = json.loads((bundle / "metrics.json").read_text(encoding="utf-8"))
    size = sum(f.stat().st_size for f in (bundle / "model").rglob("*") if f.is_file())
    row = {"accuracy": metrics["model"]["accuracy"], "macro_f1": metrics["model"]["macro_f1"],
           "train_seconds": meta["training"]["seconds"], "wall_seconds": round(wall, 2),
           "texts_per_s": metrics["inference"]["texts_per_s"],
           "trainable_parameters": meta["model"]["trainable_parameters"], "bundle_mb": round(size / 2**20, 2)}
    if not keep:
        shutil.rmtree(bundle, ignore_errors=True)
    return row


def _fit_baseline(name: str, train: pd.DataFrame, test: pd.DataFrame, labels: list[str], seed: int) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    baseline = baselines.get(name)()
    if baseline.needs_encoder:
        raise ConfigError([("--methods", f"{name!r} is a baseline that needs the backbone: use the method of that name")])
    t = time.perf_counter()
    scores = baseline.fit_predict(train["text"].tolist(), train["label"].tolist(), test["text"].tolist(), labels, seed=seed)
    seconds = time.perf_counter() - t
    pred = [labels[i] for i in np.asarray(scores).argmax(1)]
    return {"accuracy": float(accuracy_score(test["label"], pred)), "macro_f1": float(f1_score(test["label"], pred, average="macro")),
            "train_seconds": round(seconds, 2), "texts_per_s": None, "trainable_parameters": None, "bundle_mb": None}


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
