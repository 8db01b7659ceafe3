"""Backbones: resolve a name to a local folder (offline first), load it, pool it, embed with it."""

from domainfit.backbones.encoder import FrozenEncoder, collate, configure_threads, load_backbone, pool, sorted_batches, tokenize
from domainfit.backbones.resolve import DEFAULT_BACKBONE, ResolvedBackbone, default_pooling, resolve_backbone, weights_sha256

__all__ = [
    "DEFAULT_BACKBONE",
    "FrozenEncoder",
    "ResolvedBackbone",
    "collate",
    "configure_threads",
    "default_pooling",
    "load_backbone",
    "pool",
    "resolve_backbone",
    "sorted_batches",
    "tokenize",
    "weights_sha256",
]
