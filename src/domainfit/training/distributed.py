"""Several processes, one training run: what the rest of domainfit asks about the process group that
`accelerate launch` / `torchrun` started (a single plain process is a group of one, and every call is then free).

    process()            accelerate's PartialState: rank, world size, device (initialises the group once)
    is_main()            rank 0: the only process that writes the staging folder, checkpoints and the bundle
    wait()               a barrier (every rank reaches it before any goes on)
    broadcast(obj)       rank 0's value on every rank (validation metrics, so early stopping agrees everywhere)
    gather(obj)          every rank's value, on every rank (RNG states for the checkpoint, data digests)
    check_same(digest)   refuse to train when the ranks did not read and split the same data
    threads_per_process()  the cores of one machine divided between its processes

Glue only: accelerate owns the process group; these are its utilities under the names the loop reads.
"""

from __future__ import annotations

import os
from typing import Any

from domainfit.errors import DomainfitError
from domainfit.i18n import _

__all__ = ["broadcast", "check_same", "gather", "is_distributed", "is_main", "on_cpu", "process", "threads_per_process", "wait"]


def is_distributed() -> bool:
    """Launched as one of several processes (accelerate launch, torchrun): WORLD_SIZE > 1."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def on_cpu() -> bool:
    """Several processes and no GPU: accelerate must be told (`cpu=True`) to make a gloo group of CPU processes;
    without it a launch on a CPU machine leaves every process training alone."""
    import torch

    return is_distributed() and not torch.cuda.is_available()


def process():
    from accelerate import PartialState

    return PartialState(cpu=on_cpu())


def is_main() -> bool:
    return not is_distributed() or process().is_main_process


def wait() -> None:
    if is_distributed():
        process().wait_for_everyone()


def broadcast(value: Any) -> Any:
    if not is_distributed():
        return value
    from accelerate.utils import broadcast_object_list

    box = [value]
    broadcast_object_list(box, from_process=0)
    return box[0]


def gather(value: Any) -> list:
    if not is_distributed():
        return [value]
    from accelerate.utils import gather_object

    return gather_object([value])


def threads_per_process() -> int | None:
    """Several processes on one machine share its cores (torchrun's LOCAL_WORLD_SIZE); None: one process, all cores."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if local <= 1:
        return None
    from domainfit.backbones.encoder import available_cores

    return max(1, available_cores() // local)


def check_same(digest: str, what: str) -> None:
    """Every rank must train on the same rows and the same split (each takes its own share of the batches)."""
    seen = gather(digest)
    if len(set(seen)) > 1:
        raise DomainfitError(_("the {n} training processes read different {what} ({digests})").format(
                                 n=len(seen), what=what, digests=", ".join(seen)),
                             where="accelerate launch",
                             hint=_("give every process the same files (a shared folder) and the same config and seed"))
