"""Run a model over token ids in length-sorted batches and return outputs in the original order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from domainfit.backbones.encoder import collate, sorted_batches

__all__ = ["run_model"]


@torch.inference_mode()
def run_model(
    model: nn.Module,
    ids: Sequence[Sequence[int]],
    *,
    pad_id: int,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    advance: Callable[[int], None] | None = None,
    call_overhead: float | None = None,
) -> torch.Tensor:
    """Logits for every text, computed in batches of similar length (no compute spent on padding; `call_overhead`:
    see `sorted_batches`)."""
    was_training = model.training
    model.eval()
    outputs: list[torch.Tensor | None] = [None] * len(ids)
    for batch in sorted_batches([len(x) for x in ids], batch_size, call_overhead):
        feats = {k: v.to(device) for k, v in collate([ids[i] for i in batch], pad_id).items()}
        out = model(**feats).float().cpu()
        for j, i in enumerate(batch):
            outputs[i] = out[j]
        if advance:
            advance(len(batch))
    model.train(was_training)
    if not outputs:
        return torch.empty(0)
    return torch.stack(outputs)  # type: ignore[arg-type]
