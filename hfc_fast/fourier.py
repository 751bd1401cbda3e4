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
written by the compiled ``fourier_perturb`` (CPU and CUDA: basis values from
indices, add, clip, write; no basis is stored); :func:`fourier_perturb_reference`
defines it in plain PyTorch.

**One-pass (linearised) map**: the mean over images and channels of
``|DFT2(∇x L)|`` (orthonormal DFT), the first-order sensitivity to each frequency
from one backward pass per batch; :func:`rank_correlation` says how well it
orders frequencies like the exact map.

**Band-noise profile**: accuracy under Gaussian noise confined to the annulus
``r_k <= d < r_k+1`` of the grid, scaled to an L2 norm ε per image, beside white
noise of the same norm.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from hfc_fast import _ext
from hfc_fast._checks import check_no_overlap, check_number, check_real_floating
from hfc_fast._distributed import all_sum, rank_and_world
from hfc_fast._model import PROBABILITIES, forward_logits, frozen_eval, model_device, normalised_output
from hfc_fast.data.batching import rank_batches
from hfc_fast.errors import InputError
from hfc_fast.radius import frequency_grid
from hfc_fast.tracking import Normalize

__all__ = ["FourierHeatMap", "band_noise", "band_noise_profile", "fourier_basis", "fourier_heat_map",
           "fourier_perturb", "fourier_perturb_reference", "fourier_signs", "heat_map_frequencies",
           "linearised_map", "rank_correlation"]

_MODULUS, _MULTIPLIER = 2147483647, 48271  # the sign hash of include/hfc/fourier_math.h


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


def fourier_basis(h: int, w: int, ky: int, kx: int, *, dtype=torch.float64, device=None) -> torch.Tensor:
    """The unit-norm basis image (h, w) of frequency (ky, kx), as the kernels compute it."""
    y = torch.arange(h, device=device, dtype=torch.int64)
    x = torch.arange(w, device=device, dtype=torch.int64)
    a = 2 * math.pi * ((ky * y) % h).double() / h
    b = 2 * math.pi * ((kx * x) % w).double() / w
    self_conjugate = (2 * ky) % h == 0 and (2 * kx) % w == 0
    norm = math.sqrt((1.0 if self_conjugate else 2.0) / (h * w))
    return (norm * (torch.cos(a)[:, None] * torch.cos(b)[None, :] - torch.sin(a)[:, None] * torch.sin(b)[None, :])
            ).to(dtype)


def fourier_signs(seed: int, images: torch.Tensor, channels: int, fid: int) -> torch.Tensor:
    """The ±1 sign (len(images), channels) of each image index and channel at frequency id
    ``fid = (ky mod H)·W + (kx mod W)``: the kernels' hash, in exact int64 arithmetic."""
    def step(state, value):
        return (state * _MULTIPLIER + value + 1) % _MODULUS

    s = torch.full((len(images), channels), seed % _MODULUS, dtype=torch.int64)
    s = step(s, (images.to(torch.int64) % _MODULUS)[:, None])
    s = step(s, torch.arange(channels, dtype=torch.int64)[None, :])
    for value in (fid, 0, 0):
        s = step(s, value)
    return torch.where((s >> 15) & 1 == 1, 1.0, -1.0)


def _check_perturb_args(x, freqs, eps, seed, image_offset, lo, hi):
    check_real_floating(x, "x")
    if x.dim() != 4:
        raise InputError(f"x must be a batch of images (B, C, H, W), got shape {tuple(x.shape)}")
    if not isinstance(freqs, torch.Tensor) or freqs.dtype != torch.int64 or freqs.dim() != 2 or freqs.shape[1] != 2:
        raise InputError("freqs must be an int64 tensor of shape (K, 2) of (ky, kx)")
    if freqs.device != x.device:
        raise InputError(f"freqs must be on the device of x ({x.device}), got {freqs.device}")
    check_number(eps, "eps", minimum=0.0)
    for name, value in (("seed", seed), ("image_offset", image_offset)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{name} must be a non-negative integer, got {value!r}")
    if check_number(lo, "lo") > check_number(hi, "hi"):
        raise InputError(f"lo must not exceed hi, got lo={lo} hi={hi}")


@torch.no_grad()
def fourier_perturb_reference(x: torch.Tensor, freqs: torch.Tensor, eps: float, seed: int = 0,
                              image_offset: int = 0, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """Plain-PyTorch :func:`fourier_perturb`: the definition the kernels are held to."""
    _check_perturb_args(x, freqs, eps, seed, image_offset, lo, hi)
    b, c, h, w = x.shape
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    images = torch.arange(image_offset, image_offset + b)
    out = []
    for ky, kx in freqs.tolist():
        fid = (ky % h) * w + (kx % w)
        signs = fourier_signs(seed, images, c, fid).to(device=x.device, dtype=torch.float64)
        delta = (signs[:, :, None, None] * eps * fourier_basis(h, w, ky, kx, device=x.device)).to(work)
        out.append((x.to(work) + delta).clamp(lo, hi).to(x.dtype))
    return torch.cat(out) if out else x.new_empty((0, c, h, w))


@torch.no_grad()
def fourier_perturb(x: torch.Tensor, freqs: torch.Tensor, eps: float, seed: int = 0, image_offset: int = 0,
                    lo: float = 0.0, hi: float = 1.0, *, out: torch.Tensor | None = None) -> torch.Tensor:
    """The Fourier heat map's perturbed images of a batch at K frequencies, in one pass.

    Args:
        x: (B, C, H, W) images in ``[lo, hi]``.
        freqs: (K, 2) int64 signed frequencies ``(ky, kx)``.
        eps: L2 norm of each channel's perturbation.
        seed, image_offset: the signs' seed and the global index of ``x[0]`` (signs depend on the index).
        lo, hi: pixel box.
        out: optional (K·B, C, H, W) buffer to write into (not sharing memory with ``x``).

    Returns:
        (K·B, C, H, W), basis-major: rows ``k·B … k·B + B − 1`` hold frequency k.
    """
    _check_perturb_args(x, freqs, eps, seed, image_offset, lo, hi)
    shape = (freqs.shape[0] * x.shape[0], *x.shape[1:])
    if out is not None:
        if tuple(out.shape) != shape or out.dtype != x.dtype or out.device != x.device or not out.is_contiguous():
            raise InputError(f"out must be a contiguous {x.dtype} tensor of shape {shape} on {x.device}")
        check_no_overlap(x, "x", out, "out")
    if not _ext.use_compiled(x):
        result = fourier_perturb_reference(x, freqs, eps, seed, image_offset, lo, hi)
        return out.copy_(result) if out is not None else result
    if out is not None:
        torch.ops.hfc_fast.fourier_perturb.out(x, freqs, float(eps), int(seed), int(image_offset), float(lo),
                                               float(hi), out=out)
        return out
    return torch.ops.hfc_fast.fourier_perturb(x, freqs, float(eps), int(seed), int(image_offset), float(lo),
                                              float(hi))


if _ext.LOADED:

    @torch.library.register_fake("hfc_fast::fourier_perturb")
    def _fourier_perturb_fake(x, freqs, eps, seed, image_offset, lo, hi):
        return x.new_empty((freqs.shape[0] * x.shape[0], *x.shape[1:]))

    @torch.library.register_fake("hfc_fast::fourier_perturb.out")
    def _fourier_perturb_out_fake(x, freqs, eps, seed, image_offset, lo, hi, *, out):
        return None


# ---------------------------------------------------------------------- the maps
def _refuse_probabilities(logits: torch.Tensor) -> None:
    """The loss map needs logits: a model ending in softmax is refused (log-softmax outputs are logits up to a
    constant and give the same loss)."""
    if normalised_output(logits) == PROBABILITIES:
        raise InputError("model must return logits, but its outputs look like probabilities (rows in [0, 1] "
                         "summing to 1): the loss map needs logits; remove the final softmax")


def _pass(model, data, normalize, device, batch_size: int, workers: int, start: int = 0):
    """What a pass over ``data`` needs: the device (the model's by default), the model behind the
    normalisation there, and this rank's batches from batch ``start`` on with their count."""
    device = torch.device(device) if device is not None else model_device(model)
    net = (model if normalize is None else Normalize(model, *normalize)).to(device)
    return (device, net, *rank_batches(data, batch_size, workers, start))


@dataclass
class FourierHeatMap:
    """Counts of a Fourier heat map (summed over ranks), and the maps they give.

    Attributes:
        size: (H, W) of the grid; eps: the perturbation's L2 norm per channel.
        freqs: (K, 2) the frequencies evaluated, one of each conjugate pair.
        errors, loss: (K,) float64 summed misclassifications and cross-entropy over ``n`` images.
        clean_errors, clean_loss: the same without perturbation.
    """

    size: tuple[int, int]
    eps: float
    freqs: torch.Tensor
    errors: torch.Tensor
    loss: torch.Tensor
    n: int = 0
    clean_errors: float = 0.0
    clean_loss: float = 0.0
    next_batch: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def error_rate(self) -> torch.Tensor:
        return self.errors / max(self.n, 1)

    @property
    def mean_loss(self) -> torch.Tensor:
        return self.loss / max(self.n, 1)

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

    def state_dict(self) -> dict:
        return {"size": list(self.size), "eps": self.eps, "freqs": self.freqs, "errors": self.errors, "loss": self.loss,
                "n": self.n, "clean_errors": self.clean_errors, "clean_loss": self.clean_loss,
                "next_batch": self.next_batch}

    @classmethod
    def from_state(cls, state: dict) -> FourierHeatMap:
        return cls(tuple(state["size"]), float(state["eps"]), state["freqs"], state["errors"], state["loss"],
                   int(state["n"]), float(state["clean_errors"]), float(state["clean_loss"]),
                   int(state["next_batch"]))


@torch.no_grad()
def fourier_heat_map(model: nn.Module, data, eps: float, *, stride: int = 1, max_radius: float | None = None,
                     freqs: torch.Tensor | None = None, batch_size: int = 250, images_per_pass: int | None = None,
                     seed: int = 0, lo: float = 0.0, hi: float = 1.0, normalize=None, amp: bool = False,
                     channels_last: bool = True, device=None, workers: int = 0, progress: bool = False,
                     state: FourierHeatMap | None = None, save=None, save_every: int = 5) -> FourierHeatMap:
    """The Fourier heat map of ``model`` on ``data``: error rate and mean loss at every frequency.

    Args:
        model: a classifier returning logits; in eval mode for the pass, then restored.
        data: a DataLoader, a Dataset or an ``(images, labels)`` pair; images (B, C, H, W) in ``[lo, hi]``.
        eps: L2 norm of each channel's perturbation (Yin et al. use 4 on CIFAR-10).
        stride, max_radius: thin the grid (see :func:`heat_map_frequencies`); or ``freqs`` (K, 2) to name them.
        batch_size: images per batch of a Dataset or pair.
        images_per_pass: how many perturbed images go through the model at once (bases × batch); default 512
            on a CPU (larger passes leave the caches) and 8192 on a GPU.
        seed: the signs' seed.
        normalize: ``(mean, std)`` or ``(mean, std, (H, W))`` applied after perturbing.
        channels_last: run a channels-last copy of the model on channels-last images (several times faster
            convolutions on CPUs; the same predictions up to float rounding). The caller's model is untouched.
        state, save, save_every: counts of an interrupted pass to continue from, and a callback given the
            counts every ``save_every`` batches and at the end (this rank's, for resuming).

    Under an initialised torch.distributed process group rank r takes every r-th batch and the counts are
    summed. Returns :class:`FourierHeatMap`.
    """
    eps = check_number(eps, "eps", minimum=0.0)
    device, net, batches, total = _pass(model, data, normalize, device, batch_size, workers,
                                        state.next_batch if state else 0)
    images_per_pass = images_per_pass or (8192 if device.type == "cuda" else 512)
    if isinstance(images_per_pass, bool) or not isinstance(images_per_pass, int) or images_per_pass < 1:
        raise InputError(f"images_per_pass must be a positive integer, got {images_per_pass!r}")
    layout = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:
        net = copy.deepcopy(net).eval().to(memory_format=torch.channels_last)
    if state is not None:  # continue from a copy: the caller's saved counts stay as they were
        state = FourierHeatMap.from_state({k: (v.clone() if torch.is_tensor(v) else v)
                                           for k, v in state.state_dict().items()})
    rank, _ = rank_and_world()
    bar = None
    try:
        with frozen_eval(model):
            for i, (x, y) in batches:
                x, y = x.to(device), y.to(device)
                if state is None:
                    h, w = x.shape[-2:]
                    ks = freqs if freqs is not None else \
                        heat_map_frequencies(h, w, stride=stride, max_radius=max_radius)
                    state = FourierHeatMap((h, w), eps, ks.cpu(), torch.zeros(len(ks), dtype=torch.float64),
                                           torch.zeros(len(ks), dtype=torch.float64))
                if bar is None:
                    bar = tqdm(total=None if total is None else total * len(state.freqs), desc="Fourier heat map",
                               unit="basis", unit_scale=True, leave=False, disable=not progress or rank != 0)
                offset = i * (getattr(data, "batch_size", None) or batch_size)
                logits = forward_logits(net, x.contiguous(memory_format=layout), amp=amp)
                _refuse_probabilities(logits)
                state.clean_errors += float((logits.argmax(1) != y).sum())
                state.clean_loss += float(F.cross_entropy(logits, y, reduction="sum"))
                _count_bases(net, x, y, state, eps=eps, seed=seed, offset=offset, lo=lo, hi=hi, layout=layout, amp=amp,
                             chunk=max(1, images_per_pass // len(x)), bar=bar)
                state.n += len(y)
                state.next_batch = i + 1
                if save is not None and (state.next_batch % save_every == 0):
                    save(state)
    finally:
        if bar is not None:
            bar.close()
    if state is None:
        raise InputError("data holds no images")
    if save is not None:
        save(state)
    return _summed(state, device)


def _count_bases(net, x, y, state: FourierHeatMap, *, eps, seed, offset, lo, hi, layout, amp, chunk, bar) -> None:
    """Add one batch's errors and losses at every frequency of ``state``, ``chunk`` bases per model pass."""
    ks = state.freqs.to(x.device)
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
        bar.update(len(part))


def _summed(state: FourierHeatMap, device) -> FourierHeatMap:
    k = len(state.freqs)
    totals = all_sum([float(state.n), state.clean_errors, state.clean_loss, *state.errors.tolist(),
                      *state.loss.tolist()], device)
    return FourierHeatMap(state.size, state.eps, state.freqs, torch.tensor(totals[3:3 + k], dtype=torch.float64),
                          torch.tensor(totals[3 + k:], dtype=torch.float64), int(totals[0]), totals[1], totals[2],
                          state.next_batch)


def linearised_map(model: nn.Module, data, *, batch_size: int = 250, normalize=None, amp: bool = False,
                   device=None, workers: int = 0, progress: bool = False) -> torch.Tensor:
    """The one-pass map: mean over images and channels of ``|DFT2(∇x L)|`` (orthonormal DFT, L the
    cross-entropy of each image), (H, W) float64 with DC at the centre. One backward pass per batch."""
    device, net, batches, total = _pass(model, data, normalize, device, batch_size, workers)
    rank, _ = rank_and_world()
    acc, n = None, 0
    with frozen_eval(model):
        for _, (x, y) in tqdm(batches, total=total, desc="linearised map", unit="batch", leave=False,
                              disable=not progress or rank != 0):
            x = x.to(device).detach().requires_grad_(True)
            with torch.enable_grad():
                logits = forward_logits(net, x, amp=amp)
                _refuse_probabilities(logits.detach())
                grad = torch.autograd.grad(F.cross_entropy(logits, y.to(device), reduction="sum"), x)[0]
            part = torch.fft.fft2(grad.double(), norm="ortho").abs().sum((0, 1))
            acc = part if acc is None else acc + part
            n += grad.shape[0] * grad.shape[1]
    if acc is None:
        raise InputError("data holds no images")
    h, w = acc.shape
    totals = all_sum([float(n), *acc.flatten().tolist()], device)
    return torch.fft.fftshift(torch.tensor(totals[1:], dtype=torch.float64).view(h, w) / totals[0])


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


@torch.no_grad()
def band_noise_profile(model: nn.Module, data, eps: float, *, edges=None, width: float | None = None,
                       batch_size: int = 250, seed: int = 0, lo: float = 0.0, hi: float = 1.0, normalize=None,
                       amp: bool = False, device=None, workers: int = 0, progress: bool = False) -> dict:
    """Accuracy under noise of L2 norm ``eps`` confined to each annulus ``[edges[k], edges[k+1])``, beside clean
    and white-noise accuracy of the same norm.

    Returns:
        ``{"edges", "accuracy": [per band], "white", "clean", "n", "eps"}``.
    """
    eps = check_number(eps, "eps", minimum=0.0)
    device, net, batches, total = _pass(model, data, normalize, device, batch_size, workers)
    rank, _ = rank_and_world()
    hits, n = None, 0
    with frozen_eval(model):
        for i, (x, y) in tqdm(batches, total=total, desc="band noise", unit="batch", leave=False,
                              disable=not progress or rank != 0):
            x, y = x.to(device), y.to(device)
            if edges is None:
                edges = default_band_edges(*x.shape[-2:], width)
            edges = [float(e) for e in edges]
            if hits is None:
                hits = torch.zeros(len(edges) + 1, dtype=torch.float64)
            generator = torch.Generator(device=device).manual_seed(seed * 1_000_003 + i)
            views = [x]
            for a, b in zip(edges[:-1], edges[1:], strict=True):
                views.append((x + band_noise(x.shape, a, b, eps, generator=generator, device=device,
                                             dtype=x.dtype)).clamp(lo, hi))
            white = torch.randn(x.shape, generator=generator, device=device, dtype=torch.float64)
            white = white * (eps / white.flatten(1).norm(dim=1).clamp_min(1e-300).view(-1, 1, 1, 1))
            views.append((x + white.to(x.dtype)).clamp(lo, hi))
            for v, view in enumerate(views):
                hits[v] += float((forward_logits(net, view, amp=amp).argmax(1) == y).sum())
            n += len(y)
    if hits is None:
        raise InputError("data holds no images")
    totals = all_sum([float(n), *hits.tolist()], device)
    acc = [t / totals[0] for t in totals[1:]]
    return {"edges": edges, "accuracy": acc[1:-1], "white": acc[-1], "clean": acc[0], "n": int(totals[0]), "eps": eps}
