"""torchvision detection models built by name, weights from local files only."""

from __future__ import annotations

from pathlib import Path

import torch


def detection_models() -> list[str]:
    import torchvision

    return list(torchvision.models.list_models(module=torchvision.models.detection))


def build_detector(name: str, num_classes: int, *, min_size: int | None = None,
                   max_size: int | None = None) -> torch.nn.Module:
    """A freshly built torchvision detector (no pretrained weights are fetched).

    Args:
        name: a builder of ``torchvision.models.detection`` (e.g. ``retinanet_resnet50_fpn``).
        num_classes: output classes including background (91 for torchvision's COCO weights).
        min_size, max_size: the model's resize bounds (torchvision's defaults when None).
    """
    import torchvision

    names = detection_models()
    if name not in names:
        raise ValueError(f"--model must be a torchvision detection builder ({', '.join(names)}), got {name!r}")
    sizes = {k: v for k, v in (("min_size", min_size), ("max_size", max_size)) if v is not None}
    return torchvision.models.get_model(name, weights=None, weights_backbone=None, num_classes=num_classes, **sizes)


def read_weights(path: str | Path) -> dict:
    """A local weights file: a plain state_dict, or a ``hfc detect train`` checkpoint.

    Returns:
        ``{"model": state_dict, "num_classes": int | None, "min_size", "max_size", "model_name"}``
        (the last four None for a plain state_dict).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--weights {path} does not exist: nothing is downloaded, give a local state_dict "
                                "or a checkpoint of 'hfc detect train'")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        config = state.get("config", {})
        return {"model": state["model"], "num_classes": state.get("num_classes"),
                "min_size": config.get("min_size"), "max_size": config.get("max_size"),
                "model_name": config.get("model")}
    return {"model": state, "num_classes": None, "min_size": None, "max_size": None, "model_name": None}


def load_detector(name: str | None, weights: str | Path, num_classes: int | None, *, min_size: int | None = None,
                  max_size: int | None = None) -> torch.nn.Module:
    """A detector with its weights from ``weights``; settings a training checkpoint holds fill the gaps.

    ``num_classes`` defaults to the checkpoint's, else 91 (torchvision's COCO weights).
    """
    saved = read_weights(weights)
    name = name or saved["model_name"] or "retinanet_resnet50_fpn"
    classes = num_classes or saved["num_classes"] or 91
    model = build_detector(name, classes, min_size=min_size or saved["min_size"],
                           max_size=max_size or saved["max_size"])
    try:
        model.load_state_dict(saved["model"])
    except RuntimeError as err:
        raise ValueError(f"--weights {weights} do not fit {name} with {classes} classes (set --model and "
                         f"--num-classes to the checkpoint's): {str(err).splitlines()[0]}") from None
    return model.eval()
