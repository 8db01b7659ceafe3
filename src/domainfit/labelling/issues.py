"""`domainfit data issues FILE -o issues/`: read a labelled file, get out-of-fold probabilities (a logistic regression
on cached embeddings or TF-IDF, cross-validated; or a given bundle's predictions), hand them to cleanlab
(`domainfit.data.label_issues`), write the tables, report.html and, with `fix`, a cleaned copy and what changed.

The user's file is only read: the cleaned table goes to the output folder, and a fix that would overwrite the input
is refused.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from domainfit.data import label_issues as li
from domainfit.data.columns import resolve_columns
from domainfit.data.io import META_COLUMNS, read_table
from domainfit.errors import DataError
from domainfit.i18n import _
from domainfit.labelling.features import FEATURES, bundle_predictor, features_for

__all__ = ["IssuesResult", "find_issues", "issues_in_file"]

TASKS = ("classification", "multilabel", "ner")


@dataclass
class IssuesResult:
    report: li.LabelIssues
    out_dir: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)  # seconds per stage: read, features, out_of_fold, cleanlab, write

    def to_dict(self) -> dict:
        return {**self.report.summary(), "out_dir": str(self.out_dir) if self.out_dir else None, "files": self.files,
                "seconds": round(self.seconds, 3), "timings": self.timings}


def _check_choice(value: str | None, options, what: str) -> None:
    if value is not None and value not in options:
        raise DataError(_("unknown {what} {value}").format(what=what, value=repr(value)), where=f"--{what}",
                        hint=_("use one of {names}").format(names=", ".join(options)))


def _bar(value) -> float | str:
    """--relabel-above: a probability, or "class" (cleanlab's per-class confident threshold)."""
    if str(value).strip().lower() == "class":
        return "class"
    try:
        bar = float(value)
    except (TypeError, ValueError):
        bar = -1.0
    if not 0.0 <= bar <= 1.0:
        raise DataError(_("--relabel-above must be a probability between 0 and 1 or 'class', not {value}").format(value=repr(value)),
                        where="--relabel-above",
                        hint=_("e.g. --relabel-above 0.7 (the default), or 'class' for cleanlab's per-class bar"))
    return bar


# ---------------------------------------------------------------- the data in, as (texts, labels)

def _table(path: Path, text_column: str | None, label_column: str | None, encoding: str | None):
    read = read_table(path, encoding=encoding)
    frame = read.frame
    text, label = resolve_columns(frame, text_column, label_column, path=str(path))
    usable = (frame[text].str.strip() != "") & (frame[label].str.strip() != "")
    return frame, text, label, usable.to_numpy()


def find_issues(texts, labels, *, task: str = "classification", features: str = "embeddings", model: str | None = None,
                bundle: str | Path | None = None, folds: int = 5, seed: int = 0, separator: str = ";",
                timings: dict | None = None) -> li.LabelIssues:
    """The label issues of texts and their labels (strings; multi-label: `separator`-joined). Probabilities out of
    fold from a logistic regression on `features`, or the bundle's own (then not out of fold: say so). `timings`,
    when given, receives the seconds of each stage (features, out_of_fold, cleanlab)."""
    timings = {} if timings is None else timings
    texts = [str(t) for t in texts]
    if task == "multilabel":
        lists = [sorted({x.strip() for x in str(v).split(separator) if x.strip()}) for v in labels]
        names = sorted({x for row in lists for x in row})
        y = np.array([[int(n in row) for n in names] for row in lists])
        if bundle is not None:
            probs, names, y, model_name = _bundle_multilabel(bundle, texts, lists)
        else:
            probs = li.out_of_fold_multilabel_probs(features_for(features, texts, model), y, folds=folds, seed=seed)
            model_name = f"logistic regression per label on {features}, {folds}-fold out of fold"
        return li.find_multilabel_issues(texts, y, names, probs, model=model_name)
    given = [str(v) for v in labels]
    names = sorted(set(given))
    if len(names) < 2:
        raise DataError(_("only one label ({label}) in the data: there is nothing to confuse").format(
                            label=names[0] if names else _("none")),
                        hint=_("label issues need at least two classes"))
    dense = None
    if bundle is not None:
        predictor = bundle_predictor(bundle, "classification")
        unknown = sorted(set(given) - set(predictor.labels))
        if unknown:
            raise DataError(_("labels the bundle does not know: {labels}").format(labels=", ".join(unknown[:10])),
                            where=f"--bundle {bundle}",
                            hint=_("pass a bundle trained on these labels, or leave out --bundle to fit a model on this file"))
        names = list(predictor.labels)
        probs = predictor.predict_scores(texts).astype(np.float64)
        model_name = f"bundle {bundle} (its own predictions, not out of fold: rows it was trained on look cleaner than they are)"
        if features == "embeddings":
            dense = features_for("embeddings", texts, model)
    else:
        t = time.perf_counter()
        x = features_for(features, texts, model)
        dense = x if isinstance(x, np.ndarray) else None
        timings["features"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        y_idx = np.array([names.index(g) for g in given])
        probs = li.out_of_fold_probs(x, y_idx, len(names), folds=folds, seed=seed)
        timings["out_of_fold"] = round(time.perf_counter() - t, 3)
        model_name = f"logistic regression on {features}, {folds}-fold out of fold"
    y = np.array([names.index(g) for g in given])
    t = time.perf_counter()
    report = li.find_label_issues(texts, y, names, probs, features=dense, model=model_name)
    timings["cleanlab"] = round(time.perf_counter() - t, 3)
    return report


def _bundle_multilabel(bundle, texts, lists):
    predictor = bundle_predictor(bundle, "multilabel")
    names = list(predictor.labels)
    unknown = sorted({x for row in lists for x in row} - set(names))
    if unknown:
        raise DataError(_("labels the bundle does not know: {labels}").format(labels=", ".join(unknown[:10])),
                        where=f"--bundle {bundle}", hint=_("pass a bundle trained on these labels, or leave out --bundle"))
    y = np.array([[int(n in row) for n in names] for row in lists])
    return predictor.predict_scores(texts).astype(np.float64), names, y, f"bundle {bundle} (not out of fold)"


def _ner_issues(path: Path, encoding: str | None, bundle, folds: int, seed: int):
    from domainfit.tasks.ner.io import read_ner
    from domainfit.tasks.ner.tags import bio_labels

    data = read_ner(path, encoding=encoding)
    data.raise_for_errors()
    sentences = data.sentences
    if bundle is not None:
        predictor = bundle_predictor(bundle, "ner")
        names = list(predictor.labels)
        unknown = sorted({t for s in sentences for t in s.tags} - set(names))
        if unknown:
            raise DataError(_("tags the bundle does not know: {tags}").format(tags=", ".join(unknown[:10])),
                            where=f"--bundle {bundle}",
                            hint=_("pass a bundle trained on these entity types, or leave out --bundle"))
        tags = [[names.index(t) for t in s.tags] for s in sentences]
        probs = [ws.scores for ws in predictor.score_sentences(sentences)]
        probs = [p / np.clip(p.sum(1, keepdims=True), 1e-12, None) for p in probs]
        model_name = f"bundle {bundle} (not out of fold)"
    else:
        names = bio_labels(data.entity_types)
        tags = [[names.index(t) for t in s.tags] for s in sentences]
        probs = li.out_of_fold_token_probs([s.tokens for s in sentences], tags, len(names), folds=folds, seed=seed)
        model_name = f"logistic regression on word windows, {folds}-fold out of fold by sentence"
    report = li.find_token_issues([s.tokens for s in sentences], tags, names, probs, model=model_name)
    return report, sentences


# ---------------------------------------------------------------- the command

def issues_in_file(path: str | Path, out_dir: str | Path | None = None, *, task: str | None = None,
                   text_column: str | None = None, label_column: str | None = None, encoding: str | None = None,
                   features: str = "embeddings", model: str | None = None, bundle: str | Path | None = None,
                   fix: str | None = None, relabel_above: float | str = li.RELABEL_ABOVE, folds: int = 5, seed: int = 0,
                   separator: str = ";") -> IssuesResult:
    """Find the label issues of a file; with `out_dir`, write issues.csv, confused_pairs.csv, near_duplicates.csv,
    outliers.csv, class_outliers.csv, summary.json and report.html there, and with `fix` ("drop" | "relabel" | "auto") cleaned.csv +
    changes.csv. "auto" relabels the flagged rows whose suggestion is confident (its out-of-fold probability at
    least `relabel_above`, default 0.7; "class": at least the suggested class's confident threshold, cleanlab's) and
    drops the others."""
    from domainfit.interfaces import infer_task

    started = time.perf_counter()
    timings: dict = {}
    path = Path(path)
    task = task or infer_task(path) or "classification"
    _check_choice(task, TASKS, "task")
    _check_choice(features, FEATURES, "features")
    _check_choice(fix, li.FIXES, "fix")
    if fix and out_dir is None:
        raise DataError(_("--fix needs an output folder for the cleaned table"), where="--fix", hint=_("pass -o FOLDER"))
    if fix in ("relabel", "auto") and task == "ner":
        raise DataError(_("--fix {fix} is not available for entity tags (a relabelled token can break its entity)").format(fix=fix),
                        where="--fix", hint=_("use --fix drop, or correct the listed tokens by hand"))
    relabel_above = _bar(relabel_above)
    if task == "ner":
        report, sentences = _ner_issues(path, encoding, bundle, folds, seed)
        frame, label, usable = None, None, None
    else:
        frame, text, label, usable = _table(path, text_column, label_column, encoding)
        timings["read"] = round(time.perf_counter() - started, 3)
        kept = frame[usable]
        if len(kept) < 4:
            raise DataError(_("only {n} rows with both a text and a label: too few to cross-validate").format(n=len(kept)),
                            where=str(path), hint=_("label issues need a few rows per class"))
        report = find_issues(kept[text].tolist(), kept[label].tolist(), task=task, features=features, model=model,
                             bundle=bundle, folds=folds, seed=seed, separator=separator, timings=timings)
    result = IssuesResult(report, timings=timings)
    if out_dir is not None:
        t = time.perf_counter()
        result.out_dir = Path(out_dir)
        result.files = _write(result.out_dir, report, path, frame, label, usable, (fix, relabel_above),
                              sentences if task == "ner" else None)
        timings["write"] = round(time.perf_counter() - t, 3)
    result.seconds = time.perf_counter() - started
    if result.files:
        (result.out_dir / "summary.json").write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return result


def _write(out: Path, report: li.LabelIssues, source: Path, frame, label, usable, fix, sentences) -> dict[str, str]:
    from domainfit.labelling.report import write_issues_report

    out.mkdir(parents=True, exist_ok=True)
    files = {}
    rows = None
    if frame is not None:  # the file's own row numbers, as the user's editor shows them
        rows = frame.loc[usable, "_row"].to_numpy()
    for name, table in (("issues", report.issues), ("confused_pairs", report.confused),
                        ("near_duplicates", report.duplicates), ("outliers", report.outliers),
                        ("class_outliers", report.class_outliers)):
        shown = table.copy()
        for col in [c for c in shown.columns if c.startswith("position")]:
            where = col.replace("position", "row")
            shown.insert(shown.columns.get_loc(col), where, [int(rows[i]) if rows is not None else int(i) + 1 for i in shown[col]])
        shown = shown.drop(columns=[c for c in shown.columns if c.startswith("position")])
        files[name] = _csv(shown, out / f"{name}.csv", source)
    files["report"] = str(write_issues_report(out / "report.html", report, source=str(source)))
    if fix[0]:
        files.update(_fix(out, report, source, frame, label, usable, fix, sentences))
    return files


def _csv(table: pd.DataFrame, path: Path, source: Path) -> str:
    if path.resolve() == source.resolve():
        raise DataError(_("the output would overwrite the input file"), where=str(path), hint=_("pass another -o folder"))
    table.to_csv(path, index=False, encoding="utf-8")
    return str(path)


def _fix(out: Path, report, source: Path, frame, label, usable, fix: tuple, sentences) -> dict[str, str]:
    mode, relabel_above = fix
    if sentences is not None:  # entity data: drop the sentences with a suspect token, keep the file's format
        bad = set(report.issues["position"].astype(int))
        kept = [s for i, s in enumerate(sentences) if i not in bad]
        target = out / f"cleaned{source.suffix if source.suffix == '.conll' else '.conll'}"
        if target.resolve() == source.resolve():
            raise DataError(_("the output would overwrite the input file"), where=str(target), hint=_("pass another -o folder"))
        target.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(s.tokens, s.tags)) for s in kept) + "\n",
                          encoding="utf-8")
        changes = pd.DataFrame({"sentence": [i + 1 for i in sorted(bad)], "line": [sentences[i].line for i in sorted(bad)],
                                "action": "drop", "text": [sentences[i].text for i in sorted(bad)]})
        return {"cleaned": str(target), "changes": _csv(changes, out / "changes.csv", source)}
    positions = np.flatnonzero(usable)  # issue positions index the usable rows; the fix works on the whole table
    issues = report.issues.assign(position=positions[report.issues["position"].astype(int).to_numpy()]) if len(report.issues) else report.issues
    table = frame.drop(columns=[c for c in META_COLUMNS if c in frame.columns])
    cleaned, changes = li.apply_fix(table, issues, label, mode, rows=frame["_row"].tolist(), relabel_above=relabel_above)
    return {"cleaned": _csv(cleaned, out / "cleaned.csv", source), "changes": _csv(changes, out / "changes.csv", source)}
