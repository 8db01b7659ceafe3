"""Statistics of logged predictions in the shape of the bundle's `reference_stats.json`: each task's workflow computes
its own (`Workflow.live_stats`; the shared parts are in `domainfit.evaluation.live`)."""

from __future__ import annotations

import pandas as pd

from domainfit.interfaces import workflow_for

__all__ = ["live_stats"]


def live_stats(task: str, rows: pd.DataFrame, reference: dict) -> dict:
    """The statistics of logged predictions (`PredictionLog.predictions()`), keyed as `reference`."""
    return workflow_for(task).live_stats(rows, reference)
