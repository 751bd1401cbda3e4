"""The CNN of the locality study (Caro et al.): its first-layer kernel size is a parameter."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from hfc_fast.errors import InputError
from hfc_fast.models._layers import classifier, norm2d


class LocalCNN(nn.Module):
    """First conv k×k (3 up to the full image width, circular padding keeps the size),
    then ReLU, 2×2 max-pool, conv3×3(64), ReLU, global average pool, linear.

    With ``kernel_size`` equal to the image width the first layer is a
    global (non-local) circular convolution.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, *, kernel_size: int = 3, image_size: int = 28,
                 width: int = 32, batchnorm: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        if not 1 <= kernel_size <= image_size:
            raise InputError(f"kernel_size must be between 1 and the image width {image_size}, got {kernel_size}")
        self.kernel_size = kernel_size
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size, bias=not batchnorm)
        self.bn1 = norm2d(width, batchnorm)
        self.conv2 = nn.Conv2d(width, 64, 3, padding=1, bias=not batchnorm)
        self.bn2 = norm2d(64, batchnorm)
        self.fc = classifier(64, num_classes, dropout)

    def forward(self, x):
        k = self.kernel_size
        x = F.pad(x, ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2), mode="circular")
        out = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        out = F.relu(self.bn2(self.conv2(out)))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))
