"""Champion against challenger: scores on the old test rows and on the new ones, and the decision. Pure functions.

The challenger is promoted only when it wins where the world changed (the new rows, by at least `min_gain`) and
does not lose what the champion knew (the old test rows, by at most `max_drop`). Rows of labels the champion never
learned count as its errors: that is exactly what a retrain is for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import f1_score

__all__ = ["Gate", "decide", "label_scores"]


@dataclass(frozen=True)
class Gate:
    metric: str = "macro_f1"  # accuracy or macro_f1
    min_gain: float = 0.0  # on the new rows, in points of the metric (0.01 = 1 point)
    max_drop: float = 0.01  # on the old test rows

    def to_dict(self) -> dict:
        return asdict(self)


def label_scores(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, float | int]:
    """Accuracy and macro-F1 over the labels of the gold rows (a label the model does not know is always wrong)."""
    gold = [str(g) for g in gold]
    predicted = ["" if p is None else str(p) for p in predicted]
    if not gold:
        return {"n": 0, "accuracy": None, "macro_f1": None}
    labels = sorted(set(gold))
    return {"n": len(gold), "accuracy": float(np.mean([g == p for g, p in zip(gold, predicted)])),
            "macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))}


def decide(champion: dict, challenger: dict, gate: Gate) -> dict:
    """{"promote", "reasons", "gain", "drop"} from each model's {"old": scores, "new": scores}."""
    m = gate.metric
    reasons = []
    old_c, old_n = champion["old"].get(m), challenger["old"].get(m)
    drop = None if old_c is None or old_n is None else old_c - old_n
    if drop is not None and drop > gate.max_drop + 1e-12:
        reasons.append(f"it loses {100 * drop:.1f} points of {m} on the old test rows (at most {100 * gate.max_drop:.1f} allowed)")
    new_c, new_n = champion["new"].get(m), challenger["new"].get(m)
    gain = None if new_c is None or new_n is None else new_n - new_c
    if gain is None:
        reasons.append("there are no new test rows to show a gain on (give more new rows, or --new-test)")
    elif gain < gate.min_gain - 1e-12:
        reasons.append(f"it gains {100 * gain:+.1f} points of {m} on the new rows (at least {100 * gate.min_gain:+.1f} required)")
    return {"promote": not reasons, "reasons": reasons, "gain": gain, "drop": drop}
