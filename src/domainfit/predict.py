"""The Predictor: the one inference path used by evaluate, predict and serving.

Same normalisation as training → tokenize → length-sorted batches → model → task decoding (probabilities, top-k).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from domainfit.backbones.encoder import configure_threads, tokenize
from domainfit.bundle import Bundle, load_bundle
from domainfit.data.clean import normalize_text
from domainfit.inference import run_model
from domainfit.registry import tasks

__all__ = ["Predictor"]


class Predictor:
    """Predictions from a bundle. `predict` returns dicts; `predict_scores` the raw (n, labels) probabilities."""

    def __init__(self, bundle: Bundle, *, batch_size: int = 64, threads: int | None = None, device: str = "cpu") -> None:
        configure_threads(threads)
        self.bundle = bundle
        self.task = tasks.get(bundle.task)()
        self.labels: list[str] = bundle.labels
        self.model, self.tokenizer = bundle.load_model()
        self.device = torch.device(device)
        self.model.to(self.device)
        self.batch_size = batch_size
        self.max_length: int = bundle.meta["model"]["max_length"]
        self.normalize: bool = bundle.meta["config"]["data"].get("normalize", True)

    @classmethod
    def from_bundle(cls, path: str | Path, **kwargs) -> Predictor:
        return cls(load_bundle(path), **kwargs)

    def prepare(self, texts: Sequence[str]) -> list[str]:
        return [normalize_text(t) if self.normalize else str(t).strip() for t in texts]

    def predict_scores(self, texts: Sequence[str], *, advance: Callable[[int], None] | None = None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts; wrap a single text in a list")
        ids = tokenize(self.tokenizer, self.prepare(texts), self.max_length) if len(texts) else []
        if not ids:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        logits = run_model(self.model, ids, pad_id=self.tokenizer.pad_token_id or 0, batch_size=self.batch_size,
                           device=self.device, advance=advance)
        return self.task.decode(logits)

    def predict(self, texts: Sequence[str], *, top_k: int = 1) -> list[dict]:
        """[{"label", "score", "top_k": [{"label", "score"}, ...]}] in the order of `texts`."""
        return self.task.format(self.predict_scores(texts), self.labels, top_k)
