"""Views of a data set the paper studies: shuffled labels, LFC/HFC images."""

from __future__ import annotations

import torch

from hfc_fast.errors import InputError
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
        raise InputError(f"band must be one of {', '.join(BANDS)}, got {band!r}")
    if band == "original":
        return x
    low, high = frequency_split(x, radius)
    view = low if band == "lfc" else high
    return normalize_by_max(view) if normalize else view
