"""Adaptation methods: each module registers itself in `domainfit.registry.methods` (the protocol: `domainfit.interfaces.Method`)."""

# Each module registers its method(s); the order here is the order `domainfit ls methods` shows.
from domainfit.methods import adalora, adapter, fewshot, freeze, full, head, ia3, lora, zeroshot  # noqa: F401
from domainfit.methods.base import FitContext, FitResult

__all__ = ["FitContext", "FitResult"]
