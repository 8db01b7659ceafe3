"""Tasks: each module registers itself in `domainfit.registry.tasks`; importing this package registers them all."""

from domainfit.tasks import classification, multilabel, regression  # noqa: F401  (each registers its task)
from domainfit.tasks.base import Task, make_task, workflow_of

__all__ = ["Task", "make_task", "workflow_of"]
