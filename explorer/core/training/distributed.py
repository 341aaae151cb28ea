"""Training on several processes: `torchrun --nproc_per_node N -m explorer train ...` runs
PyTorch DistributedDataParallel, gloo on CPUs, NCCL on GPUs.

Each rank trains on its shard data[rank::world] with batch/world images per step (the global
batch stays --batch), the gradients are averaged by DDP, and only rank 0 writes files. The resume
file holds every rank's random-generator state; it resumes only with the same number of processes.
Without torchrun's environment (WORLD_SIZE unset or 1) nothing changes.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import torch

from explorer.core.errors import UsageError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, lo: int, hi: int, default: str | None = None) -> int:
    """torchrun's variable `name`, an integer in [lo, hi]; a UsageError naming it otherwise."""
    text = os.environ.get(name, default)
    if text is None:
        raise UsageError(f"{name} is not set, but WORLD_SIZE is: start several processes with torchrun "
                         f"(see docs/guide/training.md), or unset WORLD_SIZE")
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        raise UsageError(f"{name}={text[:40]!r} must be an integer in {lo}..{hi} (torchrun sets it; unset it to train "
                         f"on one process)")
    return value


def world() -> World:
    """This process's place, from torchrun's environment (each variable checked); the process
    group is started once."""
    size = _env_int("WORLD_SIZE", 1, 65536, "1")
    if size <= 1:
        return World()
    import torch.distributed as dist

    w = World(_env_int("RANK", 0, size - 1), size, _env_int("LOCAL_RANK", 0, size - 1, "0"))
    if not dist.is_initialized():
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if not os.environ.get(name):
                raise UsageError(f"{name} is not set, but WORLD_SIZE is: start several processes with torchrun, "
                                 f"which sets it, or unset WORLD_SIZE")
        port = _env_int("MASTER_PORT", 1, 65535)
        try:
            socket.getaddrinfo(os.environ["MASTER_ADDR"], port)
        except (socket.gaierror, UnicodeError, ValueError):
            raise UsageError(f"MASTER_ADDR={os.environ['MASTER_ADDR'][:60]!r} is not an address this machine can "
                             f"resolve; give rank 0's host name or IP address") from None
        if torch.cuda.is_available():
            torch.cuda.set_device(w.local_rank)
        try:
            dist.init_process_group()                  # gloo for CPU tensors, NCCL for CUDA ones
        except (ValueError, RuntimeError) as e:        # an address that does not resolve, a port taken, ...
            raise UsageError(f"the processes could not meet at MASTER_ADDR={os.environ['MASTER_ADDR'][:60]!r} "
                             f"MASTER_PORT={os.environ['MASTER_PORT']} ({str(e).splitlines()[0][:200]})") from None
    return w


def device_of(w: World, device: torch.device) -> torch.device:
    """One GPU per rank (its local rank) on CUDA; the CPU otherwise."""
    return torch.device("cuda", w.local_rank) if device.type == "cuda" and w.size > 1 else device


def wrap(model: torch.nn.Module, w: World, device: torch.device) -> torch.nn.Module:
    if w.size == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def gather(value, w: World) -> list:
    """Every rank's `value` (a picklable object), on every rank."""
    if w.size == 1:
        return [value]
    import torch.distributed as dist
    out = [None] * w.size
    dist.all_gather_object(out, value)
    return out


def mean(value: float, w: World) -> float:
    """The mean of `value` over the ranks (every rank gets it)."""
    if w.size == 1:
        return value
    import torch.distributed as dist
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t) / w.size


def barrier(w: World) -> None:
    if w.size > 1:
        import torch.distributed as dist
        dist.barrier()
