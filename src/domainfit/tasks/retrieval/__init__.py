"""FAQ / semantic retrieval (the `retrieval` task): pairs data and answer bank (`data`), the bi-encoder's training
and index (`train`), ranking metrics and the no-answer threshold (`metrics`), baselines (`baselines`: bm25,
backbone), and the workflow the pipeline, Predictor, evaluation and data check dispatch to (`workflow`).

Nothing heavy is imported here: `domainfit.evaluation.baselines` imports `baselines` to register them.
"""

from domainfit.tasks.retrieval import baselines as _baselines  # noqa: F401  (registers bm25, backbone)
from domainfit.tasks.retrieval.task import RetrievalOptions, RetrievalTask  # registers the task

__all__ = ["RetrievalOptions", "RetrievalTask"]
