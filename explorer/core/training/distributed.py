"""Training on several processes: `torchrun --nproc_per_node N -m explorer train ...` runs
PyTorch DistributedDataParallel, gloo on CPUs, NCCL on GPUs.

Each rank trains on its shard data[rank::world] with batch/world images per step (the global
batch stays --batch), the gradients are averaged by DDP, and only rank 0 writes files. The resume
file holds every rank's random-generator state; it resumes only with the same number of processes.
Without torchrun's environment (WORLD_SIZE unset or 1) nothing changes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def world() -> World:
    """This process's place, from torchrun's environment; the process group is started once."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    import torch.distributed as dist

    w = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(w.local_rank)
        dist.init_process_group()                      # gloo for CPU tensors, NCCL for CUDA ones
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
