"""ResNets: the authors' released pre-activation network and a small-image ResNet-18."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from hfc_fast.models._layers import classifier, norm2d


class PreActBlock(nn.Module):
    """BN-ReLU-conv3×3-BN-ReLU-conv3×3 plus a shortcut (1×1 conv when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int, batchnorm: bool) -> None:
        super().__init__()
        self.bn1, self.bn2 = norm2d(cin, batchnorm), norm2d(cout, batchnorm)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=not batchnorm)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=not batchnorm)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = F.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class PaperResNet(nn.Module):
    """Pre-activation ResNet, ``blocks`` per stage at 16/32/64 channels, 3×3 first conv.

    The network of the authors' released code (the paper calls it ResNet-18);
    BatchNorm is off by default there.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, *, blocks: int = 5, batchnorm: bool = False,
                 dropout: float = 0.0, widths=(16, 32, 64)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=not batchnorm)
        layers, cin = [], widths[0]
        for stage, width in enumerate(widths):
            for b in range(blocks):
                layers.append(PreActBlock(cin, width, 2 if stage > 0 and b == 0 else 1, batchnorm))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.bn = norm2d(cin, batchnorm)
        self.fc = classifier(cin, num_classes, dropout)

    def forward(self, x):
        out = self.layers(self.conv1(x))
        out = F.adaptive_avg_pool2d(F.relu(self.bn(out)), 1).flatten(1)
        return self.fc(out)


class BasicBlock(nn.Module):
    """conv3×3-BN-ReLU-conv3×3-BN plus shortcut, then ReLU (He et al. 2016)."""

    def __init__(self, cin: int, cout: int, stride: int, batchnorm: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=not batchnorm)
        self.bn1 = norm2d(cout, batchnorm)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=not batchnorm)
        self.bn2 = norm2d(cout, batchnorm)
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), norm2d(cout, batchnorm))
                         if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for small images: 3×3 stem without max-pool, stages of 2 blocks at 64…512 channels."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, *, batchnorm: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, 1, 1, bias=not batchnorm), norm2d(64, batchnorm),
                                  nn.ReLU(inplace=True))
        layers, cin = [], 64
        for stage, width in enumerate((64, 128, 256, 512)):
            for b in range(2):
                layers.append(BasicBlock(cin, width, 2 if stage > 0 and b == 0 else 1, batchnorm))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.fc = classifier(512, num_classes, dropout)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1))
