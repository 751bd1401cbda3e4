"""JPEG folders decoded by torchvision and resized on tensors, against Pillow written out plainly here; decoding a
batch at a time on the pass's device gives exactly the numbers of decoding in the workers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hfc_fast.data.decode import resize_center_crop
from hfc_fast.data.folder import ImageFolder, collate_encoded, decode_batch
from hfc_fast.errors import InputError
from hfc_fast.evaluation import PassSettings

pytest.importorskip("torchvision")


def photo(rng, height: int, width: int, grey: bool = False) -> np.ndarray:
    """A photo-like image (smooth shapes and a little noise: what JPEG is made for), uint8."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    channels = 1 if grey else 3
    base = [np.sin(rng.uniform(2, 12) * xx + rng.uniform(0, 6)) * np.cos(rng.uniform(2, 12) * yy)
            for _ in range(channels)]
    image = 127.5 + 100 * np.stack(base, -1) + rng.normal(0, 8, (height, width, channels))
    image = np.clip(image, 0, 255).astype(np.uint8)
    return image[..., 0] if grey else image


def pillow_item(path, size: int | None) -> torch.Tensor:
    """The evaluation transform written with Pillow alone: RGB, shorter side to round(S·8/7) by BILINEAR, the
    centre S × S, bytes / 255."""
    with Image.open(path) as img:
        img = img.convert("RGB")
    if size is not None:
        scale = round(size * 8 / 7) / min(img.size)
        img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BILINEAR)
        left, top = (img.width - size) // 2, (img.height - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).double() / 255


def bilinear_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float64 weights of Pillow's antialiased ``BILINEAR`` resize of one axis, written plainly:
    output ``o`` is centred on input ``(o + 0.5)·n_in/n_out``; a triangle filter widened by the scale when
    shrinking; the taps whose centres lie within its support, normalised to sum 1."""
    scale = n_in / n_out
    widen = max(scale, 1.0)
    weights = np.zeros((n_out, n_in))
    for o in range(n_out):
        centre = (o + 0.5) * scale
        first, last = max(int(centre - widen + 0.5), 0), min(int(centre + widen + 0.5), n_in)
        for j in range(first, last):
            weights[o, j] = max(0.0, 1.0 - abs((j - centre + 0.5) / widen))
        weights[o] /= weights[o].sum()
    return weights


def exact_item(image: np.ndarray, size: int | None) -> torch.Tensor:
    """The evaluation transform of (H, W, 3) bytes with the resize in float64, never rounded: the value each
    byte route approximates (each rounds once or twice to a byte, so each lies within one grey level of it,
    and two routes rounding to opposite sides can lie two apart)."""
    image = image.astype(np.float64)
    if size is not None:
        height, width = image.shape[:2]
        scale = round(size * 8 / 7) / min(height, width)
        out_h, out_w = max(size, round(height * scale)), max(size, round(width * scale))
        image = np.einsum("oh,hwc,pw->opc", bilinear_weights(height, out_h), image, bilinear_weights(width, out_w))
        top, left = (out_h - size) // 2, (out_w - size) // 2
        image = image[top:top + size, left:left + size]
    return torch.from_numpy(image.copy()).permute(2, 0, 1) / 255


def jpeg_tree(root, rng, shapes, grey_every: int = 0):
    for k, (h, w) in enumerate(shapes):
        folder = root / ("a" if k % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        grey = bool(grey_every) and k % grey_every == 0
        Image.fromarray(photo(rng, h, w, grey)).save(folder / f"{k}.jpg", quality=int(rng.integers(70, 96)))


SHAPES = [(40, 52), (61, 37), (24, 24), (90, 70), (33, 80), (52, 40), (20, 29), (75, 75)]


@pytest.mark.parametrize("size", [None, 32, 48])
def test_a_jpeg_folder_reads_as_pillow_reads_it(tmp_path, size):
    rng = np.random.default_rng(int(torch.randint(0, 2**31, ())))
    shapes = SHAPES if size is not None else [(36, 44)] * 6
    jpeg_tree(tmp_path, rng, shapes, grey_every=3)
    fast = ImageFolder(tmp_path, image_size=size)
    slow = ImageFolder(tmp_path, image_size=size, decoder="pillow")
    for i in range(len(fast)):
        (x, y), (x_slow, y_slow) = fast[i], slow[i]
        expected = pillow_item(fast.samples[i][0], size)
        with Image.open(fast.samples[i][0]) as img:
            exact = exact_item(np.asarray(img.convert("RGB")), size)
        assert x.dtype == torch.float32 and x.shape == expected.shape == exact.shape and y == y_slow
        # the same decoder; torch's byte kernel and Pillow each round the same filter to bytes, each within a
        # grey level of it, so at most two apart (one each side), and on average well under one
        for route in (x.double(), x_slow.double(), expected):
            assert float((route - exact).abs().max()) <= 1.001 / 255, fast.samples[i][0]
        for route in (x.double(), x_slow.double()):
            assert float((route - expected).abs().max()) <= 2.001 / 255, fast.samples[i][0]
            assert float((route - expected).abs().mean()) <= 0.5 / 255, fast.samples[i][0]
        if size is None:  # no resize: the decoded bytes themselves
            assert torch.equal(torch.round(x.double() * 255), torch.round(expected * 255))


@pytest.mark.parametrize("shape", [(37, 53), (160, 120), (12, 20), (64, 64)])
def test_the_tensor_resize_is_pillows_bilinear_filter(tmp_path, shape):
    rng = np.random.default_rng(int(torch.randint(0, 2**31, ())))
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "x.png")
    tensor = torch.from_numpy(image).permute(2, 0, 1).contiguous()
    for size in (8, 16, 31):
        out = resize_center_crop(tensor, size).double()
        expected = pillow_item(tmp_path / "x.png", size)
        exact = exact_item(image, size)
        assert out.shape == expected.shape == exact.shape == (3, size, size)
        assert float((out - exact).abs().max()) <= 1.001 / 255  # a byte kernel: within a grey level of the filter
        assert float((expected - exact).abs().max()) <= 1.001 / 255  # Pillow likewise
        assert float((out - expected).abs().max()) <= 2.001 / 255  # so at most two apart (one each side)
        assert float((out - expected).abs().mean()) <= 0.5 / 255  # and rarely more than a rounding apart
    assert torch.equal(resize_center_crop(tensor, None), tensor.float() / 255)
    from_floats = resize_center_crop(tensor.float() / 255, 16)  # floats are resized in float, bytes as bytes
    assert float((from_floats - resize_center_crop(tensor, 16)).abs().max()) <= 1.01 / 255  # byte rounding


def test_decoding_on_the_device_gives_the_workers_images_and_numbers(tmp_path):
    import hfc_fast

    rng = np.random.default_rng(int(torch.randint(0, 2**31, ())))
    jpeg_tree(tmp_path, rng, SHAPES * 2, grey_every=4)
    Image.fromarray(photo(rng, 30, 45)).save(tmp_path / "a" / "p.png")  # not a JPEG: decoded in the worker
    Image.fromarray(photo(rng, 30, 45)).save(tmp_path / "b" / "q.jpg", format="PNG")  # a PNG named .jpg
    data = ImageFolder(tmp_path, image_size=24)
    items = [data.encoded()[i] for i in range(len(data))]
    payloads, labels = collate_encoded(items)
    assert sum(isinstance(p, tuple) for p in payloads) == len(SHAPES) * 2
    batch = decode_batch(payloads, 24, "cpu")
    assert torch.equal(batch, torch.stack([data[i][0] for i in range(len(data))]))
    assert torch.equal(labels, data.labels)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    model(torch.zeros(1, 3, 24, 24))
    runs = [hfc_fast.track_frequencies(model, data, [3.0, 6.0], batch_size=5, workers=1,
                                       settings=PassSettings(decode=where)) for where in ("device", "workers")]
    assert runs[0] == runs[1] and runs[0]["n"] == len(data)


def test_broken_files_and_bombs_are_named_on_either_route(tmp_path, monkeypatch):
    rng = np.random.default_rng()
    (tmp_path / "a").mkdir()
    Image.fromarray(photo(rng, 12, 12)).save(tmp_path / "a" / "0.jpg")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "1.jpg").write_bytes(b"\xff\xd8\xff not a jpeg at all")
    data = ImageFolder(tmp_path, image_size=None)
    for read in (lambda i: data[i], lambda i: data.encoded()[i]):
        with pytest.raises(InputError, match=r"1\.jpg is not a readable image"):
            read(1)
    monkeypatch.setenv("HFC_FAST_MAX_IMAGE_PIXELS", "90")
    for read in (lambda i: data[i], lambda i: data.encoded()[i]):
        with pytest.raises(InputError, match=r"0\.jpg is larger than the decompression-bomb limit of 90 pixels"):
            read(0)


def test_bad_decoding_settings_are_named(tmp_path):
    with pytest.raises(InputError, match="decode must be one of auto, device, workers, got 'gpu'"):
        PassSettings(decode="gpu")
    (tmp_path / "a").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "a" / "0.jpg")
    with pytest.raises(InputError, match="decoder must be 'auto' .* or 'pillow', got 'nvjpeg'"):
        ImageFolder(tmp_path, decoder="nvjpeg")
    data = ImageFolder(tmp_path, image_size=None)
    Image.new("RGB", (6, 4)).save(tmp_path / "a" / "1.jpg")
    data = ImageFolder(tmp_path, image_size=None)
    with pytest.raises(InputError, match="different sizes; give an image_size"):
        decode_batch(collate_encoded([data.encoded()[0], data.encoded()[1]])[0], None, "cpu")
