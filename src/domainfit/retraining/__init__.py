"""Retraining without forgetting: a challenger on new rows plus a replay of the old ones, promoted only if it wins.

    gate    champion vs challenger scores on the old and the new test rows, and the decision (pure)
    run     `domainfit retrain`: data assembly, training the champion's recipe, scoring, registry promotion
"""

from domainfit.retraining.gate import Gate, decide, label_scores

__all__ = ["Gate", "decide", "label_scores"]
