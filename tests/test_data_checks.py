"""Image folders that would lie: hidden folders, splits whose classes differ, empty classes, 16-bit images,
decompression bombs. Each is read right or refused in one line naming it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hfc_fast.data.folder import ImageFolder, load_image_folder
from hfc_fast.errors import InputError


def _tree(root, split, classes, per_class=2, size=12):
    g = np.random.default_rng()
    for name in classes:
        folder = root / split / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(g.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i}.png")


def test_hidden_folders_and_files_are_neither_classes_nor_images(tmp_path):
    _tree(tmp_path, "train", ["cat", "dog"])
    _tree(tmp_path, "val", ["cat", "dog"])
    (tmp_path / "train" / ".ipynb_checkpoints").mkdir()
    Image.new("RGB", (12, 12)).save(tmp_path / "train" / ".ipynb_checkpoints" / "x.png")
    Image.new("RGB", (12, 12)).save(tmp_path / "train" / "cat" / ".hidden.png")
    (tmp_path / "train" / "dog" / ".cache").mkdir()
    Image.new("RGB", (12, 12)).save(tmp_path / "train" / "dog" / ".cache" / "y.png")
    train = load_image_folder(tmp_path, "train", image_size=None)
    assert train.classes == ["cat", "dog"]
    assert [(p.parent.name, p.name, label) for p, label in train.samples] == [
        ("cat", "0.png", 0), ("cat", "1.png", 0), ("dog", "0.png", 1), ("dog", "1.png", 1)]
    assert load_image_folder(tmp_path, "val", image_size=None).classes == train.classes


def test_splits_with_different_classes_are_refused_naming_them(tmp_path):
    _tree(tmp_path, "train", ["cat", "dog", "eel"])
    _tree(tmp_path, "val", ["cat", "dog", "fox"])
    for split in ("train", "val"):
        with pytest.raises(InputError, match=r"only in train/: eel; only in val/: fox"):
            load_image_folder(tmp_path, split)


def test_an_empty_class_folder_is_refused(tmp_path):
    _tree(tmp_path, "val", ["cat", "dog"])
    (tmp_path / "val" / "empty").mkdir()
    with pytest.raises(InputError, match=r"class folder .*empty holds no images"):
        ImageFolder(tmp_path / "val")


@pytest.mark.parametrize("suffix, dtype", [(".png", np.uint16), (".tif", np.int32)])  # Pillow: I;16 and I
def test_sixteen_bit_images_keep_their_depth(tmp_path, suffix, dtype):
    g = np.random.default_rng()
    values = g.integers(0, 65536, (9, 7)).astype(dtype)
    folder = tmp_path / "val" / "a"
    folder.mkdir(parents=True)
    Image.fromarray(values).save(folder / f"x{suffix}")
    image, label = ImageFolder(tmp_path / "val", image_size=None)[0]
    expected = torch.from_numpy(values.astype(np.float64) / 65535.0)
    assert image.shape == (3, 9, 7) and label == 0
    for c in range(3):  # grey over three channels, every pixel
        torch.testing.assert_close(image[c].double(), expected, rtol=0, atol=1e-6)
    assert float(image.mean()) < 0.9  # not clipped to white


def test_sixteen_bit_images_are_resized_like_eight_bit_ones(tmp_path):
    g = np.random.default_rng()
    values = g.integers(0, 256, (40, 30), dtype=np.uint16)
    for split, img in (("a", Image.fromarray(values * 257)), ("b", Image.fromarray(values.astype(np.uint8)))):
        (tmp_path / split / "c").mkdir(parents=True)
        img.save(tmp_path / split / "c" / "x.png")
    deep = ImageFolder(tmp_path / "a", image_size=16)[0][0]
    eight = ImageFolder(tmp_path / "b", image_size=16)[0][0]
    assert deep.shape == eight.shape == (3, 16, 16)
    assert float((deep - eight).abs().max()) < 2.5 / 255  # the 8-bit route rounds each step to a byte


@pytest.mark.parametrize("pixels", [150, 90])  # Pillow warns above its limit and refuses above twice it
def test_an_image_over_the_decompression_bomb_limit_is_refused_naming_it(tmp_path, monkeypatch, pixels):
    monkeypatch.setenv("HFC_FAST_MAX_IMAGE_PIXELS", str(pixels))
    _tree(tmp_path, "val", ["a"], per_class=1, size=12)  # 144 pixels
    data = ImageFolder(tmp_path / "val", image_size=None)
    if pixels > 144:
        assert data[0][0].shape == (3, 12, 12)
        return
    with pytest.raises(InputError, match=r"0\.png is larger than the decompression-bomb limit of 90 pixels"):
        data[0]


def test_an_unreadable_limit_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("HFC_FAST_MAX_IMAGE_PIXELS", "lots")
    _tree(tmp_path, "val", ["a"], per_class=1)
    with pytest.raises(InputError, match="HFC_FAST_MAX_IMAGE_PIXELS must be a positive integer, got 'lots'"):
        ImageFolder(tmp_path / "val")[0]
