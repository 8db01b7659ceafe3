"""Named-entity recognition: a label per word (BIO or BIOES), a linear head over every token state, cross-entropy
on each word's first piece; predictions are entity spans with character offsets, scored by entity-level F1.

Not one text, one target, so the task brings its own workflow (`domainfit.tasks.ner.workflow`: reading CoNLL/JSONL,
windows of word pieces, training through the shared loop, evaluation, the predictor); this class holds what the
rest of domainfit asks of every task: options, head, loss, decoding, output format, response schema and metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from domainfit.registry import tasks
from domainfit.tasks import examples
from domainfit.tasks.ner.align import IGNORE_INDEX, decode_entities
from domainfit.tasks.ner.metrics import entity_metrics, entity_reference_stats, predicted_tags
from domainfit.tasks.ner.tags import OUTSIDE, spans_from_tags, tags_from_spans
from domainfit.tasks.ner.workflow import WORKFLOW

__all__ = ["NerOptions", "NerTask"]

_LETTERS = {"BIO": ("B", "I"), "BIOES": ("B", "I", "E", "S")}


class NerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scheme: Literal["BIO", "BIOES"] = Field("BIO", description="tags the model predicts (files in either scheme are read)")
    repair_tags: bool = Field(True, description="an I- tag that starts an entity is read as B- (a warning); false: its "
                                                "sentence is left out and reported with file:line")
    stride: int | None = Field(None, ge=0, description="word pieces shared by consecutive windows of a text longer than "
                                                       "model.max_length (default: a quarter of max_length)")


@tasks.register("ner")
class NerTask:
    name = "ner"
    description = ("entities in text (BIO/BIOES tags per word; CoNLL or JSONL): token head, entity spans with character "
                   "offsets, entity-level F1 per type")
    primary_metric = "f1"
    summary_metrics = ("f1", "precision", "recall", "macro_f1")
    default_baselines = ("dictionary",)
    tunes_on_validation = False
    Options = NerOptions
    kind = "token"
    targets = "tags"
    workflow = WORKFLOW
    example = staticmethod(examples.ner_example)
    supports_redaction = False
    supports_redaction_why = ("entities are returned with offsets into the original text, and a name is an entity to "
                              "find; redact phones, cards and emails in the files beforehand with `domainfit data redact`")
    data_suffixes = (".conll", ".bio", ".iob")  # a training file with one of these is read as this task's data

    def __init__(self, options: dict | None = None, state: dict | None = None) -> None:
        self.options = NerOptions.model_validate(options or {})

    # ---- data
    def label_set(self, entity_types: Iterable[str]) -> list[str]:
        """"O" first (index 0), then the scheme's tags of each type, types sorted."""
        return [OUTSIDE] + [f"{p}-{t}" for t in sorted(set(entity_types)) for p in _LETTERS[self.options.scheme]]

    def training_tags(self, bio_tags: Sequence[str]) -> list[str]:
        """A sentence's BIO tags in the scheme the model is trained on."""
        if self.options.scheme == "BIO":
            return list(bio_tags)
        return tags_from_spans(len(bio_tags), spans_from_tags(bio_tags), scheme=self.options.scheme)

    def stride(self, max_length: int) -> int:
        return max_length // 4 if self.options.stride is None else self.options.stride

    # ---- training
    def build_head(self, hidden_size: int, label_set: Sequence[str]) -> nn.Module:
        return nn.Linear(hidden_size, len(label_set))

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, *, class_weights=None, label_smoothing: float = 0.0) -> torch.Tensor:
        """Cross-entropy over the labelled pieces; `targets` may be padded wider than this batch (IGNORE_INDEX)."""
        targets = targets[:, : logits.shape[1]]
        return nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                           weight=class_weights, ignore_index=IGNORE_INDEX, label_smoothing=label_smoothing)

    def state(self) -> dict:
        return {}

    # ---- output
    def format(self, scores: Sequence, label_set: Sequence[str], top_k: int = 1) -> list[dict]:
        """One {"entities": [...]} per text from its `WordScores` (see domainfit.tasks.ner.inference)."""
        return [{"entities": decode_entities(s.text, s.offsets, s.scores, label_set)} for s in scores]

    def output_columns(self, prediction: dict) -> dict:
        return {"entities": prediction["entities"]}

    def prediction_model(self, label_set: Sequence[str]) -> type:
        from pydantic import create_model

        types = sorted({tag.split("-", 1)[1] for tag in label_set if "-" in tag})
        kind = Literal[tuple(types)] if types else str
        entity = create_model(
            "Entity",
            start=(int, Field(..., ge=0, description="offset of its first character in the text")),
            end=(int, Field(..., ge=0, description="offset after its last character (Python slicing: text[start:end])")),
            text=(str, Field(..., description="the entity as written")),
            label=(kind, Field(..., description="its type")),
            score=(float, Field(..., ge=0.0, le=1.0, description="mean probability of its words' tags")),
        )
        example = [{"start": 0, "end": 8, "text": "Tim Cook", "label": types[0], "score": 0.97}] if types else None
        return create_model("NerPrediction", entities=(list[entity], Field(..., description="entities in text order",
                                                                           examples=[example] if example else None)))

    def metrics(self, y_true: Sequence[Sequence[str]], scores: Sequence, label_set: Sequence[str], *, texts=None) -> dict:
        """Entity-level scores of gold BIO tags against `WordScores` (or predicted tags directly)."""
        pred = [s if isinstance(s, list) else predicted_tags(s.scores, label_set) for s in scores]
        return entity_metrics(y_true, pred, sentences=texts)

    def reference_stats(self, texts: Sequence[str], scores: Sequence, label_set: Sequence[str]) -> dict:
        return entity_reference_stats(texts, self.format(scores, label_set))
