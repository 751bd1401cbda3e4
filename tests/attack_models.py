"""Small models and data for the attack tests, trained in about a second on CPU."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

CLASSES, SIZE = 4, 12


class TinyCNN(nn.Module):
    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(8 * (SIZE // 2) ** 2, CLASSES)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.head(self.drop(h.flatten(1)))


def make_data(n: int, generator: torch.Generator, dtype=torch.float32):
    """Images (n, 1, SIZE, SIZE) in [0, 1]: a class template plus noise."""
    templates = torch.rand(CLASSES, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(1234))
    y = torch.randint(0, CLASSES, (n,), generator=generator)
    noise = 0.35 * torch.randn(n, 1, SIZE, SIZE, generator=generator)
    x = (0.5 * templates[y] + 0.25 + noise).clamp(0, 1)
    return x.to(dtype), y


def train_tiny_cnn(steps: int = 150, seed: int | None = None) -> tuple[TinyCNN, torch.Tensor, torch.Tensor]:
    """A trained TinyCNN and a fresh test batch (x, y) it mostly gets right."""
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = TinyCNN()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(steps):
        x, y = make_data(64, g)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    x, y = make_data(96, g)
    return model, x, y


def binary_linear(d: int, generator: torch.Generator, dtype=torch.float64) -> tuple[nn.Linear, torch.Tensor, float]:
    """A two-logit linear model whose decision function f1 − f0 = wᵀx + b; returns (model, w, b)."""
    model = nn.Linear(d, 2).to(dtype)
    with torch.no_grad():
        model.weight.copy_(torch.randn(2, d, generator=generator, dtype=dtype))
        model.bias.copy_(torch.randn(2, generator=generator, dtype=dtype))
    w = (model.weight[1] - model.weight[0]).detach()
    b = float((model.bias[1] - model.bias[0]).detach())
    return model, w, b


def linear_problem(n: int, h: int, w: int, generator: torch.Generator, *, low: float = 0.0, width: float = 1.0):
    """``n`` random (1, h, w) images in ``[low, low + width]`` before a binary linear model of them.

    Returns ``(model, w, b, x, score, y)``: the model (on flattened images), its decision function
    ``score = wᵀx + b`` and the labels it gives, ``y = 1[score > 0]``.
    """
    lin, weight, bias = binary_linear(h * w, generator)
    x = low + width * torch.rand(n, 1, h, w, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        score = x.flatten(1) @ weight + bias
    return Flat(lin), weight, bias, x, score, (score > 0).long()


class Flat(nn.Module):
    """Applies a model to flattened images."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x.flatten(1))
