"""Reading an ImageNet-style JPEG folder: hfc_fast's ImageFolder (torchvision's ``decode_jpeg``, the resize and
crop on tensors, a batch decoded in one call on the pass's device) against the usual plain pipeline,
torchvision's ``datasets.ImageFolder`` with Pillow and ``Resize(256) + CenterCrop(224) + ToTensor()``, in the
same run.

    python benchmarks/folder_decode.py [--images 300] [--device cpu|cuda]

The JPEGs are Fashion-MNIST test images tiled and upscaled to 500×375 (about ImageNet's mean size), quality 90,
made once in ``benchmarks/.cache``. Each contender reads every image once per call in this process (no loader
workers, so the number is the decoding itself); the contenders are timed in ``--repeats`` rotating blocks of
one untimed and one timed call (``timing.time_interleaved``), the median reported. The largest difference between
the two pipelines' images is reported beside the times. Writes
``benchmarks/results/folder-decode-<machine>.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hfc_fast.data.folder import ImageFolder, collate_encoded, decode_batch  # noqa: E402
from hfc_fast.data.idx import load_fashion_mnist  # noqa: E402

from run import machine_name, save_results  # noqa: E402
from timing import time_interleaved  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"


def make_jpegs(n: int) -> Path:
    """``n`` 500×375 RGB JPEGs (four Fashion-MNIST images tiled, upscaled, tinted) in a class tree, made once."""
    from PIL import Image

    root = CACHE / f"jpeg-500x375-{n}"
    if (root / ".done").exists():
        return root
    x, y = load_fashion_mnist(split="test")
    for i in range(n):
        tiles = torch.cat([torch.cat([x[4 * i + k, 0] for k in (0, 1)], 1),
                           torch.cat([x[4 * i + k, 0] for k in (2, 3)], 1)], 0)
        rgb = torch.stack([tiles, tiles.flip(0), 0.5 * (tiles + tiles.flip(1))], -1)
        folder = root / f"{int(y[4 * i]):02d}"
        folder.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray((rgb * 255).byte().numpy()).resize((500, 375), Image.BICUBIC)
        img.save(folder / f"{i:05d}.jpg", quality=90)
    (root / ".done").write_text("ok")
    return root


def main(argv=None) -> int:
    import torchvision
    from torchvision import transforms

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    root = make_jpegs(args.images)
    plain = torchvision.datasets.ImageFolder(root, transform=transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()]))
    ours = ImageFolder(root, image_size=224)
    n = len(ours)
    assert n == len(plain) == args.images

    def read(data):
        return [data[i][0] for i in range(n)]

    def batched():
        out = []
        for lo in range(0, n, args.batch):
            payloads, _ = collate_encoded([ours.encoded()[i] for i in range(lo, min(n, lo + args.batch))])
            out.append(decode_batch(payloads, 224, args.device))
        return torch.cat(out)

    times = time_interleaved({"plain": lambda: read(plain), "ours": lambda: read(ours), "batched": batched},
                             rounds=args.repeats, per_block=1, device=args.device)
    t_plain, t_ours, t_batch = times["plain"], times["ours"], times["batched"]
    plain_images, our_images, batch_images = read(plain), read(ours), batched()
    gap = max(float((a - b).abs().max()) for a, b in zip(plain_images, our_images, strict=True))
    same = torch.equal(torch.stack(our_images).to(batch_images.device), batch_images) if args.device == "cpu" \
        else None
    rows = [{"pipeline": "torchvision.datasets.ImageFolder (Pillow, Resize 256, CenterCrop 224, ToTensor)",
             "seconds": t_plain, "images_per_second": n / t_plain, "speedup": 1.0},
            {"pipeline": "hfc_fast ImageFolder, item by item (decode_jpeg, resize and crop on tensors)",
             "seconds": t_ours, "images_per_second": n / t_ours, "speedup": t_plain / t_ours},
            {"pipeline": f"hfc_fast, batches of {args.batch} decoded in one call on {args.device} (decode_batch)",
             "seconds": t_batch, "images_per_second": n / t_batch, "speedup": t_plain / t_batch}]
    machine = machine_name(args.device)
    lines = [f"# Reading a JPEG folder ({machine}, {args.device})", "",
             f"torch {torch.__version__}, torchvision {torchvision.__version__}, {torch.get_num_threads()} threads; "
             f"{n} JPEGs of 500×375 (quality 90) to 224×224 float tensors, in this process, median of "
             f"{args.repeats} rotating rounds.", "",
             "| pipeline | seconds | images/s | speed-up over the plain pipeline |", "|---|---|---|---|"]
    lines += [f"| {r['pipeline']} | {r['seconds']:.2f} | {r['images_per_second']:.0f} | **{r['speedup']:.2f}×** |"
              for r in rows]
    lines += ["", f"Largest difference of one pixel between the plain pipeline's images and ours: {gap:.4f} "
              f"({gap * 255:.1f} grey levels; the same decoder, Pillow's filter in float rather than bytes)."
              + ("" if same is None else f" Batched decoding equals item-by-item decoding exactly: {same}.")]
    payload = {"machine": machine, "device": args.device, "torch": torch.__version__,
               "torchvision": torchvision.__version__, "threads": torch.get_num_threads(), "images": n,
               "batch": args.batch, "max_abs_difference": gap, "batched_equals_items": same, "rows": rows}
    return save_results(f"folder-decode-{machine}", payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
