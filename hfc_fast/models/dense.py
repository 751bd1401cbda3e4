"""Fully connected networks: an MLP and the linear networks of the implicit-bias study."""

from __future__ import annotations

import torch
from torch import nn

from hfc_fast.errors import InputError


class MLP(nn.Module):
    """Flatten, then ``depth`` hidden layers of ``width`` with ReLU (BatchNorm1d optional)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, *, image_size: int = 28, width: int = 512,
                 depth: int = 2, batchnorm: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        layers, d = [nn.Flatten()], in_channels * image_size * image_size
        for _ in range(depth):
            norm = nn.BatchNorm1d(width) if batchnorm else nn.Identity()
            layers += [nn.Linear(d, width), norm, nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            d = width
        layers.append(nn.Linear(d, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class LinearConvNet(nn.Module):
    """Two-layer linear convolutional network (Gunasekar et al. 2018).

    A full-width circular convolution (``in_channels`` → 1 channel, kernel
    H×W, no bias) followed by a linear read-out; no non-linearity, so the
    network is a linear predictor ``β`` whose Fourier coefficients gradient
    descent drives towards sparsity.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, *, image_size: int = 28, **_) -> None:
        super().__init__()
        self.size = image_size
        self.conv = nn.Conv2d(in_channels, 1, image_size, bias=False)
        self.readout = nn.Linear(image_size * image_size, num_classes, bias=False)

    def forward(self, x):
        h, w = x.shape[-2:]
        if (h, w) != (self.size, self.size):
            raise InputError(f"x must be {self.size}×{self.size} images for this network, got {h}×{w}")
        # the H×W kernel over circularly wrapped input is a circular cross-correlation: a product
        # with the kernel's conjugate spectrum (conv2d on a padded input would cost H·W per pixel)
        spectrum = torch.fft.rfft2(x) * torch.fft.rfft2(self.conv.weight[0]).conj()
        out = torch.fft.irfft2(spectrum.sum(dim=1), s=(h, w))
        return self.readout(out.flatten(1))

    def effective_predictor(self) -> torch.Tensor:
        """β (num_classes, C, H, W) with ``forward(x) = ⟨β, x⟩`` per class."""
        return effective_linear_predictor(self, (self.conv.in_channels, self.size, self.size))


class LinearFC(nn.Module):
    """Two-layer linear fully connected network, the implicit-bias study's baseline.

    The hidden width defaults to the input dimension d, capped at 1024 so that
    ImageNet-sized inputs stay buildable.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, *, image_size: int = 28, width: int | None = None,
                 **_) -> None:
        super().__init__()
        d = in_channels * image_size * image_size
        width = min(d, 1024) if width is None else width
        self.shape = (in_channels, image_size, image_size)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(d, width, bias=False),
                                 nn.Linear(width, num_classes, bias=False))

    def forward(self, x):
        return self.net(x)

    def effective_predictor(self) -> torch.Tensor:
        return effective_linear_predictor(self, self.shape)


def effective_linear_predictor(model: nn.Module, shape) -> torch.Tensor:
    """β (K, *shape) of a bias-free linear model: its input gradient for each class."""
    param = next(model.parameters())
    x = torch.zeros(1, *shape, device=param.device, dtype=param.dtype, requires_grad=True)
    with torch.enable_grad():
        out = model(x)
        rows = [torch.autograd.grad(out[0, k], x, retain_graph=k < out.shape[1] - 1)[0][0] for k in range(out.shape[1])]
    return torch.stack(rows).detach()


