"""Keeping a served model good: the prediction log, drift against the bundle's reference, alerts, corrections.

    log       PredictionLog: every served prediction and every correction, in one SQLite file (WAL)
    stats     live statistics in the shape of reference_stats.json, task by task
    drift     the checks: PSI + chi-squared per distribution, a domain classifier's AUC for the texts
    alerts    where alerts go (file:, webhook:), a registry of sinks
    report    drift.html
    run       `domainfit monitor` and the corrections export (`domainfit feedback export`)
"""

from domainfit.monitor.drift import Check, DriftThresholds, compare_stats, input_drift, psi
from domainfit.monitor.log import PredictionLog

__all__ = ["Check", "DriftThresholds", "PredictionLog", "compare_stats", "input_drift", "psi"]
