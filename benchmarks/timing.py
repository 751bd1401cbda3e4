"""Timing helpers: contenders are timed in rotating blocks, so that drifting
machine load hits every contender alike, and each block starts with one untimed
call so that no contender inherits the memory state another left behind (a
route that frees hundreds of MB would otherwise hand the next one fresh pages)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_interleaved(fns: dict[str, Callable[[], object]], *, rounds: int = 15, per_block: int = 3,
                     device: str = "cpu") -> dict[str, float]:
    """Median seconds per call of each function, over ``rounds`` rotating blocks
    of one untimed and ``per_block`` timed calls."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            fn()  # settle: warm caches and the allocator for this contender
            _sync(device)
            for _ in range(per_block):
                start = time.perf_counter()
                fn()
                _sync(device)
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}
