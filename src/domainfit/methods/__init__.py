"""Adaptation methods: each module registers itself in `domainfit.registry.methods`."""

from domainfit.methods import full, head  # noqa: F401  (register "full" and "head")
from domainfit.methods.base import FitContext, FitResult, Method, Reporter, SilentReporter

__all__ = ["FitContext", "FitResult", "Method", "Reporter", "SilentReporter"]
