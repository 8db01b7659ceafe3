"""The one training skeleton every workflow runs: backbone → the workflow's data → baselines → the workflow's fit →
bundle (model, domainfit.json, manifest) → the workflow's assessment → timings, MLflow, checkpoints removed.

    run_training(cfg)            what `domainfit train` calls: checks the output folder, stages, dispatches to the
                                 task's workflow (`interfaces.workflow_for`), swaps the finished bundle in
    train_bundle(cfg, out, steps)  the common sequence; `steps` (a workflow) supplies prepare, baselines, fit,
                                 extend_meta and assess

A bundle is written into a hidden staging folder beside the output (`bundle.stage_path`) and swapped in, sealed with
its manifest, only when complete: an interrupted run leaves the old bundle (if any) untouched, a run that fails half way
never leaves new files beside old variants, and `--resume` continues from the staging folder's checkpoints.

Under `accelerate launch` (several processes, `training.distributed`) every rank reads and splits the same data and runs
the loop, but only rank 0 checks and prepares the output folder, runs the baselines, writes the bundle and assesses it;
the other ranks write their copy of the data files into a scratch folder that is deleted, and wait for rank 0 to swap
the bundle in.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from accelerate.utils import set_seed

from domainfit.backbones import configure_threads, default_pooling, load_backbone, resolve_backbone
from domainfit.backbones.encoder import tokenize
from domainfit.bundle import (
    FORMAT_VERSION,
    BundleMeta,
    DataMeta,
    ModelMeta,
    TrackingMeta,
    begin_stage,
    check_output,
    library_versions,
    now_iso,
    save_model,
    seal_bundle,
    stage_path,
    swap_in,
    write_json,
    write_meta,
)
from domainfit.config.schema import TrainConfig
from domainfit.data import write_rejects
from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.inference import run_model
from domainfit.interfaces import Reporter, SilentReporter, make_task, workflow_for
from domainfit.methods.base import FitResult
from domainfit.registry import methods
from domainfit.tracking import default_registry_uri, log_training_run
from domainfit.training import distributed
from domainfit.training.checkpoint import CHECKPOINT_FILE, checkpoint_info

__all__ = ["Opened", "Prepared", "TrainSteps", "bundle_meta", "model_scores", "rows_fingerprint", "run_training",
           "train_bundle", "write_data_files"]


@dataclass
class Opened:
    """The backbone as training found it: where it came from, the loaded encoder and tokenizer, pooling, threads."""

    backbone: Any  # ResolvedBackbone
    encoder: Any
    tokenizer: Any
    threads: int
    pooling: str
    normalize: bool


@dataclass
class Prepared:
    """A workflow's data, read, checked, split and written into the bundle (rejects, report, splits)."""

    data: Any  # the workflow's own splits (PreparedData, NerSplits, ...)
    labels: list[str]
    report: Any  # DataReport
    fingerprint: str
    summary: str  # one line for the log
    extra: dict = field(default_factory=dict)  # what a workflow's later steps need (the answer bank, ...)


class TrainSteps(Protocol):
    """What a workflow gives the skeleton."""

    def prepare(self, cfg: TrainConfig, *, task: Any, opened: Opened, method: Any, out: Path, reporter: Reporter) -> Prepared: ...

    def baselines(self, cfg: TrainConfig, *, task: Any, opened: Opened, prepared: Prepared, reporter: Reporter) -> dict: ...

    def fit(self, cfg: TrainConfig, *, task: Any, opened: Opened, prepared: Prepared, method: Any, out: Path, resume: bool,
            reporter: Reporter) -> FitResult: ...

    def extend_meta(self, meta: BundleMeta, *, task: Any, prepared: Prepared, fit: FitResult) -> None: ...

    def assess(self, out: Path, *, cfg: TrainConfig, prepared: Prepared, baseline_scores: dict, fit: FitResult,
               reporter: Reporter) -> None: ...


def run_training(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False, reporter: Reporter | None = None) -> Path:
    """Train and write the bundle at cfg.output; returns its path. An output folder that holds a bundle is replaced only
    with `overwrite` (and only once the new bundle is complete); a non-empty folder that is not a bundle is refused."""
    main = distributed.is_main()
    reporter = (reporter or SilentReporter()) if main else SilentReporter()  # one process speaks
    final = Path(cfg.output)
    if main:
        check_output(final, overwrite=overwrite, resume=resume)  # before any work
        stage = begin_stage(final, resume=resume)
        if resume:
            _report_resume(stage, reporter)
    distributed.wait()
    stage = stage_path(final)
    workflow_for(cfg.task).train(cfg, output=stage, resume=resume, reporter=reporter)
    if main:
        swap_in(stage, final)
    distributed.wait()  # the other ranks return once the bundle is in place
    return final


def _report_resume(stage: Path, reporter: Reporter) -> None:
    found = sorted((stage / "checkpoints").rglob(CHECKPOINT_FILE))
    if found:
        info = checkpoint_info(found[-1])
        reporter.log(_("resuming from {path} (step {step})").format(path=found[-1], step=info["step"]))
    else:
        reporter.log(_("resuming in {stage}: no checkpoint was written yet, training starts from the first step").format(
            stage=stage))


def open_backbone(cfg: TrainConfig, reporter: Reporter) -> Opened:
    """The CPU threads set, the backbone resolved (where it came from, logged) and loaded."""
    threads = configure_threads(cfg.training.threads or distributed.threads_per_process())
    backbone = resolve_backbone(cfg.model.backbone)
    reporter.log(_("backbone {name} ← {path} ({source})").format(name=backbone.name, path=backbone.path,
                                                                  source=backbone.source))
    encoder, tokenizer = load_backbone(backbone.path)
    fit_max_length(cfg, encoder, tokenizer, reporter)
    auto_pooling, normalize = default_pooling(backbone.path)
    pooling = auto_pooling if cfg.model.pooling == "auto" else cfg.model.pooling
    return Opened(backbone, encoder, tokenizer, threads, pooling, normalize)


def backbone_positions(encoder, tokenizer) -> int | None:
    """How many tokens the backbone can read at once: the smaller of the tokenizer's stated limit (where it states a
    real one) and the model's position table; None where neither says."""
    stated = getattr(tokenizer, "model_max_length", None)
    positions = getattr(getattr(encoder, "config", None), "max_position_embeddings", None)
    limits = [n for n in (stated, positions) if isinstance(n, int) and 0 < n < 100_000]
    return min(limits) if limits else None


def fit_max_length(cfg: TrainConfig, encoder, tokenizer, reporter: Reporter) -> None:
    """`model.max_length` within what the backbone can read: the default is lowered to the backbone's limit (and said);
    a value the user set above it is refused, naming the key, instead of failing deep inside the model."""
    limit = backbone_positions(encoder, tokenizer)
    if limit is None or cfg.model.max_length <= limit:
        return
    if "max_length" in cfg.model.model_fields_set:
        raise ConfigError([("model.max_length", _("{tokens} tokens, but the backbone reads at most {limit}; set "
                                                  "model.max_length to {limit} or less").format(
                                                      tokens=cfg.model.max_length, limit=limit))])
    reporter.log(_("model.max_length lowered from {tokens} to {limit}, the most this backbone reads").format(
        tokens=cfg.model.max_length, limit=limit))
    cfg.model.max_length = limit


def train_bundle(cfg: TrainConfig, out: Path, *, steps: TrainSteps, resume: bool, reporter: Reporter) -> Path:
    """The common sequence of every workflow, writing into `out` (the staging folder)."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    opened = open_backbone(cfg, reporter)
    task = make_task(cfg.task, cfg.task_options)
    method = methods.get(cfg.method)()
    main = distributed.is_main()
    out.mkdir(parents=True, exist_ok=True)
    scratch = None if main else Path(tempfile.mkdtemp(prefix="domainfit-rank-"))  # a non-main rank's data files
    try:
        prepared = steps.prepare(cfg, task=task, opened=opened, method=method, out=scratch or out, reporter=reporter)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    reporter.log(prepared.summary)
    timings["data_s"] = time.perf_counter() - t0

    t = time.perf_counter()  # baselines first: "zeroshot" needs the backbone before fine-tuning changes it
    baseline_scores = steps.baselines(cfg, task=task, opened=opened, prepared=prepared, reporter=reporter) if main else {}
    timings["baselines_s"] = time.perf_counter() - t

    reporter.log(_("method {name}: {description}").format(name=cfg.method, description=method.description))
    set_seed(cfg.training.seed)  # methods draw initial weights (heads, LoRA matrices) before the loop seeds itself
    t = time.perf_counter()
    fit = steps.fit(cfg, task=task, opened=opened, prepared=prepared, method=method, out=out, resume=resume, reporter=reporter)
    timings["fit_s"] = time.perf_counter() - t
    if not main:  # rank 0 writes the bundle
        return out

    encoder_meta = save_model(out, fit.model, opened.tokenizer, encoder_format=fit.encoder_format,
                              format_options=fit.format_options)
    meta = bundle_meta(cfg, task=task, labels=prepared.labels, backbone=opened.backbone, fit=fit, encoder_meta=encoder_meta,
                       hidden_size=opened.encoder.config.hidden_size, report=prepared.report,
                       fingerprint=prepared.fingerprint, threads=opened.threads)
    steps.extend_meta(meta, task=task, prepared=prepared, fit=fit)
    write_meta(out, meta)

    t = time.perf_counter()
    seal_bundle(out)  # evaluation loads the bundle through its predictor, which checks the manifest
    steps.assess(out, cfg=cfg, prepared=prepared, baseline_scores=baseline_scores, fit=fit, reporter=reporter)
    timings["eval_s"] = time.perf_counter() - t
    _finish(out, meta, cfg, timings=timings, started=t0, reporter=reporter)
    return out


def write_data_files(out: Path, data, reporter: Reporter) -> None:
    """rejects.csv, data_report.json and the exact splits (data/{train,val,test}.csv) of a table-shaped data set
    into the bundle; the data's warnings logged."""
    out.mkdir(parents=True, exist_ok=True)
    write_rejects(data.rejects, out / "rejects.csv")
    write_json(out / "data_report.json", data.report.to_dict())
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "val", "test"):
        getattr(data, name).to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")
    log_warnings(data.report, reporter)


def log_warnings(report, reporter: Reporter) -> None:
    for issue in report.warnings:
        reporter.log(f"[warning] {issue.message}" + ("\n  " + _("how to fix") + f": {issue.hint}" if issue.hint else ""))


def bundle_meta(cfg: TrainConfig, *, task, labels: list[str], backbone, fit, encoder_meta: dict, hidden_size: int, report,
                fingerprint: str, threads: int) -> BundleMeta:
    """domainfit.json of a trained model (every workflow writes the same keys; a workflow may set its own)."""
    return BundleMeta(
        format_version=FORMAT_VERSION,
        task=cfg.task,
        task_options=cfg.task_options,
        task_state=task.state(),  # what the Predictor needs besides the weights (thresholds, target mean/std)
        labels=labels,
        method=cfg.method,
        method_options=cfg.method_options,
        backbone=backbone.to_dict(),
        model=ModelMeta(pooling=fit.model.pooling, normalize=fit.model.normalize, max_length=cfg.model.max_length,
                        encoder=encoder_meta, hidden_size=hidden_size,
                        trainable_parameters=fit.model.trainable_parameters(),
                        total_parameters=sum(p.numel() for p in fit.model.parameters())),
        config=cfg.model_dump(mode="json"),
        data=DataMeta(fingerprint=fingerprint, counts=report.counts, columns=report.columns, files=report.files),
        training={"seconds": round(fit.seconds, 2), "threads": threads, **fit.info},
        versions=library_versions(),
        created=now_iso(),
    )


def _finish(out: Path, meta: BundleMeta, cfg: TrainConfig, *, timings: dict[str, float], started: float, reporter: Reporter) -> None:
    """Timings into domainfit.json, the MLflow run if tracking is on, and the checkpoints removed (training finished:
    the bundle is the result)."""
    timings["total_s"] = time.perf_counter() - started
    meta.timings = {k: round(v, 2) for k, v in timings.items()}
    write_meta(out, meta)
    if cfg.tracking.backend == "mlflow":
        seal_bundle(out)  # the copy MLflow keeps carries its manifest
        uri = cfg.tracking.uri or default_registry_uri()
        meta.tracking = TrackingMeta(mlflow_uri=uri, mlflow_run_id=log_training_run(out, uri, cfg.tracking.experiment))
        reporter.log(_("logged to MLflow: experiment {experiment}, run {run} ({uri})").format(
            experiment=repr(cfg.tracking.experiment), run=meta.tracking.mlflow_run_id, uri=uri))
        write_meta(out, meta)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)


def model_scores(model, task, tokenizer, frame: pd.DataFrame, max_length: int):
    """The task's decoded scores of the in-memory model on `frame` (the Predictor's tokenization and batching)."""
    import numpy as np

    if not len(frame):
        return np.zeros((0, 0), dtype=np.float32)
    ids = tokenize(tokenizer, frame["text"].tolist(), max_length)
    device = next(model.parameters()).device
    return task.decode(run_model(model, ids, pad_id=tokenizer.pad_token_id or 0, batch_size=128, device=device))


def rows_fingerprint(data) -> str:
    """One hash of the (text, label) rows of the train, val and test splits."""
    h = hashlib.sha256()
    for name in ("train", "val", "test"):
        frame: pd.DataFrame = getattr(data, name)
        h.update(name.encode())
        for text, label in zip(frame["text"], frame["label"]):
            h.update(f"{text}\x1f{label}\x1e".encode())
    return h.hexdigest()
