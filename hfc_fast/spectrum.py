"""Radial power spectra of images, perturbations and convolution kernels, and how smooth kernels are."""

from __future__ import annotations

import math

import torch

from hfc_fast import _ext
from hfc_fast._checks import check_image
from hfc_fast._interop import array_interop
from hfc_fast.errors import InputError
from hfc_fast.radius import frequency_grid

__all__ = ["high_frequency_share", "high_frequency_shares", "kernel_spectra", "radial_bin_count",
           "radial_power_spectrum", "radial_power_spectrum_reference"]

KERNEL_SPECTRUM_SIZE = 16  # kernels are zero-padded to this size before their DFT


def radial_bin_count(h: int, w: int) -> int:
    """Number of integer-radius bins of an (h, w) spectrum, up to its corner."""
    return int(math.floor(math.sqrt((h // 2) ** 2 + (w // 2) ** 2))) + 1


def _bins(h: int, w: int, device) -> torch.Tensor:
    return torch.floor(torch.sqrt(frequency_grid(h, w, device=device))).long()


def _bin_counts(bins: torch.Tensor, n_bins: int, dtype: torch.dtype) -> torch.Tensor:
    """Frequencies per bin (index_add rather than bincount: traceable, fixed size)."""
    flat = bins.flatten()
    return torch.zeros(n_bins, dtype=dtype, device=bins.device).index_add(0, flat, torch.ones_like(flat, dtype=dtype))


def radial_power_spectrum_reference(x: torch.Tensor) -> torch.Tensor:
    """Plain-PyTorch :func:`radial_power_spectrum` (full complex spectrum)."""
    check_image(x)
    h, w = x.shape[-2:]
    if h == 0 or w == 0:
        raise InputError(f"x must have non-empty spatial dimensions, got shape {tuple(x.shape)}")
    n_bins = radial_bin_count(h, w)
    if x.numel() == 0:  # FFT libraries reject empty batches
        return x.new_zeros((*x.shape[:-2], n_bins))
    work = x.to(torch.float64 if x.dtype == torch.float64 else torch.float32)
    power = torch.fft.fft2(work).abs().square() / (h * w)
    bins = _bins(h, w, x.device).flatten()
    flat = power.reshape(-1, h * w)
    sums = torch.zeros(flat.shape[0], n_bins, dtype=work.dtype, device=x.device)
    sums = sums.index_add(1, bins, flat)
    counts = _bin_counts(bins, n_bins, work.dtype)
    mean = sums / counts.clamp(min=1)
    return mean.reshape(*x.shape[:-2], n_bins).to(x.dtype)


@array_interop
def radial_power_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Mean spectral power per integer radius.

    Power is ``|DFT2(x)|² / (H·W)`` (so it sums to ``Σ x²`` over the spectrum);
    bin ``b`` averages the frequencies with ``b <= sqrt(fy² + fx²) < b + 1``.

    Args:
        x: real tensor (..., H, W), e.g. perturbations (B, C, H, W) or first-layer
            kernels (O, I, kh, kw).

    Returns:
        Tensor (..., n_bins) with ``n_bins = radial_bin_count(H, W)``. Differentiable.
    """
    check_image(x)
    if not _ext.use_compiled(x):
        return radial_power_spectrum_reference(x)
    return torch.ops.hfc_fast.radial_power_spectrum(x)


def kernel_spectra(weight: torch.Tensor, size: int = KERNEL_SPECTRUM_SIZE) -> torch.Tensor:
    """|DFT|² of each spatial kernel zero-padded to size×size, DC centred.

    Args:
        weight: (..., kh, kw), e.g. first-layer kernels (O, I, kh, kw).

    Returns:
        float64 tensor (..., size, size).
    """
    spectrum = torch.fft.fft2(weight.detach().double(), s=(size, size))
    return torch.fft.fftshift(spectrum.abs().square(), dim=(-2, -1))


def _high_and_total(weight: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Energy above half the Nyquist frequency and in all, per (kh, kw) slice of ``weight`` zero-padded to
    size×size (float64, shape ``weight.shape[:-2]``)."""
    power = torch.fft.fft2(weight.detach().double(), s=(size, size)).abs().square()
    high = frequency_grid(size, size, device=power.device) > (size / 4) ** 2
    return power[..., high].sum(-1), power.sum((-2, -1))


def high_frequency_share(weight: torch.Tensor, size: int = KERNEL_SPECTRUM_SIZE) -> float:
    """Share of the energy of ``weight`` (..., kh, kw), zero-padded to size×size, above half the
    Nyquist frequency (``d > size / 4`` cycles per image, i.e. > 0.25 cycles per pixel).

    Lower is smoother; a constant kernel gives 0 (paper Fig 7's "smoother" kernels).
    """
    high, total = _high_and_total(weight, size)
    total = float(total.sum())
    return float(high.sum()) / total if total > 0 else 0.0


def high_frequency_shares(weight: torch.Tensor, size: int = KERNEL_SPECTRUM_SIZE) -> torch.Tensor:
    """:func:`high_frequency_share` of each item along the first dimension of ``weight`` (N, ..., kh, kw):
    one filter (over its input channels) or one image (over its channels) each; (N,) float64."""
    if weight.dim() < 3:
        raise InputError(f"weight must be (N, ..., kh, kw) with N items, got shape {tuple(weight.shape)}")
    high, total = (t.flatten(1).sum(1) for t in _high_and_total(weight, size))
    return torch.where(total > 0, high / total.clamp_min(1e-300), torch.zeros_like(total))


if _ext.LOADED:

    @torch.library.register_fake("hfc_fast::radial_power_spectrum")
    def _radial_power_spectrum_fake(x):
        h, w = x.shape[-2:]
        return x.new_empty((*x.shape[:-2], radial_bin_count(h, w)))

    def _spectrum_setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    def _spectrum_backward(ctx, grad):
        # d/dx of sum_b g_b mean_b(|Z|²/HW) = 2 Re(IDFT2(G ⊙ Z)) with G_f = g_bin(f)/count_bin(f)
        (x,) = ctx.saved_tensors
        h, w = x.shape[-2:]
        work = x.to(torch.float64 if x.dtype == torch.float64 else torch.float32)
        bins = _bins(h, w, x.device)
        counts = _bin_counts(bins, radial_bin_count(h, w), work.dtype)
        weight = grad.to(work.dtype)[..., bins] / counts[bins]
        grad_x = 2 * torch.fft.ifft2(weight * torch.fft.fft2(work)).real
        return grad_x.to(x.dtype)

    torch.library.register_autograd(
        "hfc_fast::radial_power_spectrum", _spectrum_backward, setup_context=_spectrum_setup_context
    )
