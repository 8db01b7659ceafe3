"""Training: the one loop, its batching and precision choice."""

from domainfit.training.batching import length_grouped_batches
from domainfit.training.loop import LoopState, StepEvent, train_loop
from domainfit.training.precision import bf16_native, resolve_precision

__all__ = ["LoopState", "StepEvent", "bf16_native", "length_grouped_batches", "resolve_precision", "train_loop"]
