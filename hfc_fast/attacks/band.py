"""Frequency-band constraints on a perturbation (low- or high-frequency-only attacks)."""

from __future__ import annotations

import torch

from hfc_fast.bands import BANDS, LOW
from hfc_fast.errors import InputError
from hfc_fast.frequency import frequency_split
from hfc_fast.radius import check_fits


class BandProjection:
    """Keep only the ``"low"`` (``d < r``) or ``"high"`` (``d >= r``) band of a perturbation.

    The projection is the differentiable :func:`hfc_fast.frequency_split`, an
    orthogonal projector, so the gradient with respect to an unconstrained
    perturbation is the projected input gradient. :meth:`within` brings a
    perturbation into the band and the L∞ ball by scaling (a clip would leave
    the band), so band-limited attacks stay exactly in their band.
    """

    def __init__(self, band) -> None:
        if not (isinstance(band, tuple | list) and len(band) == 2):
            raise InputError(f'band must be a pair ("low" or "high", radius), got {band!r}')
        kind, radius = band
        if kind not in BANDS:
            raise InputError(f'band[0] must be "low" or "high", got {kind!r}')
        check_fits([radius], name="band[1]")
        self.kind = kind
        self.radius = float(radius)

    def __call__(self, delta: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) perturbation -> its component in the band, same shape."""
        low, high = frequency_split(delta, self.radius)
        return low if self.kind == LOW else high

    def within(self, delta: torch.Tensor, eps: float) -> torch.Tensor:
        """``P(δ)`` scaled, per image, to ``‖·‖∞ <= eps``: in the band and in the ε-ball."""
        banded = self(delta)
        peak = banded.abs().flatten(1).amax(dim=1).clamp_min(1e-30).view(-1, *([1] * (delta.dim() - 1)))
        return banded * torch.clamp(eps / peak, max=1.0)

    def __repr__(self) -> str:
        return f"BandProjection({self.kind!r}, {self.radius:g})"


def seen_point(projection: BandProjection | None, z: torch.Tensor, x0: torch.Tensor, eps: float, lo: float,
               hi: float) -> torch.Tensor:
    """The point the model sees for an iterate ``z``: ``z`` itself without a band, else ``x0`` plus ``z``'s
    in-band perturbation scaled into the ε-ball (:meth:`BandProjection.within`), kept in the box."""
    if projection is None:
        return z
    return (x0 + projection.within(z - x0, eps)).clamp(lo, hi)
