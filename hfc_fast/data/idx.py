"""IDX files (MNIST, Fashion-MNIST), gzipped or not."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

# Where Debian's dataset-fashion-mnist package installs the idx files.
FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_SPLITS = {"train": "train", "test": "t10k"}


def read_idx(path: str | Path) -> torch.Tensor:
    """The array stored in an IDX file (``.gz`` read transparently).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a well-formed IDX file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    n_dims = data[3]
    header = 4 + 4 * n_dims
    if len(data) < header:
        raise ValueError(f"{path} is truncated: header needs {header} bytes, file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"{path} holds {len(data) - header} data bytes, its header promises {expected}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


def _find(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(
        f"{root} has no {stem}[.gz]. Fashion-MNIST is expected in idx format there; on Debian or Ubuntu "
        f"`apt-get install dataset-fashion-mnist` puts it in {FASHION_MNIST_ROOT}, or pass the folder "
        "that holds train-images-idx3-ubyte.gz and the other three files."
    )


def load_fashion_mnist(root: str | Path | None = None, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST (or MNIST, same layout) images and labels.

    Args:
        root: folder with the four idx files; default: Debian's install folder.
        split: ``"train"`` or ``"test"``.

    Returns:
        ``(images, labels)``: float32 (N, 1, 28, 28) in [0, 1], int64 (N,).
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = FASHION_MNIST_ROOT if root is None else Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"data root {root} does not exist. On Debian or Ubuntu `apt-get install dataset-fashion-mnist` "
            f"installs Fashion-MNIST in {FASHION_MNIST_ROOT}; or pass a folder with the idx files."
        )
    prefix = _SPLITS[split]
    images = read_idx(_find(root, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(root, f"{prefix}-labels-idx1-ubyte"))
    if images.dim() != 3 or labels.dim() != 1 or len(images) != len(labels):
        raise ValueError(f"{root}: expected (N, H, W) images and (N,) labels, got {tuple(images.shape)} "
                         f"and {tuple(labels.shape)}")
    return images.unsqueeze(1).float().div_(255.0), labels.long()
