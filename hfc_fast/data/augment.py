"""Batched geometric augmentation on tensors (the lecture's scale/translation/rotation training)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hfc_fast.errors import InputError


def random_affine(x: torch.Tensor, *, degrees: float = 15.0, translate: float = 0.1,
                  scale: tuple[float, float] = (0.9, 1.1), generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image of ``x`` (B, C, H, W) rotated, scaled and shifted by its own random amounts.

    Angles are drawn from U(−degrees, degrees), shifts from U(−translate, translate)
    of the image size, scale factors from U(*scale); bilinear resampling, zeros outside.
    """
    if x.dim() != 4:
        raise InputError(f"x must be (B, C, H, W), got shape {tuple(x.shape)}")
    b = x.shape[0]

    def uniform(lo, hi):
        return torch.rand(b, generator=generator, dtype=torch.float32).mul(hi - lo).add(lo)

    angle = uniform(-degrees, degrees) * (math.pi / 180)
    factor = uniform(*scale)
    shift = torch.stack([uniform(-translate, translate), uniform(-translate, translate)], 1) * 2  # grid units
    cos, sin = angle.cos() / factor, angle.sin() / factor
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
