"""Applications built only from the layers below (tasks, serving, monitoring, retraining): the support assistant
(`assistant/`), the news and opinion monitor (`watch/`). Each application is a package that registers itself in
`domainfit.registry.apps` and follows `domainfit.apps.base.App`; nothing below this layer imports an application.
Importing this package imports every application package in it (each registers itself), as `domainfit.tasks` does."""

import importlib
import pkgutil

from domainfit.apps.base import App

__all__ = ["App"]

for _module in pkgutil.iter_modules(__path__):
    if _module.ispkg:
        importlib.import_module(f"{__name__}.{_module.name}")
