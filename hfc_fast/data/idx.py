"""IDX files (MNIST, Fashion-MNIST), gzipped or not."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from hfc_fast.errors import InputError, existing

# Where Debian's dataset-fashion-mnist package installs the idx files.
FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")
MNIST_CLASSES = tuple(str(d) for d in range(10))

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
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise InputError(f"{path} cannot be read: {err} (a truncated or damaged download?)") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise InputError(f"{path} is not an IDX file (bad magic number)")
    n_dims = data[3]
    header = 4 + 4 * n_dims
    if len(data) < header:
        raise InputError(f"{path} is truncated: header needs {header} bytes, file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    dtype = np.dtype(_DTYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise InputError(f"{path} holds {len(data) - header} data bytes, its header promises {expected}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("="), copy=True))


def _find(root: Path, stem: str, name: str) -> Path:
    for candidate in (f"{stem}.gz", stem):
        if (root / candidate).is_file():
            return root / candidate
    hint = (f"on Debian or Ubuntu `apt-get install dataset-fashion-mnist` puts it in {FASHION_MNIST_ROOT}, or pass "
            if name == "Fashion-MNIST" else "pass ")
    raise FileNotFoundError(
        f"{root} has no {stem}[.gz]. {name} is expected in idx format there; {hint}"
        "the folder that holds train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]."
    )


def load_idx_dataset(root: str | Path, split: str = "test", *,
                     name: str = "MNIST") -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels from the four idx files of MNIST or Fashion-MNIST.

    Args:
        root: folder with ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.
        split: ``"train"`` or ``"test"``.
        name: the data set's name, for error messages.

    Returns:
        ``(images, labels)``: float32 (N, 1, H, W) in [0, 1], int64 (N,).
    """
    if split not in _SPLITS:
        raise InputError(f"split must be 'train' or 'test', got {split!r}")
    hint = (f"on Debian or Ubuntu `apt-get install dataset-fashion-mnist` installs Fashion-MNIST in "
            f"{FASHION_MNIST_ROOT}; or pass" if name == "Fashion-MNIST" else "pass")
    root = existing(root, "data root", "folder", f"{hint} a folder with the {name} idx files")
    prefix = _SPLITS[split]
    images = read_idx(_find(root, f"{prefix}-images-idx3-ubyte", name))
    labels = read_idx(_find(root, f"{prefix}-labels-idx1-ubyte", name))
    if images.dim() != 3 or labels.dim() != 1 or len(images) != len(labels):
        raise InputError(f"{root}: expected (N, H, W) images and (N,) labels, got {tuple(images.shape)} "
                         f"and {tuple(labels.shape)}")
    return images.unsqueeze(1).float().div_(255.0), labels.long()


def load_fashion_mnist(root: str | Path | None = None, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST images (N, 1, 28, 28) in [0, 1] and labels (N,); default root: Debian's install folder."""
    return load_idx_dataset(FASHION_MNIST_ROOT if root is None else root, split, name="Fashion-MNIST")


def load_mnist(root: str | Path, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images (N, 1, 28, 28) in [0, 1] and labels (N,) from a folder of idx files."""
    return load_idx_dataset(root, split, name="MNIST")
