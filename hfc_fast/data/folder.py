"""ImageFolder trees (``root/<split>/<class>/<image>``), e.g. ImageNet subsets such as Imagenette."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from hfc_fast.errors import InputError, existing

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff")


def _visible(path: Path) -> bool:
    """Not hidden (``.ipynb_checkpoints``, ``.DS_Store``, ...): hidden entries are never classes or images."""
    return not path.name.startswith(".")


def class_names(root: Path) -> list[str]:
    """The class folders of ``root``, sorted, hidden folders left out."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _visible(p))


class ImageFolder(Dataset):
    """Images under ``root/<class>/``, class indices in sorted class-name order.

    Hidden folders and files (names starting with ``.``) are ignored; a class
    folder without images is refused (it would shift no label here, but the
    other split's labels would disagree). Each item is ``(image, label)``:
    float32 (3, S, S) in [0, 1] after a shorter-side resize to ``S·8/7`` and a
    centre crop to ``S`` (the usual ImageNet evaluation transform), or the
    image's own size when ``image_size`` is ``None`` and all images share one
    size. 16-bit images keep their depth (divided by 65535, not clipped);
    grey images are repeated over three channels. An image over Pillow's
    decompression-bomb limit is refused, naming it
    (``HFC_FAST_MAX_IMAGE_PIXELS`` raises the limit).
    """

    def __init__(self, root: str | Path, image_size: int | None = 224) -> None:
        root = existing(root, "image folder", "folder", "expected root/<class name>/<image files>")
        self.classes = class_names(root)
        if not self.classes:
            raise InputError(f"{root} has no class sub-folders; expected root/<class name>/<image files>")
        self.samples = []
        for label, name in enumerate(self.classes):
            files = [path for path in sorted((root / name).rglob("*"))
                     if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
                     and all(_visible(part) for part in path.relative_to(root).parents if part != Path("."))
                     and _visible(path)]
            if not files:
                raise InputError(f"class folder {root / name} holds no images ({', '.join(IMAGE_SUFFIXES)}): every "
                                 "visible sub-folder is a class, so remove it or add its images")
            self.samples += [(path, label) for path in files]
        self.root, self.image_size = root, image_size
        self.labels = torch.tensor([label for _, label in self.samples])

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        img = open_image(path)
        if self.image_size is not None:
            img = _resize_center_crop(img, self.image_size)
        return to_tensor(img), label


def _pixel_limit() -> int | None:
    value = os.environ.get("HFC_FAST_MAX_IMAGE_PIXELS")
    if value is None:
        return Image.MAX_IMAGE_PIXELS
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise InputError(f"HFC_FAST_MAX_IMAGE_PIXELS must be a positive integer, got {value!r}")
    return limit


def open_image(path: Path) -> Image.Image:
    """An image file as a Pillow image in mode ``RGB`` (8 bits per channel) or ``F`` (a grey image of more
    than 8 bits, scaled to [0, 1]: 16-bit PNGs and TIFFs keep their depth instead of being clipped).
    One-line errors for unreadable files and for images over the decompression-bomb limit."""
    limit = _pixel_limit()
    previous = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = limit
            img = Image.open(path)
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InputError(f"{path} is larger than the decompression-bomb limit of {limit} pixels ({err}); set "
                         "HFC_FAST_MAX_IMAGE_PIXELS to a larger number if the image is genuine") from None
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"{path} is not a readable image ({err})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    with img:
        if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            array = np.asarray(img).astype(np.float32) / 65535.0
            return Image.fromarray(np.clip(array, 0, 1).astype(np.float32))  # mode "F"
        if img.mode == "F":
            return img.copy()
        return img.convert("RGB")


def to_tensor(img: Image.Image) -> torch.Tensor:
    """float32 (3, H, W) in [0, 1]: RGB bytes / 255, or a grey ``F`` image repeated over three channels."""
    if img.mode == "F":
        grey = torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).clamp_(0, 1)
        return grey.unsqueeze(0).expand(3, -1, -1).contiguous()
    data = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    return data.view(img.height, img.width, 3).permute(2, 0, 1).float().div_(255.0)


def _resize_center_crop(img: Image.Image, size: int) -> Image.Image:
    short = round(size * 8 / 7)
    scale = short / min(img.size)
    img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BILINEAR)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    return img.crop((left, top, left + size, top + size))


def load_image_folder(root: str | Path, split: str = "val", image_size: int | None = 224) -> ImageFolder:
    """The ``split`` sub-folder of ``root`` (``train``/``val``), or ``root`` itself if it has none.

    When ``root`` has both ``train`` and ``val`` (or ``test``), their class lists must agree: labels are class
    indices, so a class in one split only would shift every label after it.
    """
    root = existing(root, "data root", "folder", "expected root/{train,val}/<class name>/<image files>")
    folder = root / split if (root / split).is_dir() else root
    if split == "test" and not (root / "test").is_dir() and (root / "val").is_dir():
        folder = root / "val"
    splits = [root / s for s in ("train", "val", "test") if (root / s).is_dir()]
    if len(splits) > 1:
        lists = {s.name: class_names(s) for s in splits}
        first, *others = lists.items()
        for name, classes in others:
            if classes != first[1]:
                only_a = sorted(set(first[1]) - set(classes))
                only_b = sorted(set(classes) - set(first[1]))
                detail = "; ".join(x for x in (
                    f"only in {first[0]}/: {', '.join(only_a[:5])}" if only_a else "",
                    f"only in {name}/: {', '.join(only_b[:5])}" if only_b else "") if x) or "the same names"
                raise InputError(f"the class folders of {root / first[0]} and {root / name} differ ({detail}): "
                                 "labels are indices into the sorted class list, so both splits need the same "
                                 "classes")
    return ImageFolder(folder, image_size)
