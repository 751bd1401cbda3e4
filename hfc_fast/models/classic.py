"""LeNet, AlexNet and VGG in small-image variants, and a plain small CNN."""

from __future__ import annotations

from torch import nn

from hfc_fast.models._layers import classifier, norm2d


def _conv(cin: int, cout: int, k: int, batchnorm: bool, padding: int | None = None) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=k // 2 if padding is None else padding, bias=not batchnorm),
            norm2d(cout, batchnorm), nn.ReLU(inplace=True)]


class _ConvClassifier(nn.Module):
    """``fc(features(x).flatten(1))``: a convolutional feature stack, then fully connected layers."""

    def __init__(self, features: nn.Sequential, fc: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.fc = fc

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


class LeNet(_ConvClassifier):
    """conv5(6)-pool-conv5(16)-pool-fc120-fc84-fc; pooled to 5×5 so any input size works."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, *, batchnorm: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__(nn.Sequential(*_conv(in_channels, 6, 5, batchnorm), nn.MaxPool2d(2),
                                       *_conv(6, 16, 5, batchnorm, padding=0), nn.MaxPool2d(2),
                                       nn.AdaptiveAvgPool2d(5)),
                         classifier(16 * 25, num_classes, dropout, hidden=(120, 84)))


class AlexNet(_ConvClassifier):
    """AlexNet for small images: five 3×3 convs (64-192-384-256-256), three pools, fc 1024-1024."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, *, batchnorm: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__(nn.Sequential(
            *_conv(in_channels, 64, 3, batchnorm), nn.MaxPool2d(2),
            *_conv(64, 192, 3, batchnorm), nn.MaxPool2d(2),
            *_conv(192, 384, 3, batchnorm), *_conv(384, 256, 3, batchnorm), *_conv(256, 256, 3, batchnorm),
            nn.AdaptiveMaxPool2d(2),
        ), classifier(256 * 4, num_classes, dropout, hidden=(1024, 1024)))


VGG_CONFIGS = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


class VGG(_ConvClassifier):
    """VGG for small images: the 3×3 conv stacks, pooling only while the map is at least 2 wide."""

    def __init__(self, config: str = "vgg11", in_channels: int = 3, num_classes: int = 10, *, image_size: int = 32,
                 batchnorm: bool = False, dropout: float = 0.0) -> None:
        layers, cin, size = [], in_channels, image_size
        for item in VGG_CONFIGS[config]:
            if item == "M":
                if size >= 2:
                    layers.append(nn.MaxPool2d(2))
                    size //= 2
            else:
                layers += _conv(cin, item, 3, batchnorm)
                cin = item
        layers.append(nn.AdaptiveAvgPool2d(1))
        super().__init__(nn.Sequential(*layers), classifier(512, num_classes, dropout, hidden=(512,)))


class SmallCNN(_ConvClassifier):
    """conv3(16)-pool-conv3(32)-pool-fc128-fc: quick to train on a laptop CPU."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, *, batchnorm: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__(nn.Sequential(*_conv(in_channels, 16, 3, batchnorm), nn.MaxPool2d(2),
                                       *_conv(16, 32, 3, batchnorm), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(7)),
                         classifier(32 * 49, num_classes, dropout, hidden=(128,)))
