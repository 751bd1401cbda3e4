"""``nn.Module`` front-ends of the functional ops."""

from __future__ import annotations

import torch
from torch import nn

from hfc_fast.bands import BANDS, check_choice
from hfc_fast.frequency import frequency_split
from hfc_fast.radius import as_radii

__all__ = ["FrequencyFilter"]


class FrequencyFilter(nn.Module):
    """Keep the low or the high frequencies of a radius (see :func:`hfc_fast.frequency_split`).

    Args:
        radius: a number, or a sequence of R numbers (then outputs gain a
            leading R dimension).
        keep: ``"low"`` (LFC) or ``"high"`` (HFC).
        inclusive: ``d <= r`` instead of ``d < r``.

    Shape:
        input (..., H, W) → output (..., H, W), or (R, ..., H, W) for several radii.
    """

    def __init__(self, radius, keep: str = "low", *, inclusive: bool = False) -> None:
        super().__init__()
        check_choice(keep, BANDS, "keep")
        radii, scalar = as_radii(radius)
        self.radius = radii[0] if scalar else radii
        self.keep = keep
        self.inclusive = inclusive

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low, high = frequency_split(x, self.radius, inclusive=self.inclusive)
        return low if self.keep == "low" else high

    def extra_repr(self) -> str:
        return f"radius={self.radius}, keep={self.keep!r}, inclusive={self.inclusive}"
