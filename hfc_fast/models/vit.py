"""A tiny Vision Transformer for small and ImageNet-sized images."""

from __future__ import annotations

import torch
from torch import nn

from hfc_fast.errors import InputError


class ViTTiny(nn.Module):
    """Patch embedding, class token, learned positions, pre-norm transformer encoder, linear head.

    Patches are 4×4 for images up to 32 pixels and 16×16 above; the image
    side must be a multiple of the patch size.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, *, image_size: int = 32,
                 patch_size: int | None = None, dim: int = 128, depth: int = 6, heads: int = 4,
                 mlp_ratio: int = 2, dropout: float = 0.0,
                 batchnorm: bool = False) -> None:
        super().__init__()
        if batchnorm:
            raise InputError("vit_tiny uses LayerNorm; BatchNorm cannot be switched on")
        patch = patch_size or (4 if image_size <= 32 else 16)
        if image_size % patch:
            raise InputError(f"image_size {image_size} must be a multiple of the patch size {patch}")
        tokens = (image_size // patch) ** 2
        self.embed = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * mlp_ratio, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Sequential(nn.Dropout(dropout) if dropout > 0 else nn.Identity(), nn.Linear(dim, num_classes))

    def forward(self, x):
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], dim=1) + self.pos
        return self.head(self.norm(self.encoder(tokens))[:, 0])
