"""Radial low/high frequency split of images (Wang et al., CVPR 2020, §3.1).

For a real image ``x`` of shape (..., H, W), each channel independently:
``Z = DFT2(x)``; with the signed DFT frequencies ``fy, fx`` (DC at index
``size // 2`` after fftshift), the low-pass mask keeps ``fy² + fx² < r²``
(``<=`` with ``inclusive=True``). ``low = Re(IDFT2(Z·M))`` and
``high = x - low``. The mask is symmetric under f → -f, so the real-input
transform gives exactly the paper's complex route.

:func:`frequency_split_reference` defines the semantics in plain PyTorch;
:func:`frequency_split` runs the compiled operator when it is built.
"""

from __future__ import annotations

import torch

from hfc_fast import _ext
from hfc_fast._checks import check_image, check_no_overlap
from hfc_fast._interop import array_interop
from hfc_fast.bands import BANDS
from hfc_fast.errors import InputError
from hfc_fast.radius import as_radii, frequency_grid

__all__ = [
    "frequency_split",
    "frequency_split_reference",
    "high_pass",
    "low_pass",
    "radial_mask",
    "radial_mask_reference",
]


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _keep(dist2: torch.Tensor, radius: float, inclusive: bool) -> torch.Tensor:
    r2 = radius * radius
    return dist2 <= r2 if inclusive else dist2 < r2


def frequency_split_reference(x: torch.Tensor, radius, *, inclusive: bool = False):
    """Plain-PyTorch radial split; the definition the compiled kernels are held to.

    Args:
        x: real tensor (..., H, W).
        radius: a number, or a sequence of R numbers.
        inclusive: keep ``d <= r`` instead of ``d < r`` in the low band.

    Returns:
        ``(low, high)``, each (..., H, W) for one radius or (R, ..., H, W) for a
        sequence, in the dtype of ``x``. Differentiable.
    """
    check_image(x)
    radii, scalar = as_radii(radius)
    h, w = x.shape[-2:]
    if x.numel() == 0:  # FFT libraries reject empty batches
        empty = x.new_empty((len(radii), *x.shape))
        return (empty[0], empty[0].clone()) if scalar else (empty, empty.clone())
    work = x.contiguous().to(_compute_dtype(x.dtype))  # outputs contiguous whatever the input layout
    dist2 = frequency_grid(h, w, half=True, device=x.device)
    masks = torch.stack([_keep(dist2, r, inclusive) for r in radii]).to(work.dtype)
    masks = masks.view(len(radii), *([1] * (x.dim() - 2)), *masks.shape[-2:])
    spectrum = torch.fft.rfft2(work)
    low = torch.fft.irfft2(spectrum.unsqueeze(0) * masks, s=(h, w))
    high = work.unsqueeze(0) - low
    low, high = low.to(x.dtype), high.to(x.dtype)
    return (low[0], high[0]) if scalar else (low, high)


def _check_out(out, x: torch.Tensor, n_radii: int, scalar: bool):
    """The caller's (low, high) buffers viewed as (R, *x.shape)."""
    if not (isinstance(out, tuple | list) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
        raise TypeError("out must be a pair of tensors (low, high)")
    if torch.is_grad_enabled() and x.requires_grad:
        raise RuntimeError("frequency_split(..., out=...) does not support automatic differentiation; "
                           "call it without out= or under torch.no_grad()")
    shape = tuple(x.shape) if scalar else (n_radii, *x.shape)
    views = []
    for name, t in zip(BANDS, out, strict=True):
        if tuple(t.shape) != shape:
            raise InputError(f"out {name} must have shape {shape}, got {tuple(t.shape)}")
        if t.dtype != x.dtype:
            raise TypeError(f"out {name} must have the dtype of x ({x.dtype}), got {t.dtype}")
        if t.device != x.device:
            raise InputError(f"out {name} must be on the device of x ({x.device}), got {t.device}")
        if not t.is_contiguous():
            raise InputError(f"out {name} must be contiguous")
        check_no_overlap(x, "x", t, f"out {name}")
        views.append(t.unsqueeze(0) if scalar else t)
    check_no_overlap(out[0], "out low", out[1], "out high")
    return views


@array_interop
def frequency_split(x: torch.Tensor, radius, *, inclusive: bool = False, out=None):
    """Split ``x`` into its low- and high-frequency components (LFC, HFC).

    Args:
        x: real tensor (..., H, W): float32/float64, or float16/bfloat16
            (computed in float32). The last two axes are the image's height and
            width, every other axis is filtered independently (channels first,
            as torch's (B, C, H, W)). NumPy and CuPy arrays are accepted and the
            result comes back as the same kind; an array whose last axis looks
            like channels (H×W×C) gets a warning.
        radius: a number, or a sequence of R numbers sharing one forward
            transform.
        inclusive: keep ``d <= r`` (the paper's text) instead of the authors'
            released code's strict ``d < r``.
        out: optional ``(low, high)`` tensors of the result's shape, dtype and
            device to write into (reused buffers spare a sweep the cost of
            fresh memory); not differentiable. They may not share memory with
            ``x`` or with each other.

    Returns:
        ``(low, high)`` with ``low + high == x``: each (..., H, W) for one
        radius, or (R, ..., H, W) for a sequence. Contiguous, dtype of ``x``.

    A NaN or infinite pixel is not refused here (the op stays a pure
    function), but every frequency depends on every pixel, so it makes the
    LFC and the HFC of its whole (H, W) plane, that channel of that image,
    NaN; the other channels and images are unaffected. The measurements on
    top (tracking, sweeps, attacks, Fourier maps) refuse such data.

    Example:
        >>> low, high = frequency_split(torch.rand(8, 3, 32, 32), [4, 8, 12, 16])
        >>> low.shape
        torch.Size([4, 8, 3, 32, 32])
    """
    check_image(x)
    radii, scalar = as_radii(radius)
    if out is not None:
        low_out, high_out = _check_out(out, x, len(radii), scalar)
        if _ext.use_compiled(x):
            torch.ops.hfc_fast.frequency_split.out(x, list(radii), inclusive, low=low_out, high=high_out)
        else:
            low, high = frequency_split_reference(x, radii, inclusive=inclusive)
            low_out.copy_(low)
            high_out.copy_(high)
        return tuple(out)
    if not _ext.use_compiled(x):
        return frequency_split_reference(x, radii[0] if scalar else radii, inclusive=inclusive)
    low, high = torch.ops.hfc_fast.frequency_split(x, list(radii), inclusive)
    return (low[0], high[0]) if scalar else (low, high)


def low_pass(x: torch.Tensor, radius, *, inclusive: bool = False):
    """Low-frequency component of ``x`` (see :func:`frequency_split`)."""
    return frequency_split(x, radius, inclusive=inclusive)[0]


def high_pass(x: torch.Tensor, radius, *, inclusive: bool = False):
    """High-frequency component of ``x`` (see :func:`frequency_split`)."""
    return frequency_split(x, radius, inclusive=inclusive)[1]


def radial_mask_reference(h: int, w: int, radius: float, *, inclusive: bool = False, centered: bool = True,
                          dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """Plain-PyTorch :func:`radial_mask`."""
    _check_mask_args(h, w, radius)
    dist2 = frequency_grid(h, w, device=device)
    mask = _keep(dist2, float(radius), inclusive)
    if centered:
        mask = torch.fft.fftshift(mask)
    return mask.to(dtype)


def _check_mask_args(h: int, w: int, radius) -> None:
    for name, size in (("h", h), ("w", w)):
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"{name} must be an int, got {type(size).__name__}")
        if size < 1:
            raise InputError(f"{name} must be positive, got {size}")
    as_radii(radius)


def radial_mask(h: int, w: int, radius: float, *, inclusive: bool = False, centered: bool = True,
                dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The (h, w) low-pass mask of a radius: 1 where ``fy² + fx² < r²``.

    Args:
        h, w: spectrum size.
        radius: non-negative number.
        inclusive: ``<=`` instead of ``<``.
        centered: DC at (h // 2, w // 2), the layout after ``fftshift``, as in
            the paper's figures; else DC at (0, 0), the layout of ``fft2``.
        dtype, device: of the returned mask (bool allowed).

    Returns:
        Tensor (h, w) of zeros and ones.
    """
    _check_mask_args(h, w, radius)
    out = torch.empty(h, w, dtype=dtype, device=device)
    if not _ext.use_compiled(out):
        return radial_mask_reference(h, w, radius, inclusive=inclusive, centered=centered, dtype=dtype,
                                     device=device)
    torch.ops.hfc_fast.radial_mask_fill_(out, float(radius), inclusive, centered)
    return out


if _ext.LOADED:

    @torch.library.register_fake("hfc_fast::frequency_split")
    def _frequency_split_fake(x, radii, inclusive=False):
        shape = (len(radii), *x.shape)
        return x.new_empty(shape), x.new_empty(shape)

    @torch.library.register_fake("hfc_fast::frequency_split.out")
    def _frequency_split_out_fake(x, radii, inclusive=False, *, low, high):
        return None

    @torch.library.register_fake("hfc_fast::radial_mask_fill_")
    def _radial_mask_fill_fake(out, radius, inclusive, centered):
        return None

    def _split_setup_context(ctx, inputs, output):
        _, radii, inclusive = inputs
        ctx.radii = list(radii)
        ctx.inclusive = inclusive

    def _split_backward(ctx, grad_low, grad_high):
        # The split is linear and each band projection is self-adjoint:
        # dx = sum_r [ L_r(g_low_r - g_high_r) + g_high_r ].
        if grad_low is None and grad_high is None:
            return None, None, None
        like = grad_low if grad_low is not None else grad_high
        grad_low = torch.zeros_like(like) if grad_low is None else grad_low
        grad_high = torch.zeros_like(like) if grad_high is None else grad_high
        diff = grad_low - grad_high
        grad_x = grad_high.sum(0)
        for i, r in enumerate(ctx.radii):
            grad_x = grad_x + torch.ops.hfc_fast.frequency_split(diff[i], [r], ctx.inclusive)[0][0]
        return grad_x, None, None

    torch.library.register_autograd(
        "hfc_fast::frequency_split", _split_backward, setup_context=_split_setup_context
    )
