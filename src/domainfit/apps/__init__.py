"""Applications built only from the layers below (tasks, serving, monitoring, retraining): the support assistant
(`assistant/`), the news and opinion monitor (`watch/`). Each application is a package that registers itself in
`domainfit.registry.apps` and follows `domainfit.apps.base.App`; nothing below this layer imports an application."""

from domainfit.apps.base import App

__all__ = ["App"]
