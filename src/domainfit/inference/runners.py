"""Runners: turn token ids into logits with one backend (PyTorch, PyTorch int8/bf16, ONNX Runtime).

Every runner takes unpadded token-id lists and returns logits in their original order, batching by length so no
compute goes to padding: `logits` one row per text (a sequence task's head), `token_logits` one (tokens, labels) array
per text, cut to its own tokens (a token head: entity recognition). The Predictor (or the NerPredictor) holds one
runner; variants differ only in which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from domainfit.inference import batched_outputs, model_outputs, run_model

__all__ = ["OnnxRunner", "Runner", "TorchRunner", "pad_batch"]


class Runner(Protocol):
    name: str
    call_overhead: float | None  # one call's fixed cost in tokens' worth of compute, once measured (`sorted_batches`)

    def logits(self, ids: Sequence[Sequence[int]], *, batch_size: int, advance: Callable[[int], None] | None = None) -> torch.Tensor: ...

    def token_logits(self, ids: Sequence[Sequence[int]], *, batch_size: int,
                     advance: Callable[[int], None] | None = None) -> list[np.ndarray]: ...


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask) as int64 arrays, padded to the longest member."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = x
        mask[i, : len(x)] = 1
    return input_ids, mask


class TorchRunner:
    """The PyTorch model as trained (fp32), optionally under bf16 autocast."""

    def __init__(self, model: torch.nn.Module, pad_id: int, *, name: str = "torch", bf16: bool = False, device: str = "cpu") -> None:
        self.model, self.pad_id, self.name, self.bf16 = model, pad_id, name, bf16
        self.device = torch.device(device)
        self.model.to(self.device)
        self.call_overhead: float | None = None

    def logits(self, ids, *, batch_size, advance=None) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            return run_model(self.model, ids, pad_id=self.pad_id, batch_size=batch_size, device=self.device, advance=advance,
                             call_overhead=self.call_overhead)

    def token_logits(self, ids, *, batch_size, advance=None) -> list[np.ndarray]:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = model_outputs(self.model, ids, pad_id=self.pad_id, batch_size=batch_size, device=self.device,
                                advance=advance, call_overhead=self.call_overhead, per_token=True)
        return [x.numpy() for x in out]


class OnnxRunner:
    """An exported model in ONNX Runtime (fp32 or dynamically quantized int8)."""

    def __init__(self, path: str | Path, pad_id: int, *, name: str, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 0  # 0: onnxruntime's default (the physical cores)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.pad_id, self.name = pad_id, name
        self.call_overhead: float | None = None

    def _forward(self, batch: list[Sequence[int]]) -> np.ndarray:
        input_ids, mask = pad_batch(batch, self.pad_id)
        return self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})[0]

    def logits(self, ids, *, batch_size, advance=None) -> torch.Tensor:
        out = batched_outputs(self._forward, ids, batch_size=batch_size, advance=advance, call_overhead=self.call_overhead)
        return torch.from_numpy(np.stack(out)) if out else torch.empty(0)

    def token_logits(self, ids, *, batch_size, advance=None) -> list[np.ndarray]:
        return batched_outputs(self._forward, ids, batch_size=batch_size, advance=advance, call_overhead=self.call_overhead,
                               per_token=True)
