"""Runners: turn token ids into logits with one backend (PyTorch, PyTorch int8/bf16, ONNX Runtime).

Every runner takes unpadded token-id lists and returns logits in their original order, batching by length so no
compute goes to padding: `logits` one row per text (a sequence task's head), `token_logits` one (tokens, labels) array
per text, cut to its own tokens (a token head: entity recognition), `logits_and_embeddings` the logits and the pooled
embedding the head read (what an out-of-scope detector needs). The Predictor (or the NerPredictor) holds one runner;
variants differ only in which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from domainfit.i18n import _
from domainfit.inference import batched_outputs, model_outputs, run_model

__all__ = ["EMBEDDING_OUTPUT", "OnnxRunner", "Runner", "TorchRunner", "WithEmbedding", "pad_batch"]

EMBEDDING_OUTPUT = "embedding"  # the second output of an ONNX export made for a bundle with an embedding detector


class Runner(Protocol):
    name: str
    call_overhead: float | None  # one call's fixed cost in tokens' worth of compute, once measured (`sorted_batches`)

    def logits(self, ids: Sequence[Sequence[int]], *, batch_size: int, advance: Callable[[int], None] | None = None) -> torch.Tensor: ...

    def token_logits(self, ids: Sequence[Sequence[int]], *, batch_size: int,
                     advance: Callable[[int], None] | None = None) -> list[np.ndarray]: ...

    def logits_and_embeddings(self, ids: Sequence[Sequence[int]], *, batch_size: int,
                              advance: Callable[[int], None] | None = None) -> tuple[torch.Tensor, np.ndarray]: ...


class WithEmbedding(torch.nn.Module):
    """A TextModel whose one output is its logits and its pooled embedding side by side, (batch, outputs + hidden):
    one tensor, so the batching that runs any model runs it; `split` parts them. For ONNX, `pair=True` returns them as
    two outputs instead."""

    def __init__(self, model: torch.nn.Module, *, pair: bool = False) -> None:
        super().__init__()
        self.model, self.pair = model, pair
        self.pooling = getattr(model, "pooling", None)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        embedding = self.model.embed(input_ids, attention_mask)
        logits = self.model.head(embedding)
        return (logits, embedding) if self.pair else torch.cat([logits, embedding.to(logits.dtype)], dim=-1)

    @staticmethod
    def split(joined: torch.Tensor, n_logits: int) -> tuple[torch.Tensor, np.ndarray]:
        return joined[:, :n_logits], joined[:, n_logits:].numpy()


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

    def logits_and_embeddings(self, ids, *, batch_size, advance=None) -> tuple[torch.Tensor, np.ndarray]:
        both = WithEmbedding(self.model)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            joined = run_model(both, ids, pad_id=self.pad_id, batch_size=batch_size, device=self.device, advance=advance,
                               call_overhead=self.call_overhead)
        return WithEmbedding.split(joined, self.model.head.out_features) if len(joined) else (joined, np.zeros((0, 0), np.float32))

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

    @property
    def has_embedding(self) -> bool:
        return EMBEDDING_OUTPUT in {o.name for o in self.session.get_outputs()}

    def logits_and_embeddings(self, ids, *, batch_size, advance=None) -> tuple[torch.Tensor, np.ndarray]:
        from domainfit.errors import BundleError

        if not self.has_embedding:
            raise BundleError(_("variant {name} outputs no pooled embedding, which the bundle's out-of-scope "
                                "detector reads").format(name=repr(self.name)), where=self.name,
                              hint=_("rebuild it with `domainfit compress` (this version "
                                     "exports the embedding too), or predict with --variant torch"))

        def forward(batch):
            input_ids, mask = pad_batch(batch, self.pad_id)
            logits, embedding = self.session.run(["logits", EMBEDDING_OUTPUT], {"input_ids": input_ids, "attention_mask": mask})
            return np.concatenate([logits, embedding.astype(logits.dtype)], axis=-1)

        out = batched_outputs(forward, ids, batch_size=batch_size, advance=advance, call_overhead=self.call_overhead)
        if not out:
            return torch.empty(0), np.zeros((0, 0), np.float32)
        hidden = next(o.shape[-1] for o in self.session.get_outputs() if o.name == EMBEDDING_OUTPUT)
        joined = torch.from_numpy(np.stack(out))
        return WithEmbedding.split(joined, joined.shape[1] - int(hidden))

    def token_logits(self, ids, *, batch_size, advance=None) -> list[np.ndarray]:
        return batched_outputs(self._forward, ids, batch_size=batch_size, advance=advance, call_overhead=self.call_overhead,
                               per_token=True)
