"""The train workflow: config → data → baselines → method.fit → task state → bundle → evaluation through the
Predictor → report.

A bundle is written into a hidden staging folder beside the output (`bundle.stage_path`) and swapped in, sealed with
its manifest, only when complete: an interrupted run leaves the old bundle (if any) untouched, a run that fails half way
never leaves new files beside old variants, and `--resume` continues from the staging folder's checkpoints."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pandas as pd

from domainfit.backbones import FrozenEncoder, configure_threads, default_pooling, load_backbone, resolve_backbone
from domainfit.bundle import (FORMAT_VERSION, META_FILE, begin_stage, check_output, library_versions, now_iso, save_model,
                              seal_bundle, swap_in, write_json)
from domainfit.config.schema import TrainConfig
from domainfit.data import prepare_data, write_rejects
from domainfit.data.clean import make_cleaner
from domainfit.evaluation.assess import assess_and_report, run_baselines
from domainfit.methods.base import FitContext, Reporter, SilentReporter
from domainfit.registry import baselines, methods
from domainfit.tasks import make_task

__all__ = ["assess_into_bundle", "bundle_meta", "finish_bundle", "open_backbone", "run_training", "write_data_files"]


def run_training(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False, reporter: Reporter | None = None) -> Path:
    """Train and write the bundle at cfg.output; returns its path. An output folder that holds a bundle is replaced only
    with `overwrite` (and only once the new bundle is complete); a non-empty folder that is not a bundle is refused."""
    from domainfit.tasks import workflow_of

    reporter = reporter or SilentReporter()
    final = Path(cfg.output)
    check_output(final, overwrite=overwrite, resume=resume)  # before any work
    stage = begin_stage(final, resume=resume)
    if resume:
        _report_resume(stage, reporter)
    workflow = workflow_of(cfg.task)
    if workflow is not None:  # token- or pair-level tasks (NER, retrieval) run their own workflow
        workflow.run_training(cfg, resume=resume, reporter=reporter, output=stage)
    else:
        _train_table(cfg, stage, resume=resume, reporter=reporter)
    return swap_in(stage, final)


def _report_resume(stage: Path, reporter: Reporter) -> None:
    from domainfit.training.checkpoint import CHECKPOINT_FILE, checkpoint_info

    found = sorted((stage / "checkpoints").rglob(CHECKPOINT_FILE))
    if found:
        info = checkpoint_info(found[-1])
        reporter.log(f"resuming from {found[-1]} (step {info['step']})")
    else:
        reporter.log(f"resuming in {stage}: no checkpoint was written yet, training starts from the first step")


def _train_table(cfg: TrainConfig, out: Path, *, resume: bool, reporter: Reporter) -> Path:
    """The classification / multi-label / regression workflow, writing into `out` (the staging folder)."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    backbone, encoder, tokenizer, threads = open_backbone(cfg, reporter)
    auto_pooling, normalize = default_pooling(backbone.path)
    pooling = auto_pooling if cfg.model.pooling == "auto" else cfg.model.pooling

    method = methods.get(cfg.method)()
    task = make_task(cfg.task, cfg.task_options)
    if cfg.data.train is None:  # a zero-shot method: labels from its options, the test file (if any) to evaluate on
        data = _labels_only_data(cfg, method.declared_labels(cfg.method_options), task)
    else:
        data = prepare_data(cfg.data, task=task, tokenizer=tokenizer, max_length=cfg.model.max_length, model_name=backbone.name)
    write_data_files(out, data, reporter)
    c = data.report.counts
    reporter.log(f"data: {c['rows_in']} rows in, {c['rows_kept']} kept, {c['rows_rejected']} rejected (→ {out / 'rejects.csv'}); "
                 f"train {len(data.train)} / val {len(data.val)} / test {len(data.test)}; {len(data.labels)} labels")
    timings["data_s"] = time.perf_counter() - t0

    def frozen(norm: bool) -> FrozenEncoder:
        return FrozenEncoder(encoder, tokenizer, name=backbone.name, weights_sha256=backbone.sha256, pooling=pooling,
                             normalize=norm, max_length=cfg.model.max_length, progress=reporter.progress)

    # Baselines first: "zeroshot" needs the backbone before fine-tuning changes it.
    t = time.perf_counter()
    names = [b for b in cfg.baselines if len(data.train) or not baselines.get(b).needs_training_data]
    baseline_scores = (run_baselines(names, data, frozen(True), task=task, seed=cfg.training.seed, reporter=reporter)
                       if len(data.test) else {})
    timings["baselines_s"] = time.perf_counter() - t

    task.fit_targets(data.train["label"].tolist(), data.labels)  # e.g. the regression target's mean and std
    ctx = FitContext(config=cfg, task=task, labels=data.labels, train=data.train, val=data.val, backbone=backbone,
                     encoder=encoder, tokenizer=tokenizer, pooling=pooling, normalize=normalize, frozen=frozen(normalize),
                     output=out, resume=resume, reporter=reporter)
    reporter.log(f"method {cfg.method}: {method.description}")
    from accelerate.utils import set_seed

    set_seed(cfg.training.seed)  # methods draw initial weights (heads, LoRA matrices) before the loop seeds itself
    t = time.perf_counter()
    fit = method.fit(ctx)
    if task.tunes_on_validation:  # e.g. multi-label decision thresholds, from the trained model's validation scores
        task.tune(data.val["label"].tolist(), _scores(fit.model, task, tokenizer, data.val, cfg.model.max_length), data.labels)
    timings["fit_s"] = time.perf_counter() - t

    encoder_meta = save_model(out, fit.model, tokenizer, encoder_format=fit.encoder_format, format_options=fit.format_options)
    meta = bundle_meta(cfg, task=task, labels=data.labels, backbone=backbone, fit=fit, encoder_meta=encoder_meta,
                       hidden_size=encoder.config.hidden_size, report=data.report, fingerprint=_fingerprint(data), threads=threads)
    write_json(out / META_FILE, meta)

    assess_into_bundle(out, data, baseline_scores=baseline_scores, fit=fit, reporter=reporter, timings=timings,
                       title=f"domainfit: {cfg.task} with {cfg.method}")
    finish_bundle(out, meta, cfg, timings=timings, started=t0, reporter=reporter)
    return out


def open_backbone(cfg: TrainConfig, reporter: Reporter):
    """The CPU threads set, the backbone resolved (where it came from, logged) and loaded:
    (backbone, encoder, tokenizer, threads)."""
    threads = configure_threads(cfg.training.threads)
    backbone = resolve_backbone(cfg.model.backbone)
    reporter.log(f"backbone {backbone.name} ← {backbone.path} ({backbone.source})")
    encoder, tokenizer = load_backbone(backbone.path)
    return backbone, encoder, tokenizer, threads


def write_data_files(out: Path, data, reporter: Reporter) -> None:
    """rejects.csv, data_report.json and the exact splits (data/{train,val,test}.csv) of a table task's data into the
    bundle; the data's warnings logged."""
    out.mkdir(parents=True, exist_ok=True)
    write_rejects(data.rejects, out / "rejects.csv")
    write_json(out / "data_report.json", data.report.to_dict())
    _save_splits(out / "data", data)
    for issue in data.report.warnings:
        reporter.log(f"[warning] {issue.message}" + (f"\n  how to fix: {issue.hint}" if issue.hint else ""))


def assess_into_bundle(out: Path, data, *, baseline_scores: dict, fit, reporter: Reporter, timings: dict[str, float],
                       title: str) -> None:
    """metrics.json, reference_stats.json and report.html of a table task's bundle, on its test split (if any)."""
    t = time.perf_counter()
    seal_bundle(out)  # evaluation loads the bundle through the Predictor, which checks the manifest
    if len(data.test):
        assess_and_report(out, data.test, data.train, baseline_scores=baseline_scores, history=fit.history,
                          train_seconds=fit.seconds, reporter=reporter, title=title)
    else:
        reporter.log("no test rows: the bundle has no metrics (pass data.test to measure it)")
    timings["eval_s"] = time.perf_counter() - t


def bundle_meta(cfg: TrainConfig, *, task, labels: list[str], backbone, fit, encoder_meta: dict, hidden_size: int, report,
                fingerprint: str, threads: int) -> dict:
    """domainfit.json of a trained model (every workflow writes the same keys; a workflow may add its own)."""
    return {
        "format_version": FORMAT_VERSION,
        "task": cfg.task,
        "task_options": cfg.task_options,
        "task_state": task.state(),  # what the Predictor needs besides the weights (thresholds, target mean/std)
        "labels": labels,
        "method": cfg.method,
        "method_options": cfg.method_options,
        "backbone": backbone.to_dict(),
        "model": {"pooling": fit.model.pooling, "normalize": fit.model.normalize, "max_length": cfg.model.max_length,
                  "encoder": encoder_meta,
                  "hidden_size": hidden_size, "trainable_parameters": fit.model.trainable_parameters(),
                  "total_parameters": sum(p.numel() for p in fit.model.parameters())},
        "config": cfg.model_dump(mode="json"),
        "data": {"fingerprint": fingerprint, "counts": report.counts, "columns": report.columns, "files": report.files},
        "training": {"seconds": round(fit.seconds, 2), "threads": threads, **fit.info},
        "versions": library_versions(),
        "created": now_iso(),
    }


def finish_bundle(out: Path, meta: dict, cfg: TrainConfig, *, timings: dict[str, float], started: float, reporter: Reporter) -> None:
    """The last steps of every training workflow: timings into domainfit.json, the MLflow run if tracking is on, and
    the checkpoints removed (training finished: the bundle is the result)."""
    timings["total_s"] = time.perf_counter() - started
    meta["timings"] = {k: round(v, 2) for k, v in timings.items()}
    write_json(out / META_FILE, meta)
    if cfg.tracking.backend == "mlflow":
        seal_bundle(out)  # the copy MLflow keeps carries its manifest
        from domainfit.model_registry import default_registry_uri, log_training_run

        uri = cfg.tracking.uri or default_registry_uri()
        meta["tracking"] = {"mlflow_uri": uri, "mlflow_run_id": log_training_run(out, uri, cfg.tracking.experiment)}
        reporter.log(f"logged to MLflow: experiment {cfg.tracking.experiment!r}, run {meta['tracking']['mlflow_run_id']} ({uri})")
        write_json(out / META_FILE, meta)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)


def _scores(model, task, tokenizer, frame: pd.DataFrame, max_length: int):
    """The task's decoded scores of the in-memory model on `frame` (the Predictor's tokenization and batching)."""
    import numpy as np

    from domainfit.backbones.encoder import tokenize
    from domainfit.inference import run_model

    if not len(frame):
        return np.zeros((0, 0), dtype=np.float32)
    ids = tokenize(tokenizer, frame["text"].tolist(), max_length)
    device = next(model.parameters()).device
    return task.decode(run_model(model, ids, pad_id=tokenizer.pad_token_id or 0, batch_size=128, device=device))


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


def _labels_only_data(cfg: TrainConfig, labels: list[str], task):
    """PreparedData for a method that needs no training rows: only the (optional) test file, read and checked."""
    from domainfit.data import DataReport, PreparedData
    from domainfit.evaluation.assess import load_eval_rows

    empty = pd.DataFrame({"text": [], "label": [], "_file": [], "_row": []})
    rejects = pd.DataFrame({"_file": [], "_row": [], "text": [], "label": [], "reason": []})
    test = empty
    if cfg.data.test is not None:
        test, rejects = load_eval_rows(cfg.data.test, labels, task=task, text_column=cfg.data.text_column,
                                       label_column=cfg.data.label_column, encoding=cfg.data.encoding,
                                       clean=make_cleaner(cfg.data.normalize, cfg.data.redact))
    counts = {"rows_in": len(test) + len(rejects), "rows_kept": len(test), "rows_rejected": len(rejects), "train": 0,
              "val": 0, "test": len(test)}
    report = DataReport(issues=[], files=[], columns={"text": cfg.data.text_column, "label": cfg.data.label_column},
                        counts=counts, labels=labels)
    return PreparedData(train=empty, val=empty, test=test, rejects=rejects, report=report, labels=labels)
