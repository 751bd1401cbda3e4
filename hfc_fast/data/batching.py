"""Training batches of a data set in a given order: in-memory data is sliced, other data sets go through a
DataLoader. (Evaluation passes take their share by index from :mod:`hfc_fast.evaluation`.)"""

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
