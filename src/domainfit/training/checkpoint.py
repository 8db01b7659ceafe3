"""Training checkpoints as data: one safetensors file whose tensors are the state's tensors and whose metadata holds the
rest of the state as JSON — nothing is unpickled on `--resume`.

torch.save/torch.load would pickle the nested state (model, optimizer, scheduler, RNG, loop counters) and unpickling
can run code, so a planted checkpoint could take over a machine. No library writes a nested state of tensors and plain
values as safetensors, so the encoding is written here: every tensor is replaced by {"__tensor__": key} and stored
under that key; dicts with non-string keys (the optimizer's per-parameter state) and tuples keep their types.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from domainfit.errors import DomainfitError
from domainfit.i18n import _

__all__ = ["CHECKPOINT_FILE", "checkpoint_info", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FILE = "checkpoint.safetensors"
_META_KEY = "domainfit_checkpoint"


def _encode(value: Any, tensors: dict[str, torch.Tensor], path: str) -> Any:
    if isinstance(value, torch.Tensor):
        key = path or "tensor"
        tensors[key] = value.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__dict__": {k: _encode(v, tensors, f"{path}.{k}") for k, v in value.items()}}
        return {"__items__": [[_encode(k, tensors, f"{path}.k{i}"), _encode(v, tensors, f"{path}.{i}")]
                              for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, tensors, f"{path}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, tensors, f"{path}.{i}") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"a checkpoint holds tensors and plain values only; {path} is a {type(value).__name__}")


def _decode(value: Any, tensors) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors.get_tensor(value["__tensor__"])
    if "__dict__" in value:
        return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
    if "__items__" in value:
        return {_decode(k, tensors): _decode(v, tensors) for k, v in value["__items__"]}
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    raise ValueError(f"unknown checkpoint entry {sorted(value)}")


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write `state` atomically: a kill during the write leaves the previous checkpoint intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    tree = _encode(state, tensors, "")
    tmp = path.with_name(f".tmp-{path.name}")
    save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(tree)})
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    """The state saved by `save_checkpoint`; a file that is not one is refused with the reason."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if _META_KEY not in meta:
                raise DomainfitError(_("{path} is not a domainfit checkpoint (no {key} entry)").format(path=path, key=_META_KEY),
                                     where="--resume", hint=_("delete the checkpoints folder and train without --resume"))
            return _decode(json.loads(meta[_META_KEY]), f)
    except (SafetensorError, OSError, json.JSONDecodeError, ValueError, KeyError) as e:
        raise DomainfitError(_("the checkpoint {path} cannot be read ({error})").format(path=path, error=f"{type(e).__name__}: {e}"),
                             where="--resume",
                             hint=_("it is truncated or not a domainfit checkpoint: delete the checkpoints folder and "
                                    "train without --resume")) from None


def checkpoint_info(path: str | Path) -> dict:
    """The loop counters of a checkpoint (step, best score) from its metadata, without reading its tensors: what
    `--resume` reports."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            tree = json.loads((f.metadata() or {})[_META_KEY])
    except (SafetensorError, OSError, json.JSONDecodeError, KeyError):
        return {"step": None, "best_score": None}  # unreadable: the resume itself says why
    state = tree.get("__dict__", {}).get("state", {}).get("__dict__", {})
    return {"step": state.get("step"), "best_score": state.get("best_score")}
