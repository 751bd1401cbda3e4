"""Where a command's model comes from: a training run's checkpoint, or a torchvision classifier with local weights.

Nothing is downloaded: weights come only from files the user has.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from hfc_fast.data.registry import load_dataset
from hfc_fast.experiments.core.config import TrainConfig
from hfc_fast.experiments.core.rundir import CHECKPOINT
from hfc_fast.models.registry import build_model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def checkpoint_state(path: str | Path) -> dict:
    """A checkpoint read with ``weights_only=True`` onto the CPU."""
    return torch.load(path, map_location="cpu", weights_only=True)


def model_from_state(state: dict) -> nn.Module:
    """The model a training checkpoint (``checkpoints/last.pt`` loaded) holds, in eval mode."""
    c = TrainConfig.from_dict(state["config"])
    shape = state.get("image_shape")
    if shape is None:
        data = load_dataset(c.dataset, "test", c.data_root, image_size=c.image_size)
        shape = data.image_shape
        num_classes = data.num_classes
    else:
        num_classes = state["num_classes"]
    model = build_model(c.model, in_channels=shape[0], num_classes=num_classes, image_size=shape[1],
                        batchnorm=c.batchnorm, dropout=c.dropout, **c.model_options)
    model.load_state_dict(state["model"])
    return model.eval()


def load_run(path: str | Path) -> tuple[nn.Module, TrainConfig, list[dict]]:
    """A finished training run (its directory or checkpoint file): model, settings and history."""
    path = Path(path)
    checkpoint = path / CHECKPOINT if path.is_dir() else path
    if not checkpoint.exists():
        raise FileNotFoundError(f"no training checkpoint at {checkpoint}: expected a run directory of "
                                "'hfc train' (or of a command's runs/) or its checkpoints/last.pt")
    state = checkpoint_state(checkpoint)
    return model_from_state(state), TrainConfig.from_dict(state["config"]), state["history"]


def torchvision_classifier(name: str, weights: Path, num_classes: int) -> nn.Module:
    """A torchvision classification model built by name, its weights read from a local file."""
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ValueError(f"--torchvision {name!r} is not a torchvision classification model; e.g. resnet50, "
                         "vgg16, vit_b_16")
    weights = Path(weights)
    if not weights.exists():
        raise FileNotFoundError(f"--weights {weights} does not exist: nothing is downloaded, give a local "
                                "state_dict file")
    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    state = checkpoint_state(weights)
    model.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
    return model.eval()
