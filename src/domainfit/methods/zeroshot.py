"""`zeroshot`: no training — label names or descriptions embedded with the backbone; the nearest label wins.

The head is a linear layer whose rows are the (L2-normalised) label embeddings times a temperature, over the
normalised sentence embedding: a cosine-similarity classifier that the Predictor, ONNX export and serving treat like
any other. With labelled rows available (and `prototypes: true`), each label's row is blended with the mean
embedding of its examples (class prototypes), which usually helps a lot with a handful of examples.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from domainfit.methods.base import FitContext, FitResult
from domainfit.modeling import TextModel
from domainfit.registry import methods

__all__ = ["ZeroShotMethod", "label_text"]


def label_text(label: str) -> str:
    """'card_lost_or_stolen' → 'card lost or stolen' (label names are often identifiers)."""
    return " ".join(label.replace("_", " ").replace("-", " ").split())


class ZeroShotOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: dict[str, str] | list[str] | None = Field(
        None, description="label → description (or a list of label names); default: the labels of the data, by name")
    scale: float = Field(20.0, gt=0, description="temperature: logits = scale x cosine similarity")
    prototypes: bool = Field(True, description="blend in the mean embedding of each label's examples when there are any")
    prototype_weight: float = Field(0.5, ge=0, le=1, description="share of the prototype in the blend")


@methods.register("zeroshot")
class ZeroShotMethod:
    description = "no training: label names/descriptions embedded with the backbone, nearest label wins; few examples as prototypes"
    tasks = frozenset({"label", "pair"})  # pair tasks (retrieval): the untouched backbone indexes the answers
    Options = ZeroShotOptions
    needs_training_data = False

    @staticmethod
    def declared_labels(options: dict) -> list[str] | None:
        labels = ZeroShotOptions.model_validate(options).labels
        if labels is None:
            return None
        return sorted(labels) if isinstance(labels, dict) else sorted(map(str, labels))

    def fit(self, ctx: FitContext) -> FitResult:
        o = ZeroShotOptions.model_validate(ctx.options)
        started = time.perf_counter()
        descriptions = o.labels if isinstance(o.labels, dict) else {}
        texts = [descriptions.get(label) or label_text(label) for label in ctx.labels]
        weights = ctx.frozen.embed(texts)  # normalised rows (the zero-shot encoder always normalises)
        used_prototypes = False
        if o.prototypes and len(ctx.train):
            x = ctx.frozen.embed(ctx.train["text"].tolist())
            y = np.asarray(ctx.train["label"].astype(str))
            for i, label in enumerate(ctx.labels):
                rows = x[y == label]
                if len(rows):
                    proto = rows.mean(0)
                    blend = (1 - o.prototype_weight) * weights[i] + o.prototype_weight * proto / np.linalg.norm(proto)
                    weights[i] = blend / np.linalg.norm(blend)
                    used_prototypes = True
        head = ctx.task.build_head(weights.shape[1], ctx.labels)
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(weights * o.scale))
            head.bias.zero_()
        for p in [*ctx.encoder.parameters(), *head.parameters()]:  # nothing is trained
            p.requires_grad_(False)
        model = TextModel(ctx.encoder, head, pooling=ctx.pooling, normalize=True, dropout=0.0)
        model.eval()
        return FitResult(model=model, seconds=time.perf_counter() - started,
                         info={"label_texts": dict(zip(ctx.labels, texts)), "prototypes": used_prototypes})
