"""Data-pipeline transforms: an image's LFC or HFC at a radius.

They take a (C, H, W) or (B, C, H, W) tensor, as after ``ToTensor``, and fit
in a ``torchvision.transforms.Compose``. ``normalize="max"`` divides each image
by its own maximum over all pixels and channels (no shift, negatives kept),
as the paper's LFC/HFC training does ("normalized to have the standard pixel
scale").
"""

from __future__ import annotations

import torch

from hfc_fast.bands import HIGH, LOW, MAX, NORMALIZATIONS, check_choice
from hfc_fast.errors import InputError
from hfc_fast.frequency import frequency_split
from hfc_fast.radius import as_radii

__all__ = ["HighPass", "LowPass", "normalize_by_max"]


def normalize_by_max(x: torch.Tensor, *, image_dims: int = 3) -> torch.Tensor:
    """Divide each image by its maximum over its last ``image_dims`` dims.

    An image whose maximum is not positive is left unchanged (dividing by a
    non-positive maximum would flip or blow it up).
    """
    if x.dim() < image_dims:
        raise InputError(f"x must have at least {image_dims} dimensions, got shape {tuple(x.shape)}")
    peak = x.flatten(x.dim() - image_dims).amax(dim=-1)
    peak = torch.where(peak > 0, peak, torch.ones_like(peak))
    return x / peak.view(*peak.shape, *([1] * image_dims))


class _BandTransform:
    keep = LOW

    def __init__(self, radius: float, *, normalize: str | None = None, inclusive: bool = False) -> None:
        radii, scalar = as_radii(radius)
        if not scalar:
            raise InputError(f"radius must be a single number for a transform, got {radius!r}")
        check_choice(normalize, NORMALIZATIONS, "normalize")
        self.radius = radii[0]
        self.normalize = normalize
        self.inclusive = inclusive

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise InputError(f"x must be a (C, H, W) or (B, C, H, W) tensor, got {shape}")
        low, high = frequency_split(x, self.radius, inclusive=self.inclusive)
        out = low if self.keep == LOW else high
        return normalize_by_max(out) if self.normalize == MAX else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(radius={self.radius}, normalize={self.normalize!r})"


class LowPass(_BandTransform):
    """The low-frequency component (LFC) of an image at ``radius``."""

    keep = LOW


class HighPass(_BandTransform):
    """The high-frequency component (HFC) of an image at ``radius``."""

    keep = HIGH
