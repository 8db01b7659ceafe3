"""Tasks: each module registers itself in `domainfit.registry.tasks`; importing this package registers them all."""

from domainfit.tasks import classification, multilabel, regression  # noqa: F401  (each registers its task)
from domainfit.tasks import ner  # noqa: F401
from domainfit.tasks import retrieval  # noqa: F401
from domainfit.tasks.base import Task, infer_task, make_task, workflow_of

__all__ = ["Task", "infer_task", "make_task", "workflow_of"]
