"""Run a model over token ids in length-sorted batches and return outputs in the original order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from domainfit.backbones.encoder import collate, sorted_batches

__all__ = ["batched_outputs", "model_outputs", "run_model"]


def batched_outputs(forward: Callable[[list[Sequence[int]]], Any], ids: Sequence[Sequence[int]], *, batch_size: int,
                    advance: Callable[[int], None] | None = None, call_overhead: float | None = None,
                    per_token: bool = False) -> list:
    """`forward` (a batch of id lists → a (batch, [tokens,] outputs) array, padded to the batch's longest) over batches
    of similar length (no compute spent on padding; `call_overhead`: see `sorted_batches`); each text's output in the
    original order, cut to its own tokens with `per_token`. Any backend: PyTorch, ONNX Runtime."""
    outputs: list = [None] * len(ids)
    for batch in sorted_batches([len(x) for x in ids], batch_size, call_overhead):
        out = forward([ids[i] for i in batch])
        for j, i in enumerate(batch):
            outputs[i] = out[j, : len(ids[i])] if per_token else out[j]
        if advance:
            advance(len(batch))
    return outputs


@torch.inference_mode()
def model_outputs(model: nn.Module, ids: Sequence[Sequence[int]], *, pad_id: int, batch_size: int = 64,
                  device: torch.device | str = "cpu", advance: Callable[[int], None] | None = None,
                  call_overhead: float | None = None, per_token: bool = False) -> list[torch.Tensor]:
    """A PyTorch model's outputs for every text (float32, on the CPU), in eval mode; see `batched_outputs`."""
    was_training = model.training
    model.eval()

    def forward(batch: list[Sequence[int]]) -> torch.Tensor:
        feats = {k: v.to(device) for k, v in collate(batch, pad_id).items()}
        return model(**feats).float().cpu()

    try:
        return batched_outputs(forward, ids, batch_size=batch_size, advance=advance, call_overhead=call_overhead,
                               per_token=per_token)
    finally:
        model.train(was_training)


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
    """Logits for every text, stacked (n, outputs)."""
    outputs = model_outputs(model, ids, pad_id=pad_id, batch_size=batch_size, device=device, advance=advance,
                            call_overhead=call_overhead)
    return torch.stack(outputs) if outputs else torch.empty(0)
