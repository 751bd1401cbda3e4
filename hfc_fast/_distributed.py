"""Where this process stands under ``torch.distributed``, and sums over ranks.

The library's data-set evaluations (:mod:`hfc_fast.evaluation`) take their
share of the batches by index over the ranks of an initialised process group
and sum their counts; without one they run alone.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)`` of the initialised process group, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


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
