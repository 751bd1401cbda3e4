"""Argument checks for the attacks; every error names the argument."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch

from hfc_fast._checks import check_number, check_real_floating
from hfc_fast.errors import InputError


def check_batch(x: torch.Tensor, y: torch.Tensor, lo: float | None, hi: float | None, *,
                images: bool = False, model=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``x``: (B, ...) real, finite floats inside ``[lo, hi]`` ((B, C, H, W) with ``images``); ``y``: (B,)
    integer labels. Returns ``(x, y)`` as the attack uses them: labels of any integer type as int64, and
    images in the floating dtype of ``model``'s parameters (a float64 batch for a float32 model, say)."""
    check_real_floating(x, "x")
    if images and x.dim() != 4:
        raise InputError(f"x must be a batch of images (B, C, H, W), got shape {tuple(x.shape)}")
    if x.dim() < 2:
        raise InputError(f"x must be a batch (B, ...) with at least 2 dimensions, got shape {tuple(x.shape)}")
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise InputError("x must hold finite pixels, but it has NaN or infinite values")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a tensor of integer labels, got {type(y).__name__}")
    if y.dtype.is_floating_point or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got {y.dtype}")
    if y.shape != (x.shape[0],):
        raise InputError(f"y must have shape ({x.shape[0]},), one label per image of x, got {tuple(y.shape)}")
    if y.device != x.device:
        raise InputError(f"y must be on the device of x ({x.device}), got {y.device}")
    if lo is not None and hi is not None:
        lo, hi = check_number(lo, "lo"), check_number(hi, "hi")
        if lo >= hi:
            raise InputError(f"lo must be below hi, got lo={lo} hi={hi}")
    if x.numel():
        if lo is not None and float(x.min()) < lo:
            raise InputError(f"x must lie in [lo, hi] = [{lo}, {hi}], but its minimum is {float(x.min()):.6g}")
        if hi is not None and float(x.max()) > hi:
            raise InputError(f"x must lie in [lo, hi] = [{lo}, {hi}], but its maximum is {float(x.max()):.6g}")
    dtype = _parameter_dtype(model)
    return (x.to(dtype) if dtype is not None and x.dtype != dtype else x), y.long()


def check_upto(upto, x: torch.Tensor, radii: int) -> torch.Tensor | None:
    """``upto``: None, or (B,) integers in ``[0, radii]``, one per image of ``x`` (on its device as int64)."""
    if upto is None:
        return None
    if not isinstance(upto, torch.Tensor) or upto.dtype.is_floating_point or upto.is_complex() \
            or upto.dtype == torch.bool:
        raise TypeError(f"upto must be a tensor of integer radius counts, got "
                        f"{upto.dtype if isinstance(upto, torch.Tensor) else type(upto).__name__}")
    if upto.shape != (x.shape[0],):
        raise InputError(f"upto must have shape ({x.shape[0]},), one count per image of x, got {tuple(upto.shape)}")
    if upto.numel() and (int(upto.min()) < 0 or int(upto.max()) > radii):
        raise InputError(f"upto must count radii in [0, {radii}], got values from {int(upto.min())} to "
                         f"{int(upto.max())}")
    return upto.to(device=x.device, dtype=torch.long)


def _parameter_dtype(model) -> torch.dtype | None:
    """The floating dtype of ``model``'s first floating parameter, or None (no parameters, or a callable)."""
    params = model.parameters() if hasattr(model, "parameters") else ()
    return next((p.dtype for p in params if p.is_floating_point()), None)


def as_values(value, name: str, *, minimum: float = 0.0) -> tuple[float, ...]:
    """A number or a non-empty sequence of numbers, each at least ``minimum``."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    values = list(value) if isinstance(value, Sequence) else [value]
    if not values:
        raise InputError(f"{name} must hold at least one value")
    return tuple(check_number(v, name, minimum=minimum) for v in values)


def check_count(value, name: str, *, minimum: int = 1) -> int:
    """An integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
