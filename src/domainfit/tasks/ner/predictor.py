"""The entity predictor: what `domainfit.load`, `domainfit predict`, evaluation and serving use for an NER bundle.

A text is split into words (`split_words`: Latin words, each punctuation mark, each CJK character), each word is
normalised on its own, the words go through the model in windows, and the entities come back with character
offsets into the text as it was given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domainfit.backbones.encoder import configure_threads
from domainfit.bundle import Bundle
from domainfit.inference.variants import load_runner
from domainfit.predict import choose_variant
from domainfit.tasks.ner.inference import WordScores, model_words, score_words
from domainfit.tasks.ner.io import Sentence, split_words

__all__ = ["NerPredictor"]


class NerPredictor:
    """`predict(texts)` -> [{"entities": [{"start", "end", "text", "label", "score"}]}]; `predict_scores(texts)` ->
    the per-word probabilities (`WordScores`) they are decoded from.

    `variant`: "auto" (the fastest variant the bundle holds that passed its parity gate, else the PyTorch model),
    "torch" (the model as trained), or a variant's name ("onnx-int8", ...); `runner`: one already loaded. The
    entities come back in the same format whatever runs."""

    def __init__(self, bundle: Bundle, *, batch_size: int = 32, threads: int | None = None, device: str = "cpu",
                 variant: str = "auto", runner=None) -> None:
        from transformers import AutoTokenizer

        configure_threads(threads)
        self.bundle = bundle
        self.task = bundle.make_task()
        self.labels: list[str] = bundle.labels
        self.tokenizer = AutoTokenizer.from_pretrained(str(bundle.model_dir))
        self.runner = runner or load_runner(bundle, choose_variant(bundle, variant), threads=threads, device=device)
        self.variant: str = self.runner.name
        self.batch_size = batch_size
        self.max_length: int = bundle.meta.model.max_length
        self.normalize: bool = bundle.meta.config["data"].get("normalize", True)

    @property
    def model(self):
        """The PyTorch model (only for the PyTorch variants)."""
        return getattr(self.runner, "model", None)

    def _scores(self, texts: Sequence[str], offsets: Sequence[Sequence[tuple[int, int]]]) -> list[WordScores]:
        words = [model_words([t[a:b] for a, b in spans], self.normalize) for t, spans in zip(texts, offsets)]
        scores = score_words(self.runner, self.tokenizer, words, n_labels=len(self.labels), max_length=self.max_length,
                             stride=self.task.stride(self.max_length), batch_size=self.batch_size)
        return [WordScores(t, list(o), s) for t, o, s in zip(texts, offsets, scores)]

    def predict_scores(self, texts: Sequence[str], *, advance: Callable[[int], None] | None = None) -> list[WordScores]:
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts; wrap a single text in a list")
        texts = [str(t) for t in texts]
        scores = self._scores(texts, [split_words(t) for t in texts])
        if advance:
            advance(len(texts))
        return scores

    def score_sentences(self, sentences: Sequence[Sentence]) -> list[WordScores]:
        """Scores of sentences read from a file, on their own tokens (what the gold tags are given for)."""
        return self._scores([s.text for s in sentences], [s.offsets for s in sentences])

    def predict(self, texts: Sequence[str], *, top_k: int = 1) -> list[dict]:
        """One {"entities": [...]} per text, in order; entity offsets index the text as given."""
        return self.task.format(self.predict_scores(texts), self.labels, top_k)

    def calibrate(self, text: str | None = None) -> float:
        """Kept for the serving warm-up: windows are already batched by length, so there is nothing to measure."""
        return 0.0
