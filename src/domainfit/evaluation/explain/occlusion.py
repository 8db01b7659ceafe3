"""The occlusion explainer: delete each word in turn and measure how much the explained score drops.

Model-agnostic (it only calls `predictor.predict_scores`), so it runs on ONNX and int8 variants as well as the
PyTorch model. One text of n words costs n + 1 forward passes, all in one batched call. Written by hand: deleting a
word from a string is simpler than adapting Captum's tensor-feature occlusion to a variable-length word mask.
"""

from __future__ import annotations

from collections.abc import Sequence

from domainfit.evaluation.explain import explainers
from domainfit.evaluation.explain.words import merge_tokens, token_spans
from domainfit.i18n import _

__all__ = ["OcclusionExplainer", "delete_words"]


def delete_words(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` without the given (start, end) spans, the whitespace around each closed up to one space."""
    out, at = [], 0
    for start, end in sorted(spans):
        out.append(text[at:start])
        at = end
    out.append(text[at:])
    return " ".join("".join(out).split())


@explainers.register("occlusion")
class OcclusionExplainer:
    name = "occlusion"
    description = "delete each word, the score's drop is its weight (any variant: ONNX, int8, PyTorch)"

    def unavailable(self, predictor) -> str | None:
        if not hasattr(predictor, "predict_scores") or not hasattr(predictor, "tokenizer"):
            return _("the predictor gives no text-level scores")
        if getattr(predictor.task, "name", None) == "ner":
            return _("entity recognition scores words, not the text")
        return None

    def explain(self, predictor, texts: Sequence[str], targets: Sequence[int], *, chinese: str = "char") -> list[dict]:
        plans, variants = [], []
        for text in texts:
            _unused, offsets = token_spans(predictor.tokenizer, text, predictor.max_length)
            words = merge_tokens(text, offsets, [0.0] * len(offsets), chinese=chinese)  # the words the model sees
            plans.append((len(variants), words))
            variants.append(text)
            variants.extend(delete_words(text, [(w["start"], w["end"])]) for w in words)
        scores = predictor.predict_scores(variants) if variants else []
        out = []
        for (at, words), column in zip(plans, targets):
            base = float(scores[at][column])
            for i, w in enumerate(words):
                w["weight"] = base - float(scores[at + 1 + i][column])
            out.append({"score": base, "words": words})
        return out
