"""The Fourier heat map, batched, against the per-basis loop of the public implementations, in the same run.

    python benchmarks/fourier_map.py            # small CNN on 1,000 Fashion-MNIST test images, CPU
    python benchmarks/fourier_map.py --device cuda --model resnet18 --size 224 --stride 4   # on a GPU

The plain loop does what the public Fourier-heat-map code does: one basis at a
time over the whole grid (the inverse DFT of two spikes, normalised), each batch
of the loader perturbed with a random sign per image and channel, clipped and
classified. hfc_fast evaluates one of each conjugate pair and sends many bases
through the model per pass, the perturbed batch written by the compiled
``fourier_perturb``. Both use the same signs, so their error counts must be
identical; the one-pass (linearised) map's time is given beside both. Writes
``benchmarks/results/fourier-map-<machine>.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hfc_fast  # noqa: E402
from hfc_fast.data import load_fashion_mnist  # noqa: E402
from hfc_fast.fourier_perturb import fourier_signs  # noqa: E402
from hfc_fast.models import build_model  # noqa: E402

from run import machine_name, save_results  # noqa: E402


def spike_basis(h: int, w: int, iy: int, ix: int, device) -> torch.Tensor:
    spectrum = torch.zeros(h, w, dtype=torch.complex64, device=device)
    spectrum[iy, ix] = 1
    spectrum[(-iy) % h, (-ix) % w] = 1
    image = torch.fft.ifft2(spectrum).real
    return image / image.norm()


@torch.no_grad()
def plain_loop(model, x, y, eps: float, batch: int, seed: int, stride: int) -> torch.Tensor:
    """Errors (H, W), one basis at a time over the loader (fftshifted)."""
    h, w = x.shape[-2:]
    errors = torch.full((h, w), float("nan"))
    for iy in range(h):
        for ix in range(w):
            ky, kx = (iy if iy < (h + 1) // 2 else iy - h), (ix if ix < (w + 1) // 2 else ix - w)
            if ky % stride or kx % stride:
                continue
            basis = spike_basis(h, w, iy, ix, x.device)
            canonical = min((iy, ix), ((-iy) % h, (-ix) % w))
            wrong = 0
            for start in range(0, len(x), batch):
                xb, yb = x[start:start + batch], y[start:start + batch]
                signs = fourier_signs(seed, torch.arange(start, start + len(xb)), x.shape[1],
                                      canonical[0] * w + canonical[1]).to(x.device)
                perturbed = (xb + eps * signs[:, :, None, None] * basis).clamp(0, 1)
                wrong += int((model(perturbed).argmax(1) != yb).sum())
            errors[iy, ix] = wrong
    return torch.fft.fftshift(errors)


def trained_model(name: str, x, y, size: int, device, steps: int) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(name, in_channels=x.shape[1], image_size=size).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (100,))
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--model", default="small_cnn")
    parser.add_argument("--size", type=int, default=28, help="resize the images to this side (28: as they are)")
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--eps", type=float, default=4.0)
    parser.add_argument("--batch", type=int, default=250, help="the loader's batch size (both contenders)")
    parser.add_argument("--images-per-pass", type=int, default=None, help="default: 512 on a CPU, 8192 on a GPU")
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-plain", action="store_true", help="time hfc_fast alone (for large grids)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    x_all, y_all = load_fashion_mnist(split="train")
    x, y = load_fashion_mnist(split="test")
    if args.size != 28:
        x_all = F.interpolate(x_all[:20000], size=args.size, mode="bilinear").clamp(0, 1).repeat(1, 3, 1, 1)
        y_all = y_all[:20000]
        x = F.interpolate(x[:args.images], size=args.size, mode="bilinear").clamp(0, 1).repeat(1, 3, 1, 1)
    x, y = x[:args.images].to(device), y[:args.images].to(device)
    model = trained_model(args.model, x_all.to(device), y_all.to(device), args.size, device, args.train_steps)

    batched, t_batched = timed(lambda: hfc_fast.fourier_heat_map(model, (x, y), args.eps, stride=args.stride,
                                                                 batch_size=args.batch,
                                                                 images_per_pass=args.images_per_pass, seed=0))
    linear, t_linear = timed(lambda: hfc_fast.linearised_map(model, (x, y), batch_size=args.batch).map())
    row = {"batched_s": t_batched, "linearised_s": t_linear, "bases_evaluated": len(batched.freqs),
           "grid": list(batched.size), "images_per_s": len(x) * len(batched.freqs) / t_batched,
           "rank_correlation": hfc_fast.rank_correlation(batched.error_map(), linear)}
    if not args.skip_plain:
        plain, t_plain = timed(lambda: plain_loop(model, x, y, args.eps, args.batch, 0, args.stride))
        counts = batched.grid(batched.errors)
        row.update(plain_s=t_plain, speedup=t_plain / t_batched,
                   identical_counts=bool(torch.equal(torch.nan_to_num(counts, -1).float(),
                                                     torch.nan_to_num(plain, -1).float())))
    print(row, flush=True)
    machine = machine_name(args.device)
    payload = {"machine": machine, "torch": torch.__version__, "threads": torch.get_num_threads(),
               "device": args.device, "model": args.model, "images": len(x), "size": args.size, "eps": args.eps,
               "stride": args.stride, "batch": args.batch, "images_per_pass": args.images_per_pass or "auto", **row}
    stem = f"fourier-map-{args.model}-{args.size}-{machine}"
    lines = [f"# Fourier heat map on {machine} ({args.device}, {payload['threads']} threads, torch {payload['torch']})",
             "",
             f"{args.model} on {len(x)} Fashion-MNIST test images at {args.size}×{args.size}, ε = {args.eps:g}, "
             f"stride {args.stride}; the loader's batch {args.batch} for both contenders.", "",
             "| contender | bases | seconds | images/s through the model |", "|---|---|---|---|"]
    if "plain_s" in row:
        full = sum(1 for iy in range(args.size) for ix in range(args.size)
                   if not ((iy if iy < (args.size + 1) // 2 else iy - args.size) % args.stride
                           or (ix if ix < (args.size + 1) // 2 else ix - args.size) % args.stride))
        lines.append(f"| per-basis loop (full grid) | {full} | {row['plain_s']:.2f} | "
                     f"{len(x) * full / row['plain_s']:.0f} |")
    lines += [f"| hfc_fast.fourier_heat_map | {row['bases_evaluated']} | {row['batched_s']:.2f} | "
              f"{row['images_per_s']:.0f} |",
              f"| hfc_fast.linearised_map (one pass) | all | {row['linearised_s']:.2f} | — |", ""]
    if "plain_s" in row:
        lines.append(f"Speed-up over the per-basis loop: **{row['speedup']:.2f}×**; identical error counts: "
                     f"{row['identical_counts']}.")
    lines.append(f"Rank correlation of the one-pass map with the error map: {row['rank_correlation']:.3f}.")
    return save_results(stem, payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
