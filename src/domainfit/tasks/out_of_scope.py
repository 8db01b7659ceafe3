"""Training's out-of-scope step for a task that detects it (classification): the trained model's logits and pooled
embeddings on the training and validation splits → `domainfit.ood.fit.fit_out_of_scope` → the detector's arrays in
the bundle (ood/detector.safetensors) and its state in the task (domainfit.json task_state.out_of_scope).

What it costs: a split whose pooled embeddings the method already computed (`FitResult.embeddings`: head's frozen
cache for both splits, the training loop's best validation evaluation for full, LoRA and the other loop methods) is
read from there, its logits through the head alone; only the rest takes a pass through the model. The state records
which splits were reused and the step's seconds (`reused`, `seconds`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from domainfit.backbones.encoder import tokenize
from domainfit.i18n import _
from domainfit.inference import run_model
from domainfit.inference.runners import WithEmbedding
from domainfit.interfaces import Reporter
from domainfit.ood.fit import Outputs, fit_out_of_scope, write_detector

__all__ = ["detects_out_of_scope", "fit_task_detector", "model_outputs_of", "outputs_from_embeddings", "refit_detector"]


def detects_out_of_scope(task) -> bool:
    options = getattr(task, "ood_options", None)
    return options is not None and options.mode != "off"


def model_outputs_of(model, tokenizer, frame: pd.DataFrame, labels: list[str], max_length: int) -> Outputs:
    """The in-memory model's logits and pooled embeddings on `frame` (text, label), in its row order."""
    ids = tokenize(tokenizer, frame["text"].tolist(), max_length)
    device = next(model.parameters()).device
    joined = run_model(WithEmbedding(model), ids, pad_id=tokenizer.pad_token_id or 0, batch_size=128, device=device)
    logits, embeddings = WithEmbedding.split(joined, len(labels))
    index = {label: i for i, label in enumerate(labels)}
    return Outputs(logits.numpy(), embeddings, np.array([index[str(y)] for y in frame["label"]], dtype=np.int64))


def outputs_from_embeddings(model, embeddings: np.ndarray, frame: pd.DataFrame, labels: list[str]) -> Outputs:
    """`model_outputs_of` for rows whose pooled embeddings are known: the logits through the head alone."""
    import torch

    head = model.head
    param = next(head.parameters())
    with torch.no_grad():
        logits = torch.cat([head(torch.from_numpy(np.ascontiguousarray(embeddings[i:i + 4096])).to(param.device, param.dtype))
                            for i in range(0, len(embeddings), 4096)]).float().cpu().numpy()
    index = {label: i for i, label in enumerate(labels)}
    return Outputs(logits, np.asarray(embeddings), np.array([index[str(y)] for y in frame["label"]], dtype=np.int64))


def _split_outputs(model, tokenizer, frame, labels, max_length, known: np.ndarray | None, rows: np.ndarray | None):
    """(outputs of `frame`'s `rows` (None: all), whether the known embeddings served)."""
    part = frame if rows is None else frame.iloc[rows]
    if known is not None and len(known) == len(frame):
        return outputs_from_embeddings(model, known if rows is None else known[rows], part, labels), True
    return model_outputs_of(model, tokenizer, part, labels, max_length), False


def fit_task_detector(task, model, tokenizer, data, *, max_length: int, seed: int, out: Path, reporter: Reporter,
                      embeddings: dict | None = None) -> None:
    """Fit and store the detector (skipped, with a note, without training or validation rows). `embeddings`: the
    trained model's pooled embeddings of "train" and/or "val" where the method has them (`FitResult.embeddings`)."""
    if not detects_out_of_scope(task):
        return
    if not len(data.val) or not len(data.train):
        reporter.log("[note] " + _("out-of-scope detection skipped: it is fitted on the training split and thresholded "
                                   "on the validation split, and one is empty (set task_options.out_of_scope: off to "
                                   "silence this)"))
        return
    started = time.perf_counter()
    opts = task.ood_options
    known = embeddings or {}
    rows = None
    if len(data.train) > opts.max_fit_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(data.train), size=opts.max_fit_rows, replace=False))
    train_out, train_reused = _split_outputs(model, tokenizer, data.train, data.labels, max_length, known.get("train"), rows)
    val_out, val_reused = _split_outputs(model, tokenizer, data.val, data.labels, max_length, known.get("val"), None)
    state, tensors = fit_out_of_scope(opts, data.labels, train_out, val_out, seed=seed)
    state["reused"] = [name for name, used in (("train", train_reused), ("val", val_reused)) if used]
    state["seconds"] = round(time.perf_counter() - started, 2)
    write_detector(out, state, tensors)
    task.out_of_scope = state
    v = state["validation"]
    reporter.log(_("out of scope: {detector} ({chosen_by}); threshold {threshold} {rule}; on validation it refuses "
                   "{refused}% of in-scope messages, in-scope accuracy {plain}% → {accuracy}% counting refusals as "
                   "errors").format(
                       detector=state["detector"], chosen_by=state["chosen_by"], threshold=f"{state['threshold']:.4g}",
                       rule=state["threshold_rule"], refused=f"{100 * (v['refused_in_scope'] or 0):.1f}",
                       plain=f"{100 * (v['in_scope_accuracy_plain'] or 0):.1f}",
                       accuracy=f"{100 * (v['in_scope_accuracy'] or 0):.1f}"))


def refit_detector(bundle, model, tokenizer, folder: Path) -> dict | None:
    """The bundle's embedding detector (same kind, same options) refitted on another model's embeddings (a distilled
    student), on the bundle's own training and validation splits; its file written under `folder`. None when the
    bundle's detector reads no embeddings (msp, energy work from any variant's logits) or it has none."""
    task = bundle.make_task()
    state = getattr(task, "out_of_scope", None)
    if not state or not state.get("needs_embeddings"):
        return None
    opts = task.ood_options.model_copy(update={"detector": state["detector"]})
    read = {name: pd.read_csv(bundle.path / "data" / f"{name}.csv", dtype=str, keep_default_na=False) for name in ("train", "val")}
    train = read["train"] if len(read["train"]) <= opts.max_fit_rows else read["train"].sample(n=opts.max_fit_rows, random_state=0)
    max_length = bundle.meta.model.max_length
    refit, tensors = fit_out_of_scope(opts, bundle.labels, model_outputs_of(model, tokenizer, train, bundle.labels, max_length),
                                      model_outputs_of(model, tokenizer, read["val"], bundle.labels, max_length))
    write_detector(folder, refit, tensors)
    return refit
