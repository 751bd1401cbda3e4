"""Batches of a data set in a given order: in-memory data is sliced, other data sets go through a DataLoader."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from hfc_fast.data.registry import TensorData


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
