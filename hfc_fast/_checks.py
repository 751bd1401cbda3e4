"""Argument checks shared by the Python front-ends; errors name the argument."""

from __future__ import annotations

import math
import numbers

import torch

from hfc_fast.errors import InputError


def check_real_floating(t, name: str) -> None:
    """``t`` must be a real floating-point tensor of any shape."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(t).__name__}")
    if t.is_complex() or not t.is_floating_point():
        raise TypeError(f"{name} must be a real floating-point tensor, got {t.dtype}")


def check_image(x: torch.Tensor, name: str = "x") -> None:
    """``x`` must be a real floating-point tensor of shape (..., H, W)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(x).__name__}")
    if x.is_complex():
        raise TypeError(f"{name} must be a real floating-point tensor, got complex dtype {x.dtype}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (float16, bfloat16, float32 or float64), got {x.dtype}"
        )
    if x.dim() < 2:
        raise InputError(f"{name} must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}")


def check_number(value, name: str, *, minimum: float | None = None) -> float:
    """``value`` as a finite float, at least ``minimum`` when given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise InputError(f"{name} must not be NaN")
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    if math.isinf(value):
        raise InputError(f"{name} must be finite, got {value}")
    return value


def _byte_span(t: torch.Tensor) -> tuple[int, int]:
    start = t.storage_offset()
    end = start + sum((n - 1) * abs(st) for n, st in zip(t.shape, t.stride(), strict=True))
    return start * t.element_size(), (end + 1) * t.element_size()


def check_no_overlap(input: torch.Tensor, input_name: str, out: torch.Tensor, out_name: str) -> None:
    """``out`` may not share memory with ``input`` (views of one storage whose bytes meet): an op would
    read what it has already overwritten. The compiled ops check the same (``csrc/ops/common.h``)."""
    if input.numel() == 0 or out.numel() == 0:
        return
    if input.untyped_storage().data_ptr() != out.untyped_storage().data_ptr():
        return
    (a0, a1), (b0, b1) = _byte_span(input), _byte_span(out)
    if a0 < b1 and b0 < a1:
        raise InputError(f"{out_name} shares memory with {input_name}: give {out_name} memory of its own")
