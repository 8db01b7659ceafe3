"""The retrieval workflow (`Task.workflow` of `retrieval`): train → bundle, the Predictor, evaluate, data check.

    pairs + bank ─prepare_pairs→ splits (query, answer id), bank ─baselines (bm25, backbone; thresholds on val)→
    ─fit_bi_encoder (method.adapt + the shared loop; zeroshot: none)→ encoder ─index_model→ TextModel(head = bank)
    ─task.tune (no-answer threshold on val)→ ─save→ bundle (+ index/answers.csv) ─assess_and_report→ metrics, report

The bundle is an ordinary one (model/, domainfit.json, metrics.json, report.html, data/, rejects.csv), plus
`index/answers.csv`; its model's head holds the bank's embeddings (see `domainfit.tasks.retrieval`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from domainfit.bundle import META_FILE, Bundle, load_bundle, save_model, write_json
from domainfit.config.schema import DataConfig, TrainConfig
from domainfit.data import DataReport, write_rejects
from domainfit.data.clean import cleaner_for
from domainfit.methods.base import Reporter, SilentReporter

__all__ = ["ANSWERS_FILE", "check_data", "evaluate_bundle", "make_predictor", "read_bank", "run_training"]

ANSWERS_FILE = "index/answers.csv"


def read_bank(bundle: Bundle) -> dict[str, str]:
    """The bundle's answer bank, id -> text, in index (head row) order."""
    frame = pd.read_csv(bundle.path / ANSWERS_FILE, dtype=str, keep_default_na=False)
    return dict(zip(frame["id"], frame["answer"]))


def make_predictor(bundle: Bundle, **predictor_kwargs):
    """The ordinary Predictor (its model's output is the cosine to every answer), its task bound to the bank."""
    from domainfit.predict import Predictor

    predictor = Predictor(bundle, **predictor_kwargs)
    predictor.task.bind(read_bank(bundle))
    return predictor


def check_data(cfg: DataConfig, *, task, tokenizer=None, max_length: int = 128, model_name: str | None = None) -> DataReport:
    """What `prepare_pairs` finds, writing nothing."""
    from domainfit.tasks.retrieval.data import prepare_pairs

    return prepare_pairs(cfg, task=task, tokenizer=tokenizer, max_length=max_length, model_name=model_name).report


def _baselines(names: Sequence[str], *, train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame, bank: dict[str, str],
               encoder, task, seed: int, reporter) -> dict[str, dict]:
    """Each baseline scored on the test rows, its no-answer threshold tuned on the validation rows by the task's own
    rule, in its score's units (a BM25 score is no cosine: a fixed cosine threshold is replaced by `auto`)."""
    from domainfit.evaluation.assess import run_baselines
    from domainfit.tasks import make_task

    held = pd.concat([val, test], ignore_index=True)
    data = SimpleNamespace(train=train, test=held, labels=list(bank))
    out = run_baselines(names, data, encoder, task=task, seed=seed, reporter=reporter, inputs={"answers": bank})
    options = task.options.model_dump()
    options["no_answer"] = "off" if options["no_answer"] == "off" else "auto"
    for b in out.values():
        if "scores" in b:
            tuned = make_task(task.name, options)
            tuned.tune(val["label"].tolist(), b["scores"][: len(val)], list(bank))
            b["scores"], b["task_state"] = b["scores"][len(val):], tuned.state()
    return out


def run_training(cfg: TrainConfig, *, resume: bool = False, reporter: Reporter | None = None,
                 output: Path | None = None) -> Path:
    """Train (or, for zeroshot, only index) and write the bundle at `output` (default cfg.output;
    `training.pipeline.run_training` passes its staging folder); returns its path."""
    from domainfit.backbones import FrozenEncoder, default_pooling
    from domainfit.registry import methods
    from domainfit.tasks.retrieval.data import prepare_pairs
    from domainfit.tasks.retrieval.train import fit_bi_encoder
    from domainfit.tasks import make_task
    from domainfit.training.pipeline import (_fingerprint, _scores, assess_into_bundle, bundle_meta, finish_bundle, open_backbone,
                                             write_data_files)

    reporter = reporter or SilentReporter()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(output or cfg.output)
    backbone, encoder, tokenizer, threads = open_backbone(cfg, reporter)
    pooling = default_pooling(backbone.path)[0] if cfg.model.pooling == "auto" else cfg.model.pooling
    task = make_task(cfg.task, cfg.task_options)
    data = prepare_pairs(cfg.data, task=task, tokenizer=tokenizer, max_length=cfg.model.max_length, model_name=backbone.name)
    bank = dict(zip(data.bank["id"], data.bank["answer"]))
    write_data_files(out, data, reporter)
    (out / ANSWERS_FILE).parent.mkdir(parents=True, exist_ok=True)
    data.bank[["id", "answer"]].to_csv(out / ANSWERS_FILE, index=False, encoding="utf-8")
    c = data.report.counts
    reporter.log(f"data: {c['rows_in']} pairs in, {c['rows_kept']} kept, {c['rows_rejected']} rejected (→ {out / 'rejects.csv'}); "
                 f"train {len(data.train)} / val {len(data.val)} / test {len(data.test)}; {len(bank)} answers")
    timings["data_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    frozen = FrozenEncoder(encoder, tokenizer, name=backbone.name, weights_sha256=backbone.sha256, pooling=pooling,
                           normalize=True, max_length=cfg.model.max_length, progress=reporter.progress)
    baseline_scores = _baselines(cfg.baselines or [], train=data.train, val=data.val, test=data.test, bank=bank, encoder=frozen,
                                 task=task, seed=cfg.training.seed, reporter=reporter) if len(data.test) else {}
    timings["baselines_s"] = time.perf_counter() - t

    method = methods.get(cfg.method)()
    reporter.log(f"method {cfg.method}: {method.description}")
    t = time.perf_counter()
    fit = fit_bi_encoder(cfg, method=method, task=task, encoder=encoder, tokenizer=tokenizer, pooling=pooling,
                         train=data.train, val=data.val, bank=data.bank, backbone_sha256=backbone.sha256, output=out,
                         resume=resume, reporter=reporter)
    task.tune(data.val["label"].tolist(), _scores(fit.model, task, tokenizer, data.val, cfg.model.max_length), data.labels)
    if task.threshold is not None:
        reporter.log(f"no-answer threshold {task.threshold:.4f} ({task.calibration.get('rule')})")
    timings["fit_s"] = time.perf_counter() - t

    encoder_meta = save_model(out, fit.model, tokenizer, encoder_format=fit.encoder_format, format_options=fit.format_options)
    meta = bundle_meta(cfg, task=task, labels=data.labels, backbone=backbone, fit=fit, encoder_meta=encoder_meta,
                       hidden_size=encoder.config.hidden_size, report=data.report, fingerprint=_fingerprint(data), threads=threads)
    meta["model"]["trainable_parameters"] = fit.info.get("trainable_parameters", 0)  # the index model is frozen
    meta["index"] = {"answers": len(bank), "file": ANSWERS_FILE, "vectors": "model/head.safetensors: a unit embedding per answer"}
    write_json(out / META_FILE, meta)

    assess_into_bundle(out, data, baseline_scores=baseline_scores, fit=fit, reporter=reporter, timings=timings,
                       title=f"domainfit: retrieval with {cfg.method}")
    finish_bundle(out, meta, cfg, timings=timings, started=t0, reporter=reporter)
    return out


def evaluate_bundle(bundle_path: str | Path, data_path: str | Path, *, out_dir: str | Path | None = None,
                    text_column: str | None = None, label_column: str | None = None, encoding: str | None = None,
                    baseline_names: Sequence[str] | None = None, reporter=None) -> dict:
    """Metrics and report of a retrieval bundle on a pairs file (answers as ids or texts of the bundle's bank, or the
    no-answer marker), beside the baselines (re-fit on the bundle's training split, thresholds on its validation split)."""
    from domainfit.evaluation.assess import _frozen_backbone, assess_and_report
    from domainfit.registry import baselines
    from domainfit.tasks.retrieval.data import read_eval_pairs

    bundle = load_bundle(bundle_path)
    out = Path(out_dir) if out_dir else bundle.path / "evaluations" / Path(data_path).stem
    out.mkdir(parents=True, exist_ok=True)
    cfg = bundle.meta["config"]
    bank = read_bank(bundle)
    task = bundle.make_task().bind(bank)
    rows, rejects = read_eval_pairs(data_path, task, text_column=text_column, label_column=label_column, encoding=encoding,
                                    clean=cleaner_for(cfg["data"]))
    write_rejects(rejects, out / "rejects.csv")
    names = list(cfg.get("baselines", []) if baseline_names is None else baseline_names)
    scores: dict[str, dict] = {}
    splits = {name: bundle.path / "data" / f"{name}.csv" for name in ("train", "val")}
    if names and all(p.is_file() for p in splits.values()):
        train, val = (pd.read_csv(p, dtype=str, keep_default_na=False) for p in splits.values())
        encoder = _frozen_backbone(bundle, reporter) if any(baselines.get(n).needs_encoder for n in names) else None
        usable = [n for n in names if encoder is not None or not baselines.get(n).needs_encoder]
        scores = _baselines(usable, train=train, val=val, test=rows, bank=bank, encoder=encoder, task=task,
                            seed=cfg["training"]["seed"], reporter=reporter)
    return assess_and_report(bundle.path, rows, None, baseline_scores=scores, reporter=reporter, out_dir=out,
                             title=f"domainfit evaluation on {Path(data_path).name}",
                             train_seconds=bundle.meta["training"].get("seconds"))
