"""Where this process stands under ``torch.distributed``, and sums over ranks.

The library's data-set evaluations (tracking, robust accuracy, Fourier maps)
shard their batches over the ranks of an initialised process group and sum
their counts; without one they run alone.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)`` of the initialised process group, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(batches, start: int = 0):
    """This rank's ``(batch number, batch)`` of an iterable of batches from batch ``start`` on, and how many
    there are (None when the iterable has no length): rank r takes the batches whose number is r modulo the
    world size."""
    rank, world = rank_and_world()
    total = len(batches) if hasattr(batches, "__len__") else None
    mine = ((i, b) for i, b in enumerate(batches) if i >= start and i % world == rank)
    return mine, None if total is None else len([i for i in range(start, total) if i % world == rank])


def all_sum(values: list[float], device: torch.device | str = "cpu") -> list[float]:
    """Element-wise float64 sum of ``values`` over the ranks (identity in a single process).

    ``device`` is where the reduction runs under NCCL (a CUDA device); other
    backends reduce on the CPU.
    """
    if rank_and_world()[1] == 1:
        return [float(v) for v in values]
    where = device if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor(values, dtype=torch.float64, device=where)
    dist.all_reduce(t)
    return t.tolist()
