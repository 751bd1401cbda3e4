"""Where in the spectrum a model is fragile: Fourier heat maps, band-noise profiles and the one-pass map.

**Fourier heat map** (Yin et al., "A Fourier Perspective on Model Robustness",
NeurIPS 2019). For each frequency (ky, kx) of the H×W grid, the real basis
image U whose DFT is non-zero only at (ky, kx) and (−ky, −kx), unit L2 norm
(``include/hfc/fourier_math.h`` gives the formula); every test image gets
``clip(x + r·ε·U, lo, hi)`` with a random sign r per image and per channel (a
function of the seed, the image's index, the channel and the frequency, so any
batching or sharding draws the same signs), and the map holds the error rate and
the mean cross-entropy at every frequency, drawn with DC at the centre. U and its
conjugate frequency's are the same image, so only one of each pair is evaluated
(:func:`heat_map_frequencies`). The perturbed batch of many bases at once is
written by the op :func:`hfc_fast.fourier_perturb.fourier_perturb` (CPU and CUDA
kernels: basis values from indices, add, clip, write; no basis is stored).

Each map is a pass of the evaluation engine (:mod:`hfc_fast.evaluation`):
sharded by index under torch.distributed, the heat map resumable by batch, every
result a :class:`~hfc_fast.evaluation.Counts` (counts, the rates they give,
``state_dict``/``load_state_dict``).

**One-pass (linearised) map**: the mean over images and channels of
``|DFT2(∇x L)|`` (orthonormal DFT), the first-order sensitivity to each frequency
from one backward pass per batch; :func:`rank_correlation` says how well it
orders frequencies like the exact map.

**Band-noise profile**: accuracy under Gaussian noise confined to the annulus
``r_k <= d < r_k+1`` of the grid, scaled to an L2 norm ε per image, beside white
noise of the same norm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from hfc_fast._checks import check_number
from hfc_fast._model import PROBABILITIES, forward_logits, model_device, normalised_output
from hfc_fast.errors import InputError
from hfc_fast.evaluation import Counts, MappingAccess, PassSettings, run_pass, settings_from
from hfc_fast.fourier_perturb import fourier_perturb
from hfc_fast.radius import frequency_grid

__all__ = ["BandNoiseProfile", "FourierHeatMap", "LinearisedMap", "band_noise", "band_noise_profile",
           "fourier_heat_map", "heat_map_frequencies", "linearised_map", "rank_correlation"]


def _signed(i: torch.Tensor, n: int) -> torch.Tensor:
    return torch.where(i < (n + 1) // 2, i, i - n)


def heat_map_frequencies(h: int, w: int, *, stride: int = 1, max_radius: float | None = None) -> torch.Tensor:
    """One frequency ``(ky, kx)`` (signed) of each conjugate pair of the H×W grid, (K, 2) int64.

    ``stride`` keeps the frequencies whose components are multiples of it (for large images);
    ``max_radius`` those with ``ky² + kx² <= max_radius²``.
    """
    for name, value in (("h", h), ("w", w), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    corner = math.hypot(h // 2, w // 2)
    if max_radius is not None:
        max_radius = check_number(max_radius, "max_radius", minimum=0.0)
        if max_radius > corner:
            raise InputError(f"max_radius {max_radius:g} lies past the {h}×{w} grid, whose farthest frequency is at "
                             f"{corner:.4g}")
    iy, ix = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    cy, cx = (-iy) % h, (-ix) % w
    canonical = (iy < cy) | ((iy == cy) & (ix <= cx))  # the smaller index of each conjugate pair
    ky, kx = _signed(iy, h), _signed(ix, w)
    keep = canonical & (ky % stride == 0) & (kx % stride == 0)
    if max_radius is not None:
        keep &= ky * ky + kx * kx <= max_radius * max_radius
    return torch.stack([ky[keep], kx[keep]], dim=1)


# ---------------------------------------------------------------------- the maps
def _refuse_probabilities(logits: torch.Tensor) -> None:
    """The loss map needs logits: a model ending in softmax is refused (log-softmax outputs are logits up to a
    constant and give the same loss)."""
    if normalised_output(logits) == PROBABILITIES:
        raise InputError("model must return logits, but its outputs look like probabilities (rows in [0, 1] "
                         "summing to 1): the loss map needs logits; remove the final softmax")


@dataclass(eq=False)
class FourierHeatMap(Counts):
    """Counts of a Fourier heat map (summed over ranks), and the maps they give.

    Attributes (counts):
        size: (H, W) of the grid; eps: the perturbation's L2 norm per channel.
        freqs: (K, 2) the frequencies evaluated, one of each conjugate pair.
        errors, loss: (K,) float64 summed misclassifications and cross-entropy over ``n`` images.
        clean_errors, clean_loss: the same without perturbation.
        next_batch: the first batch number (of this rank) not yet counted.

    Rates: ``error_rate``, ``mean_loss`` (per frequency), ``error_map()`` and ``loss_map()`` (H, W).
    """

    SUMMED = ("n", "clean_errors", "clean_loss", "errors", "loss")

    size: tuple = (0, 0)
    eps: float = 0.0
    freqs: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 2, dtype=torch.int64))
    errors: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.float64))
    loss: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.float64))
    n: int = 0
    clean_errors: float = 0.0
    clean_loss: float = 0.0
    next_batch: int = 0

    @property
    def error_rate(self) -> torch.Tensor:
        return self.errors / max(self.n, 1)

    @property
    def mean_loss(self) -> torch.Tensor:
        return self.loss / max(self.n, 1)

    @property
    def clean_error_rate(self) -> float:
        return self.clean_errors / max(self.n, 1)

    def grid(self, values: torch.Tensor) -> torch.Tensor:
        """(H, W) float64 map of per-frequency ``values`` with DC at the centre (fftshift); both frequencies of
        each conjugate pair carry the value, and frequencies not evaluated are NaN."""
        h, w = self.size
        out = torch.full((h, w), math.nan, dtype=torch.float64)
        iy, ix = self.freqs[:, 0] % h, self.freqs[:, 1] % w
        out[iy, ix] = values.double()
        out[(-iy) % h, (-ix) % w] = values.double()
        return torch.fft.fftshift(out)

    def error_map(self) -> torch.Tensor:
        return self.grid(self.error_rate)

    def loss_map(self) -> torch.Tensor:
        return self.grid(self.mean_loss)


@torch.no_grad()
def fourier_heat_map(model: nn.Module, data, eps: float, *, stride: int = 1, max_radius: float | None = None,
                     freqs: torch.Tensor | None = None, batch_size: int | None = None,
                     images_per_pass: int | None = None, seed: int = 0, lo: float = 0.0, hi: float = 1.0,
                     normalize=None, amp: bool | None = None, channels_last: bool | None = None, device=None,
                     workers: int | None = None, progress: bool | None = None, state: FourierHeatMap | None = None,
                     save=None, save_every: int | None = None, settings: PassSettings | None = None) -> FourierHeatMap:
    """The Fourier heat map of ``model`` on ``data``: error rate and mean loss at every frequency.

    Args:
        model: a classifier returning logits; in eval mode for the pass, then restored.
        data: a DataLoader, a Dataset or an ``(images, labels)`` pair; images (B, C, H, W) in ``[lo, hi]``.
        eps: L2 norm of each channel's perturbation (Yin et al. use 4 on CIFAR-10).
        stride, max_radius: thin the grid (see :func:`heat_map_frequencies`); or ``freqs`` (K, 2) to name them.
        images_per_pass: how many perturbed images go through the model at once (bases × batch); default 512
            on a CPU (larger passes leave the caches) and 8192 on a GPU.
        seed: the signs' seed (signs depend on each image's index in ``data``, so any batching draws the
            same ones).
        settings: :class:`~hfc_fast.evaluation.PassSettings` (``normalize`` is applied after perturbing;
            ``channels_last`` is on by default here: several times faster convolutions on CPUs, the same
            predictions up to float rounding); ``batch_size``, ``normalize``, ``amp``, ``channels_last``,
            ``device``, ``workers``, ``progress`` and ``save_every`` set its fields.
        state, save: counts of an interrupted pass to continue from (its batches are not read again), and a
            callback given this rank's counts every ``save_every`` batches and at the end.

    Returns :class:`FourierHeatMap`, summed over the ranks.
    """
    eps = check_number(eps, "eps", minimum=0.0)
    settings = settings_from(settings, {"channels_last": True}, batch_size=batch_size, normalize=normalize,
                             amp=amp, channels_last=channels_last, device=device, workers=workers, progress=progress,
                             save_every=save_every)
    where = torch.device(settings.device) if settings.device is not None else model_device(model)
    images_per_pass = images_per_pass or (8192 if where.type == "cuda" else 512)
    if isinstance(images_per_pass, bool) or not isinstance(images_per_pass, int) or images_per_pass < 1:
        raise InputError(f"images_per_pass must be a positive integer, got {images_per_pass!r}")
    state = FourierHeatMap(eps=eps) if state is None else FourierHeatMap.from_state_dict(state.state_dict())

    def step(batch, net, counts: FourierHeatMap) -> None:
        x, y = batch.x, batch.y
        if counts.freqs.numel() == 0:
            h, w = x.shape[-2:]
            ks = freqs if freqs is not None else heat_map_frequencies(h, w, stride=stride, max_radius=max_radius)
            counts.size, counts.freqs = (h, w), ks.cpu()
            counts.errors = torch.zeros(len(ks), dtype=torch.float64)
            counts.loss = torch.zeros(len(ks), dtype=torch.float64)
        logits = forward_logits(net, x, amp=settings.amp)
        _refuse_probabilities(logits)
        counts.clean_errors += float((logits.argmax(1) != y).sum())
        counts.clean_loss += float(F.cross_entropy(logits, y, reduction="sum"))
        _count_bases(net, x, y, counts, eps=eps, seed=seed, offset=batch.first, lo=lo, hi=hi, amp=settings.amp,
                     chunk=max(1, images_per_pass // len(x)),
                     layout=torch.channels_last if settings.channels_last else torch.contiguous_format)
        counts.n += len(y)

    result = run_pass(model, data, step, state, settings=settings, desc="Fourier heat map", save=save)
    if result.n == 0:
        raise InputError("data holds no images")
    return result


def _count_bases(net, x, y, state: FourierHeatMap, *, eps, seed, offset, lo, hi, amp, chunk, layout) -> None:
    """Add one batch's errors and losses at every frequency of ``state``, ``chunk`` bases per model pass."""
    ks = state.freqs.to(x.device)
    x = x.contiguous()
    buffer = None
    for start in range(0, len(ks), chunk):
        part = ks[start:start + chunk]
        shape = (len(part) * len(x), *x.shape[1:])
        if buffer is None or buffer.shape != shape:
            buffer = torch.empty(shape, dtype=x.dtype, device=x.device)
        perturbed = fourier_perturb(x, part, eps, seed, offset, lo, hi, out=buffer)
        logits = forward_logits(net, perturbed.contiguous(memory_format=layout), amp=amp)
        labels = y.repeat(len(part))
        wrong = (logits.argmax(1) != labels).view(len(part), len(x)).sum(1)
        loss = F.cross_entropy(logits, labels, reduction="none").view(len(part), len(x)).sum(1)
        state.errors[start:start + len(part)] += wrong.double().cpu()
        state.loss[start:start + len(part)] += loss.double().cpu()


@dataclass(eq=False)
class LinearisedMap(Counts):
    """Counts of the one-pass map: ``total`` (H, W) float64, the sum over images and channels of
    ``|DFT2(∇x L)|`` (orthonormal DFT, unshifted), over ``n`` image-channels. :meth:`map` is the mean with DC at
    the centre."""

    SUMMED = ("n", "total")

    n: int = 0
    total: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.float64))
    next_batch: int = 0

    def map(self) -> torch.Tensor:
        return torch.fft.fftshift(self.total / max(self.n, 1))


def linearised_map(model: nn.Module, data, *, batch_size: int | None = None, normalize=None, amp: bool | None = None,
                   device=None, workers: int | None = None, progress: bool | None = None,
                   settings: PassSettings | None = None) -> LinearisedMap:
    """The one-pass map: mean over images and channels of ``|DFT2(∇x L)|`` (orthonormal DFT, L the
    cross-entropy of each image), one backward pass per batch; ``.map()`` is (H, W) float64 with DC at the
    centre. Settings as for :func:`fourier_heat_map`."""
    settings = settings_from(settings, batch_size=batch_size, normalize=normalize, amp=amp, device=device,
                             workers=workers, progress=progress)

    def step(batch, net, counts: LinearisedMap) -> None:
        x = batch.x.detach().requires_grad_(True)
        logits = forward_logits(net, x, amp=settings.amp)
        _refuse_probabilities(logits.detach())
        grad = torch.autograd.grad(F.cross_entropy(logits, batch.y, reduction="sum"), x)[0]
        part = torch.fft.fft2(grad.double(), norm="ortho").abs().sum((0, 1)).cpu()
        counts.total = part if counts.total.numel() == 0 else counts.total + part
        counts.n += grad.shape[0] * grad.shape[1]

    result = run_pass(model, data, step, LinearisedMap(), settings=settings, desc="linearised map", grad=True)
    if result.n == 0:
        raise InputError("data holds no images")
    return result


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two maps over the cells where both are finite (ties get mean ranks)."""
    a, b = a.flatten().double(), b.flatten().double()
    keep = torch.isfinite(a) & torch.isfinite(b)
    if int(keep.sum()) < 2:
        return math.nan
    ra, rb = _ranks(a[keep]), _ranks(b[keep])
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(ra.norm() * rb.norm())
    return float((ra * rb).sum()) / denominator if denominator > 0 else math.nan


def _ranks(v: torch.Tensor) -> torch.Tensor:
    order = torch.argsort(v, stable=True)
    ranks = torch.empty_like(v)
    ranks[order] = torch.arange(len(v), dtype=v.dtype)
    uniq, inverse = torch.unique(v, return_inverse=True)
    mean_rank = torch.zeros(len(uniq), dtype=v.dtype).index_add(0, inverse, ranks)
    counts = torch.zeros(len(uniq), dtype=v.dtype).index_add(0, inverse, torch.ones_like(ranks))
    return (mean_rank / counts)[inverse]


# ---------------------------------------------------------------------- band noise
def band_noise(shape, low: float, high: float, eps: float, *, generator: torch.Generator | None = None,
               device=None, dtype=torch.float32) -> torch.Tensor:
    """Gaussian noise (B, C, H, W) confined to the annulus ``low <= d < high`` of the grid, scaled to L2 norm
    ``eps`` per image (over channels and pixels); an annulus holding no frequency gives zeros."""
    b, c, h, w = shape
    noise = torch.randn(shape, generator=generator, dtype=torch.float64, device=generator.device if generator
                        else device)
    d2 = frequency_grid(h, w, half=True, device=noise.device)
    mask = ((d2 >= low * low) & (d2 < high * high)).double()
    noise = torch.fft.irfft2(torch.fft.rfft2(noise) * mask, s=(h, w))
    norm = noise.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    scaled = torch.where(norm > 0, noise * (eps / norm.clamp_min(1e-300)), torch.zeros_like(noise))
    return scaled.to(device=device or noise.device, dtype=dtype)


def default_band_edges(h: int, w: int, width: float | None = None) -> list[float]:
    """Annulus edges from 0 past the grid's corner, ``width`` apart (1 up to 32×32, then wider)."""
    width = width or max(1.0, round(min(h, w) / 32))
    corner = math.hypot(h // 2, w // 2)
    return [i * width for i in range(int(math.floor(corner / width)) + 2)]


@dataclass(eq=False)
class BandNoiseProfile(MappingAccess, Counts):
    """Counts of a band-noise profile: ``hits`` (len(edges) + 1,) float64, the images right on the clean
    batch, under noise in each annulus ``[edges[k], edges[k+1])``, and under white noise, of ``n`` images.
    Rates: ``clean``, ``accuracy`` (per band), ``white``; ``to_dict()`` (and mapping access) gives
    ``{"edges", "accuracy", "white", "clean", "n", "eps"}``."""

    SUMMED = ("n", "hits")

    edges: list = field(default_factory=list)
    eps: float = 0.0
    n: int = 0
    hits: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.float64))
    next_batch: int = 0

    def _rates(self) -> list[float]:
        return (self.hits / self.n).tolist() if self.n else [float("nan")] * len(self.hits)

    @property
    def clean(self) -> float:
        return self._rates()[0]

    @property
    def accuracy(self) -> list[float]:
        return self._rates()[1:-1]

    @property
    def white(self) -> float:
        return self._rates()[-1]

    def to_dict(self) -> dict:
        return {"edges": list(self.edges), "accuracy": self.accuracy, "white": self.white, "clean": self.clean,
                "n": int(self.n), "eps": self.eps}


@torch.no_grad()
def band_noise_profile(model: nn.Module, data, eps: float, *, edges=None, width: float | None = None,
                       batch_size: int | None = None, seed: int = 0, lo: float = 0.0, hi: float = 1.0,
                       normalize=None, amp: bool | None = None, device=None, workers: int | None = None,
                       progress: bool | None = None, settings: PassSettings | None = None) -> BandNoiseProfile:
    """Accuracy under noise of L2 norm ``eps`` confined to each annulus ``[edges[k], edges[k+1])``, beside clean
    and white-noise accuracy of the same norm. The noise of batch i is drawn from a generator seeded by
    ``seed`` and i. Settings as for :func:`fourier_heat_map`.

    Returns:
        :class:`BandNoiseProfile` (``to_dict()``: ``{"edges", "accuracy": [per band], "white", "clean", "n",
        "eps"}``).
    """
    eps = check_number(eps, "eps", minimum=0.0)
    settings = settings_from(settings, batch_size=batch_size, normalize=normalize, amp=amp, device=device,
                             workers=workers, progress=progress)
    state = BandNoiseProfile(eps=eps)

    def step(batch, net, counts: BandNoiseProfile) -> None:
        x, y, device = batch.x, batch.y, batch.x.device
        if not counts.edges:
            counts.edges = [float(e) for e in (edges if edges is not None else
                                               default_band_edges(*x.shape[-2:], width))]
            counts.hits = torch.zeros(len(counts.edges) + 1, dtype=torch.float64)
        generator = torch.Generator(device=device).manual_seed(seed * 1_000_003 + batch.number)
        views = [x]
        for a, b in zip(counts.edges[:-1], counts.edges[1:], strict=True):
            views.append((x + band_noise(x.shape, a, b, eps, generator=generator, device=device,
                                         dtype=x.dtype)).clamp(lo, hi))
        white = torch.randn(x.shape, generator=generator, device=device, dtype=torch.float64)
        white = white * (eps / white.flatten(1).norm(dim=1).clamp_min(1e-300).view(-1, 1, 1, 1))
        views.append((x + white.to(x.dtype)).clamp(lo, hi))
        right = torch.stack([(forward_logits(net, view, amp=settings.amp).argmax(1) == y).sum() for view in views])
        counts.hits += right.double().cpu()
        counts.n += len(y)

    result = run_pass(model, data, step, state, settings=settings, desc="band noise")
    if result.n == 0:
        raise InputError("data holds no images")
    return result
