"""Tasks: each is a leaf package or module that registers itself in `domainfit.registry.tasks` and names its workflow.

    classification, multilabel, regression   one target per text: the shared table workflow (`table.py`)
    ner/                                     a tag per word: its own workflow, data, training, predictor, metrics
    retrieval/                               (query, answer) pairs and an answer bank: its own workflow and index

`skeleton.py` is the one training sequence every workflow runs; importing this package registers every task.
"""

from domainfit.interfaces import Task, infer_task, make_task, workflow_for
from domainfit.tasks import classification, multilabel, ner, recommend, regression, retrieval  # noqa: F401  (each registers its task)

__all__ = ["Task", "infer_task", "make_task", "workflow_for"]
