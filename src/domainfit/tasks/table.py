"""The workflow shared by the tasks with one target per text (classification, multi-label, regression): a table of
(text, target) rows → the shared data layer → baselines → method.fit → task state → bundle → evaluation through the
Predictor → report; and the same table shape for evaluate, the parity gate's test split, compare's pool and budget.

Each table task makes one `TableWorkflow` with what differs between them: the unit its compare budget counts and the
statistics monitoring computes over its logged predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from domainfit.backbones import FrozenEncoder
from domainfit.bundle import Bundle, BundleMeta
from domainfit.config.schema import DataConfig, TrainConfig
from domainfit.data import DataReport, PreparedData, check_data, prepare_data
from domainfit.data.clean import make_cleaner
from domainfit.errors import BundleError
from domainfit.evaluation.assess import assess_and_report, evaluate_table_bundle, load_eval_rows, run_baselines
from domainfit.i18n import _
from domainfit.interfaces import Budget, GateSplit, Reporter, make_task
from domainfit.methods.base import FitContext, FitResult
from domainfit.predict import Predictor
from domainfit.registry import baselines
from domainfit.tasks.out_of_scope import fit_task_detector
from domainfit.tasks.skeleton import Opened, Prepared, model_scores, rows_fingerprint, train_bundle, write_data_files

__all__ = ["TablePool", "TableWorkflow", "csv_test_split"]


class TableWorkflow:
    """The Workflow of a one-text-one-target task (see `domainfit.interfaces.Workflow`)."""

    def __init__(self, *, budget: Budget, live_stats: Callable[[pd.DataFrame, dict], dict]) -> None:
        self.budget = budget
        self.live_stats = live_stats

    # ---- training (the steps `tasks.skeleton.train_bundle` calls)
    def train(self, cfg: TrainConfig, *, output: Path, resume: bool, reporter: Reporter) -> Path:
        return train_bundle(cfg, output, steps=self, resume=resume, reporter=reporter)

    def prepare(self, cfg: TrainConfig, *, task, opened: Opened, method, out: Path, reporter: Reporter) -> Prepared:
        if cfg.data.train is None:  # a zero-shot method: labels from its options, the test file (if any) to evaluate on
            data = _labels_only_data(cfg, method.declared_labels(cfg.method_options), task)
        else:
            data = prepare_data(cfg.data, task=task, tokenizer=opened.tokenizer, max_length=cfg.model.max_length,
                                model_name=opened.backbone.name)
        write_data_files(out, data, reporter)
        c = data.report.counts
        summary = _("data: {read} rows in, {kept} kept, {rejected} rejected (→ rejects.csv); train {train} / val {val} / "
                    "test {test}; {labels} labels").format(
                        read=c["rows_in"], kept=c["rows_kept"], rejected=c["rows_rejected"], train=len(data.train),
                        val=len(data.val), test=len(data.test), labels=len(data.labels))
        return Prepared(data, data.labels, data.report, rows_fingerprint(data), summary)

    def baselines(self, cfg: TrainConfig, *, task, opened: Opened, prepared: Prepared, reporter: Reporter) -> dict:
        data = prepared.data
        if not len(data.test):
            return {}
        names = [b for b in cfg.baselines if len(data.train) or not baselines.get(b).needs_training_data]
        return run_baselines(names, data, _frozen(cfg, opened, normalize=True, reporter=reporter), task=task,
                             seed=cfg.training.seed, reporter=reporter)

    def fit(self, cfg: TrainConfig, *, task, opened: Opened, prepared: Prepared, method, out: Path, resume: bool,
            reporter: Reporter) -> FitResult:
        data = prepared.data
        task.fit_targets(data.train["label"].tolist(), data.labels)  # e.g. the regression target's mean and std
        ctx = FitContext(config=cfg, task=task, labels=data.labels, train=data.train, val=data.val, backbone=opened.backbone,
                         encoder=opened.encoder, tokenizer=opened.tokenizer, pooling=opened.pooling,
                         normalize=opened.normalize, frozen=_frozen(cfg, opened, normalize=opened.normalize, reporter=reporter),
                         output=out, resume=resume, reporter=reporter)
        fit = method.fit(ctx)
        if task.tunes_on_validation:  # e.g. multi-label decision thresholds, from the trained model's validation scores
            task.tune(data.val["label"].tolist(),
                      model_scores(fit.model, task, opened.tokenizer, data.val, cfg.model.max_length), data.labels)
        # out-of-scope detection (classification): fitted on train, thresholded on validation, stored in the bundle
        fit_task_detector(task, fit.model, opened.tokenizer, data, max_length=cfg.model.max_length, seed=cfg.training.seed,
                          out=out, reporter=reporter, embeddings=fit.embeddings)
        return fit

    def extend_meta(self, meta: BundleMeta, *, task, prepared: Prepared, fit: FitResult) -> None:
        pass

    def assess(self, out: Path, *, cfg: TrainConfig, prepared: Prepared, baseline_scores: dict, fit: FitResult,
               reporter: Reporter) -> None:
        assess_split(out, prepared.data, baseline_scores=baseline_scores, fit=fit, reporter=reporter,
                     title=f"domainfit: {cfg.task} with {cfg.method}")

    # ---- using a bundle
    def make_predictor(self, bundle: Bundle, **predictor_kwargs: Any) -> Predictor:
        return Predictor(bundle, **predictor_kwargs)

    def evaluate_bundle(self, bundle_path, data_path, **kwargs: Any) -> dict:
        return evaluate_table_bundle(bundle_path, data_path, **kwargs)

    def check_data(self, cfg: DataConfig, *, task, tokenizer=None, max_length: int = 128, model_name: str | None = None) -> DataReport:
        return check_data(cfg, task=task, tokenizer=tokenizer, max_length=max_length, model_name=model_name)

    def test_split(self, bundle: Bundle) -> GateSplit:
        return csv_test_split(bundle)

    def open_pool(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> TablePool:
        return TablePool(cfg, task, tokenizer=tokenizer, model_name=model_name, folder=folder)


def csv_test_split(bundle: Bundle) -> GateSplit:
    """data/test.csv (text, label), saved at training time: the table tasks' and retrieval's test split."""
    path = bundle.path / "data" / "test.csv"
    if not path.is_file():
        raise BundleError(_("the bundle has no test split ({path} is missing): compression is checked against it").format(
                          path=path), where=str(bundle.path),
                          hint=_("retrain with this domainfit version (it saves data/test.csv), or train with data.test "
                                 "so the bundle keeps one"))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if frame.empty:
        raise BundleError(_("the bundle's test split {path} is empty: nothing to check a compressed variant against").format(
                          path=path), where=str(path),
                          hint=_("retrain with a test file (data.test) or a test share (data.test_size)"))
    texts = frame["text"].tolist()
    return GateSplit(texts, frame["label"].tolist(), lambda predictor: predictor.predict_scores(texts))


def assess_split(out: Path, data, *, baseline_scores: dict, fit: FitResult, reporter: Reporter, title: str) -> None:
    """metrics.json, reference_stats.json and report.html of a table-shaped bundle on its test split (if any)."""
    if len(data.test):
        assess_and_report(out, data.test, data.train, baseline_scores=baseline_scores, history=fit.history,
                          train_seconds=fit.seconds, reporter=reporter, title=title)
    else:
        reporter.log(_("no test rows: the bundle has no metrics (pass data.test to measure it)"))


def _frozen(cfg: TrainConfig, opened: Opened, *, normalize: bool, reporter: Reporter) -> FrozenEncoder:
    """The untouched backbone with an embedding cache (baselines, the head method, LP-FT's probe)."""
    return FrozenEncoder(opened.encoder, opened.tokenizer, name=opened.backbone.name, weights_sha256=opened.backbone.sha256,
                         pooling=opened.pooling, normalize=normalize, max_length=cfg.model.max_length,
                         progress=reporter.progress)


def _labels_only_data(cfg: TrainConfig, labels: list[str], task) -> PreparedData:
    """PreparedData for a method that needs no training rows: only the (optional) test file, read and checked."""
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


def _summary(train, val, test, labels: int) -> dict[str, Any]:
    return {"train": len(train), "val": len(val), "test": len(test), "labels": labels}


def write_rows(rows: pd.DataFrame, path: Path) -> None:
    """A compare run's split as the text,label CSV every table task reads."""
    rows[["text", "label"]].to_csv(path, index=False)


class TablePool:
    """compare's pool of a table task: the rows read, checked and split once by the shared `prepare_data`."""

    suffix = ".csv"
    inputs: list[Path] = []
    run_values = {"data.text_column": "text", "data.label_column": "label"}

    def __init__(self, cfg: TrainConfig, task, *, tokenizer, model_name: str, folder: Path) -> None:
        self.task = task
        prepared = prepare_data(cfg.data, task=task, tokenizer=tokenizer, max_length=cfg.model.max_length, model_name=model_name)
        self.train, self.val, self.test, self.labels = prepared.train, prepared.val, prepared.test, prepared.labels
        self.summary = _summary(self.train, self.val, self.test, len(self.labels))

    write = staticmethod(write_rows)

    def score_baseline(self, name: str, train: pd.DataFrame, val: pd.DataFrame, seed: int) -> dict[str, float]:
        data = SimpleNamespace(train=train, test=self.test, labels=self.labels)
        scored = run_baselines([name], data, None, task=self.task, seed=seed)[name]
        plain = make_task(self.task.name, self.task.options.model_dump(), scored.get("task_state"))  # thresholds 0.5
        return plain.metrics(self.test["label"].astype(str).tolist(), scored["scores"], self.labels)
