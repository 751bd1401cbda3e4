"""Model zoo for the frequency studies; ``build_model(name, ...)`` makes any of them.

Every model takes any channel count and the image sizes of the studies
(1×28×28, 3×32×32, 3×224×224), BatchNorm on/off, dropout on the fully-connected
layers, and Xavier initialisation by default.
"""

from hfc_fast.models.classic import VGG, AlexNet, LeNet, SmallCNN
from hfc_fast.models.dense import MLP, LinearConvNet, LinearFC, effective_linear_predictor
from hfc_fast.models.local import LocalCNN
from hfc_fast.models.registry import MODELS, build_model
from hfc_fast.models.resnet import PaperResNet, ResNet18
from hfc_fast.models.vit import ViTTiny

__all__ = [
    "MLP",
    "MODELS",
    "VGG",
    "AlexNet",
    "LeNet",
    "LinearConvNet",
    "LinearFC",
    "LocalCNN",
    "PaperResNet",
    "ResNet18",
    "SmallCNN",
    "ViTTiny",
    "build_model",
    "effective_linear_predictor",
]
