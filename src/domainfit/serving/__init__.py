"""Serving: a FastAPI service over one bundle or a registry alias, with micro-batching, API keys and metrics."""

from domainfit.serving.app import create_app
from domainfit.serving.run import run_server
from domainfit.serving.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "run_server"]
