"""Small building blocks shared by the model zoo."""

from __future__ import annotations

from torch import nn


def norm2d(channels: int, batchnorm: bool) -> nn.Module:
    """BatchNorm2d, or identity when BatchNorm is switched off."""
    return nn.BatchNorm2d(channels) if batchnorm else nn.Identity()


def classifier(in_features: int, num_classes: int, dropout: float, hidden: tuple[int, ...] = ()) -> nn.Sequential:
    """Fully-connected head with dropout ``p`` before every linear layer (none when p = 0)."""
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
        width = h
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def xavier_init(model: nn.Module) -> nn.Module:
    """Xavier-uniform weights and zero biases for every conv and linear layer (paper §4.2)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
