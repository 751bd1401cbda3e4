"""Ratio tables of hfc_fast against plain PyTorch, measured in the same run.

    python benchmarks/run.py                 # CPU; CUDA too when a GPU is present
    python benchmarks/run.py --quick         # fewer rounds

Prints the tables and writes ``benchmarks/results/<machine>.{json,md}``.
Each speed-up divides a plain-PyTorch time by hfc_fast's time, both medians
over rotating blocks of calls in this process (benchmarks/timing.py). Accuracy is the max abs error against a
float64 computation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hfc_fast  # noqa: E402

import baselines  # noqa: E402
from timing import time_interleaved  # noqa: E402

# HFC_FAST_BENCH_OUT sends every benchmark's results elsewhere (scripts/gpu_check.sh --dry-run does)
RESULTS = Path(os.environ.get("HFC_FAST_BENCH_OUT") or Path(__file__).resolve().parent / "results")

SPLIT_CASES = [
    ((256, 3, 32, 32), (4, 8, 12, 16)),
    ((32, 3, 224, 224), (8, 16, 32, 64)),
]


def save_results(stem: str, payload: dict, text: str) -> int:
    """Write ``results/<stem>.json`` and ``results/<stem>.md`` atomically, print the table; exit status 0."""
    from hfc_fast.experiments.core.files import write_json, write_text

    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / f"{stem}.json", payload)
    write_text(RESULTS / f"{stem}.md", text)
    print(text)
    return 0


def machine_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name().replace(" ", "-")
    model = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}-{os.cpu_count()}cores".replace(" ", "-").replace("(R)", "").replace("@", "at")


def bench_split(device: str, rounds: int) -> list[dict]:
    rows = []
    for shape, radii in SPLIT_CASES:
        x = torch.rand(shape, device=device)
        masks = baselines.plain_masks(x, radii)
        fns = {
            "hfc_fast": lambda: hfc_fast.frequency_split(x, radii),
            "naive": lambda: baselines.frequency_split_naive(x, radii),
        }
        for name, fn in baselines.PLAIN_SPLITS.items():
            fns[f"plain:{name}"] = lambda fn=fn, name=name: fn(x, radii, masks[name])
        # Reused output buffers on both sides (a sweep's steady state).
        buffers = (torch.empty(len(radii), *shape, device=device), torch.empty(len(radii), *shape, device=device))
        fns["hfc_fast:out"] = lambda: hfc_fast.frequency_split(x, radii, out=buffers)
        # The floor of any split that returns fresh tensors: allocate and fill two outputs.
        fns["floor:fresh_outputs"] = lambda: (torch.empty_like(buffers[0]).fill_(1.0),
                                              torch.empty_like(buffers[1]).fill_(1.0))
        for name, fn in baselines.PLAIN_SPLITS_OUT.items():
            fns[f"plain_out:{name}"] = lambda fn=fn, name=name: fn(x, radii, masks[name], out=buffers)
        # The naive route takes seconds per call at 224x224: fewer blocks there.
        times = time_interleaved(fns, rounds=rounds if shape[-1] < 100 else max(3, rounds // 3), device=device)
        plain = {k: v for k, v in times.items() if k.startswith("plain:")}
        best_plain = min(plain, key=plain.get)
        plain_out = {k: v for k, v in times.items() if k.startswith("plain_out:")}
        best_plain_out = min(plain_out, key=plain_out.get)

        low, high = hfc_fast.frequency_split(x, radii)
        ref_low, ref_high = baselines.frequency_split_naive(x.double(), radii)
        error = max((low.double() - ref_low).abs().max().item(), (high.double() - ref_high).abs().max().item())
        rows.append({
            "op": "frequency_split",
            "shape": list(shape),
            "radii": list(radii),
            "ms": {k: v * 1e3 for k, v in times.items()},
            "best_plain": best_plain,
            "speedup_vs_naive": times["naive"] / times["hfc_fast"],
            "speedup_vs_best_plain": times[best_plain] / times["hfc_fast"],
            "best_plain_out": best_plain_out,
            "speedup_out_vs_naive": times["naive"] / times["hfc_fast:out"],
            "speedup_out_vs_best_plain_out": times[best_plain_out] / times["hfc_fast:out"],
            "max_abs_error_vs_float64": error,
        })
    return rows


def bench_pgd_step(device: str, rounds: int) -> list[dict]:
    shape = (256, 3, 32, 32)
    x0 = torch.rand(shape, device=device)
    grad = torch.randn(shape, device=device)
    start = (x0 + 0.01 * torch.randn(shape, device=device)).clamp(0, 1)
    eps, alpha = 8 / 255, 2 / 255
    work = start.clone()

    def fused():
        work.copy_(start)
        hfc_fast.pgd_step_(work, grad, x0, eps, alpha)

    def plain():
        work.copy_(start)
        return baselines.pgd_step_plain_(work, grad, x0, eps, alpha)

    def copy_only():
        work.copy_(start)

    times = time_interleaved({"hfc_fast": fused, "plain": plain, "copy": copy_only}, rounds=rounds * 2,
                             per_block=10, device=device)
    # Both contenders restart from the same iterate; the copy is timed alone and taken out.
    fused_t = max(times["hfc_fast"] - times["copy"], 1e-9)
    plain_t = max(times["plain"] - times["copy"], 1e-9)
    expected = baselines.pgd_step_plain_(start.double(), grad.double(), x0.double(), eps, alpha)
    fused()
    return [{
        "op": "pgd_step_",
        "shape": list(shape),
        "ms": {"hfc_fast": fused_t * 1e3, "plain": plain_t * 1e3, "copy": times["copy"] * 1e3},
        "speedup_vs_plain": plain_t / fused_t,
        "max_abs_error_vs_float64": (work.double() - expected).abs().max().item(),
    }]


def bench_smoothing(device: str, rounds: int) -> list[dict]:
    weight = torch.randn(256, 256, 3, 3, device=device)
    times = time_interleaved({
        "hfc_fast": lambda: hfc_fast.smooth_kernels(weight, 0.5),
        "plain": lambda: hfc_fast.smooth_kernels_reference(weight, 0.5),
    }, rounds=rounds, device=device)
    expected = hfc_fast.smooth_kernels_reference(weight.double(), 0.5)
    error = (hfc_fast.smooth_kernels(weight, 0.5).double() - expected).abs().max().item()
    return [{"op": "smooth_kernels", "shape": list(weight.shape), "ms": {k: v * 1e3 for k, v in times.items()},
             "speedup_vs_plain": times["plain"] / times["hfc_fast"], "max_abs_error_vs_float64": error}]


def bench_spectrum(device: str, rounds: int) -> list[dict]:
    x = torch.randn(256, 3, 32, 32, device=device)
    times = time_interleaved({
        "hfc_fast": lambda: hfc_fast.radial_power_spectrum(x),
        "plain": lambda: hfc_fast.radial_power_spectrum_reference(x),
    }, rounds=rounds, device=device)
    expected = hfc_fast.radial_power_spectrum_reference(x.double())
    error = (hfc_fast.radial_power_spectrum(x).double() - expected).abs().max().item()
    return [{"op": "radial_power_spectrum", "shape": list(x.shape), "ms": {k: v * 1e3 for k, v in times.items()},
             "speedup_vs_plain": times["plain"] / times["hfc_fast"], "max_abs_error_vs_float64": error}]


def _split_table(rows: list[dict], ours: str, plain_key: str, vs_naive: str, vs_plain: str) -> list[str]:
    lines = [
        "| shape | radii | hfc_fast ms | naive ms | best plain ms (variant) | vs naive | vs best plain "
        "| max abs err vs float64 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row["op"] != "frequency_split":
            continue
        ms, plain = row["ms"], row[plain_key]
        lines.append(
            f"| {'×'.join(map(str, row['shape']))} | {tuple(row['radii'])} | {ms[ours]:.2f} | {ms['naive']:.1f} | "
            f"{ms[plain]:.2f} ({plain.split(':', 1)[1]}) | {row[vs_naive]:.1f}× | {row[vs_plain]:.2f}× | "
            f"{row['max_abs_error_vs_float64']:.1e} |"
        )
    return lines


def markdown(machine: str, device: str, rows: list[dict]) -> str:
    info = hfc_fast.backend_info()
    lines = [
        f"# hfc_fast benchmarks on {machine} ({device})",
        "",
        f"torch {info['torch']}, {torch.get_num_threads()} threads, backend {info['backend']}. "
        "Times are medians over rotating blocks (one untimed call, then timed calls) in one process; "
        "speed-ups divide the plain-PyTorch time by hfc_fast's time from the same run.",
        "",
        "## frequency_split (float32)",
        "",
        "Fresh outputs on every call (the default):",
        "",
    ]
    lines += _split_table(rows, "hfc_fast", "best_plain", "speedup_vs_naive", "speedup_vs_best_plain")
    for row in rows:
        if row["op"] == "frequency_split":
            ms = row["ms"]
            lines.append(
                f"\nFloor for {'×'.join(map(str, row['shape']))}: allocating and filling the two fresh outputs alone "
                f"takes {ms['floor:fresh_outputs']:.2f} ms in this run; 30× the naive route would be "
                f"{ms['naive'] / 30:.2f} ms."
            )
    lines += ["", "Reused output buffers (`out=`) on both sides, a sweep's steady state:", ""]
    lines += _split_table(rows, "hfc_fast:out", "best_plain_out", "speedup_out_vs_naive",
                          "speedup_out_vs_best_plain_out")
    lines += ["", "## other ops", "", "| op | shape | hfc_fast ms | plain ms | speed-up | max abs err vs float64 |",
              "|---|---|---|---|---|---|"]
    for row in rows:
        if row["op"] == "frequency_split":
            continue
        ms = row["ms"]
        lines.append(
            f"| {row['op']} | {'×'.join(map(str, row['shape']))} | {ms['hfc_fast']:.3f} | {ms['plain']:.3f} | "
            f"{row['speedup_vs_plain']:.2f}× | {row['max_abs_error_vs_float64']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: both where available)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the result files")
    parser.add_argument("--tag", default="", help="suffix for the result file names")
    args = parser.parse_args(argv)
    devices = [args.device] if args.device else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rounds = 5 if args.quick else 15
    torch.manual_seed(0)
    for device in devices:
        rows = bench_split(device, rounds) + bench_pgd_step(device, rounds)
        rows += bench_smoothing(device, rounds) + bench_spectrum(device, rounds)
        machine = machine_name(device)
        text = markdown(machine, device, rows)
        print(text)
        args.out.mkdir(parents=True, exist_ok=True)
        stem = f"{machine}{'-' + args.tag if args.tag else ''}"
        payload = {"machine": machine, "device": device, "backend": hfc_fast.backend_info(),
                   "threads": torch.get_num_threads(), "rows": rows}
        for suffix, content in ((".json", json.dumps(payload, indent=2)), (".md", text)):
            tmp = args.out / f".{stem}{suffix}.tmp"
            tmp.write_text(content)
            os.replace(tmp, args.out / f"{stem}{suffix}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
