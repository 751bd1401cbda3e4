"""Views of a data set the paper studies: shuffled labels, LFC/HFC images."""

from __future__ import annotations

import torch

from hfc_fast.frequency import frequency_split
from hfc_fast.transforms import normalize_by_max

BANDS = ("original", "lfc", "hfc")


def shuffle_labels(labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels permuted across the data set (paper §4, "shuffled labels").

    Returns:
        ``(shuffled, permutation)`` with ``shuffled = labels[permutation]``; the
        permutation depends only on ``seed`` and N.
    """
    generator = torch.Generator().manual_seed(int(seed))
    permutation = torch.randperm(len(labels), generator=generator)
    return labels[permutation], permutation


def band_view(x: torch.Tensor, band: str, radius: float, *, normalize: bool = True) -> torch.Tensor:
    """``x`` (B, C, H, W) itself, or its LFC/HFC at ``radius``.

    ``normalize`` divides each image by its own maximum, as the paper does for
    training on LFC or HFC (authors' ``scripts/resnet.py``).
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, got {band!r}")
    if band == "original":
        return x
    low, high = frequency_split(x, radius)
    view = low if band == "lfc" else high
    return normalize_by_max(view) if normalize else view


def tracking_radii(image_size: int, base=(4, 8, 12, 16)) -> tuple[float, ...]:
    """The paper's CIFAR radii scaled to a square image of side ``image_size`` (32 keeps them)."""
    return tuple(r * image_size / 32 for r in base)


def check_radii(radii, height: int, width: int, name: str = "radius") -> None:
    """Radii must be positive and no larger than the image (beyond it the LFC is the whole image)."""
    limit = max(height, width)
    for r in radii:
        if not 0 < r <= limit:
            raise ValueError(f"{name} {r:g} does not fit a {height}×{width} image: expected 0 < r <= {limit}")
