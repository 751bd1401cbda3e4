"""torchvision detectors: built by name, weights from local files only, trained by the shared trainer."""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm.auto import tqdm

from hfc_fast.data.coco import CocoDetection
from hfc_fast.errors import InputError
from hfc_fast.experiments.core.config import DetectTrainConfig
from hfc_fast.experiments.core.figures import plot_losses
from hfc_fast.experiments.core.model_sources import checkpoint_state, load_weights
from hfc_fast.experiments.core.rundir import RunDirectory
from hfc_fast.experiments.core.training import Trainer


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
        raise InputError(f"--model must be a torchvision detection builder ({', '.join(names)}), got {name!r}")
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
    state = checkpoint_state(path, "--weights")
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
    load_weights(model, saved["model"], f"--weights {weights}",
                 f"{name} with {classes} classes (set --model and --num-classes to the checkpoint's)")
    return model.eval()


class DetectorRun(Trainer):
    """``hfc detect train``: a torchvision detector trained with SGD on a COCO-format set.

    Each rank takes its slice of every batch; the checkpoint also holds ``num_classes`` and the settings,
    which is what ``hfc detect --weights`` reads.
    """

    def __init__(self, config: DetectTrainConfig, rundir: RunDirectory, *, resume: bool, progress: bool) -> None:
        self.config = config.validate()
        super().__init__(rundir, epochs=config.epochs, device=config.device, resume=resume, progress=progress)

    def build(self) -> None:
        c = self.config
        self.data = CocoDetection(c.image_dir, c.annotations, limit=c.limit)
        self.num_classes = c.num_classes or self.data.num_classes
        if self.num_classes < self.data.num_classes:
            raise InputError(f"--num-classes {self.num_classes} is too small: the largest category id is "
                             f"{self.data.num_classes - 1}")
        torch.manual_seed(c.seed)
        self.core = build_detector(c.model, self.num_classes, min_size=c.min_size, max_size=c.max_size)
        if c.weights:
            load_weights(self.core, read_weights(c.weights)["model"], f"--weights {c.weights}", c.model)
        self.core.to(self.dist.device)
        params = [p for p in self.core.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)

    def train_epoch(self, epoch: int) -> dict:
        c, device = self.config, self.dist.device
        self.model.train()
        order = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(c.seed * 1009 + epoch))
        sums, seen = {}, 0
        bar = tqdm(range(0, len(order), c.batch_size), desc=f"epoch {epoch + 1}/{c.epochs}", unit="batch",
                   disable=not self.progress or not self.dist.is_main, leave=False)
        for begin in bar:
            shard = order[begin:begin + c.batch_size].tensor_split(self.dist.world)[self.dist.rank]
            images, targets = [], []
            for index in shard.tolist():
                image, target = self.data[index]
                images.append(image.to(device))
                targets.append({"boxes": target["boxes"].to(device), "labels": target["labels"].to(device)})
            if not images:
                continue
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=c.amp):
                losses = self.model(images, targets)
            loss = sum(v.float() for v in losses.values())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(images)
            seen += len(images)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
        totals = self.dist.all_sum([float(seen), *(sums[k] for k in sorted(sums))])
        means = {k: t / max(totals[0], 1.0) for k, t in zip(sorted(sums), totals[1:], strict=True)}
        return {"loss": sum(means.values()), "losses": means}

    def checkpoint_extra(self) -> dict:
        return {"config": self.config.to_dict(), "num_classes": self.num_classes}

    def plot(self) -> None:
        plot_losses(self.history, self.out / "losses.png")

    def postfix(self, record: dict) -> dict:
        return {"loss": f"{record['loss']:.4f}"}
