"""Build any model of the zoo by name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from hfc_fast.errors import InputError
from hfc_fast.models._layers import xavier_init
from hfc_fast.models.classic import VGG, AlexNet, LeNet, SmallCNN
from hfc_fast.models.dense import MLP, LinearConvNet, LinearFC
from hfc_fast.models.local import LocalCNN
from hfc_fast.models.resnet import PaperResNet, ResNet18
from hfc_fast.models.vit import ViTTiny

# name -> (builder, whether it takes image_size, BatchNorm default)
_MODELS: dict[str, tuple[Callable[..., nn.Module], bool, bool]] = {
    "paper_resnet": (PaperResNet, False, False),
    "resnet18": (ResNet18, False, True),
    "lenet": (LeNet, False, False),
    "alexnet": (AlexNet, False, False),
    "vgg11": (lambda **kw: VGG("vgg11", **kw), True, False),
    "vgg16": (lambda **kw: VGG("vgg16", **kw), True, False),
    "small_cnn": (SmallCNN, False, False),
    "mlp": (MLP, True, False),
    "local_cnn": (LocalCNN, True, False),
    "vit_tiny": (ViTTiny, True, False),
    "linear_conv": (LinearConvNet, True, False),
    "linear_fc": (LinearFC, True, False),
}
MODELS = tuple(_MODELS)


def default_batchnorm(name: str) -> bool:
    """Whether model ``name`` has BatchNorm when ``batchnorm`` is not given."""
    if name not in _MODELS:
        raise InputError(f"model must be one of {', '.join(MODELS)}, got {name!r}")
    return _MODELS[name][2]


def build_model(name: str, *, in_channels: int = 3, num_classes: int = 10, image_size: int = 32,
                batchnorm: bool | None = None, dropout: float = 0.0, init: str = "xavier", **options) -> nn.Module:
    """A freshly initialised model of the zoo.

    Args:
        name: one of :data:`MODELS`.
        in_channels, num_classes, image_size: the data (square images).
        batchnorm: switch BatchNorm on/off (``None``: the model's default; off
            for ``paper_resnet`` as in the authors' code).
        dropout: dropout p before the fully-connected layers.
        init: ``"xavier"`` (paper §4.2) or ``"default"`` (PyTorch's).
        **options: model-specific, e.g. ``kernel_size`` for ``local_cnn``,
            ``blocks`` for ``paper_resnet``, ``dim``/``depth`` for ``vit_tiny``.
    """
    if name not in _MODELS:
        raise InputError(f"model must be one of {', '.join(MODELS)}, got {name!r}")
    if init not in ("xavier", "default"):
        raise InputError(f"init must be 'xavier' or 'default', got {init!r}")
    if not 0 <= dropout < 1:
        raise InputError(f"dropout must be in [0, 1), got {dropout}")
    builder, sized, bn_default = _MODELS[name]
    kwargs = dict(in_channels=in_channels, num_classes=num_classes, dropout=dropout,
                  batchnorm=bn_default if batchnorm is None else bool(batchnorm), **options)
    if sized:
        kwargs["image_size"] = image_size
    model = builder(**kwargs)
    return xavier_init(model) if init == "xavier" else model
