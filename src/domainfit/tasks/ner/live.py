"""Statistics of logged entity predictions, keyed as the bundle's reference stats (the ner workflow's `live_stats`)."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from domainfit.evaluation.live import confidence_stats, label_shares, length_stats

__all__ = ["entity_stats"]


def entity_stats(rows: pd.DataFrame, reference: dict) -> dict:
    entities = [e for out in rows["output"] for e in out.get("entities") or []]
    return {**length_stats(rows), "mean_entities_per_text": len(entities) / max(1, len(rows)),
            "label_distribution": label_shares(Counter(e["label"] for e in entities), len(entities)),
            **confidence_stats(e["score"] for e in entities)}
