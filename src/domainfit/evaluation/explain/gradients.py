"""The Integrated Gradients explainer: Captum's LayerIntegratedGradients on the PyTorch model's embedding layer.

The explained output is the task's score (softmax probability, sigmoid probability, or the predicted value in the
target's units), so a text's word weights sum, up to the integral's approximation error (`delta`), to the score's
change from the baseline: the same text with every word piece replaced by padding (special tokens kept).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from domainfit.evaluation.explain import explainers
from domainfit.evaluation.explain.words import merge_tokens, token_spans
from domainfit.i18n import _

__all__ = ["IntegratedGradientsExplainer"]

_OUTPUTS = {  # the score a task reports, from the model's logits, differentiably
    "classification": lambda logits, task: torch.softmax(logits.float(), dim=-1),
    "multilabel": lambda logits, task: torch.sigmoid(logits.float()),
    "regression": lambda logits, task: logits.float()[:, :1] * task.std + task.mean,
}


@explainers.register("integrated_gradients")
class IntegratedGradientsExplainer:
    name = "integrated_gradients"
    description = "Captum Integrated Gradients on the embedding layer (the PyTorch model only)"

    def __init__(self, steps: int = 32) -> None:
        self.steps = steps

    def unavailable(self, predictor) -> str | None:
        task = getattr(getattr(predictor, "task", None), "name", None)
        if task not in _OUTPUTS:
            return _("it explains {tasks}, not {task}").format(tasks=", ".join(_OUTPUTS), task=task)
        model = getattr(predictor, "model", None)
        if model is None or not hasattr(model, "encoder"):
            return _("variant {variant} holds no PyTorch model to differentiate (occlusion runs on any)").format(
                variant=getattr(predictor, "variant", "?"))
        if getattr(predictor.runner, "bf16", False) or any(".quantized" in type(m).__module__ for m in model.modules()):
            return _("variant {variant} is quantized or bf16: its gradients are not the model's").format(variant=predictor.variant)
        return None

    def explain(self, predictor, texts: Sequence[str], targets: Sequence[int], *, chinese: str = "char") -> list[dict]:
        from captum.attr import LayerIntegratedGradients

        model, task = predictor.model, predictor.task
        output = _OUTPUTS[task.name]
        device = next(model.parameters()).device
        pad_id = predictor.tokenizer.pad_token_id or 0
        special = set(predictor.tokenizer.all_special_ids)

        def forward(input_ids, attention_mask):
            return output(model(input_ids, attention_mask), task)

        lig = LayerIntegratedGradients(forward, model.encoder.get_input_embeddings())
        out = []
        for text, column in zip(texts, targets):
            ids, offsets = token_spans(predictor.tokenizer, text, predictor.max_length)
            input_ids = torch.tensor([ids], device=device)
            baseline = torch.tensor([[t if t in special else pad_id for t in ids]], device=device)
            mask = torch.ones_like(input_ids)
            attributions, delta = lig.attribute(input_ids, baselines=baseline, target=column, additional_forward_args=(mask,),
                                                n_steps=self.steps, internal_batch_size=self.steps,
                                                return_convergence_delta=True)
            token_scores = attributions.sum(dim=-1)[0].detach().cpu().tolist()
            with torch.no_grad():
                score = float(forward(input_ids, mask)[0, column])
                base = float(forward(baseline, mask)[0, column])
            out.append({"score": score, "baseline_score": base, "delta": float(delta.abs().max()),
                        "words": merge_tokens(text, offsets, token_scores, chinese=chinese)})
        return out
