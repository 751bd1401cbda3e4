"""Readers on files written here in each format's real layout; views; errors."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from hfc_fast import frequency_split_reference
from hfc_fast.data import (
    band_view,
    load_cifar10,
    load_dataset,
    load_image_folder,
    load_mnist,
    read_idx,
    shuffle_labels,
)


def _write_idx(path, array: np.ndarray, gz: bool) -> None:
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if gz else open)(str(path) + (".gz" if gz else ""), "wb") as f:
        f.write(data)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_round_trip(tmp_path, gz):
    rng = np.random.default_rng()
    for prefix, n in (("train", 7), ("t10k", 5)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images, gz)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels, gz)
        x, y = load_mnist(tmp_path, "train" if prefix == "train" else "test")
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32
        np.testing.assert_array_equal((x[:, 0] * 255).round().byte().numpy(), images)
        np.testing.assert_array_equal(y.numpy(), labels)


def test_idx_reader_rejects_malformed_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x00" * 3)
    with pytest.raises(ValueError, match="header promises"):
        read_idx(short)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "missing")


def _write_cifar(folder, batches: dict[str, int]):
    folder.mkdir(parents=True)
    rng = np.random.default_rng()
    written = {}
    for name, n in batches.items():
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, f)
        written[name] = (data, labels)
    return written


def test_cifar10_reader(tmp_path):
    names = {f"data_batch_{i}": 3 for i in range(1, 6)} | {"test_batch": 4}
    written = _write_cifar(tmp_path / "cifar-10-batches-py", names)
    x, y = load_cifar10(tmp_path, "train")  # the parent folder works too
    assert x.shape == (15, 3, 32, 32)
    data = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)])
    # the row layout is 1024 red, 1024 green, 1024 blue values, each row-major
    np.testing.assert_array_equal((x * 255).round().byte().numpy().reshape(15, -1), data)
    assert y.tolist() == sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    x, y = load_cifar10(tmp_path / "cifar-10-batches-py", "test")
    assert x.shape == (4, 3, 32, 32)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        load_cifar10(tmp_path, "train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load_cifar10(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "absent")


def test_image_folder(tmp_path):
    rng = np.random.default_rng()
    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(
                    tmp_path / split / cls / f"{i}.png")
    data = load_image_folder(tmp_path, "val", image_size=32)
    assert data.classes == ["cat", "dog"] and len(data) == 4
    x, y = data[3]
    assert x.shape == (3, 32, 32) and y == 1 and 0 <= float(x.min()) <= float(x.max()) <= 1
    same = load_image_folder(tmp_path, "val", image_size=None)
    raw = np.asarray(Image.open(same.samples[0][0]).convert("RGB"))
    np.testing.assert_allclose(same[0][0].permute(1, 2, 0).numpy() * 255, raw, atol=1e-3)
    via_registry = load_dataset("imagefolder", "test", tmp_path, image_size=32)
    assert via_registry.num_classes == 2 and via_registry.image_shape == (3, 32, 32)
    with pytest.raises(ValueError, match="no class sub-folders"):
        load_image_folder(tmp_path / "train" / "cat", "val")


def test_dataset_registry_errors():
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_dataset("svhn", "test")
    with pytest.raises(ValueError, match="needs a data root"):
        load_dataset("cifar10", "test")


def test_shuffled_labels_are_a_seeded_permutation():
    labels = torch.randint(0, 10, (500,))
    a, perm = shuffle_labels(labels, 3)
    b, _ = shuffle_labels(labels, 3)
    c, _ = shuffle_labels(labels, 4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a, labels[perm])
    assert torch.equal(torch.sort(perm).values, torch.arange(500))
    assert torch.equal(torch.bincount(a, minlength=10), torch.bincount(labels, minlength=10))


def test_band_views():
    x = torch.rand(4, 3, 16, 16)
    low, high = frequency_split_reference(x, 4.0)
    torch.testing.assert_close(band_view(x, "lfc", 4, normalize=None), low, atol=1e-5, rtol=0)
    normalized = band_view(x, "hfc", 4)
    expected = high / high.flatten(1).amax(1).view(-1, 1, 1, 1)
    torch.testing.assert_close(normalized, expected, atol=1e-5, rtol=1e-5)
    assert band_view(x, "original", 4) is x
    with pytest.raises(ValueError, match="band must be one of 'original', 'lfc', 'hfc', got 'mid'"):
        band_view(x, "mid", 4)
    with pytest.raises(ValueError, match="normalize must be one of None, 'max', got True"):
        band_view(x, "lfc", 4, normalize=True)

