"""The train workflow: config → data → baselines → method.fit → bundle → evaluation through the Predictor → report."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pandas as pd

from domainfit.backbones import FrozenEncoder, configure_threads, default_pooling, load_backbone, resolve_backbone
from domainfit.bundle import FORMAT_VERSION, META_FILE, library_versions, now_iso, save_model, write_json
from domainfit.config.schema import TrainConfig
from domainfit.data import prepare_data, write_rejects
from domainfit.evaluation.assess import assess_and_report, run_baselines
from domainfit.methods.base import FitContext, Reporter, SilentReporter
from domainfit.registry import methods, tasks

__all__ = ["run_training"]


def run_training(cfg: TrainConfig, *, resume: bool = False, reporter: Reporter | None = None) -> Path:
    """Train and write the bundle at cfg.output; returns its path."""
    reporter = reporter or SilentReporter()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(cfg.output)
    threads = configure_threads(cfg.training.threads)

    backbone = resolve_backbone(cfg.model.backbone)
    reporter.log(f"backbone {backbone.name} ← {backbone.path} ({backbone.source})")
    encoder, tokenizer = load_backbone(backbone.path)
    auto_pooling, normalize = default_pooling(backbone.path)
    pooling = auto_pooling if cfg.model.pooling == "auto" else cfg.model.pooling

    data = prepare_data(cfg.data, tokenizer=tokenizer, max_length=cfg.model.max_length, model_name=backbone.name)
    out.mkdir(parents=True, exist_ok=True)
    write_rejects(data.rejects, out / "rejects.csv")
    write_json(out / "data_report.json", data.report.to_dict())
    _save_splits(out / "data", data)
    for issue in data.report.warnings:
        reporter.log(f"[warning] {issue.message}" + (f"\n  how to fix: {issue.hint}" if issue.hint else ""))
    c = data.report.counts
    reporter.log(f"data: {c['rows_in']} rows in, {c['rows_kept']} kept, {c['rows_rejected']} rejected (→ {out / 'rejects.csv'}); "
                 f"train {len(data.train)} / val {len(data.val)} / test {len(data.test)}; {len(data.labels)} labels")
    timings["data_s"] = time.perf_counter() - t0

    def frozen(norm: bool) -> FrozenEncoder:
        return FrozenEncoder(encoder, tokenizer, name=backbone.name, weights_sha256=backbone.sha256, pooling=pooling,
                             normalize=norm, max_length=cfg.model.max_length, progress=reporter.progress)

    # Baselines first: "zeroshot" needs the backbone before fine-tuning changes it.
    t = time.perf_counter()
    baseline_scores = run_baselines(cfg.baselines, data, frozen(True), seed=cfg.training.seed, reporter=reporter)
    timings["baselines_s"] = time.perf_counter() - t

    task = tasks.get(cfg.task)()
    method = methods.get(cfg.method)()
    ctx = FitContext(config=cfg, task=task, labels=data.labels, train=data.train, val=data.val, backbone=backbone,
                     encoder=encoder, tokenizer=tokenizer, pooling=pooling, normalize=normalize, frozen=frozen(normalize),
                     output=out, resume=resume, reporter=reporter)
    reporter.log(f"method {cfg.method}: {method.description}")
    t = time.perf_counter()
    fit = method.fit(ctx)
    timings["fit_s"] = time.perf_counter() - t

    save_model(out, fit.model, tokenizer)
    meta = {
        "format_version": FORMAT_VERSION,
        "task": cfg.task,
        "labels": data.labels,
        "method": cfg.method,
        "method_options": cfg.method_options,
        "backbone": backbone.to_dict(),
        "model": {"pooling": pooling, "normalize": normalize, "max_length": cfg.model.max_length,
                  "hidden_size": encoder.config.hidden_size, "trainable_parameters": fit.model.trainable_parameters(),
                  "total_parameters": sum(p.numel() for p in fit.model.parameters())},
        "config": cfg.model_dump(mode="json"),
        "data": {"fingerprint": _fingerprint(data), "counts": data.report.counts, "columns": data.report.columns,
                 "files": data.report.files},
        "training": {"seconds": round(fit.seconds, 2), "threads": threads, **fit.info},
        "versions": library_versions(),
        "created": now_iso(),
    }
    write_json(out / META_FILE, meta)

    t = time.perf_counter()
    timings["total_s"] = time.perf_counter() - t0  # before evaluation; updated below
    assess_and_report(out, data.test, data.train, baseline_scores=baseline_scores, history=fit.history,
                      train_seconds=fit.seconds, reporter=reporter, title=f"domainfit: {cfg.task} with {cfg.method}")
    timings["eval_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    meta["timings"] = {k: round(v, 2) for k, v in timings.items()}
    write_json(out / META_FILE, meta)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # training finished: the bundle is the result
    return out


def _save_splits(folder: Path, data) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "val", "test"):
        getattr(data, name).to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")


def _fingerprint(data) -> str:
    h = hashlib.sha256()
    for name in ("train", "val", "test"):
        frame: pd.DataFrame = getattr(data, name)
        h.update(name.encode())
        for text, label in zip(frame["text"], frame["label"]):
            h.update(f"{text}\x1f{label}\x1e".encode())
    return h.hexdigest()
