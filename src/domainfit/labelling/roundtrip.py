"""`label export` (a pool with a bundle's predictions, in a labelling tool's import format) and `label import` (the
tool's export back to a training table: one row per text, majority vote over annotators, disagreement kept)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from domainfit.errors import DataError
from domainfit.i18n import _
from domainfit.labelling.features import bundle_predictor
from domainfit.labelling.formats import Item, formats, majority_vote, read_annotations, write_items, write_table
from domainfit.labelling.next import read_pool

__all__ = ["export_pool", "import_annotations"]

TASKS = ("classification", "multilabel", "ner")


def _items(texts: list[str], ids: list[str], bundle) -> tuple[list[Item], str, list[str], str]:
    if bundle is None:
        return [Item(i, t) for i, t in zip(ids, texts)], "classification", [], "none"
    predictor = bundle_predictor(bundle, None)
    task, labels = predictor.bundle.task, list(predictor.labels)
    if task not in ("classification", "multilabel", "ner"):
        raise DataError(_("label export pre-annotates classes, labels or entities; the bundle is for {task}").format(task=repr(task)),
                        where=f"--bundle {bundle}", hint=_("pass a classification, multilabel or ner bundle"))
    model = f"{Path(bundle).name} ({predictor.bundle.meta.method})"
    if task == "ner":
        preds = predictor.predict(texts)
        return [Item(i, t, entities=[{k: e[k] for k in ("start", "end", "label", "score") if k in e} for e in p["entities"]])
                for i, t, p in zip(ids, texts, preds)], task, sorted({lab[2:] for lab in labels if lab != "O"}), model
    probs = predictor.predict_scores(texts)
    if task == "multilabel":
        items = [Item(i, t, [labels[j] for j in np.flatnonzero(p >= 0.5)], round(float(p.max()), 4))
                 for i, t, p in zip(ids, texts, probs)]
    else:
        items = [Item(i, t, [labels[int(p.argmax())]], round(float(p.max()), 4)) for i, t, p in zip(ids, texts, probs)]
    return items, task, labels, model


def export_pool(pool: str | Path, output: str | Path, *, fmt: str = "label-studio", bundle: str | Path | None = None,
                text_column: str | None = None, encoding: str | None = None) -> dict:
    """Write the pool's texts with the bundle's predictions in `fmt`; returns what was written."""
    if fmt not in formats:
        raise DataError(formats.unknown_message(fmt), where="--format",
                        hint=_("use one of {names}").format(names=", ".join(formats.names())))
    frame, text = read_pool(pool, text_column, encoding)
    ids = frame["id"].tolist() if "id" in frame.columns and frame["id"].is_unique else [str(r) for r in frame["_row"]]
    items, task, labels, model = _items(frame[text].tolist(), [str(i) for i in ids], bundle)
    files = write_items(items, output, fmt, task=task, model=model, labels=labels)
    return {"format": fmt, "task": task, "items": len(items), "files": [str(f) for f in files]}


def _task_of(annotations) -> str:
    if any(a.entities for a in annotations):
        return "ner"
    return "multilabel" if any(len(a.labels) > 1 for a in annotations) else "classification"


def import_annotations(paths: Sequence[str | Path], output: str | Path, *, fmt: str | None = None,
                       task: str | None = None) -> dict:
    """Read a tool's export(s) and write one training row per text (majority vote; entities as a `.jsonl` the ner
    task reads, or a JSON column in a table)."""
    annotations = read_annotations(paths, fmt)
    if not annotations:
        raise DataError(_("the export holds no annotation"), where=", ".join(map(str, paths)),
                        hint=_("annotate some texts in the tool (or submit them) before exporting"))
    found = _task_of(annotations)
    if task is not None and task not in TASKS:
        raise DataError(_("unknown task {task}").format(task=repr(task)), where="--task",
                        hint=_("use one of {names}").format(names=", ".join(TASKS)))
    if task is not None and (task == "ner") != (found == "ner"):
        held = _("entity spans") if found == "ner" else _("classes, not entity spans")
        raise DataError(_("--task {task} does not fit the export: its annotations are {held}").format(task=task, held=held),
                        where="--task",
                        hint=_("leave --task out (the annotations say {found}), or import the export of a {task} project").format(
                            found=found, task=task))
    task = task or found
    table = majority_vote(annotations, task)
    if task == "ner" and Path(output).suffix.lower() not in (".jsonl", ".ndjson"):
        table = table.assign(entities=[json.dumps(e, ensure_ascii=False) for e in table["entities"]])
    write_table(table, output)
    return {"task": task, "annotations": len(annotations), "rows": len(table),
            "disagreements": int((table["disagreement"] != "").sum()), "output": str(output)}
