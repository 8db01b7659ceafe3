"""Evaluate a bundle through the Predictor, side by side with the baselines on the same rows, and write the report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from domainfit.backbones import FrozenEncoder, load_backbone, resolve_backbone
from domainfit.bundle import load_bundle, write_json
from domainfit.data import normalize_text, read_table, resolve_columns, write_rejects
from domainfit.data.clean import cleaner_for
from domainfit.errors import DomainfitError, EmptyDataError
from domainfit.i18n import _
from domainfit.interfaces import make_task, serves
from domainfit.predict import Predictor
from domainfit.registry import baselines

__all__ = ["assess_and_report", "evaluate_table_bundle", "frozen_backbone", "load_eval_rows", "run_baselines",
           "write_assessment"]


def run_baselines(names: Sequence[str], data, encoder, *, task=None, seed: int = 0, reporter=None,
                  inputs: dict | None = None) -> dict[str, dict]:
    """{name: {"scores": (n_test, labels) array, "seconds": s, "description": ...}} on data.train → data.test.
    A baseline that does not answer `task` (a Task; default classification) is skipped: {name: {"skipped": why}}.
    `inputs`: further keyword arguments of the task's baselines (retrieval: the answer bank, `answers`)."""
    out: dict[str, dict] = {}
    task_name = getattr(task, "name", "classification")
    for name in names:
        baseline = baselines.get(name)()
        if not serves(baseline, task_name):
            why = f"baseline {name!r} answers {', '.join(sorted(baseline.tasks))}, not {task_name}; skipped"
            out[name] = {"skipped": why}
            if reporter:
                reporter.log("[note] " + _("baseline {name} answers {tasks}, not {task}; skipped").format(
                    name=repr(name), tasks=", ".join(sorted(baseline.tasks)), task=task_name))
            continue
        t = time.perf_counter()
        if reporter:
            reporter.log(_("baseline {name}: {description}").format(name=name, description=baseline.description))
        scores = baseline.fit_predict(
            data.train["text"].tolist(), data.train["label"].tolist(), data.test["text"].tolist(), data.labels,
            encoder=encoder if baseline.needs_encoder else None, seed=seed, **(inputs or {}),
        )
        out[name] = {"scores": np.asarray(scores), "seconds": time.perf_counter() - t, "description": baseline.description}
    return out


def assess_and_report(
    bundle_path: str | Path,
    test: pd.DataFrame,
    train: pd.DataFrame | None,
    *,
    baseline_scores: dict[str, dict],
    history: list[dict] | None = None,
    train_seconds: float | None = None,
    reporter=None,
    title: str = "domainfit report",
    out_dir: str | Path | None = None,
    data_report: dict | None = None,
) -> dict:
    """Predict `test` with the bundle (the serving path), compare with the baselines, write metrics/report files.

    Files go to `out_dir` (default: the bundle itself). Returns the metrics dict written to metrics.json.
    """
    bundle = load_bundle(bundle_path)
    out = Path(out_dir) if out_dir else bundle.path
    out.mkdir(parents=True, exist_ok=True)
    predictor = Predictor(bundle)
    task = predictor.task
    texts, y_true = test["text"].tolist(), test["label"].astype(str).tolist()
    t = time.perf_counter()
    advance = reporter.progress(_("evaluating"), len(texts)) if reporter else None
    scores = predictor.predict_scores(texts, advance=advance)
    infer_s = time.perf_counter() - t
    markers = out_of_scope_markers(task, predictor.labels)
    gold = np.array([y in markers for y in y_true], dtype=bool)  # rows labelled out of scope (a detector's bundle only)
    if gold.any():
        metrics = task.metrics(y_true, scores, predictor.labels, texts=texts, oos_gold=gold)
    else:
        metrics = task.metrics(y_true, scores, predictor.labels, texts=texts)
    if metrics.get("worst_errors") and "confusion" in metrics:  # why the model was sure and wrong, word by word
        from domainfit.evaluation.explain.html import attach_explanations

        attach_explanations(predictor, metrics["worst_errors"])
    keys = task.summary_metrics
    baseline_metrics, skipped = {}, {}
    for bname, b in baseline_scores.items():
        if "skipped" in b:
            skipped[bname] = b["skipped"]
            continue
        # baselines: no state of the model (thresholds 0.5), unless tuned for them (b["task_state"])
        plain = make_task(task.name, bundle.meta.task_options, b.get("task_state"))
        m = plain.metrics([y for y, g in zip(y_true, gold) if not g], np.asarray(b["scores"])[~gold], predictor.labels)
        baseline_metrics[bname] = {"metrics": {k: m[k] for k in keys if k in m}, "seconds": b["seconds"], "description": b["description"]}
    reference = task.reference_stats(texts, scores, predictor.labels) if out == bundle.path else None
    counts = {"labels": len(predictor.labels), "test rows": len(texts), "train rows": bundle.meta.data.counts.get("train")}
    return write_assessment(bundle, out, task=task, metrics=metrics, baselines=baseline_metrics, skipped=skipped, n=len(texts),
                            infer_s=infer_s, reference=reference, counts=counts, history=history, train_seconds=train_seconds,
                            title=title, data_report=data_report)


def write_assessment(bundle, out: Path, *, task, metrics: dict, baselines: dict[str, dict], skipped: dict[str, str], n: int,
                     infer_s: float, reference: dict | None, counts: dict, history: list[dict] | None, train_seconds: float | None,
                     title: str, data_report: dict | None) -> dict:
    """What every evaluation does once the model and the baselines are scored: the comparison (the model first), metrics.json,
    reference_stats.json (when `reference` is given) and report.html in `out`. `baselines`: {name: {"metrics", "seconds",
    "description"}}; `counts`: what the report's summary says of the data (labels, test and train rows). Returns metrics.json."""
    keys = task.summary_metrics
    comparison = [{**{k: metrics[k] for k in keys if k in metrics}, "name": f"domainfit ({bundle.meta.method})",
                   "train_seconds": train_seconds, "note": "fine-tuned model, through the serving Predictor"}]
    comparison += [{**{k: b["metrics"][k] for k in keys if k in b["metrics"]}, "name": f"baseline: {bname}",
                    "train_seconds": round(b["seconds"], 2), "note": b["description"]} for bname, b in baselines.items()]
    result = {
        "n": n,
        "task": {"name": task.name, "primary_metric": task.primary_metric, "summary_metrics": list(keys)},
        "model": metrics,
        "baselines": {bname: b["metrics"] for bname, b in baselines.items()},
        **({"baselines_skipped": skipped} if skipped else {}),
        "comparison": comparison,
        "inference": {"seconds": round(infer_s, 3), "texts_per_s": round(n / infer_s, 1) if infer_s else None},
    }
    write_json(out / "metrics.json", result)
    if reference is not None:
        write_json(out / "reference_stats.json", reference)
    meta = bundle.meta
    summary = {
        "task": meta.task, "method": meta.method, "backbone": meta.backbone.name, **counts,
        "train time (s)": meta.training.get("seconds"), "bundle": str(bundle.path), "created": meta.created,
    }
    training = {"history": history or [], "seconds": train_seconds, "best_step": meta.training.get("best_step")}
    if data_report is None:
        data_report = bundle.read_json("data_report.json")
    from domainfit.evaluation.report import write_report  # lazy: matplotlib is heavy, needed only here
    write_report(out / "report.html", title=title, summary=summary, metrics=metrics, comparison=comparison,
                 data_report=data_report, training=training, metric_keys=keys, primary=task.primary_metric)
    return result


def out_of_scope_markers(task, labels: Sequence[str]) -> set[str]:
    """The labels that mark an evaluation row as out of scope for a bundle with an out-of-scope detector: its refusal
    label and the usual names (oos, other, 其他, ...) that are not among its labels; none without a detector."""
    if getattr(task, "out_of_scope", None) is None:
        return set()
    from domainfit.ood.options import DEFAULT_OOS_LABELS

    return {task.ood_options.refusal_label, *DEFAULT_OOS_LABELS} - set(labels)


def load_eval_rows(path: str | Path, labels: Sequence[str], *, task=None, text_column=None, label_column=None, encoding=None,
                   clean: Callable[[str], str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read an evaluation file: (rows with cleaned text + the task's canonical label, rejected rows with their
    reason). `task`: a Task (default classification) that reads the label cells; `clean`: the bundle's text cleaner
    (`domainfit.data.clean.cleaner_for`; default: normalisation only). A bundle with an out-of-scope detector also
    keeps the rows labelled out of scope (`out_of_scope_markers`), which its out-of-scope metrics count."""
    task = task if task is not None else make_task("classification")
    read = read_table(path, encoding=encoding)
    tcol, lcol = resolve_columns(read.frame, text_column, label_column, path=str(path), require_label=True)
    frame = read.frame
    text = frame[tcol].astype(str).map(clean or normalize_text)
    known = set(labels) | out_of_scope_markers(task, labels)

    def read_label(value: str) -> tuple[str, str]:
        """(canonical label, reason to reject or "")."""
        if not value.strip():
            return "", "missing_label"
        try:
            label = task.parse_target(value)
        except ValueError as exc:
            return value, str(exc)
        unknown = [lab for lab in task.label_set([label]) if lab not in known]
        return label, f"unknown_label: the model was not trained on {', '.join(map(repr, unknown))}" if unknown else ""

    parsed = [read_label(v) for v in frame[lcol].astype(str)]
    label = pd.Series([p[0] for p in parsed], index=frame.index, dtype=object)
    reason = np.where(text.str.len() == 0, "empty_text", np.array([p[1] for p in parsed], dtype=object))
    keep = reason == ""
    shown = text if getattr(clean, "redacts", False) else frame[tcol]  # rejects.csv holds no personal data the bundle does not
    rejects = pd.DataFrame({"_file": frame["_file"], "_row": frame["_row"], "text": shown, "label": frame[lcol],
                            "reason": reason})[~keep]
    rows = pd.DataFrame({"text": text[keep], "label": label[keep], "_file": frame["_file"][keep], "_row": frame["_row"][keep]})
    if rows.empty:
        raise EmptyDataError(_("no row of {path} can be evaluated ({n} read, all rejected)").format(path=path, n=len(frame)),
                             where=str(path), hint=_("the labels must be among the model's: {labels}").format(
                                 labels=", ".join(labels[:10]) + (" ..." if len(labels) > 10 else "")))
    return rows.reset_index(drop=True), rejects.reset_index(drop=True)


def evaluate_table_bundle(bundle_path: str | Path, data_path: str | Path, *, out_dir: str | Path | None = None,
                          text_column=None, label_column=None, encoding=None, baseline_names: Sequence[str] | None = None,
                          reporter=None) -> dict:
    """Metrics and report of a table task's bundle on a new labelled file, with the baselines re-fit on the bundle's
    training split (the table workflow's `evaluate_bundle`)."""
    from types import SimpleNamespace

    bundle = load_bundle(bundle_path)
    out = Path(out_dir) if out_dir else bundle.path / "evaluations" / Path(data_path).stem
    out.mkdir(parents=True, exist_ok=True)
    cfg = bundle.meta.config
    task = bundle.make_task()
    rows, rejects = load_eval_rows(data_path, bundle.labels, task=task, text_column=text_column, label_column=label_column,
                                   encoding=encoding, clean=cleaner_for(cfg["data"]))
    write_rejects(rejects, out / "rejects.csv")
    train_csv = bundle.path / "data" / "train.csv"
    names = list(cfg.get("baselines", []) if baseline_names is None else baseline_names)
    scores: dict[str, dict] = {}
    if names and train_csv.is_file():
        train = pd.read_csv(train_csv, dtype=str, keep_default_na=False)
        data = SimpleNamespace(train=train, test=rows, labels=bundle.labels)
        encoder = frozen_backbone(bundle, reporter) if any(baselines.get(n).needs_encoder for n in names) else None
        usable = [n for n in names if encoder is not None or not baselines.get(n).needs_encoder]
        scores = run_baselines(usable, data, encoder, task=task, seed=cfg["training"]["seed"], reporter=reporter)
    return assess_and_report(bundle.path, rows, None, baseline_scores=scores, reporter=reporter, out_dir=out,
                             title=f"domainfit evaluation on {Path(data_path).name}",
                             train_seconds=bundle.meta.training.get("seconds"))


def frozen_backbone(bundle, reporter):
    """The untouched backbone recorded in the bundle, for baselines that need it; None (with a note) when absent here."""
    b = bundle.meta.backbone
    try:
        resolved = resolve_backbone(b.path) if b.path and Path(b.path).is_dir() else resolve_backbone(b.name)
    except DomainfitError as exc:
        if reporter:
            reporter.log("[warning] " + _("the original backbone is not on this machine, baselines that need it are skipped: "
                                          "{error}").format(error=exc.message))
        return None
    encoder, tokenizer = load_backbone(resolved.path)
    m = bundle.meta.model
    return FrozenEncoder(encoder, tokenizer, name=resolved.name, weights_sha256=resolved.sha256, pooling=m.pooling,
                         normalize=True, max_length=m.max_length)
