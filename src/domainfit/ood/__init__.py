"""Out-of-scope detection for classification bundles: detectors, their fitting and thresholds, the scores a Predictor
attaches to its probabilities, and the metrics (in-scope accuracy counting a refusal as an error, OOS recall, AUROC,
FPR@95)."""

from domainfit.ood.detectors import ood_detectors
from domainfit.ood.options import OutOfScopeOptions, resolve_out_of_scope
from domainfit.ood.scores import OodScores

__all__ = ["OodScores", "OutOfScopeOptions", "ood_detectors", "resolve_out_of_scope"]
