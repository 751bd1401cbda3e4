"""Accuracy on the original, LFC and HFC images of a data set, one split per batch."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from hfc_fast.data.registry import TensorData
from hfc_fast.experiments.distributed import Dist
from hfc_fast.frequency import frequency_split


def iterate_batches(data, indices: torch.Tensor, batch_size: int, *, workers: int = 0):
    """``(x, y)`` batches of ``data`` in the order of ``indices``; in-memory data is sliced directly."""
    if isinstance(data, TensorData):
        for start in range(0, len(indices), batch_size):
            idx = indices[start:start + batch_size]
            yield data.images[idx], data.labels[idx]
        return
    subset = torch.utils.data.Subset(data, indices.tolist())
    yield from DataLoader(subset, batch_size=batch_size, num_workers=workers, shuffle=False)


def _key(r: float) -> str:
    return f"{r:g}"


@torch.no_grad()
def evaluate_tracking(model, data, radii, *, dist: Dist, batch_size: int = 500, amp: bool = False,
                      workers: int = 0) -> dict:
    """Top-1 accuracy of ``model`` on ``data`` and on its LFC and HFC at every radius.

    All radii share one :func:`hfc_fast.frequency_split` call per batch. Under
    torch.distributed each rank takes every ``world``-th batch and the counts
    are summed.

    Returns:
        ``{"acc": a, "lfc": {"4": a, ...}, "hfc": {"4": a, ...}, "n": N}``.
    """
    was_training = model.training
    model.eval()
    radii = list(radii)
    correct = torch.zeros(1 + 2 * len(radii), dtype=torch.float64)
    n = 0
    buffers = None
    batches = iterate_batches(data, torch.arange(len(data)), batch_size, workers=workers)
    try:
        for index, (x, y) in enumerate(batches):
            if index % dist.world != dist.rank:
                continue
            x, y = x.to(dist.device, non_blocking=True), y.to(dist.device, non_blocking=True)
            if buffers is None or buffers[0].shape[1:] != x.shape or buffers[0].dtype != x.dtype:
                # one pair of output buffers for the whole pass: fresh multi-megabyte outputs per batch
                # cost page faults and allocator churn comparable to the split itself
                shape = (len(radii), *x.shape)
                buffers = (torch.empty(shape, dtype=x.dtype, device=x.device),
                           torch.empty(shape, dtype=x.dtype, device=x.device))
            low, high = frequency_split(x, radii, out=buffers)
            views = [x, *low, *high]
            with torch.autocast(dist.device.type, dtype=torch.bfloat16, enabled=amp):
                hits = [(model(v).argmax(1) == y).sum() for v in views]
            correct += torch.stack(hits).double().cpu()
            n += len(y)
    finally:
        model.train(was_training)
    totals = dist.all_sum([float(n), *correct.tolist()])
    n_all, counts = totals[0], totals[1:]
    acc = [c / n_all if n_all else float("nan") for c in counts]
    k = len(radii)
    return {"acc": acc[0], "lfc": {_key(r): a for r, a in zip(radii, acc[1:1 + k], strict=True)},
            "hfc": {_key(r): a for r, a in zip(radii, acc[1 + k:], strict=True)}, "n": int(n_all)}
