"""The Fourier heat map's perturbation as an op: ``x + r·ε·U_k`` for many bases at once, clipped.

For each frequency (ky, kx) the real basis image U whose DFT is non-zero only at (ky, kx) and (−ky, −kx),
unit L2 norm (for the self-conjugate frequencies, the plain cosine); the sign r is ±1 per image and per
channel, a hash of the seed, the image's index, the channel and the frequency (``include/hfc/fourier_math.h``),
so that any batching or sharding draws the same signs. The compiled kernels (CPU and CUDA) compute basis
values from indices, add, clip and write, never storing a basis; :func:`fourier_perturb_reference` defines
them in plain PyTorch. The maps built on it are in :mod:`hfc_fast.fourier`.
"""

from __future__ import annotations

import math

import torch

from hfc_fast import _ext
from hfc_fast._checks import check_no_overlap, check_number, check_real_floating
from hfc_fast.errors import InputError

__all__ = ["fourier_basis", "fourier_perturb", "fourier_perturb_reference", "fourier_signs"]

_MODULUS, _MULTIPLIER = 2147483647, 48271  # the sign hash of include/hfc/fourier_math.h


def _signed(i: torch.Tensor, n: int) -> torch.Tensor:
    return torch.where(i < (n + 1) // 2, i, i - n)


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
    if not isinstance(freqs, torch.Tensor) or freqs.dtype != torch.int64:  # a type error, as the op's own check
        raise TypeError(f"freqs must be an int64 tensor, got {getattr(freqs, 'dtype', type(freqs).__name__)}")
    if freqs.dim() != 2 or freqs.shape[1] != 2:
        raise InputError(f"freqs must have shape (K, 2) of (ky, kx), got {tuple(freqs.shape)}")
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
