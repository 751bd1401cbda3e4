"""Argument checks for the attacks; every error names the argument."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch

from hfc_fast._checks import check_number, check_real_floating


def check_batch(x: torch.Tensor, y: torch.Tensor, lo: float | None, hi: float | None, *,
                images: bool = False) -> None:
    """``x``: (B, ...) real, finite floats inside ``[lo, hi]`` ((B, C, H, W) with ``images``); ``y``: (B,)
    integer labels."""
    check_real_floating(x, "x")
    if images and x.dim() != 4:
        raise ValueError(f"x must be a batch of images (B, C, H, W), got shape {tuple(x.shape)}")
    if x.dim() < 2:
        raise ValueError(f"x must be a batch (B, ...) with at least 2 dimensions, got shape {tuple(x.shape)}")
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError("x must hold finite pixels, but it has NaN or infinite values")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a tensor of integer labels, got {type(y).__name__}")
    if y.dtype.is_floating_point or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got {y.dtype}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), one label per image of x, got {tuple(y.shape)}")
    if y.device != x.device:
        raise ValueError(f"y must be on the device of x ({x.device}), got {y.device}")
    if lo is not None and hi is not None:
        lo, hi = check_number(lo, "lo"), check_number(hi, "hi")
        if lo >= hi:
            raise ValueError(f"lo must be below hi, got lo={lo} hi={hi}")
    if x.numel():
        if lo is not None and float(x.min()) < lo:
            raise ValueError(f"x must lie in [lo, hi] = [{lo}, {hi}], but its minimum is {float(x.min()):.6g}")
        if hi is not None and float(x.max()) > hi:
            raise ValueError(f"x must lie in [lo, hi] = [{lo}, {hi}], but its maximum is {float(x.max()):.6g}")


def as_values(value, name: str, *, minimum: float = 0.0) -> tuple[float, ...]:
    """A number or a non-empty sequence of numbers, each at least ``minimum``."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    values = list(value) if isinstance(value, Sequence) else [value]
    if not values:
        raise ValueError(f"{name} must hold at least one value")
    return tuple(check_number(v, name, minimum=minimum) for v in values)


def check_count(value, name: str, *, minimum: int = 1) -> int:
    """An integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
