"""Image files as tensors, fast: JPEGs decoded by torchvision's ``decode_jpeg`` (libjpeg-turbo on the CPU,
nvJPEG on a CUDA device, a whole batch in one call), the evaluation resize and centre crop on tensors.

Pillow stays the reader of every other format (PNG, 16-bit images, TIFF, ...) and of JPEGs when torchvision
is not installed or cannot decode one (a 12-bit or damaged-but-readable file). Both routes give float32
(3, S, S) in [0, 1] and agree within two grey levels: the decoders are the same library on the CPU, and
the tensor resize is Pillow's bilinear filter with its antialiasing, rounded to bytes by torch's byte kernel
(floats and CUDA tensors: kept in float); each byte route lies within one grey level of the filter computed
in float64, on either side (``tests/test_decode.py`` measures both against it).

The header of every file is read by Pillow first (it decodes nothing), so the decompression-bomb limit and
the "not an image" refusal hold on either route.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F

from hfc_fast.errors import InputError

JPEG_SUFFIXES = (".jpg", ".jpeg")
DECODE = ("auto", "device", "workers")  # where a folder's JPEGs are decoded (PassSettings.decode)


@functools.cache
def torchvision_decoder():
    """torchvision's ``(decode_jpeg, ImageReadMode)``, or None when torchvision (or its image codecs) is absent."""
    try:
        from torchvision.io import ImageReadMode, decode_jpeg
    except (ImportError, RuntimeError, OSError):
        return None
    return decode_jpeg, ImageReadMode


def shorter_side_sizes(height: int, width: int, size: int) -> tuple[int, int]:
    """The (height, width) of the shorter-side resize to ``round(size·8/7)`` (never below ``size``): the usual
    ImageNet evaluation transform before the centre crop to ``size``."""
    short = round(size * 8 / 7)
    scale = short / min(height, width)
    return max(size, round(height * scale)), max(size, round(width * scale))


def resize_center_crop(image: torch.Tensor, size: int | None) -> torch.Tensor:
    """A (3, H, W) uint8 (0–255) or float (0–1) image as float32 (3, S, S) in [0, 1]: bilinear resize with
    antialiasing (Pillow's ``BILINEAR``) of the shorter side to ``round(S·8/7)``, then the centre ``S × S``;
    ``size`` None keeps the image's own size. Runs where ``image`` is (a CUDA device included). Bytes on the
    CPU are resized as bytes, as Pillow does (torch's vectorised uint8 kernel); floats and CUDA tensors in
    float."""
    scale = 255.0 if image.dtype == torch.uint8 else 1.0
    if size is not None:
        height, width = shorter_side_sizes(image.shape[-2], image.shape[-1], size)
        if (height, width) != tuple(image.shape[-2:]):
            as_bytes = image.dtype == torch.uint8 and image.device.type == "cpu"
            image = F.interpolate(image[None] if as_bytes else image[None].float(), size=(height, width),
                                  mode="bilinear", antialias=True, align_corners=False)[0]
        top, left = (height - size) // 2, (width - size) // 2
        image = image[:, top:top + size, left:left + size]
    image = image.float()
    return (image / scale).clamp_(0, 1) if scale != 1 else image.clamp(0, 1)


def read_bytes(path: Path) -> torch.Tensor:
    """The file's bytes as a 1-D uint8 tensor (what ``decode_jpeg`` takes)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path} is not readable ({err})") from None
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def decode_jpegs(encoded: list[torch.Tensor], device: torch.device | str = "cpu") -> list[torch.Tensor | None]:
    """Each encoded JPEG as (3, H, W) uint8 RGB on ``device`` (grey and CMYK files converted), decoded in one
    call (batched by nvJPEG on a CUDA device); None for a file torchvision cannot decode (Pillow reads it)."""
    decoder = torchvision_decoder()
    if decoder is None:
        return [None] * len(encoded)
    decode_jpeg, mode = decoder
    device = torch.device(device)
    try:
        return list(decode_jpeg(encoded, mode=mode.RGB, device=device))
    except RuntimeError:  # one file spoils the batch: decode one at a time, keeping those that work
        out = []
        for data in encoded:
            try:
                out.append(decode_jpeg(data, mode=mode.RGB, device=device))
            except RuntimeError:
                out.append(None)
        return out
