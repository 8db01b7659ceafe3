"""Recommendation from text (the `recommend` task): catalogue + interactions read, checked and split by time (`data`),
the two towers (`towers`, `train`), the item index (`index`), the re-ranker (`rerank`), ranking metrics (`metrics`),
baselines (`baselines`: popular, itemknn, als, backbone_text, bm25_history), the predictor (`predictor`), the serving
routes (`routes`) and the workflow (`workflow`).
"""

from domainfit.tasks.recommend import baselines as _baselines  # noqa: F401  (registers the baselines)
from domainfit.tasks.recommend.task import RecommendOptions, RecommendTask  # registers the task

__all__ = ["RecommendOptions", "RecommendTask"]
