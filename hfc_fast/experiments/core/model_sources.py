"""Where a command's model comes from: a training run's checkpoint, or a torchvision or timm classifier with
local weights, with the preprocessing it was trained with applied after the split.

Nothing is downloaded: weights come only from files the user has.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from hfc_fast.data.registry import load_dataset
from hfc_fast.errors import InputError, NonFiniteError, existing
from hfc_fast.experiments.core.config import TrainConfig
from hfc_fast.experiments.core.files import CHECKSUM, checksum
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
    path = existing(path, what, "file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load raises RuntimeError, EOFError, UnpicklingError, ... for a bad file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{what} {path} is not a readable PyTorch file ({reason})") from None
    if isinstance(state, dict) and CHECKSUM in state:
        if state.pop(CHECKSUM) != checksum(state):
            raise InputError(f"{what} {path} is damaged: what it holds does not match the checksum stored when "
                             "it was written (a flipped bit on disk, or a bad copy); restore it from a copy, or "
                             "remove it to train again")
    return state


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
        raise InputError(f"{checkpoint} is not a checkpoint of 'hfc train' (no config, model and history)")
    return model_from_state(state), TrainConfig.from_dict(state["config"]), state["history"]


def torchvision_classifier(name: str, weights: Path, num_classes: int) -> nn.Module:
    """A torchvision classification model built by name, its weights read from a local file."""
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise InputError(f"--torchvision {name!r} is not a torchvision classification model; e.g. resnet50, "
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
    """``model.load_state_dict(state)``; an error in one line when they do not fit, or when a weight is NaN
    or infinite (a training that diverged)."""
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        raise InputError(f"{source} do not fit {target}: {str(err).strip().splitlines()[0]}") from None
    bad = non_finite_tensors(model.state_dict())
    if bad:
        raise NonFiniteError(f"{source} hold NaN or infinite values ({', '.join(bad[:3])}"
                             f"{', …' if len(bad) > 3 else ''}): the training that wrote them diverged")


def non_finite_tensors(state: dict) -> list[str]:
    """The names of the floating-point tensors of ``state`` that hold a NaN or an infinity."""
    return [k for k, v in state.items() if isinstance(v, torch.Tensor) and v.is_floating_point()
            and not bool(torch.isfinite(v).all())]


def timm_classifier(name: str, weights: Path, num_classes: int) -> tuple[nn.Module, tuple]:
    """A timm model built by name (never pretrained), its weights read from a local file, and its own
    preprocessing ``(mean, std, (H, W))``."""
    try:
        import timm
        from timm.data import resolve_model_data_config
    except ImportError:
        raise ImportError("--timm needs the timm package: pip install timm") from None
    if name not in timm.list_models():
        raise InputError(f"--timm {name!r} is not a timm model; e.g. resnet18, convnext_tiny, vit_tiny_patch16_224")
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


def add_checkpoint_option(options: Options, group=None) -> None:
    """``--checkpoint``, the one definition: a finished training run to measure instead of training one."""
    options.add("--checkpoint", default=None, type=Path, group=group,
                help="a training run to use: its directory or its checkpoints/last.pt (default: train the "
                     "preset's model)")


def add_classifier_options(options: Options) -> None:
    """Where the classifier comes from: a training run, or a torchvision or timm model with local weights."""
    source = options.parser.add_mutually_exclusive_group()
    add_checkpoint_option(options, group=source)
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
        raise InputError(f"--{'torchvision' if args.torchvision else 'timm'} needs --weights (a local state_dict "
                         "file)")
    if getattr(args, "compare", False) and (args.checkpoint or args.torchvision or args.timm):
        raise InputError("--compare trains its own models; drop --checkpoint, --torchvision and --timm")


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
    if args.torchvision or args.timm or args.checkpoint:  # (a model trained here is recorded by exp.trained)
        exp.uses(f"classifier:{classifier_name(exp, args)}", model)
    normalize = None
    if args.normalize == "imagenet" or (args.normalize == "auto" and args.torchvision):
        normalize = (IMAGENET_MEAN, IMAGENET_STD)
    elif args.normalize == "auto" and preprocess is not None:
        normalize = preprocess
    if normalize is not None and channels != len(normalize[0]):
        raise InputError(f"--normalize needs {len(normalize[0])}-channel images, the data have {channels}")
    exp.uses("normalize", digest=json.dumps(normalize))
    return model.to(exp.dist.device).eval(), normalize


def classifier_name(exp, args) -> str:
    return args.torchvision or args.timm or (str(args.checkpoint) if args.checkpoint else
                                             f"{exp.base.model} (trained here)")
