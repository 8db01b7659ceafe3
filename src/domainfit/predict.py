"""The Predictor: the one inference path used by evaluate, predict and serving.

Same normalisation as training → tokenize → length-sorted batches → model → task decoding (probabilities, top-k;
multi-label thresholds and the regression target's scale come from the bundle's task state). A classification bundle
with an out-of-scope detector (`domainfit.ood`) also scores each text with it, from the same call's logits and pooled
embedding, and returns the probabilities as `OodScores` carrying those scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from domainfit.backbones.encoder import configure_threads, measure_call_overhead, quiet_transformers, tokenize
from domainfit.bundle import Bundle, load_bundle
from domainfit.data.clean import cleaner_for
from domainfit.inference.variants import list_variants, load_runner, reads_embeddings
from domainfit.interfaces import workflow_for
from domainfit.ood.fit import load_detector
from domainfit.ood.scores import OodScores
from domainfit.safe_paths import inside

__all__ = ["Predictor"]


class Predictor:
    """Predictions from a bundle. `predict` returns dicts; `predict_scores` the raw (n, labels) scores (probabilities,
    or the predicted values for regression).

    `variant`: "auto" (the fastest variant the bundle holds that passed its parity gate, else the PyTorch model),
    "torch" (the model as trained), or a variant's name ("onnx-int8", ...). Outputs are the same whatever runs.
    """

    def __init__(self, bundle: Bundle, *, batch_size: int = 64, threads: int | None = None, device: str = "cpu",
                 variant: str = "auto", runner=None) -> None:
        from transformers import AutoTokenizer

        configure_threads(threads)
        quiet_transformers()
        self.bundle = bundle
        self.task = bundle.make_task()
        self.labels: list[str] = bundle.labels
        self.tokenizer = AutoTokenizer.from_pretrained(str(bundle.model_dir))
        self.batch_size = batch_size
        self.max_length: int = bundle.meta.model.max_length
        self.clean = cleaner_for(bundle.meta.config["data"])  # normalisation and redaction, as in training
        if runner is None:
            runner = self._runner(choose_variant(bundle, variant), threads=threads, device=device)
        self.runner = runner
        self.variant: str = runner.name
        self.detector = self._detector()

    def _detector(self):
        """The out-of-scope detector the runner's outputs are scored with (None: the bundle has none, or it is off). A
        variant whose embeddings differ from the model's (a distilled student) brings its own, refitted on them."""
        state = getattr(self.task, "out_of_scope", None)
        if state is None:
            return None
        own = getattr(self.runner, "ood_state", None)
        if own is not None:  # the variant's refit: its threshold replaces the bundle's in this predictor's task
            self.task.out_of_scope = {**state, **own}
            path = inside(self.runner.ood_root, own["file"], key="variant.json: ood.file") if own.get("file") else None
            return load_detector(own, path)
        path = self.bundle.file(state["file"], key="task_state.out_of_scope.file") if state.get("file") else None
        return load_detector(state, path)

    def _runner(self, name: str, *, threads: int | None, device: str):
        return load_runner(self.bundle, name, threads=threads, device=device)

    @property
    def model(self):
        """The PyTorch model (only for the `torch` variant)."""
        return getattr(self.runner, "model", None)

    @classmethod
    def from_bundle(cls, path: str | Path, **kwargs) -> Predictor:
        """The predictor of any bundle, as its task's workflow makes it (this class for the table tasks and retrieval,
        NerPredictor for entities, ...)."""
        bundle = load_bundle(path)
        return workflow_for(bundle.task).make_predictor(bundle, **kwargs)

    def prepare(self, texts: Sequence[str]) -> list[str]:
        return [self.clean(str(t)) for t in texts]

    def predict_scores(self, texts: Sequence[str], *, advance: Callable[[int], None] | None = None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts; wrap a single text in a list")
        ids = tokenize(self.tokenizer, self.prepare(texts), self.max_length) if len(texts) else []
        if self.detector is None:
            if not ids:
                return np.zeros((0, len(self.labels)), dtype=np.float32)
            return self.task.decode(self.runner.logits(ids, batch_size=self.batch_size, advance=advance))
        if not ids:
            return OodScores(np.zeros((0, len(self.labels)), dtype=np.float32), np.zeros(0))
        if self.detector.needs_embeddings:
            logits, embeddings = self.runner.logits_and_embeddings(ids, batch_size=self.batch_size, advance=advance)
        else:
            logits, embeddings = self.runner.logits(ids, batch_size=self.batch_size, advance=advance), None
        return OodScores(self.task.decode(logits), self.detector.score(logits.float().numpy(), embeddings))

    def calibrate(self, text: str = "a typical customer message of about fifteen tokens, for timing") -> float:
        """Measure one model call's fixed cost (`measure_call_overhead`) so that small mixed-length batches — a
        server's — are cut into batches of similar length where that is cheaper than padding. Returns it, in tokens."""
        ids = tokenize(self.tokenizer, self.prepare([text]), self.max_length)[0]
        self.runner.call_overhead = None
        overhead = measure_call_overhead(lambda batch: self.runner.logits(batch, batch_size=len(batch)), ids)
        self.runner.call_overhead = overhead
        return overhead

    def predict(self, texts: Sequence[str], *, top_k: int = 1) -> list[dict]:
        """One dict per text, in order: classification {"label", "score", "top_k"}; multilabel {"labels", "scores",
        "label", "score"}; regression {"score"}; retrieval {"label" (answer id), "answer", "score", "no_answer",
        "answers"}."""
        return self.task.format(self.predict_scores(texts), self.labels, top_k)


# Without measurements, the order in which variants are expected to be fastest on a CPU.
_PREFERENCE = ("onnx-int8", "onnx-fp32", "torch-int8", "distilled")


def choose_variant(bundle: Bundle, requested: str = "auto") -> str:
    """The variant to run: the requested one, or for "auto" the fastest measured (by `domainfit bench`) among those
    that passed their parity gate, else the first of a fixed preference order, else the PyTorch model."""
    if requested != "auto":
        return requested

    usable = {n: m for n, m in list_variants(bundle).items() if m.get("parity_passed") and _feeds_detector(bundle, m)}
    if not usable:
        return "torch"
    measured = {n: m["bench"]["sentences_per_s_batch32"] for n, m in usable.items() if m.get("bench")}
    if measured:
        return max(measured, key=measured.get)
    for prefix in _PREFERENCE:
        for name in usable:
            if name.startswith(prefix):
                return name
    return next(iter(usable))


def _feeds_detector(bundle: Bundle, meta: dict) -> bool:
    """Whether a variant gives the bundle's out-of-scope detector what it reads (an ONNX export from before the
    detector outputs no embedding: it is not chosen automatically)."""
    if not reads_embeddings(bundle) or meta.get("kind") != "onnx":
        return True
    return "embedding" in (meta.get("outputs") or [])
