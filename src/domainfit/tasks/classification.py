"""Single-label text classification (binary and multi-class): linear head, softmax, cross-entropy; and out-of-scope
detection (`task_options.out_of_scope`, `domainfit.ood`): the fitted detector's threshold is the task's state, and a
prediction whose scores carry the detector's (`OodScores`) says whether it is out of scope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import nn

from domainfit.data.checks import CheckContext, Issue, report_check
from domainfit.data.sampling import sample_per_class
from domainfit.evaluation import classification_metrics, reference_stats
from domainfit.evaluation.live import single_label_stats
from domainfit.i18n import _
from domainfit.interfaces import Budget
from domainfit.ood.metrics import flag_out_of_scope, ood_metrics
from domainfit.ood.options import OutOfScopeOptions, resolve_out_of_scope
from domainfit.ood.scores import ood_of
from domainfit.registry import tasks
from domainfit.tasks import examples
from domainfit.tasks.table import TableWorkflow

__all__ = ["ClassificationOptions", "ClassificationTask", "class_weight_vector"]


class ClassificationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    out_of_scope: OutOfScopeOptions = Field(default_factory=OutOfScopeOptions, description="flag (default), refuse, off, "
                                            "auto, or {mode, detector, keep, oos_label, objective, floor, refusal_label}: "
                                            "out-of-scope detection fitted on validation")

    @field_validator("out_of_scope", mode="before")
    @classmethod
    def _word(cls, value):
        if isinstance(value, str):
            if value not in ("flag", "refuse", "off", "auto"):
                raise ValueError(_("{value} is not an out-of-scope mode: flag, refuse, off, auto, or a mapping "
                                   "{{mode:, detector:, keep:, ...}}").format(value=repr(value)))
            return resolve_out_of_scope(value)
        return value


@tasks.register("classification")
class ClassificationTask:
    name = "classification"
    description = "one label per text (binary or multi-class): softmax head, cross-entropy, accuracy/F1/calibration"
    primary_metric = "macro_f1"
    summary_metrics = ("accuracy", "macro_f1", "micro_f1", "weighted_f1")
    default_baselines = ("zeroshot", "tfidf")
    tunes_on_validation = False
    Options = ClassificationOptions
    kind = "table"
    targets = "label"
    data_suffixes: tuple[str, ...] = ()
    workflow = TableWorkflow(budget=Budget("examples per class", lambda rows, k, seed, task: sample_per_class(rows, k, seed)),
                             live_stats=single_label_stats)
    example = staticmethod(examples.single_label_example)
    # the fitted detector; a subclass with options of its own (no `out_of_scope` key) detects nothing
    out_of_scope: dict | None = None

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None:
        self.options = ClassificationOptions.model_validate(options or {})
        fitted = (state or {}).get("out_of_scope")
        # the fitted detector (None: an old bundle, out_of_scope: off, or not fitted yet): thresholds, its file
        self.out_of_scope: dict | None = fitted if fitted and self.options.out_of_scope.mode != "off" else None

    @property
    def ood_options(self) -> OutOfScopeOptions | None:
        return getattr(self.options, "out_of_scope", None)

    def flags(self, scores: np.ndarray, label_set: Sequence[str]) -> np.ndarray | None:
        """The out-of-scope decisions of `scores` (None when they carry no detector score)."""
        ood = ood_of(scores)
        if ood is None or self.out_of_scope is None:
            return None
        predicted = [label_set[j] for j in np.asarray(scores).argmax(axis=1)] if len(ood) else []
        return flag_out_of_scope(ood, self.out_of_scope["threshold"], predicted, self.out_of_scope.get("oos_label"))

    # ---- data
    def parse_target(self, value: str) -> str:
        label = str(value).strip()
        if not label:
            raise ValueError("missing_label")
        return label

    def label_set(self, labels: Iterable[str]) -> list[str]:
        return sorted(set(map(str, labels)))

    def strata(self, labels: pd.Series) -> pd.Series:
        return labels

    def target_summary(self, labels: Sequence[str]) -> dict:
        return {str(k): int(v) for k, v in pd.Series(list(labels), dtype=object).value_counts().sort_index().items()}

    # ---- training
    def fit_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> None:
        pass

    def encode_targets(self, labels: Sequence[str], label_set: Sequence[str]) -> torch.Tensor:
        index = {label: i for i, label in enumerate(label_set)}
        return torch.tensor([index[str(label)] for label in labels], dtype=torch.long)

    def class_weights(self, labels: Sequence[str], label_set: Sequence[str], mode: str) -> torch.Tensor | None:
        return class_weight_vector(list(labels), label_set, mode)

    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module:
        return nn.Linear(hidden_size, len(label_set))

    def loss(self, logits, targets, *, class_weights=None, label_smoothing=0.0):
        return nn.functional.cross_entropy(logits.float(), targets, weight=class_weights, label_smoothing=label_smoothing)

    def linear_probe(self, x: np.ndarray, y: np.ndarray, *, C: float, balanced: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Multinomial logistic regression (scikit-learn); a binary model's one row becomes the softmax's two."""
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced" if balanced else None, random_state=seed)
        clf.fit(x, y)
        coef, intercept = clf.coef_, clf.intercept_
        if coef.shape[0] == 1:  # binary: scikit-learn keeps one row (the positive class); softmax needs two
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        return coef, intercept

    def tune(self, labels: Sequence[str], scores: np.ndarray, label_set: Sequence[str]) -> None:
        pass

    def state(self) -> dict:
        return {"out_of_scope": self.out_of_scope} if self.out_of_scope is not None else {}

    # ---- output
    def decode(self, logits: torch.Tensor) -> np.ndarray:
        return torch.softmax(logits.float(), dim=-1).numpy()

    def format(self, scores: np.ndarray, label_set: Sequence[str], top_k: int = 1) -> list[dict]:
        k = max(1, min(top_k, len(label_set)))
        order = np.argsort(-scores, axis=1)[:, :k]
        flags, ood = self.flags(scores, label_set), ood_of(scores)
        refuse = flags is not None and self.ood_options.mode == "refuse"
        out = []
        for i, (row, idx) in enumerate(zip(np.asarray(scores), order)):
            ranked = [{"label": label_set[j], "score": float(row[j])} for j in idx]
            pred = {"label": ranked[0]["label"], "score": ranked[0]["score"], "top_k": ranked}
            if flags is not None:
                pred.update(out_of_scope=bool(flags[i]), ood_score=float(ood[i]),
                            ood_threshold=float(self.out_of_scope["threshold"]))
                if refuse and flags[i]:
                    pred["label"] = self.ood_options.refusal_label
            out.append(pred)
        return out

    def output_columns(self, prediction: dict) -> dict:
        columns = {"predicted_label": prediction["label"], "score": round(prediction["score"], 6)}
        if "out_of_scope" in prediction:
            columns.update(out_of_scope=prediction["out_of_scope"], ood_score=round(prediction["ood_score"], 6))
        return {**columns, "top_k": prediction["top_k"]}

    def prediction_model(self, label_set: Sequence[str]) -> type:
        from typing import Literal

        from pydantic import BaseModel, Field, create_model

        label_type = Literal[tuple(label_set)] if label_set else str
        scored = create_model("ScoredLabel", label=(label_type, ...), score=(float, Field(ge=0.0, le=1.0)))
        example = {"label": label_set[0], "score": 0.97, "top_k": [{"label": label_set[0], "score": 0.97}]} if label_set else None
        fields: dict = {}
        if self.out_of_scope is not None:
            refuse = self.ood_options.mode == "refuse"
            if refuse and label_set:
                label_type = Literal[(*label_set, self.ood_options.refusal_label)]
            fields = {"out_of_scope": (bool, Field(..., description="the detector finds the text out of scope" + (
                          f" (its label is then {self.ood_options.refusal_label!r})" if refuse else ""))),
                      "ood_score": (float, Field(..., description="the detector's score: higher is more out of scope")),
                      "ood_threshold": (float, Field(..., description="the score above which a text is out of scope"))}
        return create_model("ClassificationPrediction", __base__=BaseModel,
                            label=(label_type, Field(..., description="the most probable label" + (
                                " (or the refusal label)" if self.out_of_scope is not None and
                                self.ood_options.mode == "refuse" else ""))),
                            score=(float, Field(..., ge=0.0, le=1.0, description="its probability")),
                            top_k=(list[scored], Field(..., description="the top_k labels, most probable first",
                                                       examples=[example["top_k"]] if example else None)),
                            **fields)

    def metrics(self, y_true, scores, label_set, *, texts=None, oos_gold=None) -> dict:
        """The classification metrics (unchanged by out-of-scope detection), plus, when the scores carry a detector's,
        `out_of_scope`: in-scope accuracy counting a refusal as an error, OOS recall/precision, AUROC, FPR@95 and the
        trade-off curve. `oos_gold`: the rows whose true answer is "out of scope" (left out of the classification
        metrics; default: those labelled with the bundle's oos label, if it has one)."""
        from domainfit.ood.metrics import tradeoff_curve

        y_true = [str(y) for y in y_true]
        oos_label = (self.out_of_scope or {}).get("oos_label")
        gold = np.asarray(oos_gold if oos_gold is not None else [oos_label is not None and y == oos_label for y in y_true], bool)
        if oos_gold is not None and gold.any():  # unknown intents have no column: score the in-scope rows only
            plain = np.asarray(scores)[~gold]
            known = [y for y, g in zip(y_true, gold) if not g]
            out = classification_metrics(known, plain, label_set, texts=[t for t, g in zip(texts, gold) if not g] if texts else None)
        else:
            out = classification_metrics(y_true, np.asarray(scores), label_set, texts=texts)
        flags = self.flags(scores, label_set)
        if flags is not None:
            ood = ood_of(scores)
            predicted = [label_set[j] for j in np.asarray(scores).argmax(axis=1)]
            out["out_of_scope"] = {**ood_metrics(y_true, predicted, ood, flags, gold),
                                   "detector": self.out_of_scope["detector"], "threshold": self.out_of_scope["threshold"],
                                   "mode": self.ood_options.mode, "threshold_rule": self.out_of_scope.get("threshold_rule"),
                                   "curve": tradeoff_curve(y_true, predicted, ood, gold, oos_label=oos_label)}
        return out

    def reference_stats(self, texts, scores, label_set) -> dict:
        stats = reference_stats(texts, np.asarray(scores), label_set)
        flags = self.flags(scores, label_set)
        if flags is not None:  # monitoring compares the live share of out-of-scope traffic with this
            stats["out_of_scope_rate"] = float(flags.mean()) if len(flags) else 0.0
        return stats


def class_weight_vector(labels: Sequence[str], label_set: Sequence[str], mode: str) -> torch.Tensor | None:
    """Loss weights against imbalance: 'balanced' = n / (k * count) as in scikit-learn, 'sqrt' its square root."""
    if mode == "none":
        return None
    counts = np.array([max(1, sum(1 for y in labels if y == c)) for c in label_set], dtype=np.float64)
    w = len(labels) / (len(label_set) * counts)
    if mode == "sqrt":
        w = np.sqrt(w)
    return torch.tensor(w, dtype=torch.float32)


@report_check("class_imbalance", tasks={"label"})
def check_class_imbalance(kept: pd.DataFrame, ctx: CheckContext) -> list[Issue]:
    counts = kept.loc[kept["_role"] == "train", "label"].value_counts()
    if len(counts) < 2 or counts.iloc[-1] == 0:
        return []
    ratio = counts.iloc[0] / counts.iloc[-1]
    if ratio <= 10:
        return []
    return [Issue(
        "class_imbalance",
        "warning",
        _("the largest class {largest} has {n_largest} rows, the smallest {smallest} {n_smallest} ({ratio}x fewer)").format(
            largest=repr(counts.index[0]), n_largest=counts.iloc[0], smallest=repr(counts.index[-1]),
            n_smallest=counts.iloc[-1], ratio=f"{ratio:.0f}"),
        [],
        hint=_("set training.class_weights: balanced so small classes count in the loss, and judge the model by macro-F1"),
    )]  # fmt: skip
