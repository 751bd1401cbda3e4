"""Views of a data set the paper studies: shuffled labels, LFC/HFC images."""

from __future__ import annotations

import torch

from hfc_fast.bands import LFC, MAX, NORMALIZATIONS, ORIGINAL, VIEWS, check_choice
from hfc_fast.frequency import frequency_split
from hfc_fast.transforms import normalize_by_max


def shuffle_labels(labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels permuted across the data set (paper §4, "shuffled labels").

    Returns:
        ``(shuffled, permutation)`` with ``shuffled = labels[permutation]``; the
        permutation depends only on ``seed`` and N.
    """
    generator = torch.Generator().manual_seed(int(seed))
    permutation = torch.randperm(len(labels), generator=generator)
    return labels[permutation], permutation


def band_view(x: torch.Tensor, band: str, radius: float, *, normalize: str | None = MAX) -> torch.Tensor:
    """``x`` (B, C, H, W) itself (``band="original"``), or its LFC/HFC view at ``radius``.

    ``normalize="max"`` (the default) divides each image by its own maximum, as the paper does for
    training on LFC or HFC (authors' ``scripts/resnet.py``); ``None`` leaves the view as the split made it.
    The vocabulary is :mod:`hfc_fast.bands`.
    """
    check_choice(band, VIEWS, "band")
    check_choice(normalize, NORMALIZATIONS, "normalize")
    if band == ORIGINAL:
        return x
    low, high = frequency_split(x, radius)
    view = low if band == LFC else high
    return normalize_by_max(view) if normalize == MAX else view
