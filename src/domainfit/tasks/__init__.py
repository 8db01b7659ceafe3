"""Tasks: each module registers itself in `domainfit.registry.tasks`; importing this package registers them all."""

from domainfit.tasks import classification  # noqa: F401  (registers "classification")
from domainfit.tasks.base import Task

__all__ = ["Task"]
