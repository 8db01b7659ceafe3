"""Fit a bundle's out-of-scope detector at training time: choose the detector on validation, fit it on the training
split's outputs (logits, pooled embeddings), and set its threshold on the validation split.

Choosing, without out-of-scope examples (the usual case): a simulation on the data there is. A seeded quarter of the
classes is held out of the detector (its logit columns dropped, its rows left out of the class means and the
neighbours) and its validation rows play the unknown intents; the detector with the best mean AUROC over three such
draws is chosen. The encoder has seen those classes, so the simulation is kinder to every detector than real unknown
intents are; it ranks them, the threshold is set separately. With fewer than four classes it cannot run: msp.
With out-of-scope examples (`oos_label`): the AUROC on the real ones.

The threshold, without out-of-scope examples: the `keep` quantile of the in-scope validation scores (so that share of
in-scope messages is kept), or, with `budget`, the lowest threshold at which in-scope validation accuracy (a refusal
counted as an error) stays within `budget` of the accuracy without refusal (what it refuses first are the messages
the detector finds least in scope, and those are mostly the model's errors, so a budget refuses more than 1 - keep). With them: maximise in-scope accuracy (a refusal counts as an error) subject to OOS recall
>= `floor`, or OOS recall subject to in-scope accuracy >= `floor` (`objective`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from domainfit.errors import ConfigError
from domainfit.i18n import _
from domainfit.ood.detectors import make_detector, ood_detectors
from domainfit.ood.metrics import flag_out_of_scope, ood_metrics
from domainfit.ood.options import OutOfScopeOptions, find_oos_label

__all__ = ["DETECTOR_FILE", "Outputs", "budget_threshold", "fit_out_of_scope", "load_detector", "write_detector"]

DETECTOR_FILE = "ood/detector.safetensors"
_FOLDS = 3
_HELD_SHARE = 0.25


@dataclass
class Outputs:
    """A split's model outputs: logits (n, labels), pooled embeddings (n, hidden) or None, label indices (n,)."""

    logits: np.ndarray
    embeddings: np.ndarray | None
    y: np.ndarray

    def rows(self, mask: np.ndarray, columns: list[int] | None = None) -> Outputs:
        logits = self.logits[mask] if columns is None else self.logits[mask][:, columns]
        return Outputs(logits, None if self.embeddings is None else self.embeddings[mask], self.y[mask])


def _fit(name: str, opts: OutOfScopeOptions, train: Outputs):
    return make_detector(name, {"k": opts.k}).fit(train.logits, train.embeddings, train.y)


def _auroc(gold: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(gold.astype(int), score)) if gold.any() and (~gold).any() else None


def _simulated_auroc(name: str, opts: OutOfScopeOptions, train: Outputs, val: Outputs, n_labels: int, seed: int) -> float | None:
    """Mean AUROC over `_FOLDS` draws of held-out classes (see the module docstring)."""
    classes = np.unique(train.y)
    rng = np.random.default_rng(seed)
    values = []
    for _fold in range(_FOLDS):
        held = rng.choice(classes, size=max(1, round(_HELD_SHARE * len(classes))), replace=False)
        keep = [c for c in range(n_labels) if c not in set(held.tolist())]
        tr = ~np.isin(train.y, held)
        detector = _fit(name, opts, train.rows(tr, keep))
        score = detector.score(val.logits[:, keep], val.embeddings)
        value = _auroc(np.isin(val.y, held), score)
        if value is not None:
            values.append(value)
    return float(np.mean(values)) if values else None


def _calibrate(score, predicted, y, gold, oos_label, labels, objective: str, floor: float) -> tuple[float, str]:
    """The threshold meeting `objective` on validation rows with out-of-scope examples (`gold`)."""
    names = [labels[i] for i in predicted]
    truth = [labels[i] for i in y]
    candidates = np.unique(np.concatenate([np.quantile(score, np.linspace(0, 1, 401)), [score.max() + 1e-9]]))
    table = []
    for t in candidates:
        m = ood_metrics(truth, names, score, flag_out_of_scope(score, float(t), names, oos_label), gold)
        table.append((float(t), m["in_scope_accuracy"] or 0.0, m["oos_recall"] or 0.0))
    want, other = (1, 2) if objective == "accuracy" else (2, 1)
    feasible = [row for row in table if row[other] >= floor]
    what = {"accuracy": ("in-scope accuracy", "OOS recall"), "recall": ("OOS recall", "in-scope accuracy")}[objective]
    if feasible:
        best = max(feasible, key=lambda r: (r[want], r[other]))
        return best[0], f"maximise {what[0]} on validation subject to {what[1]} >= {floor:g}"
    best = max(table, key=lambda r: (r[other], r[want]))
    return best[0], (f"{what[1]} >= {floor:g} is out of reach on validation (best {best[other]:.3f}): the threshold "
                     f"with the highest {what[1]}")


def budget_threshold(score: np.ndarray, right: np.ndarray, budget: float) -> float:
    """The lowest threshold (flagged: score > threshold) keeping mean(right and kept) >= mean(right) - budget."""
    order = np.argsort(score)[::-1]  # refusing from the highest score down
    lost = np.cumsum(right[order]) / len(score)  # accuracy lost when the first i + 1 rows are refused
    ok = lost <= budget + 1e-12
    # refusing rows order[:i+1] means threshold = the next score down (the highest kept); ties stay together
    candidates = [i for i in range(len(order)) if ok[i] and (i + 1 == len(order) or score[order[i + 1]] < score[order[i]])]
    if not candidates:
        return float(score.max())
    i = max(candidates)
    return float(score[order[i + 1]]) if i + 1 < len(order) else float(score.min() - 1e-9)


def _subsample(train: Outputs, limit: int, seed: int) -> Outputs:
    if len(train.y) <= limit:
        return train
    index = np.sort(np.random.default_rng(seed).choice(len(train.y), size=limit, replace=False))
    return Outputs(train.logits[index], None if train.embeddings is None else train.embeddings[index], train.y[index])


def fit_out_of_scope(opts: OutOfScopeOptions, labels: list[str], train: Outputs, val: Outputs, *,
                     seed: int = 0) -> tuple[dict, dict[str, np.ndarray]]:
    """(the state for domainfit.json's task_state.out_of_scope, the detector's arrays for DETECTOR_FILE)."""
    oos_label = find_oos_label(opts.oos_label, labels)
    if opts.oos_label not in (None, "", "auto") and oos_label is None:
        shown = f"{', '.join(labels[:10])}{' ...' if len(labels) > 10 else ''}"
        why = _("{label} is not a label of the training data (labels: {labels}); name one of them, or auto").format(
            label=repr(opts.oos_label), labels=shown)
        raise ConfigError([("task_options.out_of_scope.oos_label", why)])
    if not len(val.y):
        why = _("the detector's threshold is set on the validation split, which is empty: give data.val or a "
                "data.val_size, or set task_options.out_of_scope: off")
        raise ConfigError([("task_options.out_of_scope", why)])
    oos = labels.index(oos_label) if oos_label is not None else -1
    train = _subsample(train, opts.max_fit_rows, seed)
    in_train = train.rows(train.y != oos)
    gold = val.y == oos
    with_examples = bool(gold.any() and (~gold).any())
    names = [opts.detector] if opts.detector != "auto" else ood_detectors.names()
    if train.embeddings is None:
        names = [n for n in names if not ood_detectors.get(n).needs_embeddings] or ["msp"]
    selection: dict[str, float | None] = {}
    if len(names) == 1:
        chosen, rule = names[0], "named in task_options.out_of_scope.detector" if opts.detector != "auto" else "the only one"
    elif with_examples:
        for name in names:
            selection[name] = _auroc(gold, _fit(name, opts, in_train).score(val.logits, val.embeddings))
        chosen, rule = max(selection, key=lambda n: selection[n] or 0.0), "the best AUROC on the validation split's out-of-scope examples"
    elif len(np.unique(in_train.y)) >= 4:
        in_val = val.rows(~gold)
        for name in names:
            selection[name] = _simulated_auroc(name, opts, in_train, in_val, len(labels), seed)
        chosen = max(selection, key=lambda n: selection[n] or 0.0)
        rule = (f"the best mean AUROC on validation with a seeded quarter of the classes held out of the detector "
                f"({_FOLDS} draws; no out-of-scope examples given)")
    else:
        chosen, rule = "msp", "fewer than four classes: too few to simulate unknown intents; the standard baseline"
    detector = _fit(chosen, opts, in_train)
    score = detector.score(val.logits, val.embeddings)
    predicted = val.logits.argmax(axis=1)
    if with_examples:
        threshold, threshold_rule = _calibrate(score, predicted, val.y, gold, oos_label, labels, opts.objective, opts.floor)
    elif opts.budget is not None:
        threshold = budget_threshold(score[~gold], predicted[~gold] == val.y[~gold], opts.budget)
        threshold_rule = (f"refuses what costs at most {100 * opts.budget:g} points of in-scope validation accuracy "
                          "(no out-of-scope examples)")
    else:
        threshold = float(np.quantile(score[~gold], opts.keep))
        threshold_rule = f"keeps {100 * opts.keep:g}% of the in-scope validation messages (no out-of-scope examples)"
    names_val = [labels[i] for i in predicted]
    validation = ood_metrics([labels[i] for i in val.y], names_val, score,
                             flag_out_of_scope(score, threshold, names_val, oos_label), gold)
    tensors = detector.tensors()
    state = {"detector": chosen, "threshold": float(threshold), "params": detector.params(),
             "needs_embeddings": bool(detector.needs_embeddings), "file": DETECTOR_FILE if tensors else None,
             "oos_label": oos_label, "chosen_by": rule, "threshold_rule": threshold_rule,
             "selection_auroc": selection, "validation": validation, "fit_rows": len(in_train.y)}
    return state, tensors


def write_detector(root: Path, state: dict, tensors: dict[str, np.ndarray]) -> None:
    """The detector's arrays as safetensors at root/state["file"] (nothing for a detector without arrays)."""
    if not state.get("file"):
        return
    from safetensors.numpy import save_file

    path = Path(root) / state["file"]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path))


def load_detector(state: dict, path: Path | None):
    """The fitted detector of `state`, its arrays read from `path` (a file the caller has verified, e.g. through
    `Bundle.file`; None for a detector without arrays)."""
    from safetensors.numpy import load_file

    tensors = load_file(str(path)) if path is not None else {}
    return ood_detectors.get(state["detector"]).rebuild(tensors, state.get("params") or {})
