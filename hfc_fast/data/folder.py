"""ImageFolder trees (``root/<split>/<class>/<image>``), e.g. ImageNet subsets such as Imagenette."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff")


class ImageFolder(Dataset):
    """Images under ``root/<class>/``, class indices in sorted class-name order.

    Each item is ``(image, label)``: float32 (3, S, S) in [0, 1] after a
    shorter-side resize to ``S·8/7`` and a centre crop to ``S`` (the usual
    ImageNet evaluation transform), or the image's own size when
    ``image_size`` is ``None`` and all images share one size.
    """

    def __init__(self, root: str | Path, image_size: int | None = 224) -> None:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"image folder {root} does not exist; expected root/<class name>/<image files>")
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        if not self.classes:
            raise ValueError(f"{root} has no class sub-folders; expected root/<class name>/<image files>")
        self.samples = [
            (path, label)
            for label, name in enumerate(self.classes)
            for path in sorted((root / name).rglob("*"))
            if path.suffix.lower() in IMAGE_SUFFIXES
        ]
        if not self.samples:
            raise ValueError(f"{root} has class folders but no images ({', '.join(IMAGE_SUFFIXES)})")
        self.root, self.image_size = root, image_size
        self.labels = torch.tensor([label for _, label in self.samples])

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        try:
            img = Image.open(path)
            img.load()
        except (UnidentifiedImageError, OSError) as err:
            raise ValueError(f"{path} is not a readable image ({err})") from None
        with img:
            img = img.convert("RGB")
            if self.image_size is not None:
                img = _resize_center_crop(img, self.image_size)
            data = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
            image = data.view(img.height, img.width, 3).permute(2, 0, 1).float().div_(255.0)
        return image, label


def _resize_center_crop(img: Image.Image, size: int) -> Image.Image:
    short = round(size * 8 / 7)
    scale = short / min(img.size)
    img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BILINEAR)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    return img.crop((left, top, left + size, top + size))


def load_image_folder(root: str | Path, split: str = "val", image_size: int | None = 224) -> ImageFolder:
    """The ``split`` sub-folder of ``root`` (``train``/``val``), or ``root`` itself if it has none."""
    root = Path(root)
    folder = root / split if (root / split).is_dir() else root
    if split == "test" and not (root / "test").is_dir() and (root / "val").is_dir():
        folder = root / "val"
    return ImageFolder(folder, image_size)
