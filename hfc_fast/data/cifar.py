"""CIFAR-10 in its python pickle batches (``cifar-10-batches-py``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from hfc_fast.errors import InputError, existing

_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _batch_folder(root: Path) -> Path:
    for folder in (root, root / "cifar-10-batches-py"):
        if (folder / "test_batch").is_file():
            return folder
    raise FileNotFoundError(
        f"{root} holds no CIFAR-10 python batches: expected data_batch_1 … data_batch_5 and test_batch "
        "(the 'CIFAR-10 python version' archive from the dataset's home page, unpacked) in it or in "
        "its cifar-10-batches-py folder"
    )


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"missing CIFAR-10 batch {path}")
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")  # the official batches are pickled dicts of arrays
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise InputError(f"{path} is not a CIFAR-10 python batch: {err}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise InputError(f"{path} is not a CIFAR-10 python batch: expected a dict with b'data' and b'labels'")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise InputError(f"{path}: expected data (N, 3072) and N labels, got {data.shape} and {labels.shape}")
    return data, labels


def load_cifar10(root: str | Path, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10 images and labels.

    Args:
        root: the ``cifar-10-batches-py`` folder, or the folder that holds it.
        split: ``"train"`` (50,000 images) or ``"test"`` (10,000).

    Returns:
        ``(images, labels)``: float32 (N, 3, 32, 32) in [0, 1], int64 (N,).
    """
    if split not in _FILES:
        raise InputError(f"split must be 'train' or 'test', got {split!r}")
    root = existing(root, "data root", "folder", "pass the unpacked cifar-10-batches-py folder")
    folder = _batch_folder(root)
    parts = [_read_batch(folder / name) for name in _FILES[split]]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    images = torch.from_numpy(data).view(-1, 3, 32, 32).float().div_(255.0)
    return images, torch.from_numpy(labels)
