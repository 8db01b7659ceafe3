"""Evaluation: metrics, calibration, error analysis, baselines, figures and the self-contained HTML report.

Names are imported on first use (PEP 562): `domainfit ls baselines` imports `domainfit.evaluation.baselines`, which
runs this file, and should not pay a second for matplotlib and scikit-learn it does not need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "Baseline",
    "TextEncoder",
    "classification_metrics",
    "confidence_histogram",
    "expected_calibration_error",
    "length_histogram",
    "most_confused",
    "readable_label",
    "reference_stats",
    "reliability_bins",
    "render_report",
    "worst_errors",
    "write_report",
]

_HOME = {
    "Baseline": "baselines",
    "TextEncoder": "baselines",
    "readable_label": "baselines",
    "classification_metrics": "metrics",
    "expected_calibration_error": "calibration",
    "reliability_bins": "calibration",
    "most_confused": "analysis",
    "worst_errors": "analysis",
    "confidence_histogram": "reference",
    "length_histogram": "reference",
    "reference_stats": "reference",
    "render_report": "report",
    "write_report": "report",
}

if TYPE_CHECKING:
    from domainfit.evaluation.analysis import most_confused, worst_errors
    from domainfit.evaluation.baselines import Baseline, TextEncoder, readable_label
    from domainfit.evaluation.calibration import expected_calibration_error, reliability_bins
    from domainfit.evaluation.metrics import classification_metrics
    from domainfit.evaluation.reference import confidence_histogram, length_histogram, reference_stats
    from domainfit.evaluation.report import render_report, write_report


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
