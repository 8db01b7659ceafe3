"""Multi-label text classification: any number of labels per text; one sigmoid per label, binary cross-entropy, and a
decision threshold per label tuned on the validation split (stored in the bundle, applied by the Predictor).

A label cell holds the labels separated by `task_options.separator` (";" by default), or a JSON list
(`["billing", "refund"]`, which is also how a JSON Lines list arrives). The canonical form is the sorted JSON list.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from domainfit.data.checks import CheckContext, Issue, report_check
from domainfit.data.sampling import sample_covering
from domainfit.evaluation.live import confidence_stats, label_shares, length_stats
from domainfit.evaluation.metrics import multilabel_metrics
from domainfit.evaluation.reference import multilabel_reference_stats
from domainfit.i18n import _
from domainfit.interfaces import Budget
from domainfit.registry import tasks
from domainfit.tasks import examples
from domainfit.tasks.table import TableWorkflow

__all__ = ["MultiLabelOptions", "MultiLabelTask", "best_f1_threshold", "label_lists", "multi_label_stats", "sample_per_label"]


class MultiLabelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    separator: str = Field(";", min_length=1, description="between the labels of one cell; a JSON list cell is read too")
    threshold: float = Field(0.5, gt=0, lt=1, description="decision threshold of a label that validation cannot tune")
    tune_thresholds: bool = Field(True, description="per label, the threshold with the best F1 on the validation split")


def label_lists(labels: Iterable[str]) -> list[list[str]]:
    """Canonical targets (JSON lists) back to lists of labels."""
    return [json.loads(y) for y in labels]


def best_f1_threshold(p: np.ndarray, y: np.ndarray, default: float) -> float:
    """The threshold on probabilities `p` that maximises F1 for the 0/1 truths `y`: midway between the last score
    predicted positive and the next one. `default` when `y` has no positive (F1 is 0 whatever the threshold)."""
    positives = int(y.sum())
    if positives == 0 or len(p) == 0:
        return default
    order = np.argsort(-p, kind="stable")
    p, y = p[order], y[order]
    tp = np.cumsum(y)
    k = np.arange(1, len(p) + 1)
    f1 = 2 * tp / (k + positives)
    cut = np.append(p[1:] < p[:-1], True)  # a threshold can only fall between two different scores
    best = int(np.argmax(np.where(cut, f1, -1.0)))
    below = p[best + 1] if best + 1 < len(p) else 0.0
    return float(np.clip((p[best] + below) / 2, 0.01, 0.99))


@tasks.register("multilabel")
class MultiLabelTask:
    name = "multilabel"
    description = ("several labels per text (';'-separated or a JSON list): sigmoid head, binary cross-entropy, "
                   "per-label thresholds tuned on validation, micro/macro-F1")
    primary_metric = "micro_f1"
    summary_metrics = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss")
    default_baselines = ("tfidf_multilabel",)
    tunes_on_validation = True
    Options = MultiLabelOptions
    kind = "table"
    targets = "labels"
    data_suffixes: tuple[str, ...] = ()
    workflow = TableWorkflow(budget=Budget("examples per label", lambda rows, k, seed, task: sample_per_label(rows, k, seed)),
                             live_stats=lambda rows, reference: multi_label_stats(rows, reference))
    example = staticmethod(examples.multilabel_example)

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None:
        self.options = MultiLabelOptions.model_validate(options or {})
        self.thresholds: dict[str, float] = {str(k): float(v) for k, v in ((state or {}).get("thresholds") or {}).items()}

    def threshold_vector(self, label_set: Sequence[str]) -> np.ndarray:
        return np.array([self.thresholds.get(label, self.options.threshold) for label in label_set], dtype=np.float64)

    # ---- data
    def parse_target(self, value: str) -> str:
        text = str(value).strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError("bad_label_list: " + _("{value} starts with '[' but is not a JSON list ({error})").format(
                    value=repr(text[:60]), error=exc.msg)) from None
            if not isinstance(items, list) or any(isinstance(x, (list, dict)) for x in items):
                raise ValueError("bad_label_list: " + _("{value} is not a flat JSON list of labels").format(value=repr(text[:60])))
            items = ["" if x is None else str(x) for x in items]
        else:
            items = text.split(self.options.separator)
        labels = sorted({x.strip() for x in items if x.strip()})
        if not labels:
            raise ValueError("empty_label_list: " + _("{value} holds no label").format(value=repr(text[:60])))
        return json.dumps(labels, ensure_ascii=False)

    def label_set(self, labels: Iterable[str]) -> list[str]:
        return sorted({label for row in label_lists(labels) for label in row})

    def strata(self, labels: pd.Series) -> pd.Series:
        """Each row's rarest label: a cheap stand-in for iterative stratification, so rare labels reach every split."""
        rows = label_lists(labels)
        counts = Counter(label for row in rows for label in row)
        return pd.Series([min(row, key=lambda lab: (counts[lab], lab)) for row in rows], index=labels.index, dtype=object)

    def target_summary(self, labels: Sequence[str]) -> dict:
        counts = Counter(label for row in label_lists(labels) for label in row)
        return {label: int(counts[label]) for label in sorted(counts)}

    # ---- training
    def fit_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> None:
        pass

    def encode_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> torch.Tensor:
        index = {label: i for i, label in enumerate(label_set)}
        rows = label_lists(labels)
        out = torch.zeros((len(rows), len(label_set)), dtype=torch.float32)
        for r, row in enumerate(rows):
            out[r, [index[label] for label in row]] = 1.0
        return out

    def class_weights(self, labels: Sequence[str], label_set: Sequence[str], mode: str) -> torch.Tensor | None:
        """BCE's pos_weight per label: negatives / positives ('balanced'), or its square root ('sqrt')."""
        if mode == "none":
            return None
        y = self.encode_targets(labels, label_set)
        pos = y.sum(0)
        w = (len(y) - pos) / pos.clamp(min=1.0)
        return w.sqrt() if mode == "sqrt" else w

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module:
        return nn.Linear(hidden_size, len(label_set))

    def loss(self, logits, targets, *, class_weights=None, label_smoothing=0.0):
        targets = targets * (1 - label_smoothing) + 0.5 * label_smoothing
        return nn.functional.binary_cross_entropy_with_logits(logits.float(), targets, pos_weight=class_weights)

    def linear_probe(self, x: np.ndarray, y: np.ndarray, *, C: float, balanced: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """One logistic regression per label (one-vs-rest); a label that is always (or never) present gets a constant."""
        from sklearn.linear_model import LogisticRegression

        coef = np.zeros((y.shape[1], x.shape[1]))
        intercept = np.zeros(y.shape[1])
        for j in range(y.shape[1]):
            col = y[:, j].astype(int)
            if col.min() == col.max():
                share = np.clip(col.mean(), 1e-3, 1 - 1e-3)
                intercept[j] = np.log(share / (1 - share))
                continue
            clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced" if balanced else None, random_state=seed)
            clf.fit(x, col)
            coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
        return coef, intercept

    def tune(self, labels: Sequence[str], scores: np.ndarray, label_set: Sequence[str]) -> None:
        default = self.options.threshold
        if not self.options.tune_thresholds or not len(labels):
            self.thresholds = {label: default for label in label_set}
            return
        y = self.encode_targets(labels, label_set).numpy()
        self.thresholds = {label: best_f1_threshold(scores[:, j], y[:, j], default) for j, label in enumerate(label_set)}

    def state(self) -> dict:
        return {"thresholds": dict(self.thresholds)}

    # ---- output
    def decode(self, logits: torch.Tensor) -> np.ndarray:
        return torch.sigmoid(logits.float()).numpy()

    def format(self, scores: np.ndarray, label_set: Sequence[str], top_k: int = 1) -> list[dict]:
        """{"labels": every label at or above its threshold (most probable first), "scores": every label's
        probability, "label"/"score": the most probable label (for code written for single-label output)}."""
        thresholds = self.threshold_vector(label_set)
        out = []
        for row in scores:
            order = np.argsort(-row, kind="stable")
            out.append({"label": label_set[order[0]], "score": float(row[order[0]]),
                        "labels": [label_set[j] for j in order if row[j] >= thresholds[j]],
                        "scores": {label_set[j]: float(row[j]) for j in order}})
        return out

    def output_columns(self, prediction: dict) -> dict:
        return {"predicted_labels": self.options.separator.join(prediction["labels"]), "scores": prediction["scores"]}

    def prediction_model(self, label_set: Sequence[str]) -> type:
        from typing import Literal

        from pydantic import BaseModel, Field, create_model

        label_type = Literal[tuple(label_set)] if label_set else str
        return create_model("MultiLabelPrediction", __base__=BaseModel,
                            labels=(list[label_type], Field(..., description="every label at or above its threshold")),
                            scores=(dict[str, float], Field(..., description="every label's probability, most probable first")),
                            label=(label_type, Field(..., description="the most probable label")),
                            score=(float, Field(..., ge=0.0, le=1.0, description="its probability")))

    def metrics(self, y_true, scores, label_set, *, texts=None) -> dict:
        return multilabel_metrics(label_lists(y_true), scores, label_set, self.threshold_vector(label_set), texts=texts)

    def reference_stats(self, texts, scores, label_set) -> dict:
        return multilabel_reference_stats(texts, scores, label_set, self.threshold_vector(label_set))


@report_check("rare_label", tasks={"labels"})
def check_rare_labels(kept: pd.DataFrame, ctx: CheckContext) -> list[Issue]:
    """Labels on fewer training rows than min_per_class: kept (the rows carry other labels too), but warned about."""
    train = kept[kept["_role"] == "train"]
    rows = label_lists(train["label"])
    counts = Counter(label for row in rows for label in row)
    rare = sorted(label for label, n in counts.items() if n < ctx.min_per_class)
    if not rare:
        return []
    where = [loc for loc, row in zip(train["_loc"], rows) if set(row) & set(rare)]
    shown = ", ".join(f"{label!r} ({counts[label]})" for label in rare[:10]) + (
        _(" and {n} more").format(n=len(rare) - 10) if len(rare) > 10 else "")
    message = (_("{n} labels have fewer than min_per_class={min} training rows: {labels}; the model will hardly learn "
                 "them and their thresholds cannot be tuned") if len(rare) > 1 else
               _("{n} label has fewer than min_per_class={min} training rows: {labels}; the model will hardly learn "
                 "them and their thresholds cannot be tuned")).format(n=len(rare), min=ctx.min_per_class, labels=shown)
    return [Issue("rare_label", "warning", message,
                  where, hint=_("add training rows with these labels, or merge them into related labels"))]


def sample_per_label(frame: pd.DataFrame, k: int | None, seed: int) -> pd.DataFrame:
    """Multi-label rows (canonical JSON lists) until every label is on at least k of them (or on all its rows)."""
    if k is None:
        return frame.reset_index(drop=True)
    return frame.iloc[sample_covering(label_lists(frame["label"]), k, seed)].reset_index(drop=True)


def multi_label_stats(rows: pd.DataFrame, reference: dict) -> dict:
    chosen = [out.get("labels") or [] for out in rows["output"]]
    counter = Counter(label for labels in chosen for label in labels)
    return {**length_stats(rows), "label_distribution": label_shares(counter, len(rows)),
            "mean_labels_per_text": float(np.mean([len(c) for c in chosen])) if chosen else None, **confidence_stats(rows["score"])}
