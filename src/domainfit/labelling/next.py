"""`domainfit label next POOL (--bundle B | --seed labelled.csv) --n 200 -o to_label.csv`: the pool rows most
worth an expert's time, each with the reason it was picked.

Probabilities come from the bundle, or from the `head` method's model (a logistic regression on the cached frozen
embeddings) fit on the seed rows; the diversity strategies and the near-duplicate filter read the embeddings of
`model` (default: the bundled MiniLM), cached on disk, so a second call on the same pool is seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from domainfit.data.columns import resolve_columns
from domainfit.data.io import META_COLUMNS, read_table
from domainfit.errors import BundleError, DataError
from domainfit.i18n import _
from domainfit.labelling import sampling
from domainfit.labelling.features import bundle_predictor, embed

__all__ = ["NextResult", "next_batch", "read_pool"]

TASKS = ("classification", "multilabel", "ner")
OUT_COLUMNS = ["rank", "row", "text", "strategy", "score", "reason", "predicted", "confidence", "label"]


@dataclass
class NextResult:
    table: pd.DataFrame  # OUT_COLUMNS, best first
    pool: int
    excluded_duplicates: int
    task: str
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"picked": len(self.table), "pool": self.pool, "excluded_near_duplicates": self.excluded_duplicates,
                "task": self.task, "seconds": round(self.seconds, 3), "timings": self.timings}


def read_pool(path: str | Path, text_column: str | None = None, encoding: str | None = None) -> tuple[pd.DataFrame, str]:
    """The pool's rows with a text, and its text column; a pool whose label column holds labels is refused."""
    read = read_table(path, encoding=encoding)
    frame = read.frame
    text, label = resolve_columns(frame, text_column, None, path=str(path), require_label=False)
    if label is not None:
        filled = frame[label].str.strip() != ""
        if filled.any():
            first = int(frame.loc[filled, "_row"].iloc[0])
            raise DataError(_("the pool already has labels: column {column} is filled in {filled} of {rows} rows").format(
                                column=repr(label), filled=int(filled.sum()), rows=len(frame)),
                            where=f"{path}:row {first}:column {label}",
                            hint=_("a pool holds texts still to label; pass the labelled rows with --seed (or --labelled) "
                                   "and leave them out of the pool, or empty that column"))
    frame = frame[frame[text].str.strip() != ""]
    if frame.empty:
        raise DataError(_("the pool has no text to choose from"), where=str(path),
                        hint=_("fill column {column}").format(column=repr(text)))
    return frame.reset_index(drop=True), text


def _seed_rows(path: Path, text_column, label_column, encoding) -> tuple[list[str], list[str]]:
    read = read_table(path, encoding=encoding)
    text, label = resolve_columns(read.frame, text_column, label_column, path=str(path))
    rows = read.frame[(read.frame[text].str.strip() != "") & (read.frame[label].str.strip() != "")]
    if rows[label].nunique() < 2:
        raise DataError(_("the seed rows need at least two different labels to train a model on"), where=str(path),
                        hint=_("label a few texts of each class first"))
    return rows[text].tolist(), rows[label].tolist()


def _describe_classes(probs: np.ndarray, labels) -> tuple[list[str], list[float], list[str]]:
    top = np.argsort(-probs, axis=1)[:, :2]
    predicted = [labels[t[0]] for t in top]
    conf = [round(float(probs[i, t[0]]), 4) for i, t in enumerate(top)]
    notes = [f"; model says {labels[t[0]]} ({probs[i, t[0]]:.2f})" + (f", else {labels[t[1]]} ({probs[i, t[1]]:.2f})" if len(t) > 1 else "")
             for i, t in enumerate(top)]
    return predicted, conf, notes


def _scores_from_bundle(bundle, texts: list[str], measure: str):
    predictor = bundle_predictor(bundle, None)
    task = predictor.bundle.task
    if task not in TASKS:
        raise BundleError(_("label next needs a bundle for classification, multilabel or ner, not {task}").format(task=repr(task)),
                          where=f"--bundle {bundle}", hint=_("pass a bundle trained for one of those tasks"))
    labels = list(predictor.labels)
    if task == "ner":
        word_scores = predictor.predict_scores(texts)
        scores, where = sampling.token_uncertainty([w.scores for w in word_scores], measure)
        entities = predictor.task.format(word_scores, labels, 1)
        predicted = [";".join(f"{e['label']}:{e['text']}" for e in p["entities"]) for p in entities]
        notes = []
        for w, k in zip(word_scores, where):
            a, b = w.offsets[k] if w.offsets else (0, 0)
            notes.append(f"; least sure word {w.text[a:b]!r}")
        return task, scores, predicted, [round(1 - float(s), 4) for s in scores], notes, labels
    probs = predictor.predict_scores(texts).astype(np.float64)
    if task == "multilabel":
        scores = sampling.label_uncertainty(probs, measure)
        predicted = [";".join(labels[j] for j in np.flatnonzero(p >= 0.5)) for p in probs]
        conf = [round(float(np.abs(p - 0.5).min() + 0.5), 4) for p in probs]
        notes = [f"; least sure label {labels[int(np.abs(p - 0.5).argmin())]} ({p[int(np.abs(p - 0.5).argmin())]:.2f})" for p in probs]
        return task, scores, predicted, conf, notes, labels
    predicted, conf, notes = _describe_classes(probs, labels)
    return task, sampling.uncertainty(probs, measure), predicted, conf, notes, labels


def _scores_from_seed(seed_texts, seed_labels, emb_seed, emb_pool, measure: str):
    from sklearn.linear_model import LogisticRegression

    labels = sorted(set(seed_labels))
    y = np.array([labels.index(v) for v in seed_labels])
    model = LogisticRegression(C=10.0, max_iter=1000).fit(emb_seed, y)  # the `head` method's model, on the same embeddings
    probs = np.zeros((len(emb_pool), len(labels)))
    probs[:, model.classes_] = model.predict_proba(emb_pool)
    predicted, conf, notes = _describe_classes(probs, labels)
    return "classification", sampling.uncertainty(probs, measure), predicted, conf, notes, labels


def next_batch(pool: str | Path, *, n: int = 200, bundle: str | Path | None = None, seed_data: str | Path | None = None,
               labelled: str | Path | None = None, strategy: str = "hybrid", measure: str = "margin",
               model: str | None = None, text_column: str | None = None, label_column: str | None = None,
               encoding: str | None = None, duplicate_threshold: float = 0.95, seed: int = 0) -> NextResult:
    """The `n` pool rows to label next, best first, each with its reason. Exactly one of `bundle` and `seed_data`."""
    started = time.perf_counter()
    timings: dict = {}
    if (bundle is None) == (seed_data is None):
        raise DataError(_("pass either a bundle or seed data"), where="--bundle / --seed",
                        hint=_("--bundle runs/tickets (a trained model) or --seed labelled.csv (a few labelled rows to fit a head on)"))
    if strategy not in sampling.strategies:
        raise DataError(sampling.strategies.unknown_message(strategy), where="--strategy",
                        hint=_("use one of {names}").format(names=", ".join(sampling.strategies.names())))
    if measure not in sampling.UNCERTAINTY:
        raise DataError(_("unknown uncertainty measure {measure}").format(measure=repr(measure)), where="--measure",
                        hint=_("use one of {names}").format(names=", ".join(sampling.UNCERTAINTY)))
    if n < 1:
        raise DataError(_("--n must be at least 1, not {n}").format(n=n), where="--n", hint=_("how many texts to pick, e.g. --n 200"))
    frame, text = read_pool(pool, text_column, encoding)
    # one pick per distinct text: the same text twice in the pool is one labelling job
    frame = frame.drop_duplicates(subset=[text]).reset_index(drop=True)
    texts = frame[text].tolist()
    t = time.perf_counter()
    emb = embed(texts, model)
    known_texts: list[str] = []
    if seed_data is not None:
        seed_texts, seed_labels = _seed_rows(Path(seed_data), text_column, label_column, encoding)
        known_texts += seed_texts
    if labelled is not None:
        lt, _unused = _seed_rows(Path(labelled), text_column, label_column, encoding)
        known_texts += lt
    known = embed(known_texts, model) if known_texts else None
    timings["embed"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    if seed_data is not None:
        task, scores, predicted, conf, notes, _unused = _scores_from_seed(seed_texts, seed_labels, known[:len(seed_texts)], emb, measure)
    else:
        task, scores, predicted, conf, notes, _unused = _scores_from_bundle(bundle, texts, measure)
    timings["predict"] = round(time.perf_counter() - t, 3)
    dup = sampling.near_duplicates(emb, known, duplicate_threshold)
    keep = np.flatnonzero(~dup)
    if not len(keep):
        raise DataError(_("every pool text is a near-duplicate of a labelled one"), where=str(pool),
                        hint=_("raise --duplicate-threshold (now {threshold}) or add new texts to the pool").format(
                            threshold=duplicate_threshold))
    t = time.perf_counter()
    picks = sampling.strategies.get(strategy)(scores[keep], emb[keep], min(n, len(keep)), labelled_emb=known, seed=seed)
    timings["pick"] = round(time.perf_counter() - t, 3)
    rows = []
    for rank, p in enumerate(picks, 1):
        i = int(keep[p.index])
        rows.append({"rank": rank, "row": int(frame.loc[i, "_row"]), "text": texts[i], "strategy": strategy,
                     "score": round(p.score, 4), "reason": p.reason + notes[i], "predicted": predicted[i],
                     "confidence": conf[i], "label": ""})
    table = pd.DataFrame(rows, columns=OUT_COLUMNS)
    others = [c for c in frame.columns if c not in (text, *META_COLUMNS) and c not in OUT_COLUMNS]
    if others:  # the pool's own columns (ids, dates) travel with each row
        extra = frame.set_index("_row").loc[table["row"], others].reset_index(drop=True)
        table = pd.concat([table, extra], axis=1)
    return NextResult(table, pool=len(frame), excluded_duplicates=int(dup.sum()), task=task,
                      seconds=time.perf_counter() - started, timings=timings)
