"""Explanations of predictions: which words made the model say what it said.

    explain(predictor, texts, method="auto") -> one {"method", "target", "score", "text", "words"} per text

`words` is [{"word", "start", "end", "weight"}] over the text the model read (after the bundle's normalisation and
redaction, so offsets point into `text`): a positive weight pushed the score of `target` (the predicted label; for
regression the predicted value) up, a negative one down. Explainers are registered by name (`explainers`):

    integrated_gradients  Captum's LayerIntegratedGradients on the embedding layer of the PyTorch model (weights sum to
                          the score's change from an all-padding input); needs the model as trained (variant torch)
    occlusion             model-agnostic: each word deleted in turn, the score's drop is its weight; runs on any
                          variant (ONNX, int8) and any bundle a Predictor serves

"auto" takes the first of `PREFERENCE` the predictor can run. Only the tasks that score whole texts are explained
(classification, multilabel, regression; retrieval by occlusion); entity recognition has no text-level score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domainfit.errors import DomainfitError
from domainfit.i18n import _
from domainfit.registry import Registry

__all__ = ["PREFERENCE", "Explainer", "choose_explainer", "explain", "explainers"]

explainers: Registry = Registry("explainer", ("domainfit.evaluation.explain.gradients", "domainfit.evaluation.explain.occlusion"))
PREFERENCE = ("integrated_gradients", "occlusion")


class Explainer(Protocol):
    name: str
    description: str

    def unavailable(self, predictor) -> str | None:
        """Why this explainer cannot run on `predictor` (None: it can)."""

    def explain(self, predictor, texts: Sequence[str], targets: Sequence[int], *, chinese: str) -> list[dict]:
        """{"score", "words"} per (prepared) text, for the output column `targets[i]`."""


def choose_explainer(predictor, method: str = "auto") -> Explainer:
    """The explainer `method` names, or for "auto" the first of PREFERENCE that can run on `predictor`."""
    if method != "auto":
        explainer = explainers.get(method)()
        why = explainer.unavailable(predictor)
        if why:
            raise DomainfitError(_("the {method} explainer cannot explain this model: {why}").format(method=method, why=why),
                                 where=f"explain method {method}",
                                 hint=_("use method 'auto' (or 'occlusion', which runs on every variant)"))
        return explainer
    reasons = []
    for name in PREFERENCE:
        explainer = explainers.get(name)()
        why = explainer.unavailable(predictor)
        if why is None:
            return explainer
        reasons.append(f"{name}: {why}")
    raise DomainfitError(_("no explainer can explain this model ({reasons})").format(reasons="; ".join(reasons)), where="explain",
                         hint=_("explanations are for the tasks that score whole texts (classification, multilabel, regression)"))


def explain(predictor, texts: Sequence[str], *, method: str = "auto", targets: Sequence[str | int | None] | None = None,
            chinese: str = "char") -> list[dict]:
    """One explanation per text (see the module docstring). `targets`: the label to explain per text (a name, an
    index, or None for the predicted one); `chinese`: "char" or "jieba" words for Chinese text."""
    if isinstance(texts, str):
        raise TypeError("explain takes a list of texts; wrap a single text in a list")
    explainer = choose_explainer(predictor, method)
    prepared = predictor.prepare(texts)
    scores = predictor.predict_scores(prepared) if len(prepared) else []
    task = predictor.task.name
    columns = [_target_column(task, predictor.labels, row, (targets or [None] * len(texts))[i]) for i, row in enumerate(scores)]
    found = explainer.explain(predictor, prepared, columns, chinese=chinese)
    out = []
    for text, column, row, item in zip(prepared, columns, scores, found):
        target = None if task == "regression" else predictor.labels[column]
        out.append({"method": explainer.name, "target": target, "score": float(row[column]), "text": text, **item})
    return out


def _target_column(task: str, labels: Sequence[str], row, target: str | int | None) -> int:
    if task == "regression":
        return 0
    if target is None:
        return int(row.argmax())
    if isinstance(target, int) and 0 <= target < len(labels):
        return target
    if target in labels:
        return list(labels).index(target)
    raise DomainfitError(_("no label {target} to explain").format(target=repr(target)), where="explain targets",
                         hint=_("labels: {labels}").format(labels=", ".join(labels[:20])))
