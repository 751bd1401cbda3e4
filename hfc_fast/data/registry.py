"""One entry point for every supported data set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from hfc_fast.data.cifar import CIFAR10_CLASSES, load_cifar10
from hfc_fast.data.folder import load_image_folder
from hfc_fast.data.idx import FASHION_MNIST_CLASSES, MNIST_CLASSES, load_fashion_mnist, load_mnist
from hfc_fast.errors import InputError

DATASETS = ("fashion-mnist", "mnist", "cifar10", "imagefolder")
CLASS_NAMES = {"fashion-mnist": FASHION_MNIST_CLASSES, "mnist": MNIST_CLASSES, "cifar10": CIFAR10_CLASSES}


def class_names(name: str, num_classes: int) -> list[str]:
    """The class names of data set ``name``; numbers for a data set without fixed names (an image folder)."""
    return list(CLASS_NAMES.get(name) or (str(i) for i in range(num_classes)))


@dataclass
class TensorData(Dataset):
    """A data set held in memory: images (N, C, H, W) float32 in [0, 1], labels (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def subset(self, n: int | None) -> TensorData:
        """The first ``n`` images (all when ``n`` is None or larger)."""
        if n is None or n >= len(self):
            return self
        return TensorData(self.images[:n], self.labels[:n], self.num_classes)


def load_dataset(name: str, split: str, root: str | Path | None = None, *, image_size: int | None = None):
    """``name``'s ``split`` as a :class:`TensorData` (ImageFolder: a lazily read data set).

    Args:
        name: one of ``fashion-mnist`` (default root: Debian's install folder),
            ``mnist``, ``cifar10``, ``imagefolder`` (the last three need ``root``).
        split: ``"train"`` or ``"test"`` (an ImageFolder's ``val`` folder serves as test).
        root: the data set's folder.
        image_size: ImageFolder only: the square size images are cropped to.
    """
    if name not in DATASETS:
        raise InputError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    if name != "fashion-mnist" and root is None:
        raise InputError(f"dataset {name!r} needs a data root (--data-root): nothing is downloaded")
    if name == "fashion-mnist":
        return TensorData(*load_fashion_mnist(root, split), num_classes=10)
    if name == "mnist":
        return TensorData(*load_mnist(root, split), num_classes=10)
    if name == "cifar10":
        return TensorData(*load_cifar10(root, split), num_classes=10)
    folder = load_image_folder(root, "train" if split == "train" else "val", image_size or 224)
    folder.num_classes = len(folder.classes)
    folder.image_shape = (3, folder.image_size, folder.image_size)
    return folder
