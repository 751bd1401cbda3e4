"""Array interchange: the ops take NumPy and CuPy arrays and hand back the same kind.

NumPy arrays share memory with torch CPU tensors; CuPy arrays cross through
DLPack without a copy. A function decorated with :func:`array_interop`
converts its first argument and every tensor it returns.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _cupy_type() -> type | None:
    import sys

    cupy = sys.modules.get("cupy")  # only if the caller already uses CuPy
    return getattr(cupy, "ndarray", None) if cupy is not None else None


def _warn_if_channels_last(shape, name: str) -> None:
    """Image arrays from NumPy-land are usually H×W×C; the ops filter the last two axes."""
    if len(shape) >= 3 and shape[-1] in (1, 3, 4) and shape[-2] > 4 and shape[-3] > 4:
        warnings.warn(
            f"{name} has shape {tuple(shape)}: its last axis looks like colour channels (H×W×C), but the last two "
            "axes are filtered as the image's height and width. Move the channels first, e.g. "
            "np.moveaxis(x, -1, -3), or ignore this if the shape is meant.", stacklevel=4)


def to_tensor(x: Any, name: str = "x") -> tuple[torch.Tensor, str]:
    """``x`` as a tensor, and the kind to hand back (``torch``, ``numpy`` or ``cupy``)."""
    if isinstance(x, torch.Tensor):
        return x, "torch"
    if isinstance(x, np.ndarray):
        _warn_if_channels_last(x.shape, name)
        return torch.from_numpy(np.ascontiguousarray(x)), "numpy"
    cupy_array = _cupy_type()
    if cupy_array is not None and isinstance(x, cupy_array):
        _warn_if_channels_last(x.shape, name)
        return torch.from_dlpack(x), "cupy"
    raise TypeError(f"{name} must be a torch.Tensor, numpy.ndarray or cupy.ndarray, got {type(x).__name__}")


def from_tensor(t: Any, kind: str) -> Any:
    """Hand ``t`` (a tensor, or a tuple of tensors) back as ``kind``."""
    if isinstance(t, tuple):
        return tuple(from_tensor(item, kind) for item in t)
    if kind == "numpy":
        return t.detach().cpu().numpy()
    if kind == "cupy":
        import cupy

        return cupy.from_dlpack(t.detach())
    return t


def array_interop(fn: Callable) -> Callable:
    """Let ``fn(x, ...)`` take and return NumPy/CuPy arrays as well as tensors."""

    @functools.wraps(fn)
    def wrapper(x, *args, **kwargs):
        tensor, kind = to_tensor(x)
        return from_tensor(fn(tensor, *args, **kwargs), kind)

    return wrapper
