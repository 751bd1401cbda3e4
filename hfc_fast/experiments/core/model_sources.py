"""Where a command's model comes from: a training run's checkpoint, or a torchvision or timm classifier with
local weights, with the preprocessing it was trained with applied after the split.

Nothing is downloaded: weights come only from files the user has.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from hfc_fast.data.registry import load_dataset
from hfc_fast.experiments.core.config import TrainConfig
from hfc_fast.experiments.core.options import Options, Spec
from hfc_fast.experiments.core.rundir import CHECKPOINT
from hfc_fast.models.registry import build_model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def checkpoint_state(path: str | Path, what: str = "checkpoint"):
    """A checkpoint (or weights file) read with ``weights_only=True`` onto the CPU.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a readable PyTorch checkpoint (truncated, another format, or holding
            objects other than tensors and plain containers); the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load raises RuntimeError, EOFError, UnpicklingError, ... for a bad file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{what} {path} is not a readable PyTorch file ({reason})") from None


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
    load_weights(model, state["model"], "the checkpoint's weights", c.model)
    return model.eval()


def load_run(path: str | Path) -> tuple[nn.Module, TrainConfig, list[dict]]:
    """A finished training run (its directory or checkpoint file): model, settings and history."""
    path = Path(path)
    checkpoint = path / CHECKPOINT if path.is_dir() else path
    if not checkpoint.exists():
        raise FileNotFoundError(f"no training checkpoint at {checkpoint}: expected a run directory of "
                                "'hfc train' (or of a command's runs/) or its checkpoints/last.pt")
    state = checkpoint_state(checkpoint)
    if not isinstance(state, dict) or not {"config", "model", "history"} <= set(state):
        raise ValueError(f"{checkpoint} is not a checkpoint of 'hfc train' (no config, model and history)")
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
    state = checkpoint_state(weights, "--weights")
    load_weights(model, state.get("model", state) if isinstance(state, dict) else state,
                 f"--weights {weights}", f"torchvision {name} with {num_classes} classes")
    return model.eval()


def load_weights(model: nn.Module, state, source: str, target: str) -> None:
    """``model.load_state_dict(state)``, a ValueError in one line when they do not fit."""
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        raise ValueError(f"{source} do not fit {target}: {str(err).strip().splitlines()[0]}") from None


def timm_classifier(name: str, weights: Path, num_classes: int) -> tuple[nn.Module, tuple]:
    """A timm model built by name (never pretrained), its weights read from a local file, and its own
    preprocessing ``(mean, std, (H, W))``."""
    try:
        import timm
        from timm.data import resolve_model_data_config
    except ImportError:
        raise ImportError("--timm needs the timm package: pip install timm") from None
    if name not in timm.list_models():
        raise ValueError(f"--timm {name!r} is not a timm model; e.g. resnet18, convnext_tiny, vit_tiny_patch16_224")
    weights = Path(weights)
    if not weights.exists():
        raise FileNotFoundError(f"--weights {weights} does not exist: nothing is downloaded, give a local "
                                "state_dict file")
    model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    state = checkpoint_state(weights, "--weights")
    load_weights(model, state.get("model", state) if isinstance(state, dict) else state, f"--weights {weights}",
                 f"timm {name} with {num_classes} classes")
    config = resolve_model_data_config(model)
    return model.eval(), (tuple(config["mean"]), tuple(config["std"]), tuple(config["input_size"][-2:]))


def add_classifier_options(options: Options) -> None:
    """Where the classifier comes from: a training run, or a torchvision or timm model with local weights."""
    source = options.parser.add_mutually_exclusive_group()
    options.add("--checkpoint", default=None, type=Path, group=source,
                help="a training run: its directory or checkpoints/last.pt")
    options.add("--torchvision", default=None, group=source, help="a torchvision classifier by name (needs --weights)")
    options.add("--timm", default=None, group=source, help="a timm model by name (needs --weights)")
    options.add("--weights", default=None, type=Path, help="local state_dict of the --torchvision or --timm model")
    options.add("--num-classes", default=1000, spec=Spec("int", minimum=2),
                help="classes of the --torchvision or --timm model (1000)")
    options.add("--normalize", default="auto", spec=Spec("str", choices=("auto", "imagenet", "none")),
                help="normalisation after the split (auto: ImageNet's for --torchvision, the model's own mean, "
                     "std and input size for --timm)")


def check_classifier_options(args) -> None:
    """A named torchvision or timm model needs its weights; a command's ``--compare`` (the models of hfc
    robustness, trained here) takes no other model."""
    if (args.torchvision or args.timm) and args.weights is None:
        raise ValueError(f"--{'torchvision' if args.torchvision else 'timm'} needs --weights (a local state_dict "
                         "file)")
    if getattr(args, "compare", False) and (args.checkpoint or args.torchvision or args.timm):
        raise ValueError("--compare trains its own models; drop --checkpoint, --torchvision and --timm")


def classifier(exp, args, channels: int):
    """The model of :func:`add_classifier_options` on this process's device (the preset's natural model,
    trained here, when none is named), and the normalisation to apply after the split."""
    preprocess = None
    if args.torchvision:
        model = torchvision_classifier(args.torchvision, args.weights, args.num_classes)
    elif args.timm:
        model, preprocess = timm_classifier(args.timm, args.weights, args.num_classes)
    elif args.checkpoint:
        model = load_run(args.checkpoint)[0]
    else:
        model, _ = exp.trained("natural-s0", exp.config(seed=0))
    normalize = None
    if args.normalize == "imagenet" or (args.normalize == "auto" and args.torchvision):
        normalize = (IMAGENET_MEAN, IMAGENET_STD)
    elif args.normalize == "auto" and preprocess is not None:
        normalize = preprocess
    if normalize is not None and channels != len(normalize[0]):
        raise ValueError(f"--normalize needs {len(normalize[0])}-channel images, the data have {channels}")
    return model.to(exp.dist.device).eval(), normalize


def classifier_name(exp, args) -> str:
    return args.torchvision or args.timm or (str(args.checkpoint) if args.checkpoint else
                                             f"{exp.base.model} (trained here)")
