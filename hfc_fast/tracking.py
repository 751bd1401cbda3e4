"""Frequency tracking: a classifier's accuracy on the original, LFC and HFC images of a data set.

The measurement the paper makes along training (§4–5, Figs 3–6): for every
radius r, the accuracy on ``low`` and on ``high`` of ``frequency_split(x, r)``
beside the accuracy on ``x``. Each batch is split once for all radii into
reused buffers; a model trained on normalised inputs gets its normalisation
after the split (the split sees [0, 1] pixels). Under an initialised
``torch.distributed`` process group rank r takes every r-th batch and the
counts are summed, so every rank returns the totals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from hfc_fast._distributed import all_sum, rank_and_world
from hfc_fast._model import frozen_eval, model_device
from hfc_fast.data.batching import rank_batches
from hfc_fast.errors import InputError, NonFiniteError
from hfc_fast.frequency import frequency_split
from hfc_fast.radius import as_radii, radius_key

__all__ = ["Normalize", "TrackingState", "track_frequencies"]


class Normalize(nn.Module):
    """``model((resize(x) − mean) / std)``: the model sees what it was trained on while the split sees the
    [0, 1] pixels of the data as read.

    Args:
        model: the classifier.
        mean, std: per-channel sequences (e.g. ImageNet's).
        size: ``(H, W)`` the model takes; other images are resized (bilinear, antialiased) after the split.
    """

    def __init__(self, model: nn.Module, mean, std, size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.model = model
        self.size = tuple(size) if size is not None else None
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        if self.size is not None and tuple(x.shape[-2:]) != self.size:
            x = nn.functional.interpolate(x, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return self.model((x - self.mean) / self.std)


@dataclass
class TrackingState:
    """Counts of a pass in progress (this rank's), to save and resume from.

    Attributes:
        next_batch: the first batch number not yet counted.
        n: images counted.
        hits: (len(topk), 1 + 2R) float64: for each k, images whose label is among the top k on the
            original, then on the LFC at each radius, then on the HFC at each radius.
    """

    next_batch: int = 0
    n: int = 0
    hits: torch.Tensor = field(default_factory=lambda: torch.zeros(0))

    def to_dict(self) -> dict:
        return {"next_batch": self.next_batch, "n": self.n, "hits": self.hits}

    @classmethod
    def from_dict(cls, d: dict) -> TrackingState:
        return cls(int(d["next_batch"]), int(d["n"]), d["hits"])


def _check_outputs(logits: torch.Tensor, x: torch.Tensor, ks: list[int]) -> int:
    """The model's number of classes, from its first logits; top-k must leave some classes out."""
    if logits.dim() != 2 or logits.shape[0] != x.shape[0]:
        raise InputError(f"model must return logits of shape (B, classes) = ({x.shape[0]}, K), got "
                         f"{tuple(logits.shape)}")
    classes = logits.shape[1]
    if ks[-1] >= classes:
        raise InputError(f"topk {ks[-1]} needs a model of more than {ks[-1]} classes (top-{ks[-1]} of "
                         f"{classes} classes is trivially right); this one has {classes}")
    return classes


def _check_batch(checks: torch.Tensor, first: int, size: int, classes: int) -> None:
    """Refuse a batch that would become a wrong number: NaN pixels, pixels outside [0, 1], labels outside the
    model's classes, non-finite logits (``checks`` as track_frequencies stacks them)."""
    nonfinite, lo, hi, y_lo, y_hi, bad_logits = checks.tolist()
    where = f"images {first} to {first + size - 1}"
    if nonfinite:
        raise NonFiniteError(f"data must hold finite pixels; {where} have {int(nonfinite)} NaN or infinite")
    if lo < -PIXEL_SLACK or hi > 1 + PIXEL_SLACK:
        raise InputError(f"data must be pixels in [0, 1] (normalize=(mean, std) applies a model's normalisation "
                         f"after the split); {where} range from {lo:.4g} to {hi:.4g}"
                         + (": divide by 255" if hi > 2 else ""))
    if y_lo < 0 or y_hi >= classes:
        raise InputError(f"labels must name one of the model's {classes} classes (0 to {classes - 1}); {where} "
                         f"have labels from {int(y_lo)} to {int(y_hi)}")
    if bad_logits:
        raise NonFiniteError(f"the model returned NaN or infinite logits for {int(bad_logits)} views of {where} "
                             "(non-finite weights, or a layer that overflows)")


PIXEL_SLACK = 1e-5  # rounding of a resize or a conversion may leave a pixel this far outside [0, 1]


@torch.no_grad()
def track_frequencies(model: nn.Module, data, radii, *, batch_size: int = 500, topk=(1,),
                      normalize: tuple | None = None, amp: bool = False, device=None, workers: int = 0,
                      progress: bool = False, state: TrackingState | None = None,
                      save: Callable[[TrackingState], None] | None = None, save_every: int = 20) -> dict:
    """Top-k accuracy of ``model`` on ``data`` and on its LFC and HFC at every radius.

    Args:
        model: a classifier returning logits; put in eval mode for the pass, then restored.
        data: a ``DataLoader`` (or any iterable of ``(x, y)`` batches), a Dataset (batched here,
            ``batch_size`` images per batch), or an ``(images, labels)`` tensor pair. Images are
            (B, C, H, W) pixels in [0, 1].
        radii: a radius or a sequence of radii (``frequency_split`` semantics).
        topk: which top-k accuracies to count (1 always comes first); each must be below the model's number
            of classes.
        normalize: ``(mean, std)`` or ``(mean, std, (H, W))`` applied after the split, for models trained on
            normalised inputs (and of another input size).
        amp: run the model under bfloat16 autocast.
        device: where batches go (default: the model's device).
        workers: DataLoader workers when ``data`` is a Dataset.
        progress: a progress bar over this rank's batches (rank 0 only).
        state: counts of an interrupted pass (from ``save``) to continue from.
        save: called with this rank's counts every ``save_every`` batches and at the end.

    Returns:
        ``{"acc": a, "lfc": {"4": a, ...}, "hfc": {"4": a, ...}, "n": N}`` (top-1; keys by
        :func:`hfc_fast.radius.radius_key`), and for each k > 1 in ``topk`` the same three
        under ``f"top{k}"``.

    Raises:
        InputError: pixels outside [0, 1], labels outside the model's classes, a ``topk`` not below the
            number of classes. :class:`~hfc_fast.errors.NonFiniteError` for NaN pixels or non-finite logits.
            Each names the images of the batch.
    """
    radii = list(as_radii(radii)[0])
    ks = sorted({1, *[int(k) for k in (topk if isinstance(topk, tuple | list) else (topk,))]})
    if ks[0] < 1:
        raise InputError(f"topk must hold positive integers, got {topk!r}")
    if batch_size < 1 or save_every < 1:
        raise InputError(f"batch_size and save_every must be >= 1, got {batch_size} and {save_every}")
    device = torch.device(device) if device is not None else model_device(model)
    net = Normalize(model, *normalize).to(device) if normalize is not None else model
    state = TrackingState(state.next_batch, state.n, state.hits.clone()) if state else TrackingState()
    if state.hits.numel() == 0:
        state.hits = torch.zeros(len(ks), 1 + 2 * len(radii), dtype=torch.float64)
    batches, total = rank_batches(data, batch_size, workers, state.next_batch)
    rank, _ = rank_and_world()
    buffers = classes = None
    since_save = 0
    with frozen_eval(model):
        for i, (x, y) in tqdm(batches, total=total, desc="tracking", unit="batch", leave=False,
                              disable=not progress or rank != 0):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if buffers is None or buffers[0].shape[1:] != x.shape or buffers[0].dtype != x.dtype:
                # one pair of output buffers for the whole pass: fresh multi-megabyte outputs per batch
                # cost page faults and allocator churn comparable to the split itself
                shape = (len(radii), *x.shape)
                buffers = (torch.empty(shape, dtype=x.dtype, device=device),
                           torch.empty(shape, dtype=x.dtype, device=device))
            low, high = frequency_split(x, radii, out=buffers)
            hits, bad_logits = [], []
            for view in (x, *low, *high):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    logits = net(view).float()
                if classes is None:
                    classes = _check_outputs(logits, x, ks)
                row = [(logits.argmax(1) == y).sum()]
                if len(ks) > 1:
                    top = logits.topk(ks[-1], dim=1).indices
                    row += [(top[:, :k] == y[:, None]).any(1).sum() for k in ks[1:]]
                hits.append(torch.stack(row))
                bad_logits.append((~torch.isfinite(logits)).any(1).sum())
            # the checks travel with the counts: one transfer per batch
            checks = torch.stack([(~torch.isfinite(x)).sum().double(), x.amin().double(), x.amax().double(),
                                  y.amin().double(), y.amax().double(), torch.stack(bad_logits).sum().double()])
            batch_hits = torch.stack(hits, dim=1).double().cpu()
            _check_batch(checks.cpu(), state.n, len(y), classes)
            state.hits += batch_hits
            state.n += len(y)
            state.next_batch = i + 1
            since_save += 1
            if save is not None and since_save >= save_every:
                save(state)
                since_save = 0
    if save is not None:
        save(state)
    totals = all_sum([float(state.n), *state.hits.flatten().tolist()], device)
    n = totals[0]
    acc = torch.tensor(totals[1:], dtype=torch.float64).view(len(ks), -1) / n if n else \
        torch.full((len(ks), 1 + 2 * len(radii)), float("nan"), dtype=torch.float64)
    result = {"n": int(n)}
    for j, k in enumerate(ks):
        row = acc[j].tolist()
        views = {"acc": row[0], "lfc": {radius_key(r): a for r, a in zip(radii, row[1:1 + len(radii)], strict=True)},
                 "hfc": {radius_key(r): a for r, a in zip(radii, row[1 + len(radii):], strict=True)}}
        if k == 1:
            result.update(views)
        else:
            result[f"top{k}"] = views
    return result
