"""Frequency tracking: a classifier's accuracy on the original, LFC and HFC images of a data set.

The measurement the paper makes along training (§4–5, Figs 3–6): for every
radius r, the accuracy on ``low`` and on ``high`` of ``frequency_split(x, r)``
beside the accuracy on ``x``. Each batch is split once for all radii into
reused buffers; a model trained on normalised inputs gets its normalisation
after the split (the split sees [0, 1] pixels). A pass of the evaluation
engine (:mod:`hfc_fast.evaluation`): sharded by index under
``torch.distributed``, resumable by batch, counts summed over the ranks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from hfc_fast._model import Normalize
from hfc_fast.errors import InputError, NonFiniteError
from hfc_fast.evaluation import Counts, MappingAccess, PassSettings, run_pass, settings_from
from hfc_fast.frequency import frequency_split
from hfc_fast.radius import as_radii, radius_key

__all__ = ["FrequencyTracking", "Normalize", "TrackingState", "track_frequencies"]


@dataclass(eq=False)
class FrequencyTracking(MappingAccess, Counts):
    """Counts of a tracking pass, and the accuracies they give.

    Attributes (counts):
        radii: the radii; topk: the k counted (1 first).
        n: images counted.
        hits: (len(topk), 1 + 2R) float64: for each k, images whose label is among the top k on the
            original, then on the LFC at each radius, then on the HFC at each radius.
        next_batch: the first batch number (of this rank) not yet counted.

    Rates: :meth:`accuracy` (top-k on the originals), :meth:`lfc` and :meth:`hfc` (per radius key), and
    :meth:`to_dict`, the JSON form ``{"acc", "lfc": {"4": ...}, "hfc": {...}, "n", "top5": {...}}`` that
    mapping access (``result["acc"]``) reads.
    """

    SUMMED = ("n", "hits")

    radii: list = field(default_factory=list)
    topk: list = field(default_factory=lambda: [1])
    n: int = 0
    hits: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    next_batch: int = 0

    def _rates(self, k: int) -> list[float]:
        j = self.topk.index(k)
        return (self.hits[j] / self.n).tolist() if self.n else [float("nan")] * self.hits.shape[1]

    def accuracy(self, k: int = 1) -> float:
        return self._rates(k)[0]

    def lfc(self, k: int = 1) -> dict[str, float]:
        return {radius_key(r): a for r, a in zip(self.radii, self._rates(k)[1:1 + len(self.radii)], strict=True)}

    def hfc(self, k: int = 1) -> dict[str, float]:
        return {radius_key(r): a for r, a in zip(self.radii, self._rates(k)[1 + len(self.radii):], strict=True)}

    def to_dict(self) -> dict:
        out = {"n": int(self.n), "acc": self.accuracy(1), "lfc": self.lfc(1), "hfc": self.hfc(1)}
        for k in self.topk[1:]:
            out[f"top{k}"] = {"acc": self.accuracy(k), "lfc": self.lfc(k), "hfc": self.hfc(k)}
        return out


TrackingState = FrequencyTracking  # the name resumable callers saved it under


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


def track_frequencies(model: nn.Module, data, radii, *, batch_size: int | None = None, topk=(1,),
                      normalize: tuple | None = None, amp: bool | None = None, device=None,
                      workers: int | None = None, progress: bool | None = None,
                      state: FrequencyTracking | None = None, save: Callable[[FrequencyTracking], None] | None = None,
                      save_every: int | None = None, settings: PassSettings | None = None) -> FrequencyTracking:
    """Top-k accuracy of ``model`` on ``data`` and on its LFC and HFC at every radius.

    Args:
        model: a classifier returning logits; put in eval mode for the pass, then restored.
        data: a ``DataLoader``, a Dataset (batched here, ``batch_size`` images per batch), an ``(images,
            labels)`` tensor pair, or (one process only) any iterable of ``(x, y)`` batches. Images are
            (B, C, H, W) pixels in [0, 1].
        radii: a radius or a sequence of radii (``frequency_split`` semantics).
        topk: which top-k accuracies to count (1 always comes first); each must be below the model's number
            of classes.
        settings: a :class:`~hfc_fast.evaluation.PassSettings`; the keyword arguments ``batch_size``,
            ``normalize`` (``(mean, std)`` or ``(mean, std, (H, W))`` applied after the split), ``amp``,
            ``device``, ``workers``, ``progress`` and ``save_every`` set (or override) its fields.
        state: counts of an interrupted pass (from ``save``) to continue from; the batches it counted are
            not read again.
        save: called with this rank's counts every ``save_every`` batches and at the end.

    Returns:
        :class:`FrequencyTracking`, summed over the ranks: counts (``n``, ``hits``), the accuracies
        (``accuracy()``, ``lfc()``, ``hfc()``), and ``to_dict()`` / mapping access
        ``{"acc": a, "lfc": {"4": a, ...}, "hfc": {"4": a, ...}, "n": N}`` (keys by
        :func:`hfc_fast.radius.radius_key`), with ``f"top{k}"`` for each k > 1 in ``topk``.

    Raises:
        InputError: pixels outside [0, 1], labels outside the model's classes, a ``topk`` not below the
            number of classes. :class:`~hfc_fast.errors.NonFiniteError` for NaN pixels or non-finite logits.
            Each names the images of the batch.
    """
    radii = list(as_radii(radii)[0])
    ks = sorted({1, *[int(k) for k in (topk if isinstance(topk, tuple | list) else (topk,))]})
    if ks[0] < 1:
        raise InputError(f"topk must hold positive integers, got {topk!r}")
    settings = settings_from(settings, batch_size=batch_size, normalize=normalize, amp=amp, device=device,
                             workers=workers, progress=progress, save_every=save_every)
    if state is None:
        state = FrequencyTracking(radii=radii, topk=ks, hits=torch.zeros(len(ks), 1 + 2 * len(radii),
                                                                          dtype=torch.float64))
    else:  # continue from a copy: the caller's saved counts stay as they were
        state = FrequencyTracking.from_state_dict(state.state_dict())
        if list(state.radii) != radii or list(state.topk) != ks:
            raise InputError(f"state was counted at radii {state.radii} and topk {state.topk}, not {radii} and {ks}")
    step = _TrackingStep(radii, ks, settings.amp)
    return run_pass(model, data, step, state, settings=settings, desc="tracking", save=save)


class _TrackingStep:
    """One batch of tracking: split once for all radii into reused buffers, score every view, check the batch."""

    def __init__(self, radii, ks, amp: bool) -> None:
        self.radii, self.ks, self.amp = radii, ks, amp
        self.buffers = self.classes = None

    def __call__(self, batch, net, state: FrequencyTracking) -> None:
        x, y = batch.x, batch.y
        device = x.device
        if self.buffers is None or self.buffers[0].shape[1:] != x.shape or self.buffers[0].dtype != x.dtype:
            # one pair of output buffers for the whole pass: fresh multi-megabyte outputs per batch
            # cost page faults and allocator churn comparable to the split itself
            shape = (len(self.radii), *x.shape)
            self.buffers = (torch.empty(shape, dtype=x.dtype, device=device),
                            torch.empty(shape, dtype=x.dtype, device=device))
        low, high = frequency_split(x, self.radii, out=self.buffers)
        ks, hits, bad_logits = self.ks, [], []
        for view in (x, *low, *high):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.amp):
                logits = net(view).float()
            if self.classes is None:
                self.classes = _check_outputs(logits, x, ks)
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
        _check_batch(checks.cpu(), batch.first, len(y), self.classes)
        state.hits += batch_hits
        state.n += len(y)
