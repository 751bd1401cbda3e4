"""Batches of a data set: in-memory data is sliced, other data sets go through a DataLoader; a rank's share of
them under torch.distributed."""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, Dataset

from hfc_fast._distributed import rank_and_world, shard
from hfc_fast.data.registry import TensorData
from hfc_fast.errors import InputError


def iterate_batches(data, indices: torch.Tensor, batch_size: int, *, workers: int = 0):
    """``(x, y)`` batches of ``data`` in the order of ``indices``."""
    if isinstance(data, TensorData):
        for start in range(0, len(indices), batch_size):
            idx = indices[start:start + batch_size]
            yield data.images[idx], data.labels[idx]
        return
    subset = torch.utils.data.Subset(data, indices.tolist())
    yield from DataLoader(subset, batch_size=batch_size, num_workers=workers, shuffle=False)


def index_batches(data, batches: list[int], batch_size: int, *, workers: int = 0):
    """``(i, (x, y))`` for each batch number ``i`` of ``batches``; batch i holds images
    ``i·batch_size … (i+1)·batch_size − 1``. One DataLoader serves all of them."""
    if isinstance(data, TensorData):
        for i in batches:
            part = slice(i * batch_size, (i + 1) * batch_size)
            yield i, (data.images[part], data.labels[part])
        return
    sampler = [list(range(i * batch_size, min(len(data), (i + 1) * batch_size))) for i in batches]
    yield from zip(batches, DataLoader(data, batch_sampler=sampler, num_workers=workers), strict=True)


def rank_batches(data, batch_size: int, workers: int, start: int = 0):
    """This rank's ``(batch number, (x, y))`` from batch ``start`` on, and how many there are (None when unknown).

    ``data`` is a DataLoader (or any iterable of batches), a Dataset (batched here) or an ``(images, labels)``
    pair. Under torch.distributed rank r takes the batches whose number is r modulo the world size.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    rank, world = rank_and_world()
    if isinstance(data, tuple | list) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        data = TensorData(data[0], data[1], 0)
    if isinstance(data, Dataset) and hasattr(data, "__len__"):
        n_batches = math.ceil(len(data) / batch_size)
        mine = [i for i in range(start, n_batches) if i % world == rank]
        return index_batches(data, mine, batch_size, workers=workers), len(mine)
    return shard(data, start)

