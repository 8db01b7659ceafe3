"""The one training loop: a generator of step events, written against `accelerate` (so `accelerate launch` gives DDP).

AdamW (no decay on biases and norms), linear warm-up then decay, gradient accumulation and clipping,
length-grouped batches, bf16 autocast where the hardware runs it fast, periodic validation with early stopping
(best weights restored at the end), and atomic checkpoints from which `resume=True` continues to the same result
as an uninterrupted run: the batch order is a function of (seed, epoch), and weights, optimizer, scheduler,
RNG and early-stopping state are all saved.

Under `accelerate launch --num_processes N` (or torchrun) each process takes every N-th batch of the same order, DDP
averages the gradients (so N processes at batch size B match one process at B with N accumulation steps), the train
loss is averaged over the processes, validation runs on rank 0 and its metrics are broadcast (every rank then makes the
same early-stopping decision), and only rank 0 writes checkpoints (holding every rank's RNG state, so `--resume`
continues each rank's stream). The ranks check first that they read the same rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence  # noqa: F401
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from domainfit.backbones.encoder import collate
from domainfit.config.schema import TrainingConfig
from domainfit.errors import DomainfitError
from domainfit.i18n import _
from domainfit.interfaces import StepEvent
from domainfit.training import distributed
from domainfit.training.batching import length_grouped_batches
from domainfit.training.checkpoint import CHECKPOINT_FILE, load_checkpoint
from domainfit.training.checkpoint import save_checkpoint as write_checkpoint
from domainfit.training.precision import resolve_precision

__all__ = ["LoopState", "StepEvent", "count_steps", "train_loop"]



@dataclass
class LoopState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_score: float = -math.inf
    best_step: int = 0
    bad_evals: int = 0
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    eval_seconds: float = 0.0  # of `seconds`, the part spent on validation
    stopped_early: bool = False


def _param_groups(model: nn.Module, param_lr: Callable[[str], float], weight_decay: float) -> list[dict]:
    """Groups by (learning rate, decayed or not). No weight decay on biases and normalisation weights."""
    groups: dict[tuple[float, bool], list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim < 2 or "norm" in name.lower()
        groups.setdefault((param_lr(name), no_decay), []).append(p)
    return [{"params": ps, "lr": lr, "weight_decay": 0.0 if nd else weight_decay} for (lr, nd), ps in sorted(groups.items())]


def count_steps(n: int, cfg: TrainingConfig, num_processes: int = 1) -> int:
    """Optimizer steps the loop will make for `n` training rows (some methods must know it up front)."""
    batches_per_epoch = math.ceil(n / cfg.batch_size) // num_processes or 1
    return max(1, round(cfg.epochs * math.ceil(batches_per_epoch / cfg.grad_accum)))


def _adamw(groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """AdamW with the fused kernel where torch has one for the device (measured +20% training throughput on CPU)."""
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr, foreach=True)


def _roll_epoch(state: LoopState, n_batches: int) -> None:
    """Move to the next epoch once every batch of this one is done (idempotent)."""
    if state.batch_in_epoch >= n_batches:
        state.epoch, state.batch_in_epoch = state.epoch + 1, 0


def _data_digest(input_ids: Sequence[Sequence[int]], targets: torch.Tensor) -> str:
    h = hashlib.sha256()
    for ids in input_ids:
        h.update(json.dumps(list(ids)).encode())
    h.update(targets.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _accelerator():
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    # An encoder's own pooler (BERT's) is trainable but unused when domainfit pools the hidden states itself
    return Accelerator(cpu=distributed.on_cpu(), kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


def _fingerprint(cfg: TrainingConfig, extra: dict) -> str:
    blob = json.dumps({"training": cfg.model_dump(mode="json"), **extra}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def train_loop(
    model: nn.Module,
    *,
    input_ids: Sequence[Sequence[int]],
    targets: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    evaluate: Callable[[nn.Module], dict] | None,
    primary_metric: str,
    cfg: TrainingConfig,
    param_lr: Callable[[str], float],
    pad_id: int,
    on_step: Callable[[nn.Module, int], None] | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    fingerprint_extra: dict | None = None,
    state: LoopState | None = None,
) -> Iterator[StepEvent]:
    """Train `model` in place; yields a `StepEvent` per optimizer step and at each evaluation/checkpoint.

    `param_lr(name)` gives each trainable parameter's learning rate (a higher one for a new head, layer-wise decay);
    `on_step(model, step)` runs after each optimizer step, before gradients are cleared (AdaLoRA's budget update);
    `state` (optional) is filled as training goes, so the caller can read the history and timings afterwards.
    """
    from accelerate.utils import set_seed
    from transformers import get_linear_schedule_with_warmup

    state = state if state is not None else LoopState()
    accelerator = _accelerator()
    several = accelerator.num_processes > 1
    use_bf16 = resolve_precision(cfg.precision, accelerator.device) == "bf16"
    set_seed(cfg.seed)

    n = len(input_ids)
    if n == 0:
        raise DomainfitError(_("no training rows"), hint=_("run `domainfit data check` on the training file"))
    if several:
        distributed.check_same(_data_digest(input_ids, targets), _("training rows"))
    lengths = [len(x) for x in input_ids]
    batches_per_epoch = math.ceil(n / cfg.batch_size) // accelerator.num_processes or 1
    steps_per_epoch = math.ceil(batches_per_epoch / cfg.grad_accum)
    total_steps = count_steps(n, cfg, accelerator.num_processes)
    eval_every = max(1, steps_per_epoch // cfg.evals_per_epoch)

    optimizer = _adamw(_param_groups(model, param_lr, cfg.weight_decay), cfg.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total_steps), total_steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    device = accelerator.device
    fp = _fingerprint(cfg, {"n": n, **(fingerprint_extra or {})})
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT_FILE if checkpoint_dir else None
    best_state: dict[str, torch.Tensor] | None = None

    if resume:
        if ckpt_path is None or not ckpt_path.is_file():
            raise DomainfitError(
                _("nothing to resume: no checkpoint at {path}").format(path=ckpt_path),
                where="--resume",
                hint=_("train without --resume, or point -o at the folder of the interrupted run"),
            )
        saved = load_checkpoint(ckpt_path)  # safetensors + JSON: nothing is unpickled
        if saved.get("fingerprint") != fp:
            raise DomainfitError(
                _("the checkpoint in {folder} was written with a different configuration or data").format(folder=ckpt_path.parent),
                where="--resume",
                hint=_("resume with the same config and data, or delete the checkpoints folder to start afresh"),
            )
        accelerator.unwrap_model(model).load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        rngs = saved.get("rng_ranks") or []
        torch.set_rng_state(rngs[accelerator.process_index] if len(rngs) == accelerator.num_processes else saved["rng"])
        state.__dict__.update(saved["state"])
        best_state = saved["best"]

    def save_checkpoint() -> None:
        if ckpt_path is None:
            return
        rngs = distributed.gather(torch.get_rng_state()) if several else []  # every rank takes part in the gather
        if not accelerator.is_main_process:
            return
        write_checkpoint(
            ckpt_path,
            {
                "fingerprint": fp,
                "model": accelerator.unwrap_model(model).state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": torch.get_rng_state(),
                "rng_ranks": rngs,
                "state": asdict(state),
                "best": best_state,
            },
        )  # atomic: a kill during the write leaves the previous checkpoint intact

    def run_eval() -> StepEvent:
        nonlocal best_state
        metrics = evaluate(accelerator.unwrap_model(model)) if evaluate and accelerator.is_main_process else {}
        metrics = distributed.broadcast(metrics) if several else metrics  # rank 0's verdict, everywhere
        score = metrics.get(primary_metric, -math.inf)
        improved = score > state.best_score
        if improved:
            state.best_score, state.best_step, state.bad_evals = score, state.step, 0
            best_state = {k: v.detach().clone() for k, v in accelerator.unwrap_model(model).state_dict().items()}
        else:
            state.bad_evals += 1
        state.history[-1].update({f"val_{k}": v for k, v in metrics.items() if isinstance(v, (int, float))})
        return StepEvent("eval", state.step, total_steps, state.step / steps_per_epoch, metrics=metrics,
                         message=_("new best") if improved else _("no improvement ({n})").format(n=state.bad_evals))

    model.train()
    started = time.perf_counter() - state.seconds
    running: float | None = None
    done = state.step >= total_steps or state.stopped_early
    while not done:
        batches = length_grouped_batches(lengths, cfg.batch_size, seed=cfg.seed + state.epoch)
        batches = batches[accelerator.process_index :: accelerator.num_processes][:batches_per_epoch]
        start_batch = state.batch_in_epoch
        micro = 0
        for bi in range(start_batch, len(batches)):
            idx = batches[bi]
            feats = {k: v.to(device) for k, v in collate([input_ids[i] for i in idx], pad_id).items()}
            micro += 1
            syncs = not (micro % cfg.grad_accum and bi != len(batches) - 1)
            # no gradient all-reduce on the accumulation steps, only on the one before the optimizer step
            with contextlib.nullcontext() if syncs or not several else accelerator.no_sync(model):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    logits = model(**feats)
                loss = loss_fn(logits, targets[idx].to(device)) / cfg.grad_accum
                accelerator.backward(loss)
            value = (accelerator.reduce(loss.detach().reshape(1), "mean") if several else loss).item() * cfg.grad_accum
            running = value if running is None else 0.9 * running + 0.1 * value
            if not syncs:
                continue
            if cfg.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            if on_step is not None:
                on_step(accelerator.unwrap_model(model), state.step + 1)
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            state.batch_in_epoch = bi + 1
            state.seconds = time.perf_counter() - started
            lr = scheduler.get_last_lr()[0]
            state.history.append({"step": state.step, "epoch": round(state.step / steps_per_epoch, 4), "train_loss": running, "lr": lr})
            yield StepEvent("step", state.step, total_steps, state.step / steps_per_epoch, loss=running, lr=lr)

            last = state.step >= total_steps or bi == len(batches) - 1
            if evaluate and (state.step % eval_every == 0 or last):
                model.eval()
                t_eval = time.perf_counter()
                event = run_eval()
                state.eval_seconds += time.perf_counter() - t_eval
                state.seconds = time.perf_counter() - started
                model.train()
                yield event
                if cfg.patience and state.bad_evals >= cfg.patience:
                    state.stopped_early = True
                    yield StepEvent("stop", state.step, total_steps, state.step / steps_per_epoch,
                                    message=_("early stop: {metric} did not improve for {patience} evaluations").format(
                                        metric=primary_metric, patience=cfg.patience))
            if state.step >= total_steps or state.stopped_early:
                done = True
            if state.step % cfg.checkpoint_every == 0 or done:
                _roll_epoch(state, len(batches))
                save_checkpoint()
                yield StepEvent("checkpoint", state.step, total_steps, state.step / steps_per_epoch)
            if done:
                break
        _roll_epoch(state, len(batches))

    unwrapped = accelerator.unwrap_model(model)
    if best_state is not None:
        unwrapped.load_state_dict(best_state)
    unwrapped.eval()
    yield StepEvent("done", state.step, total_steps, state.step / steps_per_epoch,
                    message=_("best {metric} {score} at step {step}").format(
                        metric=primary_metric, score=f"{state.best_score:.4f}", step=state.best_step) if best_state else "")
