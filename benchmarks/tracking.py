"""What frequency tracking adds to an epoch: the split's share of the LFC/HFC evaluations.

    python benchmarks/tracking.py            # Fashion-MNIST test set, small_cnn and paper_resnet

Per epoch, tracking at four radii evaluates the model on the LFC and the HFC at
each radius (8 evaluations) and needs one frequency_split call per batch for
all radii. This times, in the same process and alternating, (a) the 8
evaluations on views computed beforehand and (b) the tracking as the runner
does it (split per batch, then the 8 evaluations); the ratio b/a must stay
below 1.1. Writes ``benchmarks/results/tracking-<machine>.{json,md}``. Timings on a shared
2-core VM drift by more than the split costs, so the split's own time is
measured too and its share is the figure to read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hfc_fast import frequency_split  # noqa: E402
from hfc_fast.data import load_fashion_mnist  # noqa: E402
from hfc_fast.models import build_model  # noqa: E402
from hfc_fast.radius import scaled_radii  # noqa: E402

from run import machine_name, save_results  # noqa: E402
from timing import time_interleaved  # noqa: E402


@torch.no_grad()
def _evaluate(model, views, y) -> int:
    return sum(int((model(v).argmax(1) == y).sum()) for v in views)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="small_cnn,paper_resnet")
    args = parser.parse_args(argv)
    x, y = load_fashion_mnist(split="test")
    x, y = x[:args.images], y[:args.images]
    radii = list(scaled_radii(28))
    batches = [(x[i:i + args.batch], y[i:i + args.batch]) for i in range(0, len(x), args.batch)]
    prepared = []
    for xb, yb in batches:
        low, high = frequency_split(xb, radii)
        prepared.append(([*low, *high], yb))
    rows = []
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = build_model(name, in_channels=1, image_size=28).eval()

        def plain():
            return sum(_evaluate(model, views, yb) for views, yb in prepared)

        def tracked():  # as hfc_fast.track_frequencies does it: one split per batch into reused buffers
            total, buffers = 0, None
            for xb, yb in batches:
                if buffers is None or buffers[0].shape[1:] != xb.shape:
                    buffers = (torch.empty(len(radii), *xb.shape), torch.empty(len(radii), *xb.shape))
                low, high = frequency_split(xb, radii, out=buffers)
                total += _evaluate(model, [*low, *high], yb)
            return total

        def split_only():
            for xb, _ in batches:
                frequency_split(xb, radii)

        med = time_interleaved({"plain_8_evaluations": plain, "tracking": tracked, "split_only": split_only},
                               rounds=args.rounds, per_block=2)
        rows.append({"model": name, **{f"{k}_s": v for k, v in med.items()},
                     "ratio": med["tracking"] / med["plain_8_evaluations"],
                     "split_share": med["split_only"] / med["tracking"]})
        print(rows[-1], flush=True)
    machine = machine_name("cpu")
    payload = {"machine": machine, "torch": torch.__version__, "threads": torch.get_num_threads(),
               "images": len(x), "batch": args.batch, "radii": radii, "rounds": args.rounds, "rows": rows}
    lines = [f"# Frequency-tracking cost on {machine} (CPU, {payload['threads']} threads, torch {payload['torch']})",
             "",
             f"Fashion-MNIST, {len(x)} test images in batches of {args.batch}, radii "
             f"{', '.join(f'{r:g}' for r in radii)}; median over {args.rounds} rotating blocks "
             "(each: one untimed call, two timed).",
             "",
             "| model | 8 plain evaluations (s) | tracking: split + 8 evaluations (s) | ratio (target ≤ 1.1) "
             "| split's share of tracking |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['plain_8_evaluations_s']:.3f} | {r['tracking_s']:.3f} | "
                     f"{r['ratio']:.3f} | {100 * r['split_share']:.1f}% |")
    return save_results(f"tracking-{machine}", payload, "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
