"""Entity-level scores: precision, recall and F1 per type and overall (seqeval, strict IOB2: an entity counts only
with its exact span and type), the confusion of entity types, the sentences with the most mistakes, and the
reference statistics of predictions that monitoring compares live traffic against.

Predicted tags come from per-word probabilities exactly as the served entities do (`predicted_tags`: each word's
best label, decoded leniently into spans, written back as valid BIO), so the scores describe what `predict` returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from domainfit.evaluation.reference import confidence_histogram, text_stats
from domainfit.tasks.ner.tags import OUTSIDE, spans_from_tags, tags_from_spans

__all__ = ["entity_metrics", "entity_reference_stats", "predicted_tags"]

NONE = OUTSIDE  # the confusion's row and column for "no entity with that span"


def predicted_tags(word_scores: Any, label_list: Sequence[str]) -> list[str]:
    """BIO tags of one sentence from its (n_words, n_labels) probabilities: each word's best label (a row of zeros,
    a word the tokenizer dropped, is outside), an I- without its B- starting an entity as `decode_entities` reads it."""
    scores = np.asarray(word_scores, dtype=float).reshape(-1, len(label_list))
    best = [label_list[k] if covered else OUTSIDE for k, covered in zip(scores.argmax(axis=1), scores.sum(axis=1) > 0)]
    return tags_from_spans(len(best), spans_from_tags(best))


def _spans(tags: Sequence[str]) -> dict[tuple[int, int], str]:
    return {(a, b): kind for a, b, kind in spans_from_tags(tags)}


def entity_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], *, sentences: Sequence | None = None,
                   most_errors: int = 20) -> dict:
    """Scores of predicted BIO tags against the gold ones, sentence by sentence.

    Returns f1/precision/recall (micro over entities, strict), macro_f1 (mean over types), per_type rows, the
    entity-type confusion (exact spans; "O" row: spurious entities, "O" column: missed ones), and with `sentences`
    (objects with `text`, `offsets`, `source`, `line`) the sentences with the most missed or spurious entities.
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
    gold_spans = [_spans(g) for g in gold]
    pred_spans = [_spans(p) for p in pred]
    types = sorted({k for s in gold_spans + pred_spans for k in s.values()})
    report = classification_report([list(g) for g in gold], [list(p) for p in pred], mode="strict", scheme=IOB2,
                                   output_dict=True, zero_division=0) if types else {}
    micro = report.get("micro avg", {})
    per_type = [{"label": t, "precision": float(report.get(t, {}).get("precision", 0.0)),
                 "recall": float(report.get(t, {}).get("recall", 0.0)), "f1": float(report.get(t, {}).get("f1-score", 0.0)),
                 "support": int(report.get(t, {}).get("support", 0))} for t in types]
    gold_types = [r for r in per_type if r["support"]]
    out = {
        "n": len(gold),
        "f1": float(micro.get("f1-score", 0.0)),
        "precision": float(micro.get("precision", 0.0)),
        "recall": float(micro.get("recall", 0.0)),
        "macro_f1": float(np.mean([r["f1"] for r in gold_types])) if gold_types else 0.0,
        "entities": sum(len(s) for s in gold_spans),
        "predicted_entities": sum(len(s) for s in pred_spans),
        "per_type": per_type,
        "entity_confusion": _confusion(gold_spans, pred_spans, types),
    }
    if sentences is not None:
        out["entity_errors"] = _worst_sentences(sentences, gold_spans, pred_spans, most_errors)
    return out


def _confusion(gold_spans: list[dict], pred_spans: list[dict], types: list[str]) -> dict:
    labels = [*types, NONE]
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for g, p in zip(gold_spans, pred_spans):
        for span, kind in g.items():
            matrix[index[kind], index[p.get(span, NONE)]] += 1
        for span, kind in p.items():
            if span not in g:
                matrix[index[NONE], index[kind]] += 1
    return {"labels": labels, "matrix": matrix.tolist()}


def _worst_sentences(sentences: Sequence, gold_spans: list[dict], pred_spans: list[dict], most: int) -> list[dict]:
    """The sentences with the most entities missed (or mistyped) and predicted where there is none, worst first."""

    def shown(sentence, spans: dict) -> list[dict]:
        return [{"text": sentence.text[sentence.offsets[a][0]:sentence.offsets[b - 1][1]], "label": kind}
                for (a, b), kind in sorted(spans.items())]

    rows = []
    for sentence, g, p in zip(sentences, gold_spans, pred_spans):
        missed = sum(1 for span, kind in g.items() if p.get(span) != kind)
        spurious = sum(1 for span, kind in p.items() if g.get(span) != kind)
        if missed or spurious:
            rows.append({"text": sentence.text, "true": shown(sentence, g), "pred": shown(sentence, p), "missed": missed,
                         "spurious": spurious, "where": f"{sentence.source}:line {sentence.line}"})
    rows.sort(key=lambda r: -(r["missed"] + r["spurious"]))
    return rows[:most]


def entity_reference_stats(texts: Sequence[str], predictions: Sequence[dict]) -> dict:
    """What monitoring compares live traffic against: text lengths, entities per text, the share of each entity
    type among the predicted entities and the histogram of their confidence (JSON-ready)."""
    common = text_stats(texts)  # n, lengths: what every task's reference shares
    entities = [e for p in predictions for e in p["entities"]]
    kinds = Counter(e["label"] for e in entities)
    scores = [e["score"] for e in entities]
    return {**common, "mean_entities_per_text": len(entities) / len(texts),
            "label_distribution": {k: v / max(1, len(entities)) for k, v in sorted(kinds.items())},
            "confidence_histogram": confidence_histogram(scores), "mean_confidence": float(np.mean(scores)) if scores else None}
