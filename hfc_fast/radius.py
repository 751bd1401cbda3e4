"""What a radius is: the frequency grid it is measured on, and the values it may take.

**The grid.** An axis of length n has the signed DFT frequencies
``f = fftfreq(n) * n`` (0, 1, …, then negative; DC at index ``n // 2`` after
``fftshift``), in cycles per image. A frequency ``(fy, fx)`` of an H×W image lies
at distance ``d = sqrt(fy² + fx²)`` from DC; the largest distance on the grid is
the corner's, ``sqrt((H // 2)² + (W // 2)²)``. :func:`frequency_grid` gives
``d²`` (exact in float64: the frequencies are integers), for the full spectrum
or the half plane of a real-input transform.

**A radius of an op** (``frequency_split``, ``radial_mask``, the modules and
transforms): any real ``r >= 0``, ``inf`` included; NaN is refused. Every such
value is a well-defined filter: ``r = 0`` keeps nothing in the low band with the
strict ``d < r`` (only DC with ``inclusive=True``), and a radius past the corner
keeps everything. The compiled operators check the same rule
(``csrc/ops/common.h``, ``check_radius``), so both paths refuse the same values.

**A radius of a measurement** (the data views, band attacks and every ``hfc``
command): finite and ``r > 0`` (``r = 0`` gives an all-zero LFC, nothing to
measure), and, where the image size is known, ``r <= max(H, W)``. Radii between
the corner and ``max(H, W)`` are allowed because the paper's CIFAR-10 test grids
run to r = 28 on 32×32 images (past r ≈ 22.6 the LFC is the whole image, which
the paper shows); a larger radius is almost always a radius meant for another
image size. :func:`check_fits` applies this rule.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

from hfc_fast.errors import InputError

__all__ = ["as_radii", "check_fits", "frequency_grid", "radius_key", "scaled_radii"]

PAPER_RADII = (4, 8, 12, 16)  # the paper's CIFAR-10 radii (32×32 images)


def frequency_grid(h: int, w: int, *, half: bool = False, device=None) -> torch.Tensor:
    """Squared distance ``fy² + fx²`` of every frequency from DC, float64.

    Returns (h, w) in the layout of ``fft2`` (DC at (0, 0)), or (h, w // 2 + 1)
    with ``half``, the layout of ``rfft2``.
    """
    fy = torch.fft.fftfreq(h, d=1.0 / h, dtype=torch.float64, device=device)
    fx = (torch.fft.rfftfreq if half else torch.fft.fftfreq)(w, d=1.0 / w, dtype=torch.float64, device=device)
    return fy[:, None] ** 2 + fx[None, :] ** 2


def as_radii(radius, name: str = "radius") -> tuple[tuple[float, ...], bool]:
    """The radii of an op as a tuple of floats, and whether one number was given.

    Each must be a real number ``>= 0`` (``inf`` allowed, NaN refused).
    """
    if isinstance(radius, torch.Tensor):
        radius = radius.tolist()
    scalar = not isinstance(radius, Sequence | set)
    values = [radius] if scalar else list(radius)
    if not values:
        raise InputError(f"{name} must hold at least one value")
    radii = []
    for r in values:
        if isinstance(r, bool) or not isinstance(r, numbers.Real):
            raise TypeError(f"{name} must be a number or a sequence of numbers, got {type(r).__name__}")
        r = float(r)
        if math.isnan(r):
            raise InputError(f"{name} must not be NaN")
        if r < 0:
            raise InputError(f"{name} must be non-negative, got {r}")
        radii.append(r)
    return tuple(radii), scalar


def check_fits(radii, height: int | None = None, width: int | None = None, name: str = "radius") -> None:
    """Radii of a measurement: finite, ``> 0`` and, for a known image size, ``<= max(height, width)``."""
    limit = max(height, width) if height is not None and width is not None else math.inf
    for r in radii:
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not 0 < float(r) < math.inf:
            raise InputError(f"{name} must be a positive finite radius, got {r!r}")
        if r > limit:
            raise InputError(f"{name} {r:g} does not fit a {height}×{width} image: expected 0 < r <= {limit}")


def radius_key(r: float) -> str:
    """A radius as metrics files and result tables spell it (``4``, ``3.5``)."""
    return f"{r:g}"


def scaled_radii(image_size: int, base=PAPER_RADII) -> tuple[float, ...]:
    """Radii given on the paper's 32×32 scale, scaled to a square image of side ``image_size``."""
    return tuple(r * image_size / 32 for r in base)
