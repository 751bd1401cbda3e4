"""ImageFolder trees (``root/<split>/<class>/<image>``), e.g. ImageNet subsets such as Imagenette."""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from hfc_fast.data.decode import JPEG_SUFFIXES, decode_jpegs, read_bytes, resize_center_crop, torchvision_decoder
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
    centre crop to ``S`` (the usual ImageNet evaluation transform, on tensors),
    or the image's own size when ``image_size`` is ``None`` and all images share
    one size. JPEGs are decoded by torchvision's ``decode_jpeg`` when it is
    installed (``decoder="pillow"``: always Pillow); the evaluation engine
    decodes them a batch at a time on a CUDA device (:meth:`encoded`). 16-bit
    images keep their depth (divided by 65535, not clipped); grey images are
    repeated over three channels. An image over Pillow's decompression-bomb
    limit is refused, naming it (``HFC_FAST_MAX_IMAGE_PIXELS`` raises the
    limit).
    """

    def __init__(self, root: str | Path, image_size: int | None = 224, decoder: str = "auto") -> None:
        root = existing(root, "image folder", "folder", "expected root/<class name>/<image files>")
        if decoder not in ("auto", "pillow"):
            raise InputError(f"decoder must be 'auto' (torchvision for JPEGs when installed) or 'pillow', "
                             f"got {decoder!r}")
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
        self.root, self.image_size, self.decoder = root, image_size, decoder
        self.labels = torch.tensor([label for _, label in self.samples])

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        return self.load(index)

    def load(self, index: int, encoded: bool = False):
        """Item ``index``; with ``encoded``, a JPEG torchvision can decode comes as ``(path, bytes)`` for
        :func:`decode_batch` (other images are decoded here, as without it)."""
        path, label = self.samples[index]
        fast = self.decoder == "auto" and path.suffix.lower() in JPEG_SUFFIXES and torchvision_decoder() is not None
        if fast and check_header(path) == "JPEG":
            data = read_bytes(path)
            if encoded:
                return (str(path), data), label
            image = decode_jpegs([data])[0]
            if image is not None:
                return resize_center_crop(image, self.image_size), label
        return resize_center_crop(pixels(open_image(path)), self.image_size), label

    def encoded(self) -> EncodedImages:
        """This folder with its JPEGs left encoded: the data set the engine reads when it decodes on the device."""
        return EncodedImages(self)


class EncodedImages(Dataset):
    """An :class:`ImageFolder` whose JPEGs come as ``(path, bytes)`` (decoded later, a batch at a time, by
    :func:`decode_batch`); batch it with :func:`collate_encoded`."""

    def __init__(self, folder: ImageFolder) -> None:
        self.folder = folder

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, index: int):
        return self.folder.load(index, encoded=True)


def collate_encoded(items) -> tuple[list, torch.Tensor]:
    """A batch of :class:`EncodedImages` items: the payloads as a list, the labels as a tensor."""
    return [payload for payload, _ in items], torch.tensor([label for _, label in items])


def decode_batch(payloads: list, image_size: int | None, device: torch.device | str) -> torch.Tensor:
    """(B, 3, S, S) float32 on ``device`` from a batch of :class:`EncodedImages` payloads: the JPEGs decoded in
    one ``decode_jpeg`` call there (nvJPEG on a CUDA device), resized and cropped there; images decoded
    already are moved. A JPEG torchvision cannot decode is read by Pillow."""
    coded = [k for k, p in enumerate(payloads) if isinstance(p, tuple)]
    out = list(payloads)
    decoded = decode_jpegs([payloads[k][1] for k in coded], device)
    for k, image in zip(coded, decoded, strict=True):
        if image is None:
            image = pixels(open_image(Path(payloads[k][0]))).to(device)
        out[k] = resize_center_crop(image, image_size)
    out = [image.to(device) for image in out]
    if len({tuple(image.shape) for image in out}) > 1:
        raise InputError("the images of a batch have different sizes; give an image_size to crop them to")
    return torch.stack(out)


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


@contextmanager
def _opened(path: Path, decode: bool):
    """``Image.open(path)`` (and ``load()`` when ``decode``) under the decompression-bomb limit, with one-line
    errors for unreadable files and images over the limit."""
    limit = _pixel_limit()
    previous = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = limit
            img = Image.open(path)
            if decode:
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InputError(f"{path} is larger than the decompression-bomb limit of {limit} pixels ({err}); set "
                         "HFC_FAST_MAX_IMAGE_PIXELS to a larger number if the image is genuine") from None
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"{path} is not a readable image ({err})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    with img:
        yield img


def check_header(path: Path) -> str:
    """The image format of ``path`` from its header alone (nothing decoded), under the same refusals as
    :func:`open_image`."""
    with _opened(path, decode=False) as img:
        return img.format or ""


def open_image(path: Path) -> Image.Image:
    """An image file as a Pillow image in mode ``RGB`` (8 bits per channel) or ``F`` (a grey image of more
    than 8 bits, scaled to [0, 1]: 16-bit PNGs and TIFFs keep their depth instead of being clipped).
    One-line errors for unreadable files and for images over the decompression-bomb limit."""
    with _opened(path, decode=True) as img:
        if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            array = np.asarray(img).astype(np.float32) / 65535.0
            return Image.fromarray(np.clip(array, 0, 1).astype(np.float32))  # mode "F"
        if img.mode == "F":
            return img.copy()
        return img.convert("RGB")


def pixels(img: Image.Image) -> torch.Tensor:
    """(3, H, W): uint8 for an RGB image, float32 in [0, 1] for a grey ``F`` image (repeated over three
    channels)."""
    if img.mode == "F":
        grey = torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).clamp_(0, 1)
        return grey.unsqueeze(0).expand(3, -1, -1).contiguous()
    data = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    return data.view(img.height, img.width, 3).permute(2, 0, 1).contiguous()


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
